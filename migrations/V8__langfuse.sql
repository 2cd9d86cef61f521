-- Imports from Langfuse (issue 7). Imported traces and observations are Chipbench spans (trace
-- kind `import`, attributes.source = "langfuse"); these tables keep what spans do not: the
-- sessions, each imported trace's session, user and name (the per-agent view groups by name),
-- and a record of every import. Local: each installation imports for itself.
CREATE TABLE langfuse_sessions (
    id          TEXT PRIMARY KEY,       -- the Langfuse session id
    created_at  TEXT,
    environment TEXT
);

CREATE TABLE langfuse_traces (
    id         TEXT PRIMARY KEY,        -- Chipbench's trace id for it (ids::langfuse_id)
    source_id  TEXT NOT NULL UNIQUE,    -- the Langfuse trace id
    session_id TEXT,
    user_id    TEXT,
    name       TEXT,
    timestamp  TEXT NOT NULL            -- Chipbench's time format (clock::format)
);
CREATE INDEX langfuse_traces_by_session ON langfuse_traces (session_id, timestamp);
CREATE INDEX langfuse_traces_by_name ON langfuse_traces (name, timestamp);

-- One row per import: its state, what it brought, and where the next one starts.
CREATE TABLE langfuse_imports (
    id           INTEGER PRIMARY KEY,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    status       TEXT NOT NULL CHECK (status IN ('running', 'ok', 'rate_limited', 'error')),
    error        TEXT,
    sessions     INTEGER NOT NULL DEFAULT 0,
    traces       INTEGER NOT NULL DEFAULT 0,
    observations INTEGER NOT NULL DEFAULT 0,
    partial      INTEGER NOT NULL DEFAULT 0,  -- observations kept with what was known
    watermark    TEXT,                        -- the newest trace timestamp seen (Langfuse's text)
    verification TEXT                         -- local counts against the remote's totals
);
