-- Chipbench schema v1: runs, results, ratings, the models price table, versioned prompts,
-- and the aggregates that keep leaderboards and result pages fast at 1,000,000 results.
-- Timestamps are RFC 3339 UTC with milliseconds; money is REAL dollars.

-- Facts about this installation (its id). Never synced.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The price table. The provider's model id is the natural key; prices are dollars per million tokens.
CREATE TABLE models (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    input_price  REAL NOT NULL CHECK (input_price >= 0),
    output_price REAL NOT NULL CHECK (output_price >= 0),
    updated_at   TEXT NOT NULL,
    deleted_at   TEXT
);

-- Seeded with an epoch updated_at so every installation agrees on them (prices as of January 2026).
INSERT INTO models (id, name, input_price, output_price, updated_at) VALUES
    ('anthropic/claude-haiku-4.5',        'Claude Haiku 4.5',        1.0,   5.0,  '1970-01-01T00:00:00.000Z'),
    ('openai/gpt-5-mini',                 'GPT-5 Mini',              0.15,  0.60, '1970-01-01T00:00:00.000Z'),
    ('meta-llama/llama-scout-4-12b',      'Llama Scout 4 12B',       0.05,  0.10, '1970-01-01T00:00:00.000Z'),
    ('google/gemini-3-flash-preview',     'Gemini 3 Flash Preview',  0.075, 0.30, '1970-01-01T00:00:00.000Z'),
    ('google/gemini-2.5-flash-lite',      'Gemini 2.5 Flash Lite',   0.02,  0.08, '1970-01-01T00:00:00.000Z'),
    ('qwen/qwen3-next-80b-a3b-instruct',  'Qwen3 Next 80B',          0.20,  0.60, '1970-01-01T00:00:00.000Z'),
    ('minimax/minimax-m2.1',              'MiniMax M2.1',            0.10,  0.30, '1970-01-01T00:00:00.000Z'),
    ('deepseek/deepseek-v3.2',            'DeepSeek V3.2',           0.14,  0.28, '1970-01-01T00:00:00.000Z'),
    ('x-ai/grok-4.1-fast',                'Grok 4.1 Fast',           5.0,   15.0, '1970-01-01T00:00:00.000Z'),
    ('mistralai/mistral-nemo',            'Mistral Nemo',            0.03,  0.10, '1970-01-01T00:00:00.000Z');

-- A prompt version is identified by its text: id = UUID v5 of (name, sha256(text)).
CREATE TABLE prompts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,           -- first 12 hex digits of sha256(text), for display
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE runs (
    id            TEXT PRIMARY KEY,     -- UUID v7
    started_at    TEXT NOT NULL,
    completed_at  TEXT,
    status        TEXT NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
    status_reason TEXT,
    config        TEXT NOT NULL CHECK (json_valid(config)),  -- matrix, provider, selector, prompt ids
    provider      TEXT NOT NULL,
    is_demo       INTEGER NOT NULL DEFAULT 0 CHECK (is_demo IN (0, 1)),  -- mock-provider runs
    origin        TEXT NOT NULL,        -- installation id; only it resumes the run
    total_tests   INTEGER NOT NULL CHECK (total_tests >= 0),
    heartbeat_at  TEXT,                 -- a running run with a stale heartbeat was interrupted
    updated_at    TEXT NOT NULL,
    deleted_at    TEXT
);
CREATE INDEX runs_by_start ON runs (started_at);

