//! Data management: what the database holds, deleting runs with everything under them, and
//! deleting traces that belong to no run (playground sessions, replays, imports). A deletion is a
//! tombstone (`runs.deleted_at`, `trace_deletions`), which sync carries to every installation;
//! what it takes is hidden by the live filters every read uses.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError};
use crate::clock;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DatabaseStats {
    pub bytes: u64,
    pub runs: u64,
    pub results: u64,
    pub ratings: u64,
    pub models: u64,
    pub prompts: u64,
    /// Shown traces, and the calls (spans) in them: most of a database's size.
    pub traces: u64,
    pub calls: u64,
    /// Start of the oldest and the newest live run.
    pub oldest_run: Option<String>,
    pub newest_run: Option<String>,
}

/// Which runs a deletion takes: one run, or every run started before a date. Exactly one is set.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default)]
pub struct RunSelection {
    pub run_id: Option<String>,
    /// An RFC 3339 time or a date (`2026-01-31`, meaning its start, UTC).
    pub started_before: Option<String>,
}

/// What a deletion takes (or took): live runs, their results, and the live ratings of those.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeletionPlan {
    pub runs: u64,
    pub results: u64,
    pub ratings: u64,
}

/// What a deletion took, and the runs, for an undo ([`Store::restore_runs`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Deleted {
    #[serde(flatten)]
    pub taken: DeletionPlan,
    pub run_ids: Vec<String>,
}

/// What deleting traces takes (or took): the traces, their calls, and the live ratings of those.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TraceDeletion {
    pub traces: u64,
    pub calls: u64,
    pub ratings: u64,
}

/// Each id once, in order.
fn unique(ids: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().filter(|id| seen.insert(id.as_str())).cloned().collect()
}

