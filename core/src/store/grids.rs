//! Grid runs of the prompt lab: the run with its cells queued (one transaction), cell updates and
//! their events written with the calls' spans, re-queueing, people's grades, per-model summaries
//! and grader-human agreement per grader version.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde::Serialize;

use super::{results::json, Result, Store, StoreError};
use crate::{
    clock,
    grade::{self, Agreement},
    grid::{CellStatus, GridRun, GridStatus, Metric, Rerun},
    ids,
    llm::ProviderKind,
    trace::Span,
};

/// One (row, model) of a grid run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GridCell {
    pub id: String,
    pub row_index: u64,
    pub model: String,
    pub status: CellStatus,
    /// The model's answer: untrusted text.
    pub output: Option<String>,
    pub error: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub latency_ms: u64,
    pub rule_pass: Option<bool>,
    pub rule_reason: Option<String>,
    pub judge_pass: Option<bool>,
    /// The judge's rationale, or why it gave no verdict.
    pub judge_reason: Option<String>,
    /// The grade given by the user who asked (None: unset).
    pub my_grade: Option<bool>,
    /// The latest attempt's generation span (the cell's trace id is the cell id).
    pub span_id: Option<String>,
    pub attempts: u32,
    pub updated_at: String,
}

/// Something that happened to a cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CellEvent {
    /// queued, started, succeeded, failed, graded
    pub event: String,
    pub detail: Option<String>,
    pub at: String,
}

/// A cell's new state and the events that led to it.
#[derive(Debug, Clone)]
pub struct CellUpdate {
    pub cell: GridCell,
    pub events: Vec<CellEvent>,
}

/// Per model: cells by state, each grade's pass rate, and the 1-5 ratings of its outputs, side
/// by side and never blended.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ModelSummary {
    pub model: String,
    pub cells: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub rule: PassCount,
    pub judge: PassCount,
    /// Every person's grades.
    pub manual: PassCount,
    pub avg_rating: Option<f64>,
    pub rating_count: u64,
    pub cost_usd: f64,
    pub avg_latency_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PassCount {
    pub passed: u64,
    pub graded: u64,
}

/// How one grader version agrees with people, over every run that used it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GraderAgreement {
    pub metric: Metric,
    /// The rule and its column, or the grader prompt's name and version number with its model.
    pub grader: String,
    pub agreement: Option<Agreement>,
}

const RUN_COLUMNS: &str =
    "id, prompt_id, dataset_id, models, params, graders, active_metric, provider, base_url, concurrency, status, status_reason, created_at, completed_at";

fn run_from_row(r: &Row) -> rusqlite::Result<GridRun> {
    fn parsed<T>(i: usize, text: String, parse: impl Fn(&str) -> Option<T>) -> rusqlite::Result<T> {
        parse(&text).ok_or(rusqlite::Error::InvalidColumnType(i, text, rusqlite::types::Type::Text))
    }
    fn from_json<T: serde::de::DeserializeOwned>(i: usize, text: String) -> rusqlite::Result<T> {
        serde_json::from_str(&text).map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into()))
    }
    Ok(GridRun {
        id: r.get(0)?,
        prompt_id: r.get(1)?,
        dataset_id: r.get(2)?,
        models: from_json(3, r.get(3)?)?,
        params: from_json(4, r.get(4)?)?,
        graders: from_json(5, r.get(5)?)?,
        active_metric: parsed(6, r.get(6)?, Metric::parse)?,
        provider: parsed(7, r.get(7)?, ProviderKind::parse)?,
        base_url: r.get(8)?,
        concurrency: r.get(9)?,
        status: parsed(10, r.get(10)?, GridStatus::parse)?,
        status_reason: r.get(11)?,
        created_at: r.get(12)?,
        completed_at: r.get(13)?,
        updated_at: r.get(14)?,
    })
}

