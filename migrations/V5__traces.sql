-- The trace debugger. Every LLM call is a span; a trace groups the spans of one test (trace id =
-- the test's result id, so a resumed test adds its new attempt to the same trace), one playground
-- session, one replay, or one imported trace. A stored span is final (immutable): a span is
-- written when its call has ended; the window learns of calls in flight from events.
CREATE TABLE spans (
    seq             INTEGER PRIMARY KEY,  -- arrival order here (local only): FTS rowid, live order
    id              TEXT NOT NULL UNIQUE,
    trace_id        TEXT NOT NULL,
    parent_id       TEXT,
    trace_kind      TEXT NOT NULL CHECK (trace_kind IN ('test', 'playground', 'replay', 'import')),
    trace_name      TEXT NOT NULL,
    run_id          TEXT,                 -- a test's spans: its run
    kind            TEXT NOT NULL,        -- generation, selection, fill, chat, replay, or an imported type
    name            TEXT NOT NULL,
    provider        TEXT,
    model           TEXT,
    status          TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    error           TEXT,
    -- JSON columns are written by serde only; no json_valid CHECK, which would parse every prompt again.
    messages        TEXT,                 -- [{role, content}]
    params          TEXT,                 -- temperature, max_tokens, response_format, the mock's seed
    response        TEXT,                 -- its parsed output is derived when read (the response contract)
    attempts        TEXT NOT NULL DEFAULT '[]', -- failed attempts before the last
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    cost_usd        REAL NOT NULL DEFAULT 0,  -- at the price table
    billed_cost_usd REAL,                     -- what the provider reported, when it did
    latency_ms      INTEGER NOT NULL DEFAULT 0,
    started_at      TEXT NOT NULL,
    ended_at        TEXT NOT NULL,
    replay_of       TEXT,                 -- a replay: the span it replays
    attributes      TEXT,                 -- imported spans' own
    origin          TEXT NOT NULL
);
-- No index on trace_id: trace ids are random (a test's is its result's UUID v5), and an index
-- entry per span at a random place costs a batch a page write per call. Spans are found through
-- trace_spans (below), keyed by the trace's row number, which grows as traces arrive.
CREATE INDEX spans_by_replayed ON spans (replay_of) WHERE replay_of IS NOT NULL;

-- One row per trace, maintained from its spans (local): whoever inserts spans (a batch's group
-- commit, a pull, an import) folds the new ones in with one statement per transaction
-- (store::traces::fold_new_spans), cheaper than a trigger per span.
CREATE TABLE traces (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    run_id        TEXT,
    started_at    TEXT NOT NULL,
    ended_at      TEXT NOT NULL,
    span_count    INTEGER NOT NULL,
    error_count   INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd      REAL NOT NULL,
    last_seq      INTEGER NOT NULL         -- its newest span: the live view follows this
);
CREATE INDEX traces_by_last ON traces (last_seq);

-- A trace's spans: (the trace's rowid, the span's seq). New traces get the highest rowids, so a
-- batch's entries land at the end of this small index.
CREATE TABLE trace_spans (
    trace_no INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    PRIMARY KEY (trace_no, seq)
) WITHOUT ROWID;

-- The searchable text of a span: its trace's name, what was sent (every message), what came
-- back, and the error. A view, so the text is stored once (in spans) and FTS5 reads snippets
-- from it by rowid. Indexing costs several times what storing a span does, so it is not done in
-- the writing transaction: `span_fts_mark` says which spans are indexed, and the store indexes
-- the rest in the background and before a search (core/src/store/traces.rs).
CREATE VIEW span_text (seq, trace_name, input, response, error) AS
SELECT seq, trace_name,
       (SELECT group_concat(value ->> 'content', char(10)) FROM json_each(spans.messages)),
       response, error
FROM spans;

CREATE VIRTUAL TABLE span_fts USING fts5 (
    trace_name, input, response, error,
    content = 'span_text', content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '3'
);

CREATE TABLE span_fts_mark (
    seq INTEGER NOT NULL       -- spans up to this seq are in span_fts
);
INSERT INTO span_fts_mark (seq) VALUES (0);

-- Spans sync like results: pushed above a high-water mark on seq, skipping the seq ranges that
-- pull itself inserted (ARCHITECTURE.md, Sync).
CREATE TABLE sync_pulled_spans (
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL
);
