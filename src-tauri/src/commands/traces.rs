//! The trace debugger from the window: the newest traces, one trace, search, replay, the
//! playground, import of another tool's spans, and rating a span's response. While calls run,
//! `span-activity` events say which calls started and which spans were stored, coalesced to at
//! most ten a second so a fast batch cannot flood the window.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use chipbench_core::{
    llm::RetryPolicy,
    store::{ImportSummary, Rating, SearchPage, SearchQuery, TraceDetail, TraceFilter, TraceSummary, TARGET_SPAN},
    trace::{
        import,
        lab::{Lab, PlaygroundRequest, ReplayOutcome, ReplayRequest},
        sent::{sent_request, SentRequest},
        Span, SpanObserver, SpanStarted, TraceKind,
    },
};
use serde::{Deserialize, Serialize};
use tauri::State;
use tokio_util::sync::CancellationToken;

use super::{AppState, Result};

/// A stored span, as much as a list needs (the trace view fetches the rest).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct StoredSpan {
    pub id: String,
    pub trace_id: String,
    pub trace_name: String,
    pub trace_kind: TraceKind,
    pub kind: String,
    pub model: Option<String>,
    pub ok: bool,
    pub started_at: String,
    pub ended_at: String,
}

/// Calls that started and spans that were stored since the last event.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct SpanActivity {
    pub started: Vec<SpanStarted>,
    pub stored: Vec<StoredSpan>,
    /// Reports left out because more arrived than one event carries.
    pub dropped: u64,
}

/// Per event at most this many of each list; a live view shows far fewer.
const MAX_PER_EVENT: usize = 200;
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Collects span reports from batches and lab calls and emits them as `span-activity` events.
#[derive(Default)]
pub struct SpanEvents {
    pending: Mutex<SpanActivity>,
}

impl SpanEvents {
    fn pending(&self) -> std::sync::MutexGuard<'_, SpanActivity> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Emits what has gathered every 100 ms, for the life of the app.
    pub fn spawn_flusher(self: Arc<Self>, emit: impl Fn(SpanActivity) + Send + 'static) {
        tauri::async_runtime::spawn(async move {
            loop {
                tokio::time::sleep(FLUSH_EVERY).await;
                let activity = std::mem::take(&mut *self.pending());
                if !activity.started.is_empty() || !activity.stored.is_empty() {
                    emit(activity);
                }
            }
        });
    }
}

impl SpanObserver for SpanEvents {
    fn started(&self, span: &SpanStarted) {
        let mut p = self.pending();
        if p.started.len() < MAX_PER_EVENT {
            p.started.push(span.clone());
        } else {
            p.dropped += 1;
        }
    }

    fn stored(&self, spans: &[Span]) {
        let mut p = self.pending();
        for s in spans {
            if p.stored.len() >= MAX_PER_EVENT {
                p.dropped += 1;
                continue;
            }
            p.stored.push(StoredSpan {
                id: s.id.clone(),
                trace_id: s.trace_id.clone(),
                trace_name: s.trace_name.clone(),
                trace_kind: s.trace_kind,
                kind: s.kind.clone(),
                model: s.model.clone(),
                ok: s.ok,
                started_at: s.started_at.clone(),
                ended_at: s.ended_at.clone(),
            });
        }
    }
}

/// Makes new spans searchable in the background: every two seconds, chunk by chunk, so a search
/// rarely has anything left to index and a running batch's writes wait at most one chunk.
pub fn spawn_indexer(store: chipbench_core::store::Store) {
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            loop {
                let store = store.clone();
                match tokio::task::spawn_blocking(move || store.index_spans(chipbench_core::store::INDEX_CHUNK)).await {
                    Ok(Ok(0)) => break,
                    Ok(Ok(_)) => tokio::task::yield_now().await,
                    Ok(Err(e)) => {
                        tracing::warn!("indexing spans for search failed: {e}");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!("the span indexer stopped: {e}");
                        return;
                    }
                }
            }
        }
    });
}

fn lab<'a>(state: &'a AppState, env: &'a chipbench_core::settings::LayeredEnv, events: &Arc<SpanEvents>) -> Lab<'a> {
    Lab { store: &state.store, env, policy: RetryPolicy::default(), cancel: CancellationToken::new(), observer: Some(events.clone()) }
}

/// The newest traces first.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn traces(state: State<'_, AppState>, filter: TraceFilter) -> Result<Vec<TraceSummary>> {
    Ok(state.store.traces(&filter)?)
}

/// One trace: its spans, their replays, and the current rater's ratings.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn trace(state: State<'_, AppState>, id: String) -> Result<TraceDetail> {
    Ok(state.store.trace(&id, Some(&state.rater()?))?)
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn search_spans(state: State<'_, AppState>, query: SearchQuery) -> Result<SearchPage> {
    Ok(state.store.search(&query)?)
}

/// Sends a recorded LLM call again with edits; returns the stored replay and its diff.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, events))]
pub async fn replay_span(state: State<'_, AppState>, events: State<'_, Arc<SpanEvents>>, request: ReplayRequest) -> Result<ReplayOutcome> {
    let env = state.env()?;
    Ok(lab(&state, &env, &events).replay(&request).await?)
}

/// A recorded LLM call as sent: its body, the endpoint as set now, and a curl command that sends it
/// again (naming the key's environment variable, never showing the key).
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn span_request(state: State<'_, AppState>, span_id: String) -> Result<SentRequest> {
    Ok(sent_request(&state.store.span(&span_id)?, &state.env()?)?)
}

/// Sends a playground prompt to one to four models; returns their spans in the models' order.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, events, request), fields(models = ?request.models))]
pub async fn playground(state: State<'_, AppState>, events: State<'_, Arc<SpanEvents>>, request: PlaygroundRequest) -> Result<Vec<Span>> {
    let env = state.env()?;
    Ok(lab(&state, &env, &events).playground(&request).await?)
}

/// Imports a file of another tool's spans (its name and text, as the window read them).
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state, text))]
pub fn import_spans(state: State<'_, AppState>, file_name: String, text: String) -> Result<ImportSummary> {
    let spans = import::parse(&file_name, &text)?;
    Ok(state.store.import_spans(&spans)?)
}

/// Rates a span's response (a playground or replay answer) 1-5 as the current rater.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn rate_span(state: State<'_, AppState>, span_id: String, rating: i64) -> Result<Rating> {
    Ok(state.store.rate(TARGET_SPAN, &span_id, &state.rater()?, rating)?)
}
