-- Change capture for sync with a shared Turso database (ARCHITECTURE.md, Sync).
--
-- sync_outbox: every insert or update of a synced row (runs, ratings, models, prompts) appends
-- (table, id). A push sends the current rows and then deletes the entries up to the highest seq it
-- sent, never by (table, id): a change made during the push stays queued.
-- Results are immutable and by far the most numerous: instead of an outbox entry each, a push sends
-- the results above the high-water mark `results_pushed_seq` in sync_state, skipping the seq ranges
-- that pull itself inserted (sync_pulled_results).

CREATE TABLE sync_outbox (
    seq INTEGER PRIMARY KEY,
    tbl TEXT NOT NULL,
    id  TEXT NOT NULL
);

-- Local sync bookkeeping: results_pushed_seq, and a pull cursor per table ('pull:<table>').
CREATE TABLE sync_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Rows the remote refused (a constraint there): kept out of later pushes and counted in the
-- status, so one bad row never blocks the rows behind it.
CREATE TABLE sync_quarantine (
    tbl   TEXT NOT NULL,
    id    TEXT NOT NULL,
    error TEXT NOT NULL,
    at    TEXT NOT NULL,
    PRIMARY KEY (tbl, id)
);

CREATE TABLE sync_pulled_results (
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL
);

CREATE TRIGGER runs_outbox_ai AFTER INSERT ON runs BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('runs', NEW.id);
END;
CREATE TRIGGER runs_outbox_au AFTER UPDATE ON runs BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('runs', NEW.id);
END;
CREATE TRIGGER ratings_outbox_ai AFTER INSERT ON ratings BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('ratings', NEW.id);
END;
CREATE TRIGGER ratings_outbox_au AFTER UPDATE ON ratings BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('ratings', NEW.id);
END;
CREATE TRIGGER models_outbox_ai AFTER INSERT ON models BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('models', NEW.id);
END;
CREATE TRIGGER models_outbox_au AFTER UPDATE ON models BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('models', NEW.id);
END;
CREATE TRIGGER prompts_outbox_ai AFTER INSERT ON prompts BEGIN
    INSERT INTO sync_outbox (tbl, id) VALUES ('prompts', NEW.id);
END;

-- What existed before this migration is pending too (seeded models carry an epoch updated_at, so
-- every installation pushes the same rows and none wins over a real edit).
INSERT INTO sync_outbox (tbl, id) SELECT 'runs', id FROM runs;
INSERT INTO sync_outbox (tbl, id) SELECT 'ratings', id FROM ratings;
INSERT INTO sync_outbox (tbl, id) SELECT 'models', id FROM models;
INSERT INTO sync_outbox (tbl, id) SELECT 'prompts', id FROM prompts;
INSERT INTO sync_state (key, value) VALUES ('results_pushed_seq', '0');
