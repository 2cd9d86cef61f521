//! Statistics: the seed's `GET /stats` (group_by a closed enum, optionally one run).

use chipbench_core::store::{Facet, StatsQuery, StatsRow};
use serde::Serialize;
use tauri::State;

use super::{AppState, Result};

#[derive(Serialize, specta::Type)]
pub struct StatsList {
    pub stats: Vec<StatsRow>,
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn stats(state: State<'_, AppState>, query: StatsQuery) -> Result<StatsList> {
    Ok(StatsList { stats: state.store.stats(&query)? })
}

/// The values each dimension takes (one run, or all), for the results view's filters.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn facets(state: State<'_, AppState>, run_id: Option<String>) -> Result<Vec<Facet>> {
    Ok(state.store.facets(run_id.as_deref())?)
}
