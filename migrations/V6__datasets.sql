-- The prompt lab's datasets (issue 6): a file's rows of named text values. A dataset is written
-- once, in one transaction with all its rows (an import that fails stores nothing), and not
-- changed afterwards; a new file is a new dataset.
CREATE TABLE datasets (
    id          TEXT PRIMARY KEY,        -- UUID v7
    name        TEXT NOT NULL,
    source_file TEXT NOT NULL,           -- the file's name as picked (no directory)
    format      TEXT NOT NULL CHECK (format IN ('csv', 'json', 'json_lines')),
    headers     TEXT NOT NULL,           -- JSON array of the column names, in file order
    row_count   INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    origin      TEXT NOT NULL            -- the installation that imported it
);

-- Rows keyed by (dataset, position): a stable natural key on every machine, and an import
-- appends in key order.
CREATE TABLE dataset_rows (
    dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    row_index  INTEGER NOT NULL,         -- 0-based, file order
    cells      TEXT NOT NULL,            -- JSON array of strings in header order
    PRIMARY KEY (dataset_id, row_index)
) WITHOUT ROWID;
