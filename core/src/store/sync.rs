//! The local side of sync: what is waiting to be pushed (the outbox, and results and spans above
//! their pushed marks), forgetting it once the remote has committed it, and applying pulled rows
//! under the tables' rules (`crate::sync::tables`) in one transaction with the pull cursor.

use rusqlite::{params_from_iter, types::Value as Sql, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{Result, Store};
use crate::sync::{
    tables::{Side, SyncTable, TABLES},
    SyncOptions,
};

/// Changes waiting for a push, and what to forget once the remote has them.
#[derive(Debug, Default)]
pub struct Pending {
    /// Rows to send, parents first.
    pub rows: Vec<(&'static SyncTable, Vec<Sql>)>,
    /// Outbox entries up to this seq are covered.
    outbox_through: i64,
    /// Per table pushed by seq (results, spans): rows up to this seq are covered.
    through: Vec<(&'static SyncTable, i64)>,
}

impl Pending {
    /// True when nothing is to be sent or forgotten.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.outbox_through == 0 && self.through.is_empty()
    }
}

fn pushed_mark(c: &Connection, t: &SyncTable) -> rusqlite::Result<i64> {
    Ok(state(c, &format!("{}_pushed_seq", t.name))?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Rows of a by-seq table above `mark` that pull did not insert.
fn not_pulled(t: &SyncTable) -> String {
    format!("NOT EXISTS (SELECT 1 FROM sync_pulled_{} p WHERE seq BETWEEN p.first_seq AND p.last_seq)", t.name)
}

fn state(c: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    c.query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| r.get(0)).optional()
}

fn set_state(c: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    c.execute("INSERT INTO sync_state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])?;
    Ok(())
}

/// How sync stands, as the window and `chipbench sync` show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncStatus {
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Rows waiting for a push.
    pub pending: u64,
    /// Rows pushed and pulled by the last successful sync.
    pub last_pushed: u64,
    pub last_pulled: u64,
    /// Rows the remote refused, kept out of pushes.
    pub quarantined: u64,
}

/// The condition that keeps demo (mock) runs and grid runs, and what belongs to them, out of a push.
fn not_demo(t: &SyncTable) -> &'static str {
    match t.name {
        "runs" | "grid_runs" => " AND is_demo = 0",
        "results" => " AND run_id IN (SELECT id FROM runs WHERE is_demo = 0)",
        "spans" => {
            " AND (run_id IS NULL OR run_id IN (SELECT id FROM runs WHERE is_demo = 0) OR run_id IN (SELECT id FROM grid_runs WHERE is_demo = 0))"
        }
        "grid_cells" => " AND run_id IN (SELECT id FROM grid_runs WHERE is_demo = 0)",
        "grid_cell_events" | "manual_grades" => " AND cell_id IN (SELECT c.id FROM grid_cells c JOIN grid_runs g ON g.id = c.run_id WHERE g.is_demo = 0)",
        "ratings" => {
            " AND NOT EXISTS (SELECT 1 FROM results x JOIN runs u ON u.id = x.run_id WHERE x.id = ratings.target_id AND u.is_demo = 1)"
        }
        _ => "",
    }
}

fn row(c: &Connection, t: &SyncTable, where_sql: &str, arg: Sql) -> rusqlite::Result<Vec<Vec<Sql>>> {
    let mut stmt = c.prepare_cached(&format!("SELECT {} FROM {} {where_sql}", t.column_list(), t.name))?;
    let n = t.columns.len();
    let rows = stmt.query_map([arg], |r| (0..n).map(|i| r.get::<_, Sql>(i)).collect::<rusqlite::Result<Vec<_>>>())?;
    rows.collect()
}

/// Whether each run or trace that pulled `runs` or `trace_deletions` rows name is live here. A
/// run not here yet is left out (it brings nothing yet); a trace without a tombstone is live.
fn liveness(tx: &Connection, table: &str, rows: &[Option<Vec<Sql>>]) -> rusqlite::Result<std::collections::HashMap<String, bool>> {
    let mut live = tx.prepare_cached(&format!("SELECT deleted_at IS NULL FROM {table} WHERE id = ?1"))?;
    let mut found = std::collections::HashMap::new();
    for row in rows.iter().flatten() {
        if let Sql::Text(id) = &row[0] {
            let is_live = live.query_row([id], |r| r.get::<_, bool>(0)).optional()?;
            if let Some(is_live) = is_live.or((table == "trace_deletions").then_some(true)) {
                found.insert(id.clone(), is_live);
            }
        }
    }
    Ok(found)
}

impl Store {
    /// Up to about `max_rows` rows waiting for a push: outbox entries first (runs, models, prompts,
    /// ratings; each row once, as it is now), then results and spans above their pushed marks.
    /// Without `include_demo`, demo runs and what belongs to them are passed over (and so
    /// forgotten; see [`Store::sync_include_demo`]).
    pub fn sync_pending(&self, max_rows: usize, scope: SyncOptions) -> Result<Pending> {
        let filter = |t: &SyncTable| {
            let quarantined = format!(" AND NOT EXISTS (SELECT 1 FROM sync_quarantine q WHERE q.tbl = '{}' AND q.id = {}.id)", t.name, t.name);
            if scope.include_demo { quarantined } else { format!("{}{quarantined}", not_demo(t)) }
        };
        let send = |t: &'static SyncTable, row: Vec<Sql>| (t, if scope.span_payloads { row } else { t.without_payload(row) });
        self.read(|c| {
            let mut pending = Pending::default();
            let mut stmt = c.prepare_cached("SELECT seq, tbl, id FROM sync_outbox ORDER BY seq LIMIT ?1")?;
            let entries: Vec<(i64, String, String)> =
                stmt.query_map([max_rows as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<_>>()?;
            let mut seen = std::collections::HashSet::new();
            for t in &TABLES {
                for (seq, _, id) in entries.iter().filter(|(_, tbl, _)| tbl == t.name) {
                    pending.outbox_through = pending.outbox_through.max(*seq);
                    if seen.insert((t.name, id.clone())) {
                        // A row deleted locally since has nothing to send.
                        let by_id = format!("WHERE id = ?1{}", filter(t));
                        pending.rows.extend(row(c, t, &by_id, Sql::Text(id.clone()))?.into_iter().map(|r| send(t, r)));
                    }
                }
            }
            for t in TABLES.iter().filter(|t| t.by_seq) {
                let room = max_rows.saturating_sub(pending.rows.len()) as i64;
                if room == 0 {
                    break;
                }
                let mark = pushed_mark(c, t)?;
                let through: Option<i64> =
                    c.query_row(&format!("SELECT max(seq) FROM (SELECT seq FROM {} WHERE seq > ?1 ORDER BY seq LIMIT ?2)", t.name), [mark, room], |r| r.get(0))?;
                if let Some(through) = through {
                    let window = format!("WHERE seq > {mark} AND seq <= ?1 AND {}{} ORDER BY seq", not_pulled(t), filter(t));
                    pending.rows.extend(row(c, t, &window, Sql::Integer(through))?.into_iter().map(|r| send(t, r)));
                    pending.through.push((t, through));
                }
            }
            Ok(pending)
        })
    }

    /// Forgets what `pending` covered, once the remote has committed it. Entries queued since stay.
    pub fn sync_pushed(&self, pending: &Pending) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM sync_outbox WHERE seq <= ?1", [pending.outbox_through])?;
            for (t, through) in &pending.through {
                set_state(tx, &format!("{}_pushed_seq", t.name), &through.to_string())?;
                tx.execute(&format!("DELETE FROM sync_pulled_{} WHERE last_seq <= ?1", t.name), [through])?;
            }
            Ok(())
        })
    }

    /// Whether this sync includes demo runs. Turning them on queues every demo run (and grid run)
    /// with what belongs to it once (they were passed over while off); turning them off is remembered so
    /// that the next turn on queues them again.
    pub fn sync_include_demo(&self, include: bool) -> Result<()> {
        self.write(|tx| {
            let was = state(tx, "demo_included")?.is_some();
            if include && !was {
                tx.execute_batch(
                    "INSERT INTO sync_outbox (tbl, id) SELECT 'runs', id FROM runs WHERE is_demo = 1;
                     INSERT INTO sync_outbox (tbl, id) SELECT 'results', r.id FROM results r JOIN runs u ON u.id = r.run_id WHERE u.is_demo = 1;
                     INSERT INTO sync_outbox (tbl, id) SELECT 'ratings', x.id FROM ratings x JOIN results r ON r.id = x.target_id
                         JOIN runs u ON u.id = r.run_id WHERE u.is_demo = 1;
                     INSERT INTO sync_outbox (tbl, id) SELECT 'spans', s.id FROM spans s JOIN runs u ON u.id = s.run_id WHERE u.is_demo = 1;
                     INSERT INTO sync_outbox (tbl, id) SELECT 'grid_runs', id FROM grid_runs WHERE is_demo = 1;
                     INSERT INTO sync_outbox (tbl, id) SELECT 'grid_cells', c.id FROM grid_cells c JOIN grid_runs g ON g.id = c.run_id WHERE g.is_demo = 1;
                     INSERT INTO sync_outbox (tbl, id) SELECT 'grid_cell_events', e.id FROM grid_cell_events e JOIN grid_cells c ON c.id = e.cell_id
                         JOIN grid_runs g ON g.id = c.run_id WHERE g.is_demo = 1;
                     INSERT INTO sync_outbox (tbl, id) SELECT 'manual_grades', m.id FROM manual_grades m JOIN grid_cells c ON c.id = m.cell_id
                         JOIN grid_runs g ON g.id = c.run_id WHERE g.is_demo = 1;
                     INSERT INTO sync_outbox (tbl, id) SELECT 'spans', s.id FROM spans s JOIN grid_runs g ON g.id = s.run_id WHERE g.is_demo = 1;",
                )?;
                set_state(tx, "demo_included", "1")?;
            } else if !include && was {
                tx.execute("DELETE FROM sync_state WHERE key = 'demo_included'", [])?;
            }
            Ok(())
        })
    }

    /// Rows waiting for a push (outbox entries, unpushed results and spans).
    pub fn sync_pending_count(&self) -> Result<u64> {
        self.read(|c| {
            let mut n: u64 = c.query_row("SELECT count(DISTINCT tbl || id) FROM sync_outbox", [], |r| r.get(0))?;
            for t in TABLES.iter().filter(|t| t.by_seq) {
                let sql = format!("SELECT count(*) FROM {} WHERE seq > ?1 AND {}", t.name, not_pulled(t));
                n += c.query_row(&sql, [pushed_mark(c, t)?], |r| r.get::<_, u64>(0))?;
            }
            Ok(n)
        })
    }

    /// Keeps a row the remote refused out of later pushes, with the remote's reason.
    pub fn sync_quarantine(&self, table: &str, id: &Sql, error: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO sync_quarantine (tbl, id, error, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (tbl, id) DO UPDATE SET error = excluded.error, at = excluded.at",
                rusqlite::params![table, id, error, crate::clock::now()],
            )?;
            Ok(())
        })
    }

    /// Records how a sync ended: the counts of a success, or the error's message.
    pub fn sync_record(&self, outcome: std::result::Result<(u64, u64), &str>) -> Result<()> {
        let now = crate::clock::now();
        self.write(|tx| {
            match outcome {
                Ok((pushed, pulled)) => {
                    set_state(tx, "last_success_at", &now)?;
                    set_state(tx, "last_pushed", &pushed.to_string())?;
                    set_state(tx, "last_pulled", &pulled.to_string())?;
                    tx.execute("DELETE FROM sync_state WHERE key IN ('last_error', 'last_error_at')", [])?;
                }
                Err(message) => {
                    set_state(tx, "last_error", message)?;
                    set_state(tx, "last_error_at", &now)?;
                }
            }
            Ok(())
        })
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        let pending = self.sync_pending_count()?;
        self.read(|c| {
            let count = |key| -> rusqlite::Result<u64> { Ok(state(c, key)?.and_then(|v| v.parse().ok()).unwrap_or(0)) };
            Ok(SyncStatus {
                last_success_at: state(c, "last_success_at")?,
                last_error: state(c, "last_error")?,
                last_error_at: state(c, "last_error_at")?,
                pending,
                last_pushed: count("last_pushed")?,
                last_pulled: count("last_pulled")?,
                quarantined: c.query_row("SELECT count(*) FROM sync_quarantine", [], |r| r.get(0))?,
            })
        })
    }

    /// Where the pull of `table` stands: the (revision, id) of the last row applied.
    pub fn sync_cursor(&self, table: &str) -> Result<(i64, String)> {
        self.read(|c| {
            let v = state(c, &format!("pull:{table}"))?;
            Ok(v.and_then(|v| v.split_once(' ').and_then(|(rev, id)| Some((rev.parse().ok()?, id.to_owned()))))
                .unwrap_or((-1, String::new())))
        })
    }

    /// Applies pulled rows of `t` (None: a row this installation pushed itself, only moving the
    /// cursor) and advances its cursor, in one transaction. Returns how many rows changed here.
    /// Outbox entries the applied rows would queue are dropped in the same transaction: they came
    /// from the remote and need no push back (writes are serialised, so they are only these).
    pub fn sync_apply(&self, t: &SyncTable, rows: &[Option<Vec<Sql>>], cursor: (i64, &str)) -> Result<usize> {
        self.write(|tx| {
            let outbox_before: i64 = tx.query_row("SELECT coalesce(max(seq), 0) FROM sync_outbox", [], |r| r.get(0))?;
            let max_seq = |tx: &Connection| tx.query_row(&format!("SELECT coalesce(max(seq), 0) FROM {}", t.name), [], |r| r.get::<_, i64>(0));
            let seq_before = if t.by_seq { max_seq(tx)? } else { 0 };
            // Runs or traces a pulled tombstone deletes here, or a pulled undo restores, move
            // their calls out of or back into the daily aggregates: compared before and after,
            // since an older row loses to the local one.
            let tombstones = matches!(t.name, "runs" | "trace_deletions");
            let live_before = if tombstones { liveness(tx, t.name, rows)? } else { Default::default() };
            let mut stmt = tx.prepare_cached(&t.upsert_sql(Side::Local))?;
            let mut changed = 0;
            for values in rows.iter().flatten() {
                changed += stmt.execute(params_from_iter(values))?;
            }
            tx.execute("DELETE FROM sync_outbox WHERE seq > ?1", [outbox_before])?;
            if t.by_seq {
                let seq_after = max_seq(tx)?;
                if seq_after > seq_before {
                    tx.execute(&format!("INSERT INTO sync_pulled_{} (first_seq, last_seq) VALUES (?1, ?2)", t.name), [seq_before + 1, seq_after])?;
                }
            }
            if t.name == "spans" {
                // Pulled spans join their traces and the daily aggregates as a batch's do (no
                // trigger; see V5 and V9).
                super::traces::fold_new_spans(tx, seq_before)?;
                super::analytics::fold_new_spans(tx, seq_before)?;
            }
            if t.name == "results" {
                super::analytics::fold_new_results(tx, seq_before)?;
            }
            if tombstones {
                let live_after = liveness(tx, t.name, rows)?;
                let changed_to = |live: bool| -> Vec<String> {
                    live_before.iter().filter(|&(id, &was)| was != live && live_after.get(id) == Some(&live)).map(|(id, _)| id.clone()).collect()
                };
                if t.name == "runs" {
                    super::analytics::remove_runs(tx, &changed_to(false))?;
                    super::analytics::restore_runs(tx, &changed_to(true))?;
                } else {
                    super::analytics::remove_traces(tx, &changed_to(false))?;
                    super::analytics::restore_traces(tx, &changed_to(true))?;
                }
            }
            set_state(tx, &format!("pull:{}", t.name), &format!("{} {}", cursor.0, cursor.1))?;
            Ok(changed)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::tests::temp_store;

    #[test]
    fn turning_demo_sync_on_queues_demo_rows_once() {
        let (_d, store) = temp_store();
        let demo = crate::store::runs::tests::new_run(&store, true).summary.id;
        store.insert_results(&demo, &[crate::testing::sample_result("m", "p", 10, 0.0)]).unwrap();
        let scope = |include_demo| crate::sync::SyncOptions { include_demo, span_payloads: true };
        let pending = |include| store.sync_pending(1000, scope(include)).unwrap().rows.iter().filter(|(t, _)| t.name != "models" && t.name != "prompts").count();
        assert_eq!(pending(false), 0, "demo rows are passed over");
        store.sync_pushed(&store.sync_pending(1000, scope(false)).unwrap()).unwrap();
        store.sync_include_demo(true).unwrap();
        assert_eq!(pending(true), 2, "the demo run and its result are queued again");
        store.sync_include_demo(true).unwrap();
        assert_eq!(pending(true), 2, "only once");
    }

    #[test]
    fn the_status_keeps_the_last_success_beside_a_later_error() {
        let (_d, store) = temp_store();
        store.sync_record(Ok((3, 4))).unwrap();
        store.sync_record(Err("the sync server is unreachable")).unwrap();
        let s = store.sync_status().unwrap();
        assert_eq!((s.last_pushed, s.last_pulled, s.last_error.as_deref()), (3, 4, Some("the sync server is unreachable")));
        assert!(s.last_success_at.is_some() && s.last_error_at.is_some());
        store.sync_record(Ok((0, 0))).unwrap();
        assert_eq!(store.sync_status().unwrap().last_error, None, "a success clears the error");
    }
}
