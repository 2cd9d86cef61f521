-- The prompt lab's grid runs (issue 6): one prompt version run on every row of a dataset by up to
-- four models. Each (row, model) is a cell with a state, its output, the graders' verdicts and a
-- history of events. Every call a cell makes is a span of the cell's trace (trace id = cell id,
-- kind `test`: a cell is one test of a grid run, as a result is one test of a benchmark run).
CREATE TABLE grid_runs (
    id            TEXT PRIMARY KEY,        -- UUID v7
    prompt_id     TEXT NOT NULL,           -- the prompt version run (prompts.id)
    dataset_id    TEXT NOT NULL REFERENCES datasets (id),
    models        TEXT NOT NULL,           -- JSON array of 1-4 model ids, in display order
    params        TEXT NOT NULL,           -- JSON {temperature, max_tokens}
    graders       TEXT NOT NULL,           -- JSON {rule: {rule, expected}?, judge: {prompt_id, model}?}
    active_metric TEXT NOT NULL CHECK (active_metric IN ('rule', 'judge', 'manual')),
    provider      TEXT NOT NULL,
    base_url      TEXT,                    -- an OpenAI-compatible server's, as chosen
    concurrency   INTEGER NOT NULL CHECK (concurrency > 0),
    is_demo       INTEGER NOT NULL DEFAULT 0 CHECK (is_demo IN (0, 1)),  -- mock-provider runs
    status        TEXT NOT NULL CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
    status_reason TEXT,
    created_at    TEXT NOT NULL,
    completed_at  TEXT,
    updated_at    TEXT NOT NULL,
    origin        TEXT NOT NULL            -- the installation that started it
);

CREATE TABLE grid_cells (
    id            TEXT PRIMARY KEY,        -- UUID v5 of (run, row, model): the same everywhere
    run_id        TEXT NOT NULL REFERENCES grid_runs (id) ON DELETE CASCADE,
    row_index     INTEGER NOT NULL,
    model         TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    output        TEXT,                    -- the model's answer, untrusted text
    error         TEXT,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd      REAL NOT NULL DEFAULT 0, -- the generation call's, at the price table (the judge's is its span's)
    latency_ms    INTEGER NOT NULL DEFAULT 0,
    rule_pass     INTEGER CHECK (rule_pass IN (0, 1)),
    rule_reason   TEXT,
    judge_pass    INTEGER CHECK (judge_pass IN (0, 1)),
    judge_reason  TEXT,                    -- the judge's rationale, or why it gave no verdict
    span_id       TEXT,                    -- the latest attempt's generation span
    attempts      INTEGER NOT NULL DEFAULT 0,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX grid_cells_by_position ON grid_cells (run_id, row_index, model);

-- Append-only: what happened to a cell and when (queued, started, succeeded, failed, graded).
-- Numerous and immutable, so sync pushes them above a mark on seq, as it does results.
CREATE TABLE grid_cell_events (
    seq      INTEGER PRIMARY KEY,
    id       TEXT NOT NULL UNIQUE,         -- UUID v7
    cell_id  TEXT NOT NULL REFERENCES grid_cells (id) ON DELETE CASCADE,
    event    TEXT NOT NULL CHECK (event IN ('queued', 'started', 'succeeded', 'failed', 'graded')),
    detail   TEXT,
    at       TEXT NOT NULL
);
CREATE INDEX grid_cell_events_by_cell ON grid_cell_events (cell_id, at);

-- A person's grade of a cell: one per cell and user. Unset keeps the row with a NULL grade, so
-- withdrawing a grade syncs like setting one.
CREATE TABLE manual_grades (
    id         TEXT PRIMARY KEY,           -- UUID v5 of (cell, user)
    cell_id    TEXT NOT NULL REFERENCES grid_cells (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    grade      TEXT CHECK (grade IN ('pass', 'fail')),
    updated_at TEXT NOT NULL
);
CREATE INDEX manual_grades_by_cell ON manual_grades (cell_id);

-- Dataset rows get a row number (sync pushes them above a mark on seq) and an id (the sync key,
-- `dataset id/row index`): the table of V6 is rebuilt with them.
CREATE TABLE dataset_rows_v7 (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    row_index  INTEGER NOT NULL,           -- 0-based, file order
    cells      TEXT NOT NULL,              -- JSON array of strings in header order
    UNIQUE (dataset_id, row_index)
);
INSERT INTO dataset_rows_v7 (id, dataset_id, row_index, cells)
    SELECT dataset_id || '/' || row_index, dataset_id, row_index, cells FROM dataset_rows ORDER BY dataset_id, row_index;
DROP TABLE dataset_rows;
ALTER TABLE dataset_rows_v7 RENAME TO dataset_rows;

-- The version of each prompt name in use: the benchmark runs its prompts' current versions.
-- Saving a text makes it current, also a text the name already has (no new version), so going
-- back to an older version is saving its text again.
CREATE TABLE prompt_current (
    id         TEXT PRIMARY KEY,           -- the prompt's name
    prompt_id  TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- A renamed prompt: the new name numbers its versions from 1 and keeps the link to the old one.
CREATE TABLE prompt_renames (
    id         TEXT PRIMARY KEY,           -- the new name (a name starts once)
    from_name  TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Change capture (see V4): datasets, grid runs, cells, people's grades, current prompt versions
-- and renames go through the outbox;
-- dataset rows and cell events above their pushed marks.
CREATE TABLE sync_pulled_dataset_rows (
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL
);
CREATE TABLE sync_pulled_grid_cell_events (
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL
);
CREATE TRIGGER datasets_outbox_ai AFTER INSERT ON datasets BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('datasets', NEW.id);
END;
CREATE TRIGGER grid_runs_outbox_ai AFTER INSERT ON grid_runs BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('grid_runs', NEW.id);
END;
CREATE TRIGGER grid_runs_outbox_au AFTER UPDATE ON grid_runs BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('grid_runs', NEW.id);
END;
CREATE TRIGGER grid_cells_outbox_ai AFTER INSERT ON grid_cells BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('grid_cells', NEW.id);
END;
CREATE TRIGGER grid_cells_outbox_au AFTER UPDATE ON grid_cells BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('grid_cells', NEW.id);
END;
CREATE TRIGGER manual_grades_outbox_ai AFTER INSERT ON manual_grades BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('manual_grades', NEW.id);
END;
CREATE TRIGGER manual_grades_outbox_au AFTER UPDATE ON manual_grades BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('manual_grades', NEW.id);
END;
CREATE TRIGGER prompt_current_outbox_ai AFTER INSERT ON prompt_current BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('prompt_current', NEW.id);
END;
CREATE TRIGGER prompt_current_outbox_au AFTER UPDATE ON prompt_current BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('prompt_current', NEW.id);
END;
CREATE TRIGGER prompt_renames_outbox_ai AFTER INSERT ON prompt_renames BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('prompt_renames', NEW.id);
END;
INSERT INTO sync_outbox (tbl, id) SELECT 'datasets', id FROM datasets;
