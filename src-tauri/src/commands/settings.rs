//! Settings: rater, default concurrency, provider base URLs and keys (stored in files, keys only
//! ever returned masked), the price table, and where the database is.

use chipbench_core::{
    llm::{
        served::{self, ServedModels},
        ProviderKind, ProviderSettings,
    },
    settings::{KeyStatus, Settings},
    store::Model,
};
use serde::Serialize;
use tauri::State;

use super::{AppState, Result};

#[derive(Serialize, specta::Type)]
pub struct SettingsView {
    pub settings: Settings,
    /// The rater in effect (the setting, else the default).
    pub rater: String,
    pub default_rater: String,
    pub keys: Vec<KeyStatus>,
    pub database_path: Option<String>,
    pub database_bytes: u64,
}

fn view(state: &AppState) -> Result<SettingsView> {
    Ok(SettingsView {
        settings: state.files.load()?,
        rater: state.rater()?,
        default_rater: state.default_rater.clone(),
        keys: state.env()?.key_status(),
        database_path: state.store.path().map(|p| p.display().to_string()),
        database_bytes: state.store.disk_usage(),
    })
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn settings(state: State<'_, AppState>) -> Result<SettingsView> {
    view(&state)
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn save_settings(state: State<'_, AppState>, settings: Settings) -> Result<SettingsView> {
    state.files.save(&settings)?;
    view(&state)
}

/// Stores a provider's API key (None or empty removes it). The key is never sent back.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state, key))]
pub fn set_api_key(state: State<'_, AppState>, provider: ProviderKind, key: Option<String>) -> Result<SettingsView> {
    state.files.set_key(provider, key.as_deref())?;
    view(&state)
}

/// Adds a model to the price table or changes its name or prices.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn save_model(state: State<'_, AppState>, model: Model) -> Result<Vec<Model>> {
    state.store.upsert_model(&model)?;
    Ok(state.store.models()?)
}

/// Takes a model out of the price table (a tombstone that syncs; saving it again brings it back).
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn delete_model(state: State<'_, AppState>, id: String) -> Result<Vec<Model>> {
    state.store.delete_model(&id)?;
    Ok(state.store.models()?)
}

/// Asks a provider's endpoint which models it serves (`GET {base}/models`; OpenRouter's key too).
/// `base_url`: the one typed in the form, checked before it is saved; else the saved one.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn served_models(state: State<'_, AppState>, provider: ProviderKind, base_url: Option<String>) -> Result<ServedModels> {
    let settings = ProviderSettings::resolve(Some(provider), base_url, &state.env()?)?;
    Ok(served::served_models(&settings).await?)
}
