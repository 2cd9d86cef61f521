//! Executes a grid run's queued cells with bounded concurrency. A cell renders the prompt with
//! its row, asks its model, grades the answer by rule and, when the run has one, by the grader
//! prompt; both calls are spans of the cell's trace. Cell states, events and spans go to one
//! group-commit writer ([`store::writer`]). A cancel stops scheduling and cancels the calls in
//! flight at once: their cells fail as cancelled, the rest stay queued, and "run again" picks up
//! both.

use std::{collections::HashMap, sync::Arc, time::Duration};

use serde::Serialize;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{CellStatus, GridError, GridRun, GridStatus, OUTPUT_PLACEHOLDER};
use crate::{
    clock, dataset,
    grade::{self, Rule},
    llm::{CallKind, ChatRequest, FailureKind, Message, PriceTable, Provider, RetryPolicy},
    store::{writer, CellEvent, CellUpdate, GridCell, Store},
    trace::{recorded_call, Span, SpanContext, SpanObserver, TraceKind},
};

pub struct GridRunner {
    pub store: Store,
    pub provider: Arc<Provider>,
    pub policy: RetryPolicy,
    /// Told of every call as it starts and of spans once stored (the window's live views).
    pub observer: Option<Arc<dyn SpanObserver>>,
}

/// Cells by state, and what this session's calls cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GridCounts {
    pub total: u64,
    pub queued: u64,
    pub running: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub spent_usd: f64,
}

