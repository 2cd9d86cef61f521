-- Deleting a trace that belongs to no benchmark run: a playground session, a replay, an imported
-- trace. A test's trace goes with its run (runs.deleted_at). Like a run's, the deletion is a
-- tombstone that sync carries: its spans stay stored, and every read leaves them out
-- (store::traces, LIVE). Restoring sets deleted_at back to NULL with a later updated_at, so the
-- undo syncs as well.
CREATE TABLE trace_deletions (
    id         TEXT PRIMARY KEY,  -- the trace's id
    deleted_at TEXT,              -- NULL once restored
    updated_at TEXT NOT NULL
);

CREATE TRIGGER trace_deletions_outbox_ai AFTER INSERT ON trace_deletions BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('trace_deletions', NEW.id);
END;
CREATE TRIGGER trace_deletions_outbox_au AFTER UPDATE ON trace_deletions BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('trace_deletions', NEW.id);
END;
