//! The prompt lab from the window: datasets (checked, then imported from a file path), prompt
//! versions, and grid runs. A started grid runs in the background; changed cells reach the window
//! as `grid-activity` events (gathered for 100 ms, so a fast grid cannot flood it) and its end as
//! one `grid-finished` event.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use chipbench_core::{
    dataset,
    grid::{self, export, GridCounts, GridPage, GridProgress, GridRequest, GridRun, GridStatus, Rerun},
    store::{CellEvent, DatasetSummary, GridCell, PromptVersion},
    trace::{
        diff::{text_diff, TextPart},
        SpanObserver,
    },
};
use serde::Serialize;
use tauri::State;
use tokio_util::sync::CancellationToken;

use super::{typed_path, AppState, Result};

/// Cells of a running grid that changed since the last event, and where the run stands.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct GridActivity {
    pub run_id: String,
    pub counts: GridCounts,
    pub cells: Vec<GridCell>,
}

#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct GridFinished {
    pub run_id: String,
    pub status: GridStatus,
    pub reason: Option<String>,
    pub counts: GridCounts,
}

const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// What gathers between two events: the newest state of each changed cell, and the latest counts.
#[derive(Default)]
struct Pending {
    counts: Option<GridCounts>,
    cells: HashMap<String, GridCell>,
}

/// Running grids and how to tell the window about them.
pub struct Grids {
    running: super::Running,
    activity: Box<dyn Fn(GridActivity) + Send + Sync>,
    finished: Box<dyn Fn(GridFinished) + Send + Sync>,
    spans: Arc<dyn SpanObserver>,
}

impl Grids {
    pub fn new(activity: impl Fn(GridActivity) + Send + Sync + 'static, finished: impl Fn(GridFinished) + Send + Sync + 'static, spans: Arc<dyn SpanObserver>) -> Grids {
        Grids { running: super::Running::default(), activity: Box::new(activity), finished: Box::new(finished), spans }
    }

    /// Runs a prepared grid in the background; returns its id.
    fn spawn(self: Arc<Self>, mut prepared: grid::Prepared) -> String {
        prepared.runner.observer = Some(self.spans.clone());
        let run_id = prepared.run.id.clone();
        let stop = self.running.start(&run_id);
        let id = run_id.clone();
        tauri::async_runtime::spawn(async move {
            let pending: Arc<Mutex<Pending>> = Arc::default();
            let done = CancellationToken::new();
            let flusher = tauri::async_runtime::spawn(flush_until(self.clone(), id.clone(), pending.clone(), done.clone()));
            let report = |p: GridProgress| {
                let mut pending = pending.lock().unwrap_or_else(|e| e.into_inner());
                match p {
                    GridProgress::Started { counts, .. } => pending.counts = Some(counts),
                    GridProgress::Cell { cell, counts } => {
                        pending.counts = Some(counts);
                        pending.cells.insert(cell.id.clone(), *cell);
                    }
                    GridProgress::Stopping { .. } => {}
                }
            };
            let finished = match prepared.runner.execute(&prepared.run, stop, report).await {
                Ok(o) => GridFinished { run_id: o.run_id, status: o.status, reason: o.reason, counts: o.counts },
                Err(e) => GridFinished { run_id: id.clone(), status: GridStatus::Failed, reason: Some(e.to_string()), counts: GridCounts::default() },
            };
            done.cancel();
            let _ = flusher.await;
            self.running.finish(&id);
            (self.finished)(finished);
        });
        run_id
    }
}

