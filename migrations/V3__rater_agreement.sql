-- Rater-normalised scores and rater agreement, maintained like the other aggregates: in the
-- transaction of the write that changes them, so the leaderboard reads small summaries only.
--
-- rater_stats: per dimension x value x run x rater, the rater's live result ratings there (count,
-- sum, sum of squares). Summing a rater's rows of one dimension gives their mean and spread in any
-- set of runs, and with them each group's mean z-score.
--
-- result_rating_values: per result, how many live ratings have each value 1-5, and (generated) the
-- result's contribution to Krippendorff's coincidence matrix: each ordered pair of its ratings
-- weighted 1 / (m - 1), nothing below two ratings. coincidence sums those contributions per
-- dimension x value x run (the matrix is symmetric: 15 cells), so alpha per group and overall
-- needs no scan of ratings.

-- Each result once per dimension, with the dimension's value.
CREATE VIEW result_dims AS
SELECT r.id, r.run_id, d.dim,
       CASE d.dim WHEN 'model' THEN r.model WHEN 'persona_id' THEN r.persona_id WHEN 'style' THEN r.style
                  WHEN 'input_type' THEN r.input_type WHEN 'constraint_type' THEN r.constraint_type
                  ELSE CAST(r.chip_count AS TEXT) END AS value
FROM results r
CROSS JOIN (SELECT 'model' AS dim UNION ALL SELECT 'persona_id' UNION ALL SELECT 'style'
            UNION ALL SELECT 'input_type' UNION ALL SELECT 'constraint_type' UNION ALL SELECT 'chip_count') d;

CREATE TABLE rater_stats (
    dim     TEXT NOT NULL,
    value   TEXT NOT NULL,
    run_id  TEXT NOT NULL,
    user_id TEXT NOT NULL,
    n       INTEGER NOT NULL,
    s       INTEGER NOT NULL,
    ss      INTEGER NOT NULL,
    -- Clustered for the leaderboard's read: one dimension, grouped by value.
    PRIMARY KEY (dim, value, run_id, user_id)
) WITHOUT ROWID;

CREATE TABLE result_rating_values (
    result_id TEXT PRIMARY KEY,   -- may precede its result (sync may deliver ratings first)
    c1 INTEGER NOT NULL DEFAULT 0,
    c2 INTEGER NOT NULL DEFAULT 0,
    c3 INTEGER NOT NULL DEFAULT 0,
    c4 INTEGER NOT NULL DEFAULT 0,
    c5 INTEGER NOT NULL DEFAULT 0,
    m INTEGER GENERATED ALWAYS AS (c1 + c2 + c3 + c4 + c5) VIRTUAL,
    units INTEGER GENERATED ALWAYS AS (m >= 2) VIRTUAL,
    o11 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c1 * (c1 - 1) * 1.0 / (m - 1) ELSE 0 END) VIRTUAL,
    o12 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c1 * c2 * 1.0 / (m - 1) ELSE 0 END) VIRTUAL,
    o13 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c1 * c3 * 1.0 / (m - 1) ELSE 0 END) VIRTUAL,
    o14 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c1 * c4 * 1.0 / (m - 1) ELSE 0 END) VIRTUAL,
    o15 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c1 * c5 * 1.0 / (m - 1) ELSE 0 END) VIRTUAL,
    o22 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c2 * (c2 - 1) * 1.0 / (m - 1) ELSE 0 END) VIRTUAL,
    o23 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c2 * c3 * 1.0 / (m - 1) ELSE 0 END) VIRTUAL,
    o24 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c2 * c4 * 1.0 / (m - 1) ELSE 0 END) VIRTUAL,
    o25 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c2 * c5 * 1.0 / (m - 1) ELSE 0 END) VIRTUAL,
    o33 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c3 * (c3 - 1) * 1.0 / (m - 1) ELSE 0 END) VIRTUAL,
    o34 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c3 * c4 * 1.0 / (m - 1) ELSE 0 END) VIRTUAL,
    o35 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c3 * c5 * 1.0 / (m - 1) ELSE 0 END) VIRTUAL,
    o44 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c4 * (c4 - 1) * 1.0 / (m - 1) ELSE 0 END) VIRTUAL,
    o45 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c4 * c5 * 1.0 / (m - 1) ELSE 0 END) VIRTUAL,
    o55 REAL GENERATED ALWAYS AS (CASE WHEN m >= 2 THEN c5 * (c5 - 1) * 1.0 / (m - 1) ELSE 0 END) VIRTUAL
) WITHOUT ROWID;

CREATE TABLE coincidence (
    dim    TEXT NOT NULL,
    value  TEXT NOT NULL,
    run_id TEXT NOT NULL,
    units  INTEGER NOT NULL,   -- results rated twice or more
    o11 REAL NOT NULL,
    o12 REAL NOT NULL,
    o13 REAL NOT NULL,
    o14 REAL NOT NULL,
    o15 REAL NOT NULL,
    o22 REAL NOT NULL,
    o23 REAL NOT NULL,
    o24 REAL NOT NULL,
    o25 REAL NOT NULL,
    o33 REAL NOT NULL,
    o34 REAL NOT NULL,
    o35 REAL NOT NULL,
    o44 REAL NOT NULL,
    o45 REAL NOT NULL,
    o55 REAL NOT NULL,
    -- Clustered for the leaderboard's read: one dimension, grouped by value.
    PRIMARY KEY (dim, value, run_id)
) WITHOUT ROWID;