#[derive(Debug, Clone)]
pub enum GridProgress {
    Started { run_id: String, counts: GridCounts },
    /// A cell started or finished; the cell as it is now.
    Cell { cell: Box<GridCell>, counts: GridCounts },
    Stopping { reason: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct GridOutcome {
    pub run_id: String,
    pub status: GridStatus,
    pub reason: Option<String>,
    pub counts: GridCounts,
}

/// What every cell of the run shares.
struct Shared {
    run_id: String,
    provider: Arc<Provider>,
    policy: RetryPolicy,
    prices: PriceTable,
    calls: CancellationToken,
    prompt: String,
    prompt_name: String,
    headers: Vec<String>,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
    rule: Option<(Rule, Option<usize>)>,
    /// The grader prompt's text and model.
    judge: Option<(String, String)>,
    observer: Option<Arc<dyn SpanObserver>>,
}

/// A finished cell, as its task hands it back.
struct Done {
    update: CellUpdate,
    spans: Vec<Span>,
    failure: Option<FailureKind>,
}

impl GridRunner {
    /// Runs the run's queued cells until all are done or `stop` fires; records the run's end.
    pub async fn execute(&self, run: &GridRun, stop: CancellationToken, progress: impl Fn(GridProgress)) -> Result<GridOutcome, GridError> {
        let shared = Arc::new(self.shared(run)?);
        let cells = self.store.grid_cells(&run.id, "", ..)?;
        let mut counts = GridCounts { total: cells.len() as u64, ..GridCounts::default() };
        for c in &cells {
            *counts.slot(c.status) += 1;
        }
        let queued: Vec<GridCell> = cells.into_iter().filter(|c| c.status == CellStatus::Queued).collect();
        let rows = self.rows(run, &queued)?;
        progress(GridProgress::Started { run_id: run.id.clone(), counts });

        let (tx, writer) = spawn_writer(self.store.clone(), run.id.clone(), self.observer.clone());
        let mut tasks: JoinSet<Done> = JoinSet::new();
        let mut stopped: Option<(GridStatus, String)> = None;
        let record = |done: Done, counts: &mut GridCounts, stopped: &mut Option<(GridStatus, String)>| {
            counts.running -= 1;
            *counts.slot(done.update.cell.status) += 1;
            counts.spent_usd += done.spans.iter().map(|s| s.cost_usd).sum::<f64>();
            if done.failure == Some(FailureKind::Auth) && stopped.is_none() {
                let reason = format!("the provider refused the credentials: {}", done.update.cell.error.as_deref().unwrap_or_default());
                progress(GridProgress::Stopping { reason: reason.clone() });
                *stopped = Some((GridStatus::Failed, reason));
                shared.calls.cancel();
            }
            let cell = done.update.cell.clone();
            if tx.send((done.update, done.spans)).is_err() && stopped.is_none() {
                *stopped = Some((GridStatus::Failed, "the database refused a write".into()));
                shared.calls.cancel();
            }
            progress(GridProgress::Cell { cell: Box::new(cell), counts: *counts });
        };
        let mut pending = queued.into_iter();
        loop {
            if stop.is_cancelled() && stopped.is_none() {
                progress(GridProgress::Stopping { reason: "cancelled by user".into() });
                stopped = Some((GridStatus::Cancelled, "cancelled by user".into()));
                shared.calls.cancel();
            }
            let free = stopped.is_none() && tasks.len() < run.concurrency as usize;
            if free {
                // As in a batch: a provider faster than the database waits for the writer.
                tokio::select! {
                    biased;
                    _ = stop.cancelled() => continue,
                    _ = tx.room() => {}
                }
            }
            let next = if free { pending.next() } else { None };
            if let Some(mut cell) = next {
                cell.status = CellStatus::Running;
                cell.attempts += 1;
                cell.updated_at = clock::now();
                let started = CellEvent { event: "started".into(), detail: Some(format!("attempt {}", cell.attempts)), at: cell.updated_at.clone() };
                let _ = tx.send((CellUpdate { cell: cell.clone(), events: vec![started] }, Vec::new()));
                counts.queued -= 1;
                counts.running += 1;
                progress(GridProgress::Cell { cell: Box::new(cell.clone()), counts });
                let row = rows.get(&cell.row_index).cloned().unwrap_or_default();
                let shared = shared.clone();
                tasks.spawn(async move { run_cell(&shared, cell, &row).await });
                continue;
            }
            let joined = tokio::select! {
                biased;
                _ = stop.cancelled(), if stopped.is_none() => continue,
                joined = tasks.join_next() => joined,
            };
            match joined {
                Some(done) => record(done.expect("cell tasks do not panic"), &mut counts, &mut stopped),
                None => break,
            }
        }
        drop(tx);
        let write_error = tokio::task::spawn_blocking(move || writer.join().expect("writer thread does not panic")).await.expect("join");
        let (status, reason) = match (write_error, stopped) {
            (Some(e), _) => (GridStatus::Failed, Some(format!("database write failed: {e}"))),
            (None, Some((status, reason))) => (status, Some(reason)),
            (None, None) if counts.failed > 0 => (GridStatus::Completed, Some(format!("{} cell(s) failed; run them again to retry", counts.failed))),
            (None, None) => (GridStatus::Completed, None),
        };
        self.store.finish_grid(&run.id, status, reason.as_deref())?;
        Ok(GridOutcome { run_id: run.id.clone(), status, reason, counts })
    }

    fn shared(&self, run: &GridRun) -> Result<Shared, GridError> {
        let prompt = self.store.prompt(&run.prompt_id)?;
        let headers = self.store.dataset(&run.dataset_id)?.headers;
        let rule = match &run.graders.rule {
            Some(g) => Some((Rule::parse(&g.rule)?, g.expected.as_ref().and_then(|c| headers.iter().position(|h| h == c)))),
            None => None,
        };
        let judge = match &run.graders.judge {
            Some(j) => Some((self.store.prompt(&j.prompt_id)?.text, j.model.clone())),
            None => None,
        };
        Ok(Shared {
            run_id: run.id.clone(),
            provider: self.provider.clone(),
            policy: self.policy.clone(),
            prices: self.store.price_table()?,
            calls: CancellationToken::new(),
            prompt: prompt.text,
            prompt_name: prompt.name,
            headers,
            temperature: run.params.temperature,
            max_tokens: run.params.max_tokens,
            rule,
            judge,
            observer: self.observer.clone(),
        })
    }

    /// The dataset rows the cells need, by index (one page spanning them).
    fn rows(&self, run: &GridRun, cells: &[GridCell]) -> Result<HashMap<u64, Vec<String>>, GridError> {
        let (Some(first), Some(last)) = (cells.iter().map(|c| c.row_index).min(), cells.iter().map(|c| c.row_index).max()) else {
            return Ok(HashMap::new());
        };
        let span = u32::try_from(last - first + 1).unwrap_or(u32::MAX);
        let rows = self.store.dataset_rows(&run.dataset_id, first, span)?;
        Ok((first..).zip(rows).collect())
    }
}

impl GridCounts {
    fn slot(&mut self, status: CellStatus) -> &mut u64 {
        match status {
            CellStatus::Queued => &mut self.queued,
            CellStatus::Running => &mut self.running,
            CellStatus::Succeeded => &mut self.succeeded,
            CellStatus::Failed => &mut self.failed,
        }
    }
}

/// The run's writer: each group's cell updates, events and spans in one transaction, which also
/// beats the run's heartbeat; when idle, the heartbeat alone (so a run whose process died is
/// seen as interrupted, and can be run again).
fn spawn_writer(store: Store, run_id: String, observer: Option<Arc<dyn SpanObserver>>) -> writer::Writer<(CellUpdate, Vec<Span>)> {
    writer::spawn("chipbench-grid-writer", Duration::from_secs(5), move |group: Vec<(CellUpdate, Vec<Span>)>| {
        let (updates, spans): (Vec<CellUpdate>, Vec<Vec<Span>>) = group.into_iter().unzip();
        let spans: Vec<Span> = spans.into_iter().flatten().collect();
        store.write_cells(&run_id, &updates, &spans)?;
        if let Some(o) = observer.as_deref().filter(|_| !spans.is_empty()) {
            o.stored(&spans);
        }
        Ok(())
    })
}

/// One cell: the model's answer, then its grades.
async fn run_cell(s: &Shared, mut cell: GridCell, row: &[String]) -> Done {
    let value = |name: &str| s.headers.iter().position(|h| h == name).and_then(|i| row.get(i)).map(String::as_str);
    let ctx = SpanContext {
        trace_id: cell.id.clone(),
        trace_kind: TraceKind::Test,
        trace_name: format!("{} / row {} / {}", s.prompt_name, cell.row_index + 1, cell.model),
        run_id: Some(s.run_id.clone()),
        provider: s.provider.kind().as_str().to_owned(),
        replay_of: None,
    };
    let request = |model: &str, kind, text: String, step: &str| ChatRequest {
        model: model.to_owned(),
        messages: vec![Message::user(text)].into(),
        kind,
        temperature: s.temperature,
        max_tokens: s.max_tokens,
        seed_key: format!("{}/{}/{step}", cell.id, cell.attempts),
        want: 0,
    };
    let chat = request(&cell.model, CallKind::Chat, dataset::render(&s.prompt, value), "answer");
    let (span, failure) = recorded_call(&s.provider, &s.prices, &ctx, chat, &s.policy, &s.calls, s.observer.as_deref()).await;
    cell.span_id = Some(span.id.clone());
    (cell.input_tokens, cell.output_tokens, cell.cost_usd, cell.latency_ms) = (span.input_tokens, span.output_tokens, span.cost_usd, span.latency_ms);
    (cell.output, cell.error) = (span.response.clone(), span.error.clone());
    (cell.rule_pass, cell.rule_reason, cell.judge_pass, cell.judge_reason) = (None, None, None, None);
    let mut spans = vec![span];
    let mut events = Vec::new();
    let mut event = |event: &str, detail: String| events.push(CellEvent { event: event.into(), detail: Some(detail), at: clock::now() });
    let Some(output) = cell.output.clone() else {
        cell.status = CellStatus::Failed;
        event("failed", cell.error.clone().unwrap_or_default());
        cell.updated_at = clock::now();
        return Done { update: CellUpdate { cell, events }, spans, failure };
    };
    cell.status = CellStatus::Succeeded;
    event("succeeded", format!("{} ms, {} output tokens", cell.latency_ms, cell.output_tokens));
    if let Some((rule, expected)) = &s.rule {
        let expected = expected.and_then(|i| row.get(i)).map_or("", String::as_str);
        match grade::grade(rule, &output, expected) {
            Ok(v) => (cell.rule_pass, cell.rule_reason) = (Some(v.pass), Some(v.reason)),
            Err(e) => cell.rule_reason = Some(e.to_string()),
        }
        event("graded", format!("rule: {}", verdict_text(cell.rule_pass, cell.rule_reason.as_deref())));
    }
    if let Some((template, model)) = &s.judge {
        let text = dataset::render(template, |name| if name == OUTPUT_PLACEHOLDER { Some(output.as_str()) } else { value(name) });
        let (span, _) = recorded_call(&s.provider, &s.prices, &ctx, request(model, CallKind::Grade, text, "grade"), &s.policy, &s.calls, s.observer.as_deref()).await;
        match (&span.response, &span.error) {
            (Some(answer), _) => match grade::parse_judgement(answer) {
                Ok(v) => (cell.judge_pass, cell.judge_reason) = (Some(v.pass), Some(v.reason)),
                Err(e) => cell.judge_reason = Some(e),
            },
            (None, error) => cell.judge_reason = Some(format!("the grader call failed: {}", error.as_deref().unwrap_or("?"))),
        }
        event("graded", format!("judge: {}", verdict_text(cell.judge_pass, cell.judge_reason.as_deref())));
        spans.push(span);
    }
    cell.updated_at = clock::now();
    Done { update: CellUpdate { cell, events }, spans, failure }
}

fn verdict_text(pass: Option<bool>, reason: Option<&str>) -> String {
    let verdict = match pass {
        Some(true) => "pass",
        Some(false) => "fail",
        None => "no verdict",
    };
    format!("{verdict} ({})", reason.unwrap_or(""))
}