/// Emits what has gathered every [`FLUSH_EVERY`], and once more when the run is done.
async fn flush_until(grids: Arc<Grids>, run_id: String, pending: Arc<Mutex<Pending>>, done: CancellationToken) {
    loop {
        let last = tokio::select! {
            _ = tokio::time::sleep(FLUSH_EVERY) => false,
            _ = done.cancelled() => true,
        };
        let Pending { counts, cells } = std::mem::take(&mut *pending.lock().unwrap_or_else(|e| e.into_inner()));
        if let Some(counts) = counts {
            let mut cells: Vec<GridCell> = cells.into_values().collect();
            cells.sort_by_key(|c| c.row_index);
            (grids.activity)(GridActivity { run_id: run_id.clone(), counts, cells });
        }
        if last {
            return;
        }
    }
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn datasets(state: State<'_, AppState>) -> Result<Vec<DatasetSummary>> {
    Ok(state.store.datasets()?)
}

/// A dataset file's columns, row count and first rows, read as a stream; nothing is stored.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument]
pub fn check_dataset_file(path: PathBuf) -> Result<dataset::Summary> {
    let (format, file) = dataset::open(&typed_path("dataset file", path)?)?;
    Ok(dataset::summarize(file, format, 5)?)
}

/// Imports a dataset file (all rows or, on any problem, none).
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn import_dataset_file(state: State<'_, AppState>, path: PathBuf, name: Option<String>) -> Result<DatasetSummary> {
    Ok(state.store.import_dataset_file(&typed_path("dataset file", path)?, name.as_deref())?)
}

/// The newest version of every prompt.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn prompts(state: State<'_, AppState>) -> Result<Vec<PromptVersion>> {
    Ok(state.store.prompt_heads()?)
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn prompt_versions(state: State<'_, AppState>, name: String) -> Result<Vec<PromptVersion>> {
    Ok(state.store.prompt_versions(&name)?)
}

/// Saves text as a version of a prompt; the same text is the same version.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state, text))]
pub fn save_prompt(state: State<'_, AppState>, name: String, text: String) -> Result<PromptVersion> {
    Ok(state.store.save_prompt(&name, &text)?)
}

/// The prompt's `{{placeholders}}` that are not columns of the dataset.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state, text))]
pub fn missing_columns(state: State<'_, AppState>, dataset_id: String, text: String) -> Result<Vec<String>> {
    Ok(dataset::missing_columns(&text, &state.store.dataset(&dataset_id)?.headers))
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn grids(state: State<'_, AppState>) -> Result<Vec<GridRun>> {
    Ok(state.store.grids()?)
}

/// Rows `offset..offset + limit` of a run's grid with its summary and agreement.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn grid_page(state: State<'_, AppState>, run_id: String, offset: u64, limit: u32) -> Result<GridPage> {
    Ok(grid::page(&state.store, &run_id, &state.rater()?, offset, limit)?)
}

/// Validates a grid request, stores its cells queued and runs it in the background; its id.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state, grids))]
pub fn start_grid(state: State<'_, AppState>, grids: State<'_, Arc<Grids>>, request: GridRequest) -> Result<String> {
    let prepared = grid::prepare(&state.store, &request, &state.env()?)?;
    Ok(grids.inner().clone().spawn(prepared))
}

/// Runs one cell, or every failed (and still queued) cell, of a finished grid again.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state, grids))]
pub fn rerun_grid(state: State<'_, AppState>, grids: State<'_, Arc<Grids>>, run_id: String, which: Rerun) -> Result<String> {
    let prepared = grid::prepare_rerun(&state.store, &run_id, &which, &state.env()?)?;
    Ok(grids.inner().clone().spawn(prepared))
}

/// Stops a running grid at once. False when it is not running here.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(grids))]
pub fn cancel_grid(grids: State<'_, Arc<Grids>>, run_id: String) -> bool {
    grids.running.cancel(&run_id)
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn cell_events(state: State<'_, AppState>, cell_id: String) -> Result<Vec<CellEvent>> {
    Ok(state.store.cell_events(&cell_id)?)
}

/// Sets (pass or fail) or withdraws (null) the current rater's grade of a cell.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn grade_cell(state: State<'_, AppState>, cell_id: String, pass: Option<bool>) -> Result<()> {
    Ok(state.store.grade_cell(&cell_id, &state.rater()?, pass)?)
}

/// Writes a run's cells to a .csv or .json file; how many.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn export_grid(state: State<'_, AppState>, run_id: String, path: PathBuf) -> Result<u32> {
    Ok(export::export(&state.store, &run_id, &state.rater()?, &typed_path("export file", path)?)? as u32)
}

/// A word diff from `before` to `after` (two prompt versions, or a version and the text being
/// edited).
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(before, after))]
pub fn diff_texts(before: String, after: String) -> Vec<TextPart> {
    text_diff(&before, &after)
}

/// Starts prompt `to` from `from`'s current text (numbered from 1, linked to `from`).
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn rename_prompt(state: State<'_, AppState>, from: String, to: String) -> Result<PromptVersion> {
    Ok(state.store.rename_prompt(&from, &to)?)
}

/// The names a prompt was renamed from, nearest first.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn prompt_lineage(state: State<'_, AppState>, name: String) -> Result<Vec<String>> {
    Ok(state.store.prompt_lineage(&name)?)
}