-- One row per finished test; immutable once written except for the maintained rating columns.
CREATE TABLE results (
    seq                  INTEGER PRIMARY KEY,    -- arrival order in this database (local only)
    id                   TEXT NOT NULL UNIQUE,   -- UUID v5 of the test key
    run_id               TEXT NOT NULL REFERENCES runs (id),
    model                TEXT NOT NULL,
    persona_id           TEXT NOT NULL,
    sector               TEXT NOT NULL,
    desired_role         TEXT NOT NULL,
    style                TEXT NOT NULL,
    input_type           TEXT NOT NULL CHECK (input_type IN ('basic', 'enriched')),
    constraint_type      TEXT NOT NULL CHECK (constraint_type IN ('with_constraint', 'no_constraint')),
    chip_count           INTEGER NOT NULL CHECK (chip_count > 0),
    final_chips          TEXT NOT NULL CHECK (json_valid(final_chips)),
    step1_chips          TEXT CHECK (step1_chips IS NULL OR json_valid(step1_chips)),
    selected_chips       TEXT CHECK (selected_chips IS NULL OR json_valid(selected_chips)),
    fill_chips           TEXT CHECK (fill_chips IS NULL OR json_valid(fill_chips)),
    errors               TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(errors)),
    error_count          INTEGER NOT NULL DEFAULT 0,
    latency_ms           INTEGER NOT NULL,
    input_tokens         INTEGER NOT NULL,
    output_tokens        INTEGER NOT NULL,
    cost_usd             REAL NOT NULL,
    billed_cost_usd      REAL,              -- what the provider reported, when it did
    -- objective metrics (0/1 flags and counts)
    parsed               INTEGER NOT NULL,
    count_met            INTEGER NOT NULL,
    constraint_met       INTEGER NOT NULL,
    duplicates_removed   INTEGER NOT NULL,
    fill_used            INTEGER NOT NULL,
    overlong_dropped     INTEGER NOT NULL,
    unknown_type_dropped INTEGER NOT NULL,
    -- maintained by the ratings triggers: live ratings of this result
    rating_sum           INTEGER NOT NULL DEFAULT 0,
    rating_count         INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL
);
-- id = UUID v5 of (run_id, test key), so UNIQUE(id) already keeps one result per test key and run.
-- Pages list results newest-arrived first (seq order). The model index (the filter of the rating
-- queue and the largest groups) also covers the per-user rating probe (by id) and the live-run
-- check, so such a page reads only its own rows. The run and persona indexes stay narrow: every
-- index costs each insert.
CREATE INDEX results_by_run ON results (run_id, seq);
CREATE INDEX results_by_model ON results (model, seq, id, run_id);
CREATE INDEX results_by_persona ON results (persona_id, seq);

-- One rating per (target_kind, target_id, user_id); id = UUID v5 of those three.
-- target_kind is 'result' today; later issues rate playground responses and grid cells.
-- An undone rating keeps its row with deleted_at set, so it can be rated again.
CREATE TABLE ratings (
    id          TEXT PRIMARY KEY,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT,
    UNIQUE (target_kind, target_id, user_id)
);
CREATE INDEX ratings_by_user ON ratings (user_id, target_kind, target_id);

-- Leaderboard summary: one row per (run, dimension, value), updated in the same transaction as
-- the write that changes it. avg_rating = mean_sum / rated_count (mean of per-result means).
CREATE TABLE result_stats (
    run_id             TEXT NOT NULL,
    dim                TEXT NOT NULL,   -- model | persona_id | style | input_type | constraint_type | chip_count
    value              TEXT NOT NULL,
    result_count       INTEGER NOT NULL DEFAULT 0,
    rated_count        INTEGER NOT NULL DEFAULT 0,
    mean_sum           REAL NOT NULL DEFAULT 0,
    cost_sum           REAL NOT NULL DEFAULT 0,
    latency_sum        INTEGER NOT NULL DEFAULT 0,
    input_tokens_sum   INTEGER NOT NULL DEFAULT 0,
    output_tokens_sum  INTEGER NOT NULL DEFAULT 0,
    parsed_sum         INTEGER NOT NULL DEFAULT 0,
    count_met_sum      INTEGER NOT NULL DEFAULT 0,
    constraint_met_sum INTEGER NOT NULL DEFAULT 0,
    fill_used_sum      INTEGER NOT NULL DEFAULT 0,
    with_errors_sum    INTEGER NOT NULL DEFAULT 0,
    -- Clustered for the leaderboard's read: one dimension, grouped by value.
    PRIMARY KEY (dim, value, run_id)
) WITHOUT ROWID;

-- Result counts per (run, model, persona) and per user's live result ratings at the same grain, so
-- a results page's total (filters run/model/persona, rated_by/unrated_by) never scans results.
CREATE TABLE result_counts (
    run_id     TEXT NOT NULL,
    model      TEXT NOT NULL,
    persona_id TEXT NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (run_id, model, persona_id)
) WITHOUT ROWID;
CREATE INDEX result_counts_by_model ON result_counts (model, persona_id);
CREATE INDEX result_counts_by_persona ON result_counts (persona_id);

CREATE TABLE user_rating_counts (
    user_id    TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    model      TEXT NOT NULL,
    persona_id TEXT NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (user_id, run_id, model, persona_id)
) WITHOUT ROWID;
CREATE INDEX user_rating_counts_by_model ON user_rating_counts (user_id, model, persona_id);

