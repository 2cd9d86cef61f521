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
    -- Clustered for the leaderboard's read: one dimension, grouped by value and (rsum, rcount).
    PRIMARY KEY (dim, value, rsum, rcount, run_id)
) WITHOUT ROWID;

CREATE TRIGGER results_rating_hist_au AFTER UPDATE OF rating_sum, rating_count ON results
BEGIN
    -- one key lookup per dimension (a row-value IN over a compound select would scan the table)
    UPDATE rating_hist SET n = n - 1
    WHERE OLD.rating_count > 0 AND dim = 'model' AND value = OLD.model
      AND rsum = OLD.rating_sum AND rcount = OLD.rating_count AND run_id = OLD.run_id;
    UPDATE rating_hist SET n = n - 1
    WHERE OLD.rating_count > 0 AND dim = 'persona_id' AND value = OLD.persona_id
      AND rsum = OLD.rating_sum AND rcount = OLD.rating_count AND run_id = OLD.run_id;
    UPDATE rating_hist SET n = n - 1
    WHERE OLD.rating_count > 0 AND dim = 'style' AND value = OLD.style
      AND rsum = OLD.rating_sum AND rcount = OLD.rating_count AND run_id = OLD.run_id;
    UPDATE rating_hist SET n = n - 1
    WHERE OLD.rating_count > 0 AND dim = 'input_type' AND value = OLD.input_type
      AND rsum = OLD.rating_sum AND rcount = OLD.rating_count AND run_id = OLD.run_id;
    UPDATE rating_hist SET n = n - 1
    WHERE OLD.rating_count > 0 AND dim = 'constraint_type' AND value = OLD.constraint_type
      AND rsum = OLD.rating_sum AND rcount = OLD.rating_count AND run_id = OLD.run_id;
    UPDATE rating_hist SET n = n - 1
    WHERE OLD.rating_count > 0 AND dim = 'chip_count' AND value = CAST(OLD.chip_count AS TEXT)
      AND rsum = OLD.rating_sum AND rcount = OLD.rating_count AND run_id = OLD.run_id;

    INSERT INTO rating_hist (run_id, dim, value, rsum, rcount, n)
    SELECT NEW.run_id, d.dim, d.value, NEW.rating_sum, NEW.rating_count, 1
    FROM (SELECT 'model' AS dim, NEW.model AS value
          UNION ALL SELECT 'persona_id', NEW.persona_id
          UNION ALL SELECT 'style', NEW.style
          UNION ALL SELECT 'input_type', NEW.input_type
          UNION ALL SELECT 'constraint_type', NEW.constraint_type
          UNION ALL SELECT 'chip_count', CAST(NEW.chip_count AS TEXT)) AS d
    WHERE NEW.rating_count > 0
    ON CONFLICT (dim, value, rsum, rcount, run_id) DO UPDATE SET n = n + 1;
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
