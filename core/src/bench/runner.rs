//! The batch runner: runs a run's pending tests with bounded concurrency on tokio and hands each
//! finished result to one writer thread ([`writer`]) that group-commits them (one `BEGIN
//! IMMEDIATE` transaction for whatever has queued, never an fsync per row) and keeps the
//! heartbeat fresh.
//!
//! Stopping: `stop` ends scheduling; in-flight tests get [`GRACE`] to finish, then their calls
//! are cancelled (a cancelled test stores nothing, so `--resume` runs it again). The budget stops
//! scheduling the same way. An authentication failure stops the run as failed.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{
    matrix::{RunConfig, TestKey},
    pipeline::{run_test, TestContext, TestOutcome},
};
use crate::{
    ids,
    llm::{FailureKind, PriceTable, Provider, RetryPolicy},
    prompts::PromptSet,
    store::{writer, NewResult, RunDetail, RunStatus, Store, StoreError},
    trace::{Span, SpanObserver},
};

/// How long in-flight tests may finish after a stop before their calls are cancelled.
pub const GRACE: Duration = Duration::from_secs(5);
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// Where a run stands; every progress report carries it, so no consumer has to count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Counts {
    pub total: u64,
    /// Tests with a stored (or queued) result, including those stored before a resume.
    pub done: u64,
    /// Tests that failed at the transport level in this session.
    pub failed: u64,
    /// Results with content errors.
    pub with_errors: u64,
    /// Dollars spent by this session's calls.
    pub spent_usd: f64,
    /// Tests running now; each makes one LLM call at a time, so also the calls in flight.
    pub in_flight: u64,
}

/// Progress reports; the CLI prints them, the app turns them into events.
#[derive(Debug, Clone)]
pub enum Progress {
    Started { run_id: String, counts: Counts },
    TestDone { key: TestKey, errors: usize, counts: Counts },
    TestFailed { key: TestKey, error: String, counts: Counts },
    Stopping { reason: String },
}

/// Why scheduling ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    User,
    Budget,
    Auth,
    /// The database refused a write; the run cannot record results.
    Storage,
    /// Every recent test failed at the transport level: the provider is unreachable or broken.
    Unreachable,
}

/// Consecutive transport failures, with no success between them, that stop a run as failed.
const UNREACHABLE_AFTER: u64 = 24;

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub run_id: String,
    pub status: RunStatus,
    pub reason: Option<String>,
    pub stop: Option<StopCause>,
    pub total: u64,
    /// Results the run has now (including ones stored before a resume).
    pub stored: u64,
    /// Tests that failed at the transport level in this session.
    pub failed: u64,
    /// Stored results that carry content errors.
    pub with_errors: u64,
    pub spent_usd: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Settings(#[from] crate::llm::SettingsError),
    #[error("no unfinished run of this installation to resume")]
    NothingToResume,
}

impl crate::error::Coded for BenchError {
    fn code(&self) -> crate::ErrorCode {
        match self {
            Self::Store(e) => crate::error::Coded::code(e),
            Self::Config(_) => crate::ErrorCode::Validation,
            Self::Settings(e) => crate::error::Coded::code(e),
            Self::NothingToResume => crate::ErrorCode::NotFound,
        }
    }
}

pub struct Runner {
    pub store: Store,
    pub provider: Arc<Provider>,
    pub policy: RetryPolicy,
    /// Told of every call as it starts and of spans once stored (the window's live view).
    pub observer: Option<Arc<dyn SpanObserver>>,
    /// Record a span per call (on by default; `--no-spans` turns it off for huge batches).
    pub record_spans: bool,
}

/// What the writer thread stores: a finished test's result, if it has one, and its spans.
struct Finished {
    result: Option<NewResult>,
    spans: Vec<Span>,
}

struct Shared {
    provider: Arc<Provider>,
    policy: RetryPolicy,
    prices: PriceTable,
    prompts: PromptSet,
    selector: String,
    calls: CancellationToken,
    spent: AtomicU64,
}

