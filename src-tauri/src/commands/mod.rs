//! Tauri commands: thin adapters (parse, call core, map the error), one file per domain. They run
//! off the main thread (`async`), so a slow query never freezes the window.

pub mod batches;
pub mod catalog;
pub mod ratings;
pub mod results;
pub mod runs;
pub mod stats;

use std::sync::Arc;

use chipbench_core::{llm::settings::Env, store::Store, Coded, ErrorCode};
use serde::Serialize;

/// What every command returns on failure: the UI branches on `code` and shows `message`.
#[derive(Debug, Serialize, PartialEq, specta::Type)]
pub struct CommandError {
    code: ErrorCode,
    message: String,
}

impl<E: Coded> From<E> for CommandError {
    fn from(e: E) -> Self {
        CommandError { code: e.code(), message: e.to_string() }
    }
}

pub type Result<T> = std::result::Result<T, CommandError>;

/// The app's state: the database, who is rating, and where provider keys and tuning come from.
pub struct AppState {
    pub store: Store,
    pub rater: String,
    pub env: Arc<dyn Env>,
}
