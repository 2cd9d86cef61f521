-- Daily aggregates of LLM calls for the analytics view (issue 7): per UTC day of a span's start,
-- its source (the trace kind: test for benchmark runs, playground, replay, import) and model.
-- Maintained by whoever inserts spans, in the same transaction (store::analytics), so a view over
-- any time range reads these rows and never the spans; `chipbench analytics --rebuild` repairs
-- them from the spans. Spans stored before this migration are added on the next open (the
-- buckets need a logarithm, computed in Rust).
CREATE TABLE daily_calls (
    day           TEXT NOT NULL,          -- YYYY-MM-DD
    source        TEXT NOT NULL,
    model         TEXT NOT NULL,          -- '' for a span without a model
    calls         INTEGER NOT NULL,
    errors        INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd      REAL NOT NULL,
    latency_ms    INTEGER NOT NULL,       -- the sum (a mean is latency_ms / calls)
    PRIMARY KEY (day, source, model)
) WITHOUT ROWID;

-- The latency distribution behind p50 and p95: calls per bucket, bucket = floor(4 * log2(1 + ms))
-- (about 19% wide), so percentiles over any range sum a few rows.
CREATE TABLE daily_latency (
    day    TEXT NOT NULL,
    source TEXT NOT NULL,
    model  TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    calls  INTEGER NOT NULL,
    PRIMARY KEY (day, source, model, bucket)
) WITHOUT ROWID;

-- Results per day (of their creation) and model (results are benchmark tests: their source is
-- `test`), summed per group by whoever inserts results (store::analytics), as calls are.
CREATE TABLE daily_results (
    day         TEXT NOT NULL,
    model       TEXT NOT NULL,
    results     INTEGER NOT NULL,
    with_errors INTEGER NOT NULL,
    PRIMARY KEY (day, model)
) WITHOUT ROWID;
INSERT INTO daily_results (day, model, results, with_errors)
    SELECT substr(r.created_at, 1, 10), r.model, count(*), sum(r.error_count > 0) FROM results r
    WHERE r.run_id NOT IN (SELECT id FROM runs WHERE deleted_at IS NOT NULL) GROUP BY 1, 2;

-- Ratings per day (of the rating's creation), source and model of what was rated (a result, or a
-- span: a playground answer, an imported response), kept by triggers: a change of rating moves
-- the sum, an undo (tombstone) takes the rating out, a new rating after an undo puts it back.
CREATE TABLE daily_ratings (
    day        TEXT NOT NULL,
    source     TEXT NOT NULL,
    model      TEXT NOT NULL,
    ratings    INTEGER NOT NULL,
    rating_sum INTEGER NOT NULL,
    PRIMARY KEY (day, source, model)
) WITHOUT ROWID;
CREATE VIEW rating_targets (rating_id, day, source, model, rating, live, run_id) AS
    SELECT x.id, substr(x.created_at, 1, 10), 'test', r.model, x.rating, x.deleted_at IS NULL, r.run_id
    FROM ratings x JOIN results r ON x.target_kind = 'result' AND r.id = x.target_id
    UNION ALL
    SELECT x.id, substr(x.created_at, 1, 10), s.trace_kind, coalesce(s.model, ''), x.rating, x.deleted_at IS NULL, s.run_id
    FROM ratings x JOIN spans s ON x.target_kind = 'span' AND s.id = x.target_id;
INSERT INTO daily_ratings (day, source, model, ratings, rating_sum)
    SELECT day, source, model, count(*), sum(rating) FROM rating_targets
    WHERE live AND (run_id IS NULL OR run_id NOT IN (SELECT id FROM runs WHERE deleted_at IS NOT NULL)) GROUP BY 1, 2, 3;
-- One statement for every case: the new row's share minus the old row's (0 for a row that was
-- not live); the upsert adds it.
CREATE TRIGGER ratings_daily_ai AFTER INSERT ON ratings WHEN NEW.deleted_at IS NULL BEGIN
    INSERT INTO daily_ratings (day, source, model, ratings, rating_sum)
    SELECT day, source, model, 1, rating FROM rating_targets WHERE rating_id = NEW.id
    ON CONFLICT DO UPDATE SET ratings = ratings + excluded.ratings, rating_sum = rating_sum + excluded.rating_sum;
END;
CREATE TRIGGER ratings_daily_au AFTER UPDATE OF rating, deleted_at ON ratings BEGIN
    INSERT INTO daily_ratings (day, source, model, ratings, rating_sum)
    SELECT day, source, model,
           (NEW.deleted_at IS NULL) - (OLD.deleted_at IS NULL),
           (CASE WHEN NEW.deleted_at IS NULL THEN NEW.rating ELSE 0 END) - (CASE WHEN OLD.deleted_at IS NULL THEN OLD.rating ELSE 0 END)
    FROM rating_targets WHERE rating_id = NEW.id
    ON CONFLICT DO UPDATE SET ratings = ratings + excluded.ratings, rating_sum = rating_sum + excluded.rating_sum;
END;
