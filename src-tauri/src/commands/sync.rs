//! Sync with the shared Turso database: its state (as a command and as the `sync-state` event the
//! window's indicator follows), "sync now", the token, and the background loop that syncs every
//! interval with backoff and jitter after failures.

use std::time::Duration;

use chipbench_core::{
    settings::{SecretStatus, DEFAULT_SYNC_INTERVAL_SECS},
    store::SyncStatus,
    sync::{self, SyncError, SyncOptions},
};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, Runtime, State};

use super::{AppState, Result};

/// Everything the indicator and the settings show about sync. Never carries the token.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct SyncState {
    /// A database URL is set (in Settings or TURSO_DATABASE_URL).
    pub configured: bool,
    pub url: Option<String>,
    pub token: SecretStatus,
    /// Seconds between background syncs; 0: off.
    pub interval_secs: u32,
    pub status: SyncStatus,
}

fn state_of(state: &AppState) -> Result<SyncState> {
    let env = state.env()?;
    let url = sync::database_url(&env);
    Ok(SyncState {
        configured: url.is_some(),
        url,
        token: env.secret_status("TURSO_AUTH_TOKEN"),
        interval_secs: state.files.load()?.sync_interval_secs.unwrap_or(DEFAULT_SYNC_INTERVAL_SECS),
        status: state.store.sync_status()?,
    })
}

/// One sync now, if configured; the outcome is recorded in the status either way.
async fn sync_once(state: &AppState) -> std::result::Result<(), SyncError> {
    let env = state.files.env(state.process_env.clone()).map_err(|e| SyncError::Config(e.to_string()))?;
    let Some(remote) = sync::remote_from_env(&env)? else {
        return Err(SyncError::Config("sync needs a Turso database URL: set it in Settings".into()));
    };
    let settings = state.files.load().map_err(|e| SyncError::Config(e.to_string()))?;
    sync::sync_recorded(&state.store, &remote, SyncOptions::from_settings(&settings)).await.map(drop)
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn sync_state(state: State<'_, AppState>) -> Result<SyncState> {
    state_of(&state)
}

/// Syncs now and returns the new state; a failed sync is an error (and in the recorded status).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn sync_now(state: State<'_, AppState>) -> Result<SyncState> {
    sync_once(&state).await?;
    state_of(&state)
}

/// Stores (or with None removes) the Turso auth token; it is never sent back, only masked.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state, token))]
pub fn set_turso_token(state: State<'_, AppState>, token: Option<String>) -> Result<SyncState> {
    state.files.set_secret(chipbench_core::settings::Secret::TursoAuthToken, token.as_deref())?;
    state_of(&state)
}

/// Syncs every interval while the app runs (settings are read afresh each time; 0 is off). After
/// failures the wait doubles up to 15 minutes, with jitter.
pub fn spawn_background<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let mut failures = 0;
        loop {
            let interval = app.state::<AppState>().files.load().ok().and_then(|s| s.sync_interval_secs).unwrap_or(DEFAULT_SYNC_INTERVAL_SECS);
            let configured = app.state::<AppState>().env().ok().is_some_and(|e| sync::database_url(&e).is_some());
            if interval == 0 || !configured {
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
            failures = match sync_once(&app.state::<AppState>()).await {
                Ok(()) => 0,
                Err(SyncError::Busy) => failures,
                Err(e) => {
                    tracing::info!("background sync failed: {e}");
                    failures + 1
                }
            };
            super::announce(&app, "sync state", state_of(&app.state::<AppState>()));
            let jitter = rand::random::<f64>() * 2.0 - 1.0;
            tokio::time::sleep(sync::next_delay(Duration::from_secs(interval.into()), failures, jitter)).await;
        }
    });
}
