//! Statistics: the seed's `GET /stats` (group_by a closed enum, optionally one run; the seed's
//! `{stats: [...]}` shape, plus overall rater agreement) and the values each dimension takes.

use std::path::PathBuf;

use chipbench_core::{
    export,
    store::{Facet, Leaderboard, StatsQuery},
};
use tauri::State;

use super::{typed_path, AppState, Result};

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn stats(state: State<'_, AppState>, query: StatsQuery) -> Result<Leaderboard> {
    Ok(state.store.stats(&query)?)
}

/// Writes the leaderboard `query` makes to a .csv or .json file, as `chipbench leaderboard
/// --export` does; how many rows.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn export_leaderboard(state: State<'_, AppState>, query: StatsQuery, path: PathBuf) -> Result<u32> {
    let path = typed_path("export file", path)?;
    Ok(export::write_board(&path, &state.store.stats(&query)?, &query)? as u32)
}

/// The values each dimension takes (one run, or all), for the results view's filters.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn facets(state: State<'_, AppState>, run_id: Option<String>) -> Result<Vec<Facet>> {
    Ok(state.store.facets(run_id.as_deref())?)
}
