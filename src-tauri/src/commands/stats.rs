//! Statistics: the seed's `GET /stats` (group_by a closed enum, optionally one run; the seed's
//! `{stats: [...]}` shape, plus overall rater agreement) and the values each dimension takes.

use chipbench_core::store::{Facet, Leaderboard, StatsQuery};
use tauri::State;

use super::{AppState, Result};

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn stats(state: State<'_, AppState>, query: StatsQuery) -> Result<Leaderboard> {
    Ok(state.store.stats(&query)?)
}

/// The values each dimension takes (one run, or all), for the results view's filters.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn facets(state: State<'_, AppState>, run_id: Option<String>) -> Result<Vec<Facet>> {
    Ok(state.store.facets(run_id.as_deref())?)
}
