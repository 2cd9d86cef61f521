//! Langfuse imports from the window: their state (a command, and the `langfuse-state` event the
//! settings follow), "import now", the secret key, and the background schedule (every interval,
//! 300 s by default, 0 off). One import at a time: a second request while one runs waits for none
//! and reports the one running.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use chipbench_core::{
    langfuse::{self, Client, LangfuseError},
    llm::settings::Env,
    settings::{Secret, SecretStatus, DEFAULT_LANGFUSE_INTERVAL_SECS},
    store::{AgentStats, AgentTrace, LangfuseImport, Turn},
};
use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime, State};
use tokio_util::sync::CancellationToken;

use super::{AppState, Result};

/// What the settings show about imports. Never carries the secret key.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct LangfuseState {
    /// Both keys are set (in Settings or the environment).
    pub configured: bool,
    pub base_url: String,
    pub public_key: Option<String>,
    pub secret_key: SecretStatus,
    /// Seconds between background imports; 0: off.
    pub interval_secs: u32,
    pub running: bool,
    pub last: Option<LangfuseImport>,
}

/// Whether an import runs now.
#[derive(Default)]
pub struct Importer {
    running: AtomicBool,
}

fn state_of(state: &AppState, importer: &Importer) -> Result<LangfuseState> {
    let env = state.env()?;
    Ok(LangfuseState {
        configured: env.var("LANGFUSE_PUBLIC_KEY").is_some() && env.var("LANGFUSE_SECRET_KEY").is_some(),
        base_url: env.var("LANGFUSE_BASE_URL").unwrap_or_else(|| langfuse::client::DEFAULT_BASE_URL.into()),
        public_key: env.var("LANGFUSE_PUBLIC_KEY"),
        secret_key: env.secret_status("LANGFUSE_SECRET_KEY"),
        interval_secs: state.files.load()?.langfuse_import_interval_secs.unwrap_or(DEFAULT_LANGFUSE_INTERVAL_SECS),
        running: importer.running.load(Ordering::SeqCst),
        last: state.store.langfuse_last_import()?,
    })
}

/// One import, unless one runs already (then nothing); the outcome is recorded either way.
/// `announce` is told when it starts and ends.
async fn import_once(state: &AppState, importer: &Importer, announce: impl Fn()) -> std::result::Result<(), LangfuseError> {
    if importer.running.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    announce();
    let outcome = async {
        let env = state.env().map_err(|e| LangfuseError::Config(e.message))?;
        langfuse::import(&state.store, &Client::from_env(&env)?, &CancellationToken::new(), |_| {}).await
    }
    .await;
    importer.running.store(false, Ordering::SeqCst);
    announce();
    outcome.map(drop)
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state, importer))]
pub fn langfuse_state(state: State<'_, AppState>, importer: State<'_, Importer>) -> Result<LangfuseState> {
    state_of(&state, &importer)
}

/// Imports now and returns the new state; a failed import is an error (and in the recorded state).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, importer))]
pub async fn import_langfuse_now(state: State<'_, AppState>, importer: State<'_, Importer>) -> Result<LangfuseState> {
    import_once(&state, &importer, || {}).await?;
    state_of(&state, &importer)
}

/// Stores (or with None removes) the Langfuse secret key; it is never sent back, only masked.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state, importer, key))]
pub fn set_langfuse_secret(state: State<'_, AppState>, importer: State<'_, Importer>, key: Option<String>) -> Result<LangfuseState> {
    state.files.set_secret(Secret::LangfuseSecretKey, key.as_deref())?;
    state_of(&state, &importer)
}

/// Imports every interval while the app runs and the keys are set (settings are read afresh
/// each time; 0 is off).
pub fn spawn_background<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        loop {
            let interval = app.state::<AppState>().files.load().ok().and_then(|s| s.langfuse_import_interval_secs).unwrap_or(DEFAULT_LANGFUSE_INTERVAL_SECS);
            let configured = state_of(&app.state::<AppState>(), &app.state::<Importer>()).is_ok_and(|s| s.configured);
            if interval == 0 || !configured {
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
            let (state, importer) = (app.state::<AppState>(), app.state::<Importer>());
            let announce = || super::announce(&app, "Langfuse state", state_of(&state, &importer));
            if let Err(e) = import_once(&state, &importer, announce).await {
                tracing::info!("background Langfuse import failed: {e}");
            }
            tokio::time::sleep(Duration::from_secs(interval.into())).await;
        }
    });
}

/// Imported traces grouped by name, the busiest first.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn agents(state: State<'_, AppState>) -> Result<Vec<AgentStats>> {
    Ok(state.store.langfuse_agents()?)
}

/// An agent's newest traces.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn agent_traces(state: State<'_, AppState>, name: String) -> Result<Vec<AgentTrace>> {
    Ok(state.store.langfuse_agent_traces(&name, 200)?)
}

/// The conversation (session) an imported trace belongs to, with the rater's ratings.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn conversation(state: State<'_, AppState>, trace_id: String) -> Result<Vec<Turn>> {
    Ok(state.store.langfuse_conversation(&trace_id, &state.rater()?)?)
}