-- A new result: count it in every summary, then pick up ratings that arrived before it
-- (sync may deliver them first).
CREATE TRIGGER results_ai AFTER INSERT ON results
BEGIN
    INSERT INTO result_stats (run_id, dim, value, result_count, cost_sum, latency_sum,
                              input_tokens_sum, output_tokens_sum, parsed_sum, count_met_sum,
                              constraint_met_sum, fill_used_sum, with_errors_sum)
    SELECT NEW.run_id, d.dim, d.value, 1, NEW.cost_usd, NEW.latency_ms, NEW.input_tokens,
           NEW.output_tokens, NEW.parsed, NEW.count_met, NEW.constraint_met, NEW.fill_used,
           NEW.error_count > 0
    FROM (SELECT 'model' AS dim, NEW.model AS value
          UNION ALL SELECT 'persona_id', NEW.persona_id
          UNION ALL SELECT 'style', NEW.style
          UNION ALL SELECT 'input_type', NEW.input_type
          UNION ALL SELECT 'constraint_type', NEW.constraint_type
          UNION ALL SELECT 'chip_count', CAST(NEW.chip_count AS TEXT)) AS d
    WHERE true
    ON CONFLICT (dim, value, run_id) DO UPDATE SET
        result_count = result_count + 1,
        cost_sum = cost_sum + excluded.cost_sum,
        latency_sum = latency_sum + excluded.latency_sum,
        input_tokens_sum = input_tokens_sum + excluded.input_tokens_sum,
        output_tokens_sum = output_tokens_sum + excluded.output_tokens_sum,
        parsed_sum = parsed_sum + excluded.parsed_sum,
        count_met_sum = count_met_sum + excluded.count_met_sum,
        constraint_met_sum = constraint_met_sum + excluded.constraint_met_sum,
        fill_used_sum = fill_used_sum + excluded.fill_used_sum,
        with_errors_sum = with_errors_sum + excluded.with_errors_sum;

    INSERT INTO result_counts (run_id, model, persona_id, n)
    VALUES (NEW.run_id, NEW.model, NEW.persona_id, 1)
    ON CONFLICT (run_id, model, persona_id) DO UPDATE SET n = n + 1;

    -- fires results_rating_au, so the summary rows above must exist first
    UPDATE results SET
        rating_sum = (SELECT coalesce(sum(rating), 0) FROM ratings
                      WHERE target_kind = 'result' AND target_id = NEW.id AND deleted_at IS NULL),
        rating_count = (SELECT count(*) FROM ratings
                        WHERE target_kind = 'result' AND target_id = NEW.id AND deleted_at IS NULL)
    WHERE id = NEW.id
      AND EXISTS (SELECT 1 FROM ratings WHERE target_kind = 'result' AND target_id = NEW.id);

    INSERT INTO user_rating_counts (user_id, run_id, model, persona_id, n)
    SELECT user_id, NEW.run_id, NEW.model, NEW.persona_id, 1 FROM ratings
    WHERE target_kind = 'result' AND target_id = NEW.id AND deleted_at IS NULL
    ON CONFLICT (user_id, run_id, model, persona_id) DO UPDATE SET n = n + 1;
END;