impl Runner {
    /// Executes a claimed (running) run until every pending test is done or it is stopped.
    pub async fn execute(&self, run: &RunDetail, stop: CancellationToken, progress: impl Fn(Progress)) -> Result<Outcome, BenchError> {
        let run_id = run.summary.id.clone();
        let config = RunConfig::of(run)?;
        let prompts = config.prompts.values().map(|id| self.store.prompt(id)).collect::<Result<Vec<_>, _>>()?;
        let shared = Arc::new(Shared {
            provider: self.provider.clone(),
            policy: self.policy.clone(),
            prices: self.store.price_table()?,
            prompts: PromptSet(prompts),
            selector: config.selector_model.clone(),
            calls: CancellationToken::new(),
            spent: AtomicU64::new(0),
        });
        let done: HashSet<String> = self.store.result_ids(&run_id)?;
        let pending: Vec<TestKey> = config.matrix.keys().filter(|k| !done.contains(&ids::result_id(k, &run_id))).collect();
        let total = config.matrix.len() as u64;
        let mut tally = Tally { counts: Counts { total, done: done.len() as u64, with_errors: run.summary.error_count, ..Counts::default() }, ..Tally::default() };
        progress(Progress::Started { run_id: run_id.clone(), counts: tally.counts });

        let (tx, writer) = spawn_writer(self.store.clone(), run_id.clone(), self.observer.clone());
        let budget = config.max_cost_usd.map(|usd| (usd * 1e6).round() as u64);
        let concurrency = config.concurrency.max(1);
        let mut tasks: JoinSet<(TestKey, TestOutcome)> = JoinSet::new();

        'schedule: for key in pending {
            if let Some(limit) = budget.filter(|&l| shared.spent.load(Ordering::Relaxed) >= l) {
                tally.stop(StopCause::Budget, format!("budget reached: spent ${:.4} of ${:.4}", shared.spent.load(Ordering::Relaxed) as f64 / 1e6, limit as f64 / 1e6), &progress);
            }
            if tally.stop.is_some() {
                break;
            }
            // At capacity, a finished test is recorded before the next starts, so a stop it causes
            // (refused credentials, a failed write) is seen before anything else is scheduled.
            while tasks.len() >= concurrency {
                let done = tokio::select! {
                    biased;
                    _ = stop.cancelled() => { tally.stop(StopCause::User, "interrupted by user".into(), &progress); break 'schedule; }
                    done = tasks.join_next() => done.expect("the set is not empty"),
                };
                tally.counts.in_flight = tasks.len() as u64;
                tally.record(done.expect("test tasks do not panic"), &tx, &shared, &progress);
            }
            while let Some(done) = tasks.try_join_next() {
                tally.counts.in_flight = tasks.len() as u64;
                tally.record(done.expect("test tasks do not panic"), &tx, &shared, &progress);
            }
            // A provider that answers faster than the database writes: the next test waits for
            // the writer, so memory holds a bounded number of finished tests.
            tokio::select! {
                biased;
                _ = stop.cancelled() => {}
                _ = tx.room() => {}
            }
            if stop.is_cancelled() {
                tally.stop(StopCause::User, "interrupted by user".into(), &progress);
            }
            if tally.stop.is_some() {
                break;
            }
            let persona = config.personas.iter().find(|p| p.id == key.persona_id).cloned().ok_or_else(|| BenchError::Config(format!("persona `{}` is in the matrix but not in the run's personas", key.persona_id)))?;
            let shared = shared.clone();
            let (run_id, observer, record_spans) = (run_id.clone(), self.observer.clone(), self.record_spans);
            tasks.spawn(async move {
                let ctx = TestContext {
                    provider: &shared.provider,
                    policy: &shared.policy,
                    cancel: &shared.calls,
                    prices: &shared.prices,
                    prompts: &shared.prompts,
                    selector_model: &shared.selector,
                    spent_micro_usd: &shared.spent,
                    run_id: &run_id,
                    observer: observer.as_deref(),
                    record_spans,
                };
                let outcome = run_test(&ctx, &key, &persona).await;
                (key, outcome)
            });
        }

        // Drain: after a stop, in-flight tests get the grace period, then their calls are cancelled.
        let mut deadline = tally.stop.map(|_| tokio::time::Instant::now() + GRACE);
        loop {
            let next = tokio::select! {
                biased;
                _ = stop.cancelled(), if tally.stop.is_none() => {
                    tally.stop(StopCause::User, "interrupted by user".into(), &progress);
                    deadline = Some(tokio::time::Instant::now() + GRACE);
                    continue;
                }
                _ = sleep_until(deadline), if !shared.calls.is_cancelled() => { shared.calls.cancel(); continue; }
                next = tasks.join_next() => next,
            };
            let Some(done) = next else { break };
            tally.counts.in_flight = tasks.len() as u64;
            tally.record(done.expect("test tasks do not panic"), &tx, &shared, &progress);
        }
        drop(tx);
        let write_error = tokio::task::spawn_blocking(move || writer.join().expect("writer thread does not panic")).await.expect("join");

        let summary = self.store.run(&run_id)?.summary;
        let spent_usd = shared.spent.load(Ordering::Relaxed) as f64 / 1e6;
        let (status, reason) = match (&write_error, tally.stop) {
            (Some(e), _) => (RunStatus::Failed, Some(format!("database write failed: {e}"))),
            (None, Some(StopCause::Auth | StopCause::Storage | StopCause::Unreachable)) => (RunStatus::Failed, tally.reason.clone()),
            (None, Some(_)) => (RunStatus::Interrupted, tally.reason.clone()),
            (None, None) if summary.result_count == total => (RunStatus::Completed, None),
            (None, None) => (
                RunStatus::Interrupted,
                Some(format!("{} test(s) failed after retries (last: {}); resume to retry them", tally.counts.failed, tally.last_error.as_deref().unwrap_or("?"))),
            ),
        };
        self.store.finish_run(&run_id, status, reason.as_deref())?;
        Ok(Outcome {
            run_id,
            status,
            reason,
            stop: tally.stop,
            total,
            stored: summary.result_count,
            failed: tally.counts.failed,
            with_errors: summary.error_count,
            spent_usd,
        })
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[derive(Default)]
struct Tally {
    counts: Counts,
    stop: Option<StopCause>,
    reason: Option<String>,
    consecutive_failures: u64,
    last_error: Option<String>,
}

impl Tally {
    fn stop(&mut self, cause: StopCause, reason: String, progress: &impl Fn(Progress)) {
        if self.stop.is_none() {
            progress(Progress::Stopping { reason: reason.clone() });
            self.stop = Some(cause);
            self.reason = Some(reason);
        }
    }

    fn record(&mut self, (key, outcome): (TestKey, TestOutcome), tx: &writer::Queue<Finished>, shared: &Shared, progress: &impl Fn(Progress)) {
        let TestOutcome { result, spans } = outcome;
        let (stored, failure) = match result {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        };
        let errors = stored.as_ref().map_or(0, |r| r.outputs.errors.len());
        // The writer hangs up only after a failed write.
        if tx.send(Finished { result: stored, spans }).is_err() {
            self.stop(StopCause::Storage, "the database refused a write".into(), progress);
            shared.calls.cancel();
        }
        match failure {
            None => {
                self.consecutive_failures = 0;
                self.counts.done += 1;
                self.counts.with_errors += u64::from(errors > 0);
                self.counts.spent_usd = shared.spent.load(Ordering::Relaxed) as f64 / 1e6;
                progress(Progress::TestDone { key, errors, counts: self.counts });
            }
            Some(e) if e.kind == FailureKind::Cancelled => {}
            Some(e) => {
                if e.kind == FailureKind::Auth {
                    self.stop(StopCause::Auth, format!("the provider refused the credentials: {}", e.message), progress);
                    shared.calls.cancel();
                }
                self.counts.failed += 1;
                self.consecutive_failures += 1;
                if self.consecutive_failures >= UNREACHABLE_AFTER {
                    self.stop(StopCause::Unreachable, format!("the last {UNREACHABLE_AFTER} tests all failed; last error: {}", e.message), progress);
                    shared.calls.cancel();
                }
                self.last_error = Some(e.message.clone());
                self.counts.spent_usd = shared.spent.load(Ordering::Relaxed) as f64 / 1e6;
                progress(Progress::TestFailed { key, error: format!("{} after {} attempt(s)", e.message, e.attempts), counts: self.counts });
            }
        }
    }
}

/// The run's writer: each group's results and spans in one transaction with a heartbeat; when
/// idle, the heartbeat alone.
fn spawn_writer(store: Store, run_id: String, observer: Option<Arc<dyn SpanObserver>>) -> writer::Writer<Finished> {
    writer::spawn("chipbench-writer", HEARTBEAT_EVERY, move |group: Vec<Finished>| {
        let (mut results, mut spans) = (Vec::with_capacity(group.len()), Vec::new());
        for f in group {
            results.extend(f.result);
            spans.extend(f.spans);
        }
        if let Err(e) = store.insert_outcomes(&run_id, &results, &spans) {
            tracing::error!(run_id, "writing {} result(s) failed: {e}", results.len());
            return Err(e);
        }
        if let Some(o) = observer.as_deref().filter(|_| !spans.is_empty()) {
            o.stored(&spans);
        }
        Ok(())
    })
}