-- A result's rating values changed: move its contribution in every dimension.
CREATE TRIGGER result_rating_values_au AFTER UPDATE ON result_rating_values
WHEN OLD.m >= 2 OR NEW.m >= 2
BEGIN
    INSERT INTO coincidence (dim, value, run_id, units, o11, o12, o13, o14, o15, o22, o23, o24, o25, o33, o34, o35, o44, o45, o55)
    SELECT v.dim, v.value, v.run_id, NEW.units - OLD.units, NEW.o11 - OLD.o11, NEW.o12 - OLD.o12, NEW.o13 - OLD.o13, NEW.o14 - OLD.o14, NEW.o15 - OLD.o15, NEW.o22 - OLD.o22, NEW.o23 - OLD.o23, NEW.o24 - OLD.o24, NEW.o25 - OLD.o25, NEW.o33 - OLD.o33, NEW.o34 - OLD.o34, NEW.o35 - OLD.o35, NEW.o44 - OLD.o44, NEW.o45 - OLD.o45, NEW.o55 - OLD.o55
    FROM result_dims v WHERE v.id = NEW.result_id
    ON CONFLICT (dim, value, run_id) DO UPDATE SET
        units = units + excluded.units,
        o11 = o11 + excluded.o11,
        o12 = o12 + excluded.o12,
        o13 = o13 + excluded.o13,
        o14 = o14 + excluded.o14,
        o15 = o15 + excluded.o15,
        o22 = o22 + excluded.o22,
        o23 = o23 + excluded.o23,
        o24 = o24 + excluded.o24,
        o25 = o25 + excluded.o25,
        o33 = o33 + excluded.o33,
        o34 = o34 + excluded.o34,
        o35 = o35 + excluded.o35,
        o44 = o44 + excluded.o44,
        o45 = o45 + excluded.o45,
        o55 = o55 + excluded.o55;
END;

-- Ratings move their rater's moments and their result's value counts. Every change is an
-- upsert of signed deltas: +1 for a live rating appearing, -1 for one going.
CREATE TRIGGER ratings_v3_ai AFTER INSERT ON ratings
WHEN NEW.target_kind = 'result' AND NEW.deleted_at IS NULL
BEGIN
    INSERT INTO rater_stats (dim, value, run_id, user_id, n, s, ss)
    SELECT v.dim, v.value, v.run_id, NEW.user_id, 1, NEW.rating, NEW.rating * NEW.rating
    FROM result_dims v WHERE v.id = NEW.target_id
    ON CONFLICT (dim, value, run_id, user_id) DO UPDATE SET
        n = n + excluded.n, s = s + excluded.s, ss = ss + excluded.ss;
    INSERT INTO result_rating_values (result_id, c1, c2, c3, c4, c5)
    VALUES (NEW.target_id, NEW.rating = 1, NEW.rating = 2, NEW.rating = 3, NEW.rating = 4, NEW.rating = 5)
    ON CONFLICT (result_id) DO UPDATE SET c1 = c1 + excluded.c1, c2 = c2 + excluded.c2, c3 = c3 + excluded.c3, c4 = c4 + excluded.c4, c5 = c5 + excluded.c5;
END;

CREATE TRIGGER ratings_v3_au AFTER UPDATE OF rating, deleted_at ON ratings
WHEN NEW.target_kind = 'result'
BEGIN
    INSERT INTO rater_stats (dim, value, run_id, user_id, n, s, ss)
    SELECT v.dim, v.value, v.run_id, OLD.user_id, -1, -OLD.rating, -OLD.rating * OLD.rating
    FROM result_dims v WHERE v.id = OLD.target_id AND OLD.deleted_at IS NULL
    ON CONFLICT (dim, value, run_id, user_id) DO UPDATE SET
        n = n + excluded.n, s = s + excluded.s, ss = ss + excluded.ss;
    INSERT INTO rater_stats (dim, value, run_id, user_id, n, s, ss)
    SELECT v.dim, v.value, v.run_id, NEW.user_id, 1, NEW.rating, NEW.rating * NEW.rating
    FROM result_dims v WHERE v.id = NEW.target_id AND NEW.deleted_at IS NULL
    ON CONFLICT (dim, value, run_id, user_id) DO UPDATE SET
        n = n + excluded.n, s = s + excluded.s, ss = ss + excluded.ss;
    INSERT INTO result_rating_values (result_id, c1, c2, c3, c4, c5)
    SELECT NEW.target_id, (NEW.deleted_at IS NULL AND NEW.rating = 1) - (OLD.deleted_at IS NULL AND OLD.rating = 1), (NEW.deleted_at IS NULL AND NEW.rating = 2) - (OLD.deleted_at IS NULL AND OLD.rating = 2), (NEW.deleted_at IS NULL AND NEW.rating = 3) - (OLD.deleted_at IS NULL AND OLD.rating = 3), (NEW.deleted_at IS NULL AND NEW.rating = 4) - (OLD.deleted_at IS NULL AND OLD.rating = 4), (NEW.deleted_at IS NULL AND NEW.rating = 5) - (OLD.deleted_at IS NULL AND OLD.rating = 5)
    WHERE true
    ON CONFLICT (result_id) DO UPDATE SET c1 = c1 + excluded.c1, c2 = c2 + excluded.c2, c3 = c3 + excluded.c3, c4 = c4 + excluded.c4, c5 = c5 + excluded.c5;
