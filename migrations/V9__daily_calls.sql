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
