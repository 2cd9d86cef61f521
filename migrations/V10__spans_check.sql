-- The spans table's trace_kind CHECK spells the four kinds as comparisons. SQLite evaluates an IN
-- list of more than two constants in a CHECK by building a temporary table for every row
-- inserted, which was a quarter of what storing a span cost a batch (issue 5's CPU budget).
--
-- The new CHECK accepts exactly the rows the old one did, so the table's stored SQL is edited in
-- place (SQLite's documented procedure for constraint changes that leave the stored rows alone;
-- copying a million spans would take a minute and double the file): writable_schema to edit
-- it, a DDL statement to advance the schema cookie (other connections reread the schema), and
-- RESET to make this connection reread it as well.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(sql, 'CHECK (trace_kind IN (''test'', ''playground'', ''replay'', ''import''))',
                  'CHECK (trace_kind = ''test'' OR trace_kind = ''playground'' OR trace_kind = ''replay'' OR trace_kind = ''import'')')
WHERE type = 'table' AND name = 'spans';
CREATE TABLE v10_schema_cookie (x);
DROP TABLE v10_schema_cookie;
PRAGMA writable_schema = RESET;
