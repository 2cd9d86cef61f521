//! The desktop app: Tauri commands are thin adapters (parse, call core, map the error).

use std::path::PathBuf;

use chipbench_core::{store::Store, Coded, ErrorCode};
use serde::Serialize;

/// What a command returns on failure: the UI branches on `code` and shows `message`.
#[derive(Debug, Serialize, PartialEq)]
pub struct CommandError {
    code: ErrorCode,
    message: String,
}

impl<E: Coded> From<E> for CommandError {
    fn from(e: E) -> Self {
        CommandError { code: e.code(), message: e.to_string() }
    }
}

pub struct AppState {
    pub store: Store,
}

#[tauri::command]
#[tracing::instrument(skip(state))]
fn run_count(state: tauri::State<'_, AppState>) -> Result<u64, CommandError> {
    Ok(state.store.run_count()?)
}

/// Registers state and commands on a builder (the real runtime, or the mock one in tests).
pub fn setup<R: tauri::Runtime>(builder: tauri::Builder<R>, store: Store) -> tauri::Builder<R> {
    builder.manage(AppState { store }).invoke_handler(tauri::generate_handler![run_count])
}

pub fn run(db: Option<PathBuf>) -> std::process::ExitCode {
    crate::cli::init_logging();
    let path = crate::paths::database(db);
    let store = match Store::open(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    setup(tauri::Builder::default(), store).run(tauri::generate_context!()).expect("the Tauri app failed to start");
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};

    fn invoke(store: Store, cmd: &str) -> Result<serde_json::Value, serde_json::Value> {
        let app = setup(mock_builder(), store).build(mock_context(noop_assets())).expect("mock app");
        let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
        let req = tauri::webview::InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::default(),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(&window, req).map(|b| b.deserialize::<serde_json::Value>().unwrap())
    }

    #[test]
    fn run_count_reports_the_runs_in_the_database() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(invoke(store.clone(), "run_count").unwrap(), 0);
        for _ in 0..3 {
            store
                .create_run(&chipbench_core::store::NewRun { config: serde_json::json!({}), provider: "mock".into(), is_demo: true, total_tests: 1 })
                .unwrap();
        }
        assert_eq!(invoke(store, "run_count").unwrap(), 3, "the command reads the live database");
    }

    #[test]
    fn command_errors_serialise_as_code_and_message() {
        let e = CommandError::from(chipbench_core::store::StoreError::NotFound { what: "run", id: "x".into() });
        assert_eq!(serde_json::to_value(e).unwrap(), serde_json::json!({"code": "not_found", "message": "run `x` not found"}));
    }
}
