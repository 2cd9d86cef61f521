//! Ratings: the seed's `POST /results/{id}/ratings` (as the current rater), undo, and `GET /ratings`.

use chipbench_core::store::{Rating, RatingFilter, TARGET_RESULT};
use serde::Serialize;
use tauri::State;

use super::{AppState, Result};

#[derive(Serialize, specta::Type)]
pub struct RatingList {
    pub ratings: Vec<Rating>,
}

/// Rates a result 1-5 as the current rater (upsert).
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn rate(state: State<'_, AppState>, result_id: String, rating: i64) -> Result<Rating> {
    Ok(state.store.rate(TARGET_RESULT, &result_id, &state.rater()?, rating)?)
}

/// Withdraws the current rater's rating of a result (undo); false when there was none.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn unrate(state: State<'_, AppState>, result_id: String) -> Result<bool> {
    Ok(state.store.unrate(TARGET_RESULT, &result_id, &state.rater()?)?)
}

#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn ratings(state: State<'_, AppState>, filter: RatingFilter) -> Result<RatingList> {
    Ok(RatingList { ratings: state.store.ratings(&filter)? })
}

/// Who is rating in this window.
#[tauri::command(async)]
#[specta::specta]
pub fn rater(state: State<'_, AppState>) -> Result<String> {
    state.rater()
}
