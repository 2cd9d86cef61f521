-- Per run x dimension x value, how many rated results have each (rating_sum, rating_count) pair.
-- A result's mean rating is rsum / rcount, so this is the histogram of per-result means that the
-- leaderboard's bootstrap interval resamples, kept in the same transaction as the rating.
CREATE TABLE rating_hist (
    run_id TEXT NOT NULL,
    dim    TEXT NOT NULL,
    value  TEXT NOT NULL,
    rsum   INTEGER NOT NULL,
    rcount INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (run_id, dim, value, rsum, rcount)
) WITHOUT ROWID;
CREATE INDEX rating_hist_by_dim ON rating_hist (dim, value);

CREATE TRIGGER results_rating_hist_au AFTER UPDATE OF rating_sum, rating_count ON results
BEGIN
    UPDATE rating_hist SET n = n - 1
    WHERE OLD.rating_count > 0 AND run_id = OLD.run_id AND rsum = OLD.rating_sum AND rcount = OLD.rating_count
      AND (dim, value) IN (SELECT 'model', OLD.model
                           UNION ALL SELECT 'persona_id', OLD.persona_id
                           UNION ALL SELECT 'style', OLD.style
                           UNION ALL SELECT 'input_type', OLD.input_type
                           UNION ALL SELECT 'constraint_type', OLD.constraint_type
                           UNION ALL SELECT 'chip_count', CAST(OLD.chip_count AS TEXT));

    INSERT INTO rating_hist (run_id, dim, value, rsum, rcount, n)
    SELECT NEW.run_id, d.dim, d.value, NEW.rating_sum, NEW.rating_count, 1
    FROM (SELECT 'model' AS dim, NEW.model AS value
          UNION ALL SELECT 'persona_id', NEW.persona_id
          UNION ALL SELECT 'style', NEW.style
          UNION ALL SELECT 'input_type', NEW.input_type
          UNION ALL SELECT 'constraint_type', NEW.constraint_type
          UNION ALL SELECT 'chip_count', CAST(NEW.chip_count AS TEXT)) AS d
    WHERE NEW.rating_count > 0
    ON CONFLICT (run_id, dim, value, rsum, rcount) DO UPDATE SET n = n + 1;
END;

-- Results rated before this migration.
INSERT INTO rating_hist (run_id, dim, value, rsum, rcount, n)
SELECT r.run_id, d.dim,
       CASE d.dim WHEN 'model' THEN r.model WHEN 'persona_id' THEN r.persona_id WHEN 'style' THEN r.style
                  WHEN 'input_type' THEN r.input_type WHEN 'constraint_type' THEN r.constraint_type
                  ELSE CAST(r.chip_count AS TEXT) END,
       r.rating_sum, r.rating_count, count(*)
FROM results r
CROSS JOIN (SELECT 'model' AS dim UNION ALL SELECT 'persona_id' UNION ALL SELECT 'style'
            UNION ALL SELECT 'input_type' UNION ALL SELECT 'constraint_type' UNION ALL SELECT 'chip_count') d
WHERE r.rating_count > 0
GROUP BY 1, 2, 3, 4, 5;