-- A result's rating mean changed: move its contribution in the summary.
-- One key lookup per dimension (a row-value IN over a compound select would scan the table).
CREATE TRIGGER results_rating_au AFTER UPDATE OF rating_sum, rating_count ON results
BEGIN
    UPDATE result_stats SET
        rated_count = rated_count - (OLD.rating_count > 0) + (NEW.rating_count > 0),
        mean_sum = mean_sum
            - (CASE WHEN OLD.rating_count > 0 THEN CAST(OLD.rating_sum AS REAL) / OLD.rating_count ELSE 0 END)
            + (CASE WHEN NEW.rating_count > 0 THEN CAST(NEW.rating_sum AS REAL) / NEW.rating_count ELSE 0 END)
    WHERE dim = 'model' AND value = NEW.model AND run_id = NEW.run_id;
    UPDATE result_stats SET
        rated_count = rated_count - (OLD.rating_count > 0) + (NEW.rating_count > 0),
        mean_sum = mean_sum
            - (CASE WHEN OLD.rating_count > 0 THEN CAST(OLD.rating_sum AS REAL) / OLD.rating_count ELSE 0 END)
            + (CASE WHEN NEW.rating_count > 0 THEN CAST(NEW.rating_sum AS REAL) / NEW.rating_count ELSE 0 END)
    WHERE dim = 'persona_id' AND value = NEW.persona_id AND run_id = NEW.run_id;
    UPDATE result_stats SET
        rated_count = rated_count - (OLD.rating_count > 0) + (NEW.rating_count > 0),
        mean_sum = mean_sum
            - (CASE WHEN OLD.rating_count > 0 THEN CAST(OLD.rating_sum AS REAL) / OLD.rating_count ELSE 0 END)
            + (CASE WHEN NEW.rating_count > 0 THEN CAST(NEW.rating_sum AS REAL) / NEW.rating_count ELSE 0 END)
    WHERE dim = 'style' AND value = NEW.style AND run_id = NEW.run_id;
    UPDATE result_stats SET
        rated_count = rated_count - (OLD.rating_count > 0) + (NEW.rating_count > 0),
        mean_sum = mean_sum
            - (CASE WHEN OLD.rating_count > 0 THEN CAST(OLD.rating_sum AS REAL) / OLD.rating_count ELSE 0 END)
            + (CASE WHEN NEW.rating_count > 0 THEN CAST(NEW.rating_sum AS REAL) / NEW.rating_count ELSE 0 END)
    WHERE dim = 'input_type' AND value = NEW.input_type AND run_id = NEW.run_id;
    UPDATE result_stats SET
        rated_count = rated_count - (OLD.rating_count > 0) + (NEW.rating_count > 0),
        mean_sum = mean_sum
            - (CASE WHEN OLD.rating_count > 0 THEN CAST(OLD.rating_sum AS REAL) / OLD.rating_count ELSE 0 END)
            + (CASE WHEN NEW.rating_count > 0 THEN CAST(NEW.rating_sum AS REAL) / NEW.rating_count ELSE 0 END)
    WHERE dim = 'constraint_type' AND value = NEW.constraint_type AND run_id = NEW.run_id;
    UPDATE result_stats SET
        rated_count = rated_count - (OLD.rating_count > 0) + (NEW.rating_count > 0),
        mean_sum = mean_sum
            - (CASE WHEN OLD.rating_count > 0 THEN CAST(OLD.rating_sum AS REAL) / OLD.rating_count ELSE 0 END)
            + (CASE WHEN NEW.rating_count > 0 THEN CAST(NEW.rating_sum AS REAL) / NEW.rating_count ELSE 0 END)
    WHERE dim = 'chip_count' AND value = CAST(NEW.chip_count AS TEXT) AND run_id = NEW.run_id;
END;

-- Ratings move their result's sums (live rows only) and the rater's counts.
CREATE TRIGGER ratings_ai AFTER INSERT ON ratings
WHEN NEW.target_kind = 'result' AND NEW.deleted_at IS NULL
BEGIN
    UPDATE results SET rating_sum = rating_sum + NEW.rating, rating_count = rating_count + 1
    WHERE id = NEW.target_id;
    INSERT INTO user_rating_counts (user_id, run_id, model, persona_id, n)
    SELECT NEW.user_id, run_id, model, persona_id, 1 FROM results WHERE id = NEW.target_id
    ON CONFLICT (user_id, run_id, model, persona_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER ratings_au AFTER UPDATE OF rating, deleted_at ON ratings
WHEN NEW.target_kind = 'result'
BEGIN
    UPDATE results SET
        rating_sum = rating_sum
            - (CASE WHEN OLD.deleted_at IS NULL THEN OLD.rating ELSE 0 END)
            + (CASE WHEN NEW.deleted_at IS NULL THEN NEW.rating ELSE 0 END),
        rating_count = rating_count - (OLD.deleted_at IS NULL) + (NEW.deleted_at IS NULL)
    WHERE id = NEW.target_id
      AND (OLD.deleted_at IS NULL OR NEW.deleted_at IS NULL);
    INSERT INTO user_rating_counts (user_id, run_id, model, persona_id, n)
    SELECT NEW.user_id, run_id, model, persona_id,
           (NEW.deleted_at IS NULL) - (OLD.deleted_at IS NULL)
    FROM results WHERE id = NEW.target_id AND (OLD.deleted_at IS NULL) != (NEW.deleted_at IS NULL)
    ON CONFLICT (user_id, run_id, model, persona_id) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER ratings_ad AFTER DELETE ON ratings
WHEN OLD.target_kind = 'result' AND OLD.deleted_at IS NULL
BEGIN
    UPDATE results SET rating_sum = rating_sum - OLD.rating, rating_count = rating_count - 1
    WHERE id = OLD.target_id;
    UPDATE user_rating_counts SET n = n - 1
    WHERE (user_id, run_id, model, persona_id) IN
          (SELECT OLD.user_id, run_id, model, persona_id FROM results WHERE id = OLD.target_id);
END;