const CELL_COLUMNS: &str = "c.id, c.row_index, c.model, c.status, c.output, c.error, c.input_tokens, c.output_tokens, c.cost_usd, c.latency_ms,
     c.rule_pass, c.rule_reason, c.judge_pass, c.judge_reason, m.grade, c.span_id, c.attempts, c.updated_at";

fn cell_from_row(r: &Row) -> rusqlite::Result<GridCell> {
    let status: String = r.get(3)?;
    Ok(GridCell {
        id: r.get(0)?,
        row_index: r.get(1)?,
        model: r.get(2)?,
        status: CellStatus::parse(&status).ok_or(rusqlite::Error::InvalidColumnType(3, status, rusqlite::types::Type::Text))?,
        output: r.get(4)?,
        error: r.get(5)?,
        input_tokens: r.get(6)?,
        output_tokens: r.get(7)?,
        cost_usd: r.get(8)?,
        latency_ms: r.get(9)?,
        rule_pass: r.get(10)?,
        rule_reason: r.get(11)?,
        judge_pass: r.get(12)?,
        judge_reason: r.get(13)?,
        my_grade: r.get::<_, Option<String>>(14)?.map(|g| g == "pass"),
        span_id: r.get(15)?,
        attempts: r.get(16)?,
        updated_at: r.get(17)?,
    })
}

fn insert_event(tx: &Transaction, cell_id: &str, e: &CellEvent) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO grid_cell_events (id, cell_id, event, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![ids::new_id(), cell_id, e.event, e.detail, e.at])?;
    Ok(())
}

fn queued(detail: &str) -> CellEvent {
    CellEvent { event: "queued".into(), detail: Some(detail.into()), at: clock::now() }
}

impl Store {
    /// Stores a new run and its `row_count` x models cells, all queued, in one transaction.
    pub fn create_grid(&self, run: &GridRun, row_count: u64) -> Result<()> {
        let origin = self.installation_id().to_owned();
        self.write(|tx| {
            tx.execute(
                &format!("INSERT INTO grid_runs ({RUN_COLUMNS}, updated_at, origin, is_demo) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?13, ?15, ?16)"),
                params![
                    run.id, run.prompt_id, run.dataset_id, json(&run.models), json(&run.params), json(&run.graders), run.active_metric.as_str(),
                    run.provider.as_str(), run.base_url, run.concurrency, run.status.as_str(), run.status_reason, run.created_at, run.completed_at, origin,
                    run.provider == ProviderKind::Mock
                ],
            )?;
            let mut cell = tx.prepare_cached("INSERT INTO grid_cells (id, run_id, row_index, model, status, updated_at) VALUES (?1, ?2, ?3, ?4, 'queued', ?5)")?;
            let event = queued("new run");
            for row in 0..row_count {
                for model in &run.models {
                    let id = ids::grid_cell_id(&run.id, row, model);
                    cell.execute(params![id, run.id, row, model, event.at])?;
                    insert_event(tx, &id, &event)?;
                }
            }
            Ok(())
        })
    }

    pub fn grid(&self, id: &str) -> Result<GridRun> {
        self.read(|c| {
            c.query_row(&format!("SELECT {RUN_COLUMNS}, updated_at FROM grid_runs WHERE id = ?1"), [id], run_from_row)
                .optional()?
                .ok_or_else(|| StoreError::NotFound { what: "grid run", id: id.to_owned() })
        })
    }