/// Checks that every trace in `ids` (each once) is shown and may be deleted alone (a benchmark
/// test's trace goes with its run), and counts what deleting them takes.
fn trace_plan(c: &Connection, ids: &[String]) -> Result<TraceDeletion> {
    if ids.is_empty() {
        return Err(StoreError::Invalid("trace_ids: choose at least one trace".into()));
    }
    let mut stmt = c.prepare_cached(&format!(
        "SELECT t.kind, t.run_id, t.span_count,
                (SELECT count(*) FROM spans s JOIN ratings x ON x.target_kind = ?2 AND x.target_id = s.id
                 WHERE s.seq IN ({}) AND x.deleted_at IS NULL)
         FROM traces t WHERE t.id = ?1 AND {}",
        super::traces::TRACE_SEQS,
        super::traces::LIVE_TRACE
    ))?;
    let mut plan = TraceDeletion::default();
    for id in ids {
        let (kind, run_id, calls, ratings): (String, Option<String>, u64, u64) = stmt
            .query_row(params![id, super::TARGET_SPAN], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?
            .ok_or_else(|| StoreError::NotFound { what: "trace", id: id.clone() })?;
        if kind == crate::trace::TraceKind::Test.as_str() {
            let run = run_id.map_or_else(String::new, |r| format!(" {r}"));
            return Err(StoreError::Invalid(format!("trace {id} is a benchmark test's: delete its run{run} instead")));
        }
        plan = TraceDeletion { traces: plan.traces + 1, calls: plan.calls + calls, ratings: plan.ratings + ratings };
    }
    Ok(plan)
}

/// Clears the tombstones among `ids` in `table` (runs, trace_deletions), each row newer than its
/// tombstone so the undo syncs; returns the ids that had one.
fn lift_tombstones(tx: &Connection, table: &str, ids: &[String]) -> rusqlite::Result<Vec<String>> {
    let mut restored = Vec::new();
    for id in ids {
        let tombstone: Option<String> =
            tx.query_row(&format!("SELECT updated_at FROM {table} WHERE id = ?1 AND deleted_at IS NOT NULL"), [id], |r| r.get(0)).optional()?;
        if let Some(updated_at) = tombstone {
            tx.execute(&format!("UPDATE {table} SET deleted_at = NULL, updated_at = ?2 WHERE id = ?1"), params![id, clock::after(Some(&updated_at))])?;
            restored.push(id.clone());
        }
    }
    Ok(restored)
}

/// Restores the deleted traces among `ids` with their calls and ratings; returns them.
pub(super) fn restore_traces(tx: &Connection, ids: &[String]) -> rusqlite::Result<Vec<String>> {
    let restored = lift_tombstones(tx, "trace_deletions", ids)?;
    super::analytics::restore_traces(tx, &restored)?;
    Ok(restored)
}

impl RunSelection {
    /// The condition on runs `r` and its one parameter.
    fn condition(&self) -> Result<(&'static str, String)> {
        match (&self.run_id, &self.started_before) {
            (Some(id), None) => Ok(("r.id = ?1", id.clone())),
            (None, Some(before)) => {
                let date = chrono::NaiveDate::parse_from_str(before.trim(), "%Y-%m-%d").ok().map(|d| format!("{d}T00:00:00.000Z"));
                let at = date.or_else(|| clock::parse(before.trim()).map(clock::format)).ok_or_else(|| {
                    StoreError::Invalid(format!("started_before: `{before}` is not a date (2026-01-31) or an RFC 3339 time"))
                })?;
                Ok(("r.started_at < ?1", at))
            }
            _ => Err(StoreError::Invalid("choose one run (run_id) or a date (started_before), not both or neither".into())),
        }
    }
}

fn plan(c: &Connection, sel: &RunSelection) -> Result<DeletionPlan> {
    let (cond, arg) = sel.condition()?;
    let sql = format!(
        "SELECT count(*),
                (SELECT count(*) FROM results x WHERE x.run_id IN (SELECT r.id FROM runs r WHERE r.deleted_at IS NULL AND {cond})),
                (SELECT count(*) FROM ratings g JOIN results x ON x.id = g.target_id
                 WHERE g.deleted_at IS NULL AND x.run_id IN (SELECT r.id FROM runs r WHERE r.deleted_at IS NULL AND {cond}))
         FROM runs r WHERE r.deleted_at IS NULL AND {cond}"
    );
    Ok(c.query_row(&sql, [arg], |r| Ok(DeletionPlan { runs: r.get(0)?, results: r.get(1)?, ratings: r.get(2)? }))?)
}

impl Store {
    pub fn database_stats(&self) -> Result<DatabaseStats> {
        let bytes = self.disk_usage();
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT (SELECT count(*) FROM runs WHERE deleted_at IS NULL),
                        (SELECT count(*) FROM results x JOIN runs r ON r.id = x.run_id WHERE r.deleted_at IS NULL),
                        (SELECT count(*) FROM ratings WHERE deleted_at IS NULL),
                        (SELECT count(*) FROM models WHERE deleted_at IS NULL),
                        (SELECT count(*) FROM prompts),
                        (SELECT min(started_at) FROM runs WHERE deleted_at IS NULL),
                        (SELECT max(started_at) FROM runs WHERE deleted_at IS NULL),
                        t.n, t.calls
                 FROM (SELECT count(*) AS n, coalesce(sum(t.span_count), 0) AS calls FROM traces t WHERE {}) t",
                    super::traces::LIVE_TRACE
                ),
                [],
                |r| {
                    Ok(DatabaseStats {
                        bytes,
                        runs: r.get(0)?,
                        results: r.get(1)?,
                        ratings: r.get(2)?,
                        models: r.get(3)?,
                        prompts: r.get(4)?,
                        oldest_run: r.get(5)?,
                        newest_run: r.get(6)?,
                        traces: r.get(7)?,
                        calls: r.get(8)?,
                    })
                },
            )?)
        })
    }

    /// What [`Store::delete_runs`] would take, for the confirmation.
    pub fn deletion_plan(&self, sel: &RunSelection) -> Result<DeletionPlan> {
        self.read(|c| plan(c, sel))
    }

    /// Deletes the selected runs (tombstones that sync carries) and returns what went. A run
    /// still being executed (running, with a fresh heartbeat) is refused: stop it first.
    pub fn delete_runs(&self, sel: &RunSelection) -> Result<Deleted> {
        let fresh = super::runs::stale_before();
        self.write(|tx| {
            let taken = plan(tx, sel)?;
            let (cond, arg) = sel.condition()?;
            let busy: Option<String> = tx
                .query_row(
                    &format!("SELECT r.id FROM runs r WHERE r.deleted_at IS NULL AND {cond} AND r.status = 'running' AND coalesce(r.heartbeat_at, r.started_at) >= ?2 LIMIT 1"),
                    params![arg, fresh],
                    |r| r.get(0),
                )
                .ok();
            if let Some(id) = busy {
                return Err(StoreError::Conflict(format!("run {id} is still running: cancel it before deleting it")));
            }
            let now = clock::now();
            let ids: Vec<String> = tx
                .prepare(&format!("SELECT r.id FROM runs r WHERE r.deleted_at IS NULL AND {cond}"))?
                .query_map(params![arg], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            tx.execute(
                &format!("UPDATE runs SET deleted_at = ?2, updated_at = max(?2, updated_at) WHERE id IN (SELECT r.id FROM runs r WHERE r.deleted_at IS NULL AND {cond})"),
                params![arg, now],
            )?;
            // The runs' calls leave the analytics view with them.
            super::analytics::remove_runs(tx, &ids)?;
            Ok(Deleted { taken, run_ids: ids })
        })
    }

    /// Undoes a deletion: the runs (deleted ones among `ids`) and everything under them are shown
    /// again. Their rows become newer than the tombstones, so the restoration syncs as well.
    /// Returns how many runs came back.
    pub fn restore_runs(&self, ids: &[String]) -> Result<u64> {
        self.write(|tx| {
            let restored = lift_tombstones(tx, "runs", ids)?;
            super::analytics::restore_runs(tx, &restored)?;
            Ok(restored.len() as u64)
        })
    }

    /// What [`Store::delete_traces`] would take, for the confirmation.
    pub fn trace_deletion_plan(&self, ids: &[String]) -> Result<TraceDeletion> {
        self.read(|c| trace_plan(c, &unique(ids)))
    }

    /// Deletes traces that belong to no run (tombstones that sync carry), all of them or, if one
    /// is unknown, already deleted or a test's, none; returns what went.
    pub fn delete_traces(&self, ids: &[String]) -> Result<TraceDeletion> {
        let ids = unique(ids);
        self.write(|tx| {
            let taken = trace_plan(tx, &ids)?;
            let now = clock::now();
            let mut tombstone = tx.prepare_cached(
                "INSERT INTO trace_deletions (id, deleted_at, updated_at) VALUES (?1, ?2, ?2)
                 ON CONFLICT (id) DO UPDATE SET deleted_at = ?2, updated_at = max(?2, updated_at)",
            )?;
            for id in &ids {
                tombstone.execute(params![id, now])?;
            }
            // Their calls and ratings leave the analytics view with them.
            super::analytics::remove_traces(tx, &ids)?;
            Ok(taken)
        })
    }

    /// Undoes a trace deletion: the deleted traces among `ids` are shown again, as newer rows than
    /// their tombstones (so the restoration syncs as well). Returns how many came back.
    pub fn restore_traces(&self, ids: &[String]) -> Result<u64> {
        self.write(|tx| Ok(restore_traces(tx, ids)?.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        store::{runs::tests::new_run, tests::temp_store, GroupBy, ResultFilter, StatsQuery, TARGET_RESULT},
        testing::sample_result,
    };

    #[test]
    fn deleting_a_run_hides_everything_under_it_and_says_what_it_took() {
        let (_d, store) = temp_store();
        let (keep, gone) = (new_run(&store, false).summary.id, new_run(&store, false).summary.id);
        for run in [&keep, &gone] {
            store.insert_results(run, &[sample_result("m", "p", 10, 1.0), sample_result("m", "p", 15, 1.0)]).unwrap();
        }
        let victim = store.results(&ResultFilter { run_id: Some(gone.clone()), ..Default::default() }).unwrap().results[0].id.clone();
        store.rate(TARGET_RESULT, &victim, "ana", 4).unwrap();
        let sel = RunSelection { run_id: Some(gone.clone()), ..Default::default() };
        assert_eq!(store.deletion_plan(&sel).unwrap(), DeletionPlan { runs: 1, results: 2, ratings: 1 });
        // a running run with a fresh heartbeat is refused; once finished it can go
        let err = store.delete_runs(&sel).unwrap_err();
        assert!(err.to_string().contains("still running"), "{err}");
        store.finish_run(&gone, crate::store::RunStatus::Completed, None).unwrap();
        let deleted = store.delete_runs(&sel).unwrap();
        assert_eq!((deleted.taken.results, deleted.run_ids.clone()), (2, vec![gone.clone()]));

        assert_eq!(store.runs().unwrap().iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [keep.as_str()]);
        assert_eq!(store.results(&ResultFilter::default()).unwrap().total, 2, "its results are gone from pages");
        assert!(store.result(&victim, None).is_err(), "and from the detail");
        let board = store.stats(&StatsQuery::by(GroupBy::Model)).unwrap();
        assert_eq!((board.stats[0].result_count, board.stats[0].rated_count), (2, 0), "and from the leaderboard");
        let stats = store.database_stats().unwrap();
        assert_eq!((stats.runs, stats.results), (1, 2));
        assert_eq!(store.deletion_plan(&sel).unwrap(), DeletionPlan::default(), "nothing left to delete");

        // Undo: everything comes back, rating included; a second undo has nothing to do.
        assert_eq!(store.restore_runs(&deleted.run_ids).unwrap(), 1);
        assert_eq!(store.runs().unwrap().len(), 2);
        assert_eq!(store.results(&ResultFilter::default()).unwrap().total, 4);
        assert_eq!(store.result(&victim, Some("ana")).unwrap().summary.my_rating, Some(4));
        let board = store.stats(&StatsQuery::by(GroupBy::Model)).unwrap();
        assert_eq!((board.stats[0].result_count, board.stats[0].rated_count), (4, 1), "the leaderboard counts it again");
        assert_eq!(store.restore_runs(&deleted.run_ids).unwrap(), 0);
        let updated: (Option<String>, String) =
            store.read(|c| Ok(c.query_row("SELECT deleted_at, updated_at FROM runs WHERE id = ?1", [&gone], |r| Ok((r.get(0)?, r.get(1)?)))?)).unwrap();
        assert!(updated.0.is_none());
    }

    #[test]
    fn deleting_a_trace_hides_it_everywhere_and_undo_brings_it_back() {
        use crate::{
            analytics::DayRange,
            store::{traces::tests::span, SearchQuery, TraceFilter, TARGET_SPAN},
        };
        let (_d, store) = temp_store();
        let (a, b) = (span("chat", "a1", "quarterly budget", "fine"), span("chat", "a2", "staffing plan", "ok"));
        let mut replay = span("replay", "r1", "quarterly budget", "better");
        (replay.trace_kind, replay.replay_of) = (crate::trace::TraceKind::Replay, Some("a1".into()));
        let other = span("other", "o1", "quarterly budget", "kept");
        store.insert_spans(&[a, b, replay, other]).unwrap();
        store.rate(TARGET_SPAN, "a1", "ana", 5).unwrap();
        let calls = || store.analytics(DayRange::all(), None).unwrap().total;
        let before = calls();
        let found = |text: &str| store.search(&SearchQuery { text: text.into(), ..Default::default() }).unwrap().hits.iter().map(|h| h.span_id.clone()).collect::<Vec<_>>();
        assert_eq!(found("quarterly").len(), 3);

        let ids = vec!["chat".to_string(), "replay".into(), "chat".into()];
        assert_eq!(store.trace_deletion_plan(&ids).unwrap(), TraceDeletion { traces: 2, calls: 3, ratings: 1 }, "each trace once");
        let taken = store.delete_traces(&ids).unwrap();
        assert_eq!(taken, TraceDeletion { traces: 2, calls: 3, ratings: 1 });
        let listed: Vec<String> = store.traces(&TraceFilter::default()).unwrap().into_iter().map(|t| t.id).collect();
        assert_eq!(listed, ["other"], "gone from the list");
        assert!(matches!(store.trace("chat", None), Err(StoreError::NotFound { .. })), "and from the trace view");
        assert!(matches!(store.span("a2"), Err(StoreError::NotFound { .. })), "and from replay");
        assert_eq!(found("quarterly"), ["o1"], "and from search");
        let after = calls();
        assert_eq!((after.calls, after.ratings), (before.calls - 3, 0), "and from analytics");
        let stats = store.database_stats().unwrap();
        assert_eq!((stats.traces, stats.calls), (1, 1), "and from the database's figures");

        // Deleted, unknown or a test's trace: refused, nothing changed.
        assert!(matches!(store.delete_traces(&["other".into(), "chat".into()]), Err(StoreError::NotFound { .. })));
        assert!(matches!(store.delete_traces(&["nope".into()]), Err(StoreError::NotFound { .. })));
        let mut test = span("test-trace", "t1", "p", "r");
        (test.trace_kind, test.run_id) = (crate::trace::TraceKind::Test, Some("run-1".into()));
        store.insert_spans(&[test]).unwrap();
        let err = store.delete_traces(&["other".into(), "test-trace".into()]).unwrap_err();
        assert_eq!(err.to_string(), "trace test-trace is a benchmark test's: delete its run run-1 instead");
        assert!(store.delete_traces(&[]).unwrap_err().to_string().starts_with("trace_ids:"));
        assert_eq!(store.traces(&TraceFilter::default()).unwrap().len(), 2, "`other` stays");
        store.insert_spans(&[span("chat", "a3", "late", "call")]).unwrap();
        assert_eq!((calls().calls, store.traces(&TraceFilter::default()).unwrap().len()), (after.calls + 1, 2), "a call added to a deleted trace stays out (the test's call counts)");

        // Undo: everything comes back, the rating and the replay link included.
        assert_eq!(store.restore_traces(&ids).unwrap(), 2);
        let detail = store.trace("chat", Some("ana")).unwrap();
        assert_eq!((detail.spans.len(), detail.replays.len(), detail.my_ratings.len()), (3, 1, 1), "the late call joined it");
        let restored = calls();
        assert_eq!((restored.calls, restored.ratings), (before.calls + 2, before.ratings), "with the test's call and the late one");
        assert_eq!(store.restore_traces(&ids).unwrap(), 0, "a second undo has nothing to do");
    }

    #[test]
    fn runs_before_a_date_and_bad_selections() {
        let (_d, store) = temp_store();
        new_run(&store, false);
        let everything = RunSelection { started_before: Some("2999-01-01".into()), ..Default::default() };
        assert_eq!(store.deletion_plan(&everything).unwrap().runs, 1);
        let nothing = RunSelection { started_before: Some("2001-01-01T00:00:00Z".into()), ..Default::default() };
        assert_eq!(store.deletion_plan(&nothing).unwrap().runs, 0);
        let bad = RunSelection { started_before: Some("last week".into()), ..Default::default() };
        assert_eq!(store.deletion_plan(&bad).unwrap_err().to_string(), "started_before: `last week` is not a date (2026-01-31) or an RFC 3339 time");
        assert!(store.delete_runs(&RunSelection::default()).unwrap_err().to_string().contains("choose one run"));
    }
}
