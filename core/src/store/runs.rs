//! Runs: creation, status, heartbeat, and the listing with result counts (from the maintained
//! summary, never a scan of results). A `running` run whose heartbeat is older than
//! [`HEARTBEAT_STALE_SECS`] is reported as `interrupted`: its process died.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError};
use crate::clock;

/// A running run whose heartbeat is older than this is interrupted. `CHIPBENCH_HEARTBEAT_STALE_SECS`
/// overrides it (a crash test need not wait; a slow network disk may want longer).
pub const HEARTBEAT_STALE_SECS: i64 = 30;

pub(super) fn stale_secs() -> i64 {
    std::env::var("CHIPBENCH_HEARTBEAT_STALE_SECS").ok().and_then(|v| v.parse().ok()).filter(|s| *s > 0).unwrap_or(HEARTBEAT_STALE_SECS)
}

/// A heartbeat older than this time is stale: its process stopped.
pub fn stale_before() -> String {
    clock::format(chrono::Utc::now() - chrono::Duration::seconds(stale_secs()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Completed,
    Interrupted,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Interrupted => "interrupted",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> RunStatus {
        match s {
            "completed" => Self::Completed,
            "interrupted" => Self::Interrupted,
            "failed" => Self::Failed,
            _ => Self::Running,
        }
    }
}

pub struct NewRun {
    pub config: serde_json::Value,
    pub provider: String,
    pub is_demo: bool,
    pub total_tests: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RunSummary {
    pub id: String,
    pub started_at: String,
    pub completed_at: Option<String>,
    pub status: RunStatus,
    pub status_reason: Option<String>,
    pub provider: String,
    pub is_demo: bool,
    pub total_tests: u64,
    pub result_count: u64,
    /// Results that carry content errors.
    pub error_count: u64,
    pub total_cost_usd: f64,
    /// What the run tests, from its matrix (empty for a run whose config has none).
    pub models: Vec<String>,
    pub persona_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RunDetail {
    #[serde(flatten)]
    pub summary: RunSummary,
    pub origin: String,
    pub heartbeat_at: Option<String>,
    pub config: serde_json::Value,
}

// Effective status: a running run with a stale heartbeat is interrupted. ?1 = the stale cutoff.
const SELECT_RUN: &str = "
    SELECT r.id, r.started_at, r.completed_at,
           CASE WHEN r.status = 'running' AND coalesce(r.heartbeat_at, r.started_at) < ?1
                THEN 'interrupted' ELSE r.status END,
           CASE WHEN r.status = 'running' AND coalesce(r.heartbeat_at, r.started_at) < ?1
                THEN 'no heartbeat since ' || coalesce(r.heartbeat_at, r.started_at) || ' (the process stopped)'
                ELSE r.status_reason END,
           r.provider, r.is_demo, r.total_tests,
           coalesce(s.n, 0), coalesce(s.cost, 0),
           r.origin, r.heartbeat_at, r.config, coalesce(s.errors, 0)
    FROM runs r
    LEFT JOIN (SELECT run_id, sum(result_count) AS n, sum(cost_sum) AS cost, sum(with_errors_sum) AS errors
               FROM result_stats WHERE dim = 'model' GROUP BY run_id) s ON s.run_id = r.id
    WHERE r.deleted_at IS NULL";

fn run_from_row(r: &Row) -> rusqlite::Result<RunDetail> {
    let config: serde_json::Value = serde_json::from_str(&r.get::<_, String>(12)?).unwrap_or(serde_json::Value::Null);
    let matrix = crate::bench::Matrix::deserialize(&config["matrix"]).ok();
    let (models, persona_ids) = matrix.map(|m| (m.models, m.persona_ids)).unwrap_or_default();
    Ok(RunDetail {
        summary: RunSummary {
            id: r.get(0)?,
            started_at: r.get(1)?,
            completed_at: r.get(2)?,
            status: RunStatus::parse(&r.get::<_, String>(3)?),
            status_reason: r.get(4)?,
            provider: r.get(5)?,
            is_demo: r.get(6)?,
            total_tests: r.get(7)?,
            result_count: r.get(8)?,
            error_count: r.get(13)?,
            total_cost_usd: r.get(9)?,
            models,
            persona_ids,
        },
        origin: r.get(10)?,
        heartbeat_at: r.get(11)?,
        config,
    })
}

fn get_run(c: &Connection, id: &str) -> Result<RunDetail> {
    c.prepare_cached(&format!("{SELECT_RUN} AND r.id = ?2"))?
        .query_row(params![stale_before(), id], run_from_row)
        .optional()?
        .ok_or(StoreError::NotFound { what: "run", id: id.to_owned() })
}

impl Store {
    pub fn create_run(&self, new: &NewRun) -> Result<RunDetail> {
        let id = crate::ids::new_id();
        let now = clock::now();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO runs (id, started_at, status, config, provider, is_demo, origin, total_tests, heartbeat_at, updated_at)
                 VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7, ?2, ?2)",
                params![id, now, new.config.to_string(), new.provider, new.is_demo, self.installation_id(), new.total_tests],
            )?;
            get_run(tx, &id)
        })
    }

    pub fn run(&self, id: &str) -> Result<RunDetail> {
        self.read(|c| get_run(c, id))
    }

    /// Every run, newest first.
    pub fn runs(&self) -> Result<Vec<RunSummary>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!("{SELECT_RUN} ORDER BY r.started_at DESC, r.id DESC"))?;
            let rows = stmt.query_map([stale_before()], run_from_row)?;
            Ok(rows.map(|r| r.map(|d| d.summary)).collect::<rusqlite::Result<_>>()?)
        })
    }

    pub fn run_count(&self) -> Result<u64> {
        self.read(|c| Ok(c.query_row("SELECT count(*) FROM runs WHERE deleted_at IS NULL", [], |r| r.get(0))?))
    }

    /// The newest run of this installation that did not complete (the target of a bare `--resume`).
    pub fn latest_unfinished_run(&self) -> Result<Option<RunDetail>> {
        self.read(|c| {
            let sql = format!("{SELECT_RUN} AND r.origin = ?2 AND r.status IN ('running', 'interrupted') ORDER BY r.started_at DESC, r.id DESC LIMIT 1");
            Ok(c.prepare_cached(&sql)?.query_row(params![stale_before(), self.installation_id()], run_from_row).optional()?)
        })
    }

    /// Claims a run for execution: only its origin installation may, and not while another process
    /// is executing it (fresh heartbeat). Sets it running with a fresh heartbeat.
    pub fn claim_run(&self, id: &str) -> Result<RunDetail> {
        self.write(|tx| {
            let run = get_run(tx, id)?;
            if run.origin != self.installation_id() {
                return Err(StoreError::Conflict(format!(
                    "run {id} was started by installation {}; only it can resume the run",
                    run.origin
                )));
            }
            match run.summary.status {
                RunStatus::Running => {
                    return Err(StoreError::Conflict(format!(
                        "run {id} is being executed by another process (heartbeat {})",
                        run.heartbeat_at.as_deref().unwrap_or("?")
                    )))
                }
                RunStatus::Completed => return Err(StoreError::Conflict(format!("run {id} is already completed"))),
                RunStatus::Interrupted | RunStatus::Failed => {}
            }
            let now = clock::now();
            tx.execute(
                "UPDATE runs SET status = 'running', status_reason = NULL, completed_at = NULL, heartbeat_at = ?2, updated_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            get_run(tx, id)
        })
    }

    pub fn finish_run(&self, id: &str, status: RunStatus, reason: Option<&str>) -> Result<()> {
        self.write(|tx| {
            let now = clock::now();
            let completed_at = (status == RunStatus::Completed).then_some(&now);
            tx.execute(
                "UPDATE runs SET status = ?2, status_reason = ?3, completed_at = ?4, updated_at = ?5 WHERE id = ?1",
                params![id, status.as_str(), reason, completed_at, now],
            )?;
            Ok(())
        })
    }
}

