//! Tauri commands: thin adapters (parse, call core, map the error), one file per domain. They run
//! off the main thread (`async`), so a slow query never freezes the window.

pub mod analytics;
pub mod batches;
pub mod catalog;
pub mod data;
pub mod lab;
pub mod langfuse;
pub mod ratings;
pub mod settings;
pub mod results;
pub mod runs;
pub mod stats;
pub mod sync;
pub mod traces;

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use chipbench_core::{
    llm::settings::Env,
    settings::{LayeredEnv, SettingsFiles},
    store::Store,
    Coded, ErrorCode,
};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

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

/// A file path typed into the window (`field` names the box): `~/` is the home folder, and a
/// relative path is refused, since the window has no working folder a person could know of.
pub fn typed_path(field: &str, path: PathBuf) -> Result<PathBuf> {
    let home = |rest: &std::path::Path| dirs::home_dir().map(|h| h.join(rest));
    let path = match path.strip_prefix("~") {
        Ok(rest) => home(rest).unwrap_or(path),
        Err(_) => path,
    };
    if path.is_absolute() {
        return Ok(path);
    }
    let message = format!("{field} {}: give a full path (~/ is your home folder) or choose one with Browse…", path.display());
    Err(CommandError { code: ErrorCode::Validation, message })
}

/// Runs going on in this process (batches, grids), by id, each with the token that stops it.
#[derive(Default)]
pub struct Running(Mutex<HashMap<String, CancellationToken>>);

impl Running {
    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, tokio_util::sync::CancellationToken>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a run; its stop token.
    pub fn start(&self, id: &str) -> CancellationToken {
        let stop = CancellationToken::new();
        self.map().insert(id.to_owned(), stop.clone());
        stop
    }

    pub fn finish(&self, id: &str) {
        self.map().remove(id);
    }

    /// Stops a run; false when it is not running here.
    pub fn cancel(&self, id: &str) -> bool {
        self.map().get(id).map(CancellationToken::cancel).is_some()
    }
}

/// Emits a state event, or logs why it could not be read or sent (a background task never fails
/// on its report).
pub fn announce<R: tauri::Runtime, E: tauri_specta::Event + Serialize + Clone>(app: &tauri::AppHandle<R>, what: &str, state: Result<E>) {
    match state.map(|s| s.emit(app)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("emitting the {what} failed: {e}"),
        Err(e) => tracing::warn!("reading the {what} failed: {e:?}"),
    }
}

/// The app's state: the database, the settings files, the process environment (which overrides
/// stored settings), and the rater to use when none is set.
pub struct AppState {
    pub store: Store,
    pub files: SettingsFiles,
    pub process_env: Arc<dyn Env>,
    pub default_rater: String,
}

impl AppState {
    /// The environment providers see: variables first, then stored settings and keys (read
    /// afresh, so a change in Settings applies to the next batch).
    pub fn env(&self) -> Result<LayeredEnv> {
        Ok(self.files.env(self.process_env.clone())?)
    }

    pub fn rater(&self) -> Result<String> {
        Ok(self.files.load()?.rater.unwrap_or_else(|| self.default_rater.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_path_is_full_or_under_home_and_a_relative_one_is_refused_by_name() {
        assert_eq!(typed_path("export file", "/tmp/run.csv".into()), Ok(PathBuf::from("/tmp/run.csv")));
        assert_eq!(typed_path("export file", "~/runs/run.csv".into()), Ok(dirs::home_dir().unwrap().join("runs/run.csv")));
        let refused = typed_path("dataset file", "data/rows.csv".into()).unwrap_err();
        assert_eq!(refused.code, ErrorCode::Validation);
        assert!(refused.message.starts_with("dataset file data/rows.csv: give a full path"), "{}", refused.message);
        assert!(typed_path("export file", "~user/run.csv".into()).is_err(), "another user's home is not expanded");
    }
}