    /// Every grid run, newest first.
    pub fn grids(&self) -> Result<Vec<GridRun>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!("SELECT {RUN_COLUMNS}, updated_at FROM grid_runs ORDER BY created_at DESC, id DESC"))?;
            let runs = stmt.query_map([], run_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(runs)
        })
    }

    /// A run's cells of the dataset rows in `rows` by row, then in the run's model order;
    /// `my_grade` is `user`'s.
    pub fn grid_cells(&self, run_id: &str, user: &str, rows: impl std::ops::RangeBounds<u64>) -> Result<Vec<GridCell>> {
        use std::ops::Bound;
        let from = match rows.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n + 1,
            Bound::Unbounded => 0,
        };
        let to = match rows.end_bound() {
            Bound::Included(&n) => n.saturating_add(1),
            Bound::Excluded(&n) => n,
            Bound::Unbounded => u64::MAX,
        };
        let (from, to) = (from.min(i64::MAX as u64), to.min(i64::MAX as u64));
        let run = self.grid(run_id)?;
        let mut cells: Vec<GridCell> = self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {CELL_COLUMNS} FROM grid_cells c LEFT JOIN manual_grades m ON m.cell_id = c.id AND m.user_id = ?2
                 WHERE c.run_id = ?1 AND c.row_index >= ?3 AND c.row_index < ?4 ORDER BY c.row_index"
            ))?;
            let cells = stmt.query_map(params![run_id, user, from, to], cell_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(cells)
        })?;
        let order: HashMap<&str, usize> = run.models.iter().enumerate().map(|(i, m)| (m.as_str(), i)).collect();
        cells.sort_by_key(|c| (c.row_index, order.get(c.model.as_str()).copied()));
        Ok(cells)
    }

    /// A cell's events, oldest first.
    pub fn cell_events(&self, cell_id: &str) -> Result<Vec<CellEvent>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT event, detail, at FROM grid_cell_events WHERE cell_id = ?1 ORDER BY at, rowid")?;
            let events = stmt.query_map([cell_id], |r| Ok(CellEvent { event: r.get(0)?, detail: r.get(1)?, at: r.get(2)? }))?.collect::<rusqlite::Result<Vec<_>>>()?;
            if events.is_empty() {
                return Err(StoreError::NotFound { what: "grid cell", id: cell_id.to_owned() });
            }
            Ok(events)
        })
    }

    /// Writes cell updates, their events and the calls' spans in one transaction, and beats the
    /// run's heartbeat (its `updated_at`).
    pub fn write_cells(&self, run_id: &str, updates: &[CellUpdate], spans: &[Span]) -> Result<()> {
        let origin = self.installation_id().to_owned();
        self.write(|tx| {
            tx.execute("UPDATE grid_runs SET updated_at = ?2 WHERE id = ?1 AND status = 'running'", params![run_id, clock::now()])?;
            super::traces::insert_spans(tx, &origin, spans)?;
            let mut stmt = tx.prepare_cached(
                "UPDATE grid_cells SET status = ?2, output = ?3, error = ?4, input_tokens = ?5, output_tokens = ?6, cost_usd = ?7,
                 latency_ms = ?8, rule_pass = ?9, rule_reason = ?10, judge_pass = ?11, judge_reason = ?12, span_id = ?13,
                 attempts = ?14, updated_at = ?15 WHERE id = ?1",
            )?;
            for u in updates {
                let c = &u.cell;
                stmt.execute(params![
                    c.id, c.status.as_str(), c.output, c.error, c.input_tokens, c.output_tokens, c.cost_usd, c.latency_ms,
                    c.rule_pass, c.rule_reason, c.judge_pass, c.judge_reason, c.span_id, c.attempts, c.updated_at
                ])?;
                for e in &u.events {
                    insert_event(tx, &c.id, e)?;
                }
            }
            Ok(())
        })
    }

    /// Queues cells of a run again and marks the run running. A run that is running now is
    /// refused (its runner owns its cells); one whose heartbeat is stale was interrupted (its
    /// process died) and is taken over, its cells left running queued again.
    pub fn requeue_cells(&self, run_id: &str, which: &Rerun) -> Result<GridRun> {
        let fresh = super::runs::stale_before();
        self.write(|tx| {
            let status: Option<(String, String)> = tx.query_row("SELECT status, updated_at FROM grid_runs WHERE id = ?1", [run_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
            match status {
                None => return Err(StoreError::NotFound { what: "grid run", id: run_id.to_owned() }),
                Some((status, beat)) if status == "running" && beat >= fresh => {
                    return Err(StoreError::Conflict(format!("grid run {run_id} is running; cancel it first")))
                }
                Some(_) => {}
            }
            let cells: Vec<String> = match which {
                Rerun::Cell(id) => {
                    let found: Option<String> = tx.query_row("SELECT id FROM grid_cells WHERE id = ?1 AND run_id = ?2", [id, run_id], |r| r.get(0)).optional()?;
                    vec![found.ok_or_else(|| StoreError::NotFound { what: "grid cell", id: id.clone() })?]
                }
                Rerun::Unfinished => {
                    let mut stmt = tx.prepare_cached("SELECT id FROM grid_cells WHERE run_id = ?1 AND status <> 'succeeded'")?;
                    let ids = stmt.query_map([run_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
                    ids
                }
            };
            if cells.is_empty() {
                return Err(StoreError::Invalid(format!("grid run {run_id}: every cell succeeded; nothing to run again")));
            }
            let event = queued("run again");
            for id in &cells {
                tx.execute("UPDATE grid_cells SET status = 'queued', updated_at = ?2 WHERE id = ?1", params![id, event.at])?;
                insert_event(tx, id, &event)?;
            }
            tx.execute(
                "UPDATE grid_runs SET status = 'running', status_reason = NULL, completed_at = NULL, updated_at = ?2 WHERE id = ?1",
                params![run_id, event.at],
            )?;
            Ok(tx.query_row(&format!("SELECT {RUN_COLUMNS}, updated_at FROM grid_runs WHERE id = ?1"), [run_id], run_from_row)?)
        })
    }

    pub fn finish_grid(&self, run_id: &str, status: GridStatus, reason: Option<&str>) -> Result<()> {
        let now = clock::now();
        self.write(|tx| {
            tx.execute(
                "UPDATE grid_runs SET status = ?2, status_reason = ?3, completed_at = ?4, updated_at = ?4 WHERE id = ?1",
                params![run_id, status.as_str(), reason, now],
            )?;
            Ok(())
        })
    }

    /// Sets (`Some`) or withdraws (`None`) `user`'s grade of a cell: one grade per cell and user.
    pub fn grade_cell(&self, cell_id: &str, user: &str, pass: Option<bool>) -> Result<()> {
        let user = user.trim();
        if user.is_empty() {
            return Err(StoreError::Invalid("user_id: must not be empty".into()));
        }
        let id = ids::manual_grade_id(cell_id, user);
        self.write(|tx| {
            let known: bool = tx.query_row("SELECT count(*) FROM grid_cells WHERE id = ?1", [cell_id], |r| r.get(0))?;
            if !known {
                return Err(StoreError::NotFound { what: "grid cell", id: cell_id.to_owned() });
            }
            let previous: Option<String> = tx.query_row("SELECT updated_at FROM manual_grades WHERE id = ?1", [&id], |r| r.get(0)).optional()?;
            tx.execute(
                "INSERT INTO manual_grades (id, cell_id, user_id, grade, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET grade = excluded.grade, updated_at = excluded.updated_at",
                params![id, cell_id, user, pass.map(|p| if p { "pass" } else { "fail" }), clock::after(previous.as_deref())],
            )?;
            Ok(())
        })
    }

    /// Per model of a run: states, the three pass rates and the ratings of its outputs.
    pub fn grid_summary(&self, run_id: &str) -> Result<Vec<ModelSummary>> {
        let run = self.grid(run_id)?;
        let mut by_model: HashMap<String, ModelSummary> = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT c.model, count(*), sum(c.status = 'succeeded'), sum(c.status = 'failed'),
                        coalesce(sum(c.rule_pass), 0), count(c.rule_pass), coalesce(sum(c.judge_pass), 0), count(c.judge_pass),
                        (SELECT count(*) FROM manual_grades m JOIN grid_cells x ON x.id = m.cell_id WHERE x.run_id = ?1 AND x.model = c.model AND m.grade = 'pass'),
                        (SELECT count(*) FROM manual_grades m JOIN grid_cells x ON x.id = m.cell_id WHERE x.run_id = ?1 AND x.model = c.model AND m.grade IS NOT NULL),
                        (SELECT avg(r.rating) FROM ratings r JOIN grid_cells x ON r.target_kind = 'span' AND r.target_id = x.span_id
                          WHERE x.run_id = ?1 AND x.model = c.model AND r.deleted_at IS NULL),
                        (SELECT count(*) FROM ratings r JOIN grid_cells x ON r.target_kind = 'span' AND r.target_id = x.span_id
                          WHERE x.run_id = ?1 AND x.model = c.model AND r.deleted_at IS NULL),
                        sum(c.cost_usd), avg(CASE WHEN c.status = 'succeeded' THEN c.latency_ms END)
                 FROM grid_cells c WHERE c.run_id = ?1 GROUP BY c.model",
            )?;
            let rows = stmt.query_map([run_id], |r| {
                let count = |i| -> rusqlite::Result<PassCount> { Ok(PassCount { passed: r.get(i)?, graded: r.get(i + 1)? }) };
                Ok(ModelSummary {
                    model: r.get(0)?,
                    cells: r.get(1)?,
                    succeeded: r.get(2)?,
                    failed: r.get(3)?,
                    rule: count(4)?,
                    judge: count(6)?,
                    manual: count(8)?,
                    avg_rating: r.get(10)?,
                    rating_count: r.get(11)?,
                    cost_usd: r.get(12)?,
                    avg_latency_ms: r.get(13)?,
                })
            })?;
            let by_model = rows.map(|s| s.map(|s| (s.model.clone(), s))).collect::<rusqlite::Result<_>>()?;
            Ok(by_model)
        })?;
        Ok(run.models.iter().filter_map(|m| by_model.remove(m)).collect())
    }

    /// How the run's graders agree with people's grades, each over every run with the same
    /// grader version (the same rule and column, or the same grader prompt version and model).
    pub fn grader_agreement(&self, run_id: &str) -> Result<Vec<GraderAgreement>> {
        let run = self.grid(run_id)?;
        // (graders of the cell's run, rule verdict, judge verdict, a person's grade)
        let rows: Vec<(String, Option<bool>, Option<bool>, bool)> = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT r.graders, c.rule_pass, c.judge_pass, m.grade = 'pass' FROM manual_grades m
                 JOIN grid_cells c ON c.id = m.cell_id JOIN grid_runs r ON r.id = c.run_id WHERE m.grade IS NOT NULL",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })?;
        let rows: Vec<(crate::grid::Graders, Option<bool>, Option<bool>, bool)> =
            rows.into_iter().map(|(g, rule, judge, human)| (serde_json::from_str(&g).unwrap_or_default(), rule, judge, human)).collect();
        let mut out = Vec::new();
        if let Some(rule) = &run.graders.rule {
            let same = rows.iter().filter(|(g, ..)| g.rule.as_ref() == Some(rule));
            let pairs = same.filter_map(|(_, rule_pass, _, human)| Some(((*rule_pass)?, *human)));
            out.push(GraderAgreement { metric: Metric::Rule, grader: rule.version(), agreement: grade::agreement(pairs) });
        }
        if let Some(judge) = &run.graders.judge {
            let same = rows.iter().filter(|(g, ..)| g.judge.as_ref() == Some(judge));
            let pairs = same.filter_map(|(_, _, judge_pass, human)| Some(((*judge_pass)?, *human)));
            let v = self.prompt_version(&judge.prompt_id)?;
            out.push(GraderAgreement { metric: Metric::Judge, grader: format!("{} v{} with {}", v.prompt.name, v.number, judge.model), agreement: grade::agreement(pairs) });
        }
        Ok(out)
    }
}