/// Within a write: records that the run's process is alive.
pub(crate) fn heartbeat(tx: &Connection, run_id: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE runs SET heartbeat_at = ?2 WHERE id = ?1")?.execute(params![run_id, clock::now()])?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::tests::temp_store;

    pub fn new_run(store: &Store, is_demo: bool) -> RunDetail {
        store
            .create_run(&NewRun { config: serde_json::json!({"models": ["m"]}), provider: "mock".into(), is_demo, total_tests: 24 })
            .unwrap()
    }

    #[test]
    fn runs_list_newest_first_with_counts() {
        let (_d, store) = temp_store();
        let a = new_run(&store, true);
        let b = new_run(&store, false);
        let runs = store.runs().unwrap();
        assert_eq!(runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), vec![b.summary.id.as_str(), a.summary.id.as_str()]);
        assert_eq!((runs[0].status, runs[0].result_count, runs[0].total_tests), (RunStatus::Running, 0, 24));
        assert_eq!(store.run_count().unwrap(), 2);
        assert_eq!(store.run(&a.summary.id).unwrap().config["models"][0], "m");
        assert!(runs[0].models.is_empty() && runs[0].persona_ids.is_empty(), "a config without a matrix lists nothing");
        assert!(matches!(store.run("missing"), Err(StoreError::NotFound { .. })));
    }

    #[test]
    fn a_runs_matrix_names_its_models_and_personas() {
        let (_d, store) = temp_store();
        let matrix = crate::bench::Matrix {
            models: vec!["m1".into(), "m2".into()],
            persona_ids: vec!["teacher".into()],
            axes: crate::bench::Axes::default(),
        };
        let config = serde_json::json!({ "matrix": matrix });
        store.create_run(&NewRun { config, provider: "mock".into(), is_demo: true, total_tests: 48 }).unwrap();
        let run = &store.runs().unwrap()[0];
        assert_eq!((run.models.as_slice(), run.persona_ids.as_slice()), (&["m1".to_owned(), "m2".to_owned()][..], &["teacher".to_owned()][..]));
    }

    #[test]
    fn a_stale_heartbeat_reads_as_interrupted() {
        let (_d, store) = temp_store();
        let run = new_run(&store, false);
        let id = run.summary.id.clone();
        assert!(matches!(store.claim_run(&id), Err(StoreError::Conflict(m)) if m.contains("another process")));
        store.write(|tx| Ok(tx.execute("UPDATE runs SET heartbeat_at = '2020-01-01T00:00:00.000Z' WHERE id = ?1", [&id])?)).unwrap();
        let stale = store.run(&id).unwrap();
        assert_eq!(stale.summary.status, RunStatus::Interrupted, "a killed process leaves a stale heartbeat");
        assert!(stale.summary.status_reason.unwrap().contains("no heartbeat since 2020"));
        assert_eq!(store.latest_unfinished_run().unwrap().unwrap().summary.id, id);
        assert_eq!(store.claim_run(&id).unwrap().summary.status, RunStatus::Running);
    }

    #[test]
    fn only_the_origin_resumes_and_completed_runs_stay_done() {
        let (_d, store) = temp_store();
        let id = new_run(&store, false).summary.id;
        store.finish_run(&id, RunStatus::Completed, None).unwrap();
        assert!(store.run(&id).unwrap().summary.completed_at.is_some());
        assert!(matches!(store.claim_run(&id), Err(StoreError::Conflict(m)) if m.contains("already completed")));
        assert!(store.latest_unfinished_run().unwrap().is_none());
        let other = new_run(&store, false).summary.id;
        store.finish_run(&other, RunStatus::Interrupted, Some("test")).unwrap();
        store.write(|tx| Ok(tx.execute("UPDATE runs SET origin = 'someone-else' WHERE id = ?1", [&other])?)).unwrap();
        assert!(matches!(store.claim_run(&other), Err(StoreError::Conflict(m)) if m.contains("only it can resume")));
        assert!(store.latest_unfinished_run().unwrap().is_none(), "another installation's run is not ours to resume");
    }
}
