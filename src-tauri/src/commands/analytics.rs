//! Analytics over time from the window: the daily aggregates of calls over a range of days.

use chipbench_core::{analytics::DayRange, store::Analytics};
use tauri::State;

use super::{AppState, Result};

/// Calls over `range` (`24h`, `7d`, `30d`, `all`, or `FROM..TO`), of one source if given.
#[tauri::command(async)]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub fn analytics(state: State<'_, AppState>, range: String, source: Option<String>) -> Result<Analytics> {
    let range = DayRange::parse(&range, DayRange::today())?;
    Ok(state.store.analytics(range, source.as_deref())?)
}
