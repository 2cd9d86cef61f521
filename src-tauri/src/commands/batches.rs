//! Batches from the window: estimate, start, cancel, resume. A started batch runs in the
//! background; its progress reaches the UI as `batch-progress` events (at most ten a second) and
//! its end as one `batch-finished` event, never by polling.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chipbench_core::{
    bench::{self, BatchRequest, Counts, Estimate, Prepared, Progress, TestKey},
    personas,
    store::RunStatus,
    trace::SpanObserver,
};
use serde::{Deserialize, Serialize};
use tauri::State;

use super::{AppState, Result};

#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct BatchProgress {
    pub run_id: String,
    pub counts: Counts,
    /// The test that finished most recently.
    pub latest: Option<TestKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct BatchFinished {
    pub run_id: String,
    pub status: RunStatus,
    pub reason: Option<String>,
    pub counts: Counts,
}

/// Running batches and how to tell the window about them (set up with the app's handle).
pub struct Batches {
    running: super::Running,
    progress: Box<dyn Fn(BatchProgress) + Send + Sync>,
    finished: Box<dyn Fn(BatchFinished) + Send + Sync>,
    /// Told of every call and stored span (the `span-activity` events).
    spans: Arc<dyn SpanObserver>,
}

impl Batches {
    pub fn new(
        progress: impl Fn(BatchProgress) + Send + Sync + 'static,
        finished: impl Fn(BatchFinished) + Send + Sync + 'static,
        spans: Arc<dyn SpanObserver>,
    ) -> Batches {
        Batches { running: super::Running::default(), progress: Box::new(progress), finished: Box::new(finished), spans }
    }

    /// Runs a prepared batch in the background; returns its run id.
    fn spawn(self: Arc<Self>, mut prepared: Prepared) -> String {
        prepared.runner.observer = Some(self.spans.clone());
        let run_id = prepared.run.summary.id.clone();
        let stop = self.running.start(&run_id);
        let id = run_id.clone();
        tauri::async_runtime::spawn(async move {
            let last_sent = Mutex::new(None::<Instant>);
            let report = |p: Progress| {
                let (latest, counts) = match p {
                    Progress::Started { counts, .. } => (None, counts),
                    Progress::TestDone { key, counts, .. } | Progress::TestFailed { key, counts, .. } => (Some(key), counts),
                    Progress::Stopping { .. } => return,
                };
                let mut last = last_sent.lock().unwrap_or_else(|e| e.into_inner());
                if last.is_none_or(|t| t.elapsed() >= Duration::from_millis(100)) {
                    *last = Some(Instant::now());
                    (self.progress)(BatchProgress { run_id: id.clone(), counts, latest });
                }
            };
            let finished = match prepared.runner.execute(&prepared.run, stop, report).await {
                Ok(o) => BatchFinished {
                    run_id: o.run_id,
                    status: o.status,
                    reason: o.reason,
                    counts: Counts { total: o.total, done: o.stored, failed: o.failed, with_errors: o.with_errors, spent_usd: o.spent_usd, in_flight: 0 },
                },
                Err(e) => BatchFinished { run_id: id.clone(), status: RunStatus::Failed, reason: Some(e.to_string()), counts: Counts::default() },
            };
            self.running.finish(&id);
            (self.finished)(finished);
        });
        run_id
    }
}

/// Tests, calls, dollars and minutes a request would take; nothing is run or written.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn estimate(state: State<'_, AppState>, request: BatchRequest) -> Result<Estimate> {
    Ok(bench::estimate_request(&state.store, &request, &state.env()?, &personas::built_in())?.0)
}

/// Starts a batch in the background; returns the new run's id.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state, batches))]
pub fn start_batch(state: State<'_, AppState>, batches: State<'_, Arc<Batches>>, request: BatchRequest) -> Result<String> {
    let prepared = bench::prepare_new(&state.store, &request, &state.env()?, &personas::built_in())?;
    Ok(batches.inner().clone().spawn(prepared))
}

/// Continues an interrupted run (or this installation's latest unfinished one) in the background.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state, batches))]
pub fn resume_batch(state: State<'_, AppState>, batches: State<'_, Arc<Batches>>, run_id: Option<String>) -> Result<String> {
    let prepared = bench::prepare_resume(&state.store, run_id.as_deref(), &state.env()?)?;
    Ok(batches.inner().clone().spawn(prepared))
}

/// Stops a running batch: no new tests start; calls in flight get 5 s. False when it is not running here.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(batches))]
pub fn cancel_batch(batches: State<'_, Arc<Batches>>, run_id: String) -> bool {
    batches.running.cancel(&run_id)
}