END;

CREATE TRIGGER ratings_v3_ad AFTER DELETE ON ratings
WHEN OLD.target_kind = 'result' AND OLD.deleted_at IS NULL
BEGIN
    INSERT INTO rater_stats (dim, value, run_id, user_id, n, s, ss)
    SELECT v.dim, v.value, v.run_id, OLD.user_id, -1, -OLD.rating, -OLD.rating * OLD.rating
    FROM result_dims v WHERE v.id = OLD.target_id
    ON CONFLICT (dim, value, run_id, user_id) DO UPDATE SET
        n = n + excluded.n, s = s + excluded.s, ss = ss + excluded.ss;
    UPDATE result_rating_values SET c1 = c1 - (OLD.rating = 1), c2 = c2 - (OLD.rating = 2), c3 = c3 - (OLD.rating = 3), c4 = c4 - (OLD.rating = 4), c5 = c5 - (OLD.rating = 5)
    WHERE result_id = OLD.target_id;
END;

-- A result whose ratings arrived before it (sync may deliver them first) picks them up.
CREATE TRIGGER results_v3_ai AFTER INSERT ON results
WHEN EXISTS (SELECT 1 FROM result_rating_values WHERE result_id = NEW.id)
BEGIN
    INSERT INTO rater_stats (dim, value, run_id, user_id, n, s, ss)
    SELECT v.dim, v.value, v.run_id, x.user_id, 1, x.rating, x.rating * x.rating
    FROM ratings x JOIN result_dims v ON v.id = x.target_id
    WHERE x.target_kind = 'result' AND x.target_id = NEW.id AND x.deleted_at IS NULL
    ON CONFLICT (dim, value, run_id, user_id) DO UPDATE SET
        n = n + excluded.n, s = s + excluded.s, ss = ss + excluded.ss;
    INSERT INTO coincidence (dim, value, run_id, units, o11, o12, o13, o14, o15, o22, o23, o24, o25, o33, o34, o35, o44, o45, o55)
    SELECT v.dim, v.value, v.run_id, u.units, u.o11, u.o12, u.o13, u.o14, u.o15, u.o22, u.o23, u.o24, u.o25, u.o33, u.o34, u.o35, u.o44, u.o45, u.o55
    FROM result_dims v JOIN result_rating_values u ON u.result_id = v.id
    WHERE v.id = NEW.id AND u.m >= 2
    ON CONFLICT (dim, value, run_id) DO UPDATE SET
        units = units + excluded.units,
        o11 = o11 + excluded.o11,
        o12 = o12 + excluded.o12,
        o13 = o13 + excluded.o13,
        o14 = o14 + excluded.o14,
        o15 = o15 + excluded.o15,
        o22 = o22 + excluded.o22,
        o23 = o23 + excluded.o23,
        o24 = o24 + excluded.o24,
        o25 = o25 + excluded.o25,
        o33 = o33 + excluded.o33,
        o34 = o34 + excluded.o34,
        o35 = o35 + excluded.o35,
        o44 = o44 + excluded.o44,
        o45 = o45 + excluded.o45,
        o55 = o55 + excluded.o55;
END;

-- Ratings given before this migration.
INSERT INTO rater_stats (dim, value, run_id, user_id, n, s, ss)
SELECT v.dim, v.value, v.run_id, x.user_id, count(*), sum(x.rating), sum(x.rating * x.rating)
FROM ratings x JOIN result_dims v ON v.id = x.target_id
WHERE x.target_kind = 'result' AND x.deleted_at IS NULL
GROUP BY 1, 2, 3, 4;

INSERT INTO result_rating_values (result_id, c1, c2, c3, c4, c5)
SELECT target_id, sum(rating = 1), sum(rating = 2), sum(rating = 3), sum(rating = 4), sum(rating = 5)
FROM ratings WHERE target_kind = 'result' AND deleted_at IS NULL
GROUP BY target_id;

INSERT INTO coincidence (dim, value, run_id, units, o11, o12, o13, o14, o15, o22, o23, o24, o25, o33, o34, o35, o44, o45, o55)
SELECT v.dim, v.value, v.run_id, sum(u.units), sum(u.o11), sum(u.o12), sum(u.o13), sum(u.o14), sum(u.o15), sum(u.o22), sum(u.o23), sum(u.o24), sum(u.o25), sum(u.o33), sum(u.o34), sum(u.o35), sum(u.o44), sum(u.o45), sum(u.o55)
FROM result_rating_values u JOIN result_dims v ON v.id = u.result_id
WHERE u.m >= 2
GROUP BY 1, 2, 3;
