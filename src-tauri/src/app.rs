//! The desktop app: wires state and the commands (see `commands/`) into Tauri, and generates the
//! TypeScript bindings in `ui/src/bindings.ts` from the same list.

use std::{path::PathBuf, sync::Arc};

use chipbench_core::{identity, llm::settings::ProcessEnv, settings::SettingsFiles, store::Store};
use tauri::Manager;
use tauri_specta::Event;

use crate::commands::{
    self,
    batches::{BatchFinished, BatchProgress, Batches},
    lab::{GridActivity, GridFinished, Grids},
    traces::{SpanActivity, SpanEvents},
    AppState,
};

/// Every command the window may call; the bindings are generated from this list.
pub fn specta_builder<R: tauri::Runtime>() -> tauri_specta::Builder<R> {
    tauri_specta::Builder::<R>::new()
        .commands(tauri_specta::collect_commands![
            commands::runs::run_count,
            commands::runs::runs,
            commands::runs::run,
            commands::runs::export_run,
            commands::results::results,
            commands::results::result,
            commands::ratings::rate,
            commands::ratings::unrate,
            commands::ratings::ratings,
            commands::ratings::rater,
            commands::stats::stats,
            commands::stats::export_leaderboard,
            commands::stats::facets,
            commands::catalog::models,
            commands::catalog::personas,
            commands::batches::estimate,
            commands::batches::start_batch,
            commands::batches::resume_batch,
            commands::batches::cancel_batch,
            commands::settings::settings,
            commands::settings::save_settings,
            commands::settings::set_api_key,
            commands::settings::save_model,
            commands::settings::delete_model,
            commands::settings::served_models,
            commands::sync::sync_state,
            commands::sync::sync_now,
            commands::sync::set_turso_token,
            commands::data::database_stats,
            commands::data::deletion_plan,
            commands::data::delete_runs,
            commands::data::restore_runs,
            commands::data::trace_deletion_plan,
            commands::data::delete_traces,
            commands::data::restore_traces,
            commands::traces::traces,
            commands::traces::trace,
            commands::traces::search_spans,
            commands::traces::replay_span,
            commands::traces::span_request,
            commands::traces::playground,
            commands::traces::import_spans,
            commands::traces::rate_span,
            commands::analytics::analytics,
            commands::langfuse::langfuse_state,
            commands::langfuse::import_langfuse_now,
            commands::langfuse::set_langfuse_secret,
            commands::langfuse::agents,
            commands::langfuse::agent_traces,
            commands::langfuse::conversation,
            commands::lab::datasets,
            commands::lab::check_dataset_file,
            commands::lab::import_dataset_file,
            commands::lab::prompts,
            commands::lab::prompt_versions,
            commands::lab::save_prompt,
            commands::lab::rename_prompt,
            commands::lab::prompt_lineage,
            commands::lab::diff_texts,
            commands::lab::missing_columns,
            commands::lab::grids,
            commands::lab::grid_page,
            commands::lab::start_grid,
            commands::lab::rerun_grid,
            commands::lab::cancel_grid,
            commands::lab::cell_events,
            commands::lab::grade_cell,
            commands::lab::export_grid,
        ])
        .events(tauri_specta::collect_events![
            commands::batches::BatchProgress,
            commands::batches::BatchFinished,
            commands::sync::SyncState,
            commands::traces::SpanActivity,
            commands::lab::GridActivity,
            commands::lab::GridFinished,
            commands::langfuse::LangfuseState
        ])
        // The new-batch form preselects the selector core falls back to.
        .constant("DEFAULT_SELECTOR", chipbench_core::bench::DEFAULT_SELECTOR)
        // Counts and token sums stay far below 2^53.
        .dangerously_cast_bigints_to_number()
        // Command outputs are only serialised and inputs only deserialised: one type each suffices.
        .disable_serde_phases()
}

/// Builds the app with its state, commands and events (the real runtime, or the mock one in tests).
pub fn build<R: tauri::Runtime>(builder: tauri::Builder<R>, state: AppState, context: tauri::Context<R>) -> tauri::Result<tauri::App<R>> {
    let specta = specta_builder::<R>();
    // The dialog plugin gives the lab's file pickers (a dataset to import, where to export).
    let app = builder.plugin(tauri_plugin_dialog::init()).manage(state).invoke_handler(specta.invoke_handler()).build(context)?;
    specta.mount_events(&app);
    // Core reports progress through callbacks; only here do reports become window events.
    let handle = || app.handle().clone();
    let (a, b, c, d, e) = (handle(), handle(), handle(), handle(), handle());
    let spans = Arc::new(SpanEvents::default());
    spans.clone().spawn_flusher(move |s: SpanActivity| log_emit(s.emit(&c)));
    app.manage(Arc::new(Batches::new(move |p: BatchProgress| log_emit(p.emit(&a)), move |f: BatchFinished| log_emit(f.emit(&b)), spans.clone())));
    app.manage(Arc::new(Grids::new(move |g: GridActivity| log_emit(g.emit(&d)), move |f: GridFinished| log_emit(f.emit(&e)), spans.clone())));
    app.manage(spans);
    app.manage(commands::langfuse::Importer::default());
    Ok(app)
}

fn log_emit(result: tauri::Result<()>) {
    if let Err(e) = result {
        tracing::warn!("emitting an event failed: {e}");
    }
}

/// WebKitGTK composites the page with OpenGL; without a GPU (a VM, a remote desktop, CI) that is
/// Mesa's software renderer, which cost the window about 120 MB and made rating to the next result
/// take 17-21 ms instead of 10 (`scripts/bench.sh --app`). The UI (tables, forms, small charts)
/// gains nothing from it, so it is off unless the user set WebKit's variable or
/// CHIPBENCH_COMPOSITING=1.
fn without_compositing() {
    let var = std::env::var_os;
    if turns_compositing_off(var("CHIPBENCH_COMPOSITING").as_deref(), var("WEBKIT_DISABLE_COMPOSITING_MODE").as_deref()) {
        // Before any thread starts: the environment is read and written without locks.
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}

/// Whether the app sets WebKit's variable, given CHIPBENCH_COMPOSITING and WebKit's own.
fn turns_compositing_off(keep: Option<&std::ffi::OsStr>, webkit: Option<&std::ffi::OsStr>) -> bool {
    keep.is_none_or(|v| v != "1") && webkit.is_none()
}

pub fn run(db: Option<PathBuf>) -> std::process::ExitCode {
    without_compositing();
    crate::cli::init_logging();
    let path = crate::paths::database(db);
    let store = match Store::open(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let state = AppState {
        store,
        files: SettingsFiles::new(crate::paths::config_dir()),
        process_env: Arc::new(ProcessEnv),
        default_rater: identity::default_rater(&identity::System),
    };
    let app = build(tauri::Builder::default(), state, tauri::generate_context!()).expect("the Tauri app failed to start");
    commands::sync::spawn_background(app.handle().clone());
    commands::langfuse::spawn_background(app.handle().clone());
    commands::traces::spawn_indexer(app.state::<AppState>().store.clone());
    app.run(|handle, event| {
        // The process ends without dropping the store: leave nothing in the WAL (a copy of the
        // database file alone is then whole).
        if let tauri::RunEvent::Exit = event {
            match handle.state::<AppState>().store.checkpoint() {
                Ok(true) => {}
                Ok(false) => tracing::info!("checkpoint at exit: another process has the database open; it keeps the WAL"),
                Err(e) => tracing::warn!("checkpoint at exit: {e}"),
            }
        }
    });
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use chipbench_core::{
        store::{NewResult, NewRun},
        testing::sample_result,
    };
    use serde_json::{json, Value};
    use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
    use tauri_specta::Event;

    #[test]
    fn compositing_is_turned_off_unless_the_user_chose() {
        let os = |s: &'static str| Some(std::ffi::OsStr::new(s));
        assert!(turns_compositing_off(None, None), "the default: off");
        assert!(!turns_compositing_off(os("1"), None), "CHIPBENCH_COMPOSITING=1 keeps it");
        assert!(turns_compositing_off(os("0"), None), "any other value does not");
        assert!(!turns_compositing_off(None, os("0")), "WebKit's variable, set by the user, is left as it is");
    }

    struct App {
        window: tauri::WebviewWindow<MockRuntime>,
        store: Store,
        config: tempfile::TempDir,
    }

    /// The environment the app sees in tests: no keys, and this mock latency scale.
    struct MockLatency(&'static str);
    impl chipbench_core::llm::settings::Env for MockLatency {
        fn var(&self, name: &str) -> Option<String> {
            (name == "CHIPBENCH_MOCK_LATENCY_SCALE").then(|| self.0.into())
        }
    }

    impl App {
        fn new() -> App {
            Self::with_mock_latency("0")
        }

        fn with_mock_latency(scale: &'static str) -> App {
            let store = Store::open_in_memory().unwrap();
            let config = tempfile::tempdir().unwrap();
            let state = AppState {
                store: store.clone(),
                files: SettingsFiles::new(config.path()),
                process_env: Arc::new(MockLatency(scale)),
                default_rater: "ana@example.com".into(),
            };
            let app = build(mock_builder(), state, mock_context(noop_assets())).expect("mock app");
            let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
            App { window, store, config }
        }

        fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
            let req = tauri::webview::InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: tauri::ipc::InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            };
            get_ipc_response(&self.window, req).map(|b| b.deserialize::<Value>().unwrap())
        }

        /// A run with `n` results of model `m` (chip counts 1..=n) and their ids.
        fn seed(&self, n: u32) -> (String, Vec<String>) {
            let run = self.store.create_run(&NewRun { config: json!({}), provider: "openai".into(), is_demo: false, total_tests: n.into() }).unwrap();
            let id = run.summary.id;
            let results: Vec<NewResult> = (1..=n).map(|c| sample_result("m", "tech_pm", c, 0.5)).collect();
            self.store.insert_results(&id, &results).unwrap();
            let ids = results.iter().map(|r| chipbench_core::ids::result_id(&r.key, &id)).collect();
            (id, ids)
        }
    }

    #[test]
    fn runs_and_run_count_read_the_live_database() {
        let app = App::new();
        assert_eq!(app.invoke("run_count", json!({})).unwrap(), 0);
        let (run_id, _) = app.seed(3);
        assert_eq!(app.invoke("run_count", json!({})).unwrap(), 1);
        let runs = app.invoke("runs", json!({})).unwrap();
        assert_eq!(runs["runs"][0]["id"], run_id.as_str(), "the seed's shape: {{runs: [...]}}");
        assert_eq!(runs["runs"][0]["result_count"], 3);
        assert_eq!(app.invoke("run", json!({"id": run_id})).unwrap()["total_cost_usd"], 1.5);
    }

    #[test]
    fn results_page_carries_my_rating_and_total() {
        let app = App::new();
        let (run_id, ids) = app.seed(5);
        app.invoke("rate", json!({"resultId": ids[0], "rating": 4})).unwrap();
        let filter = json!({"run_id": run_id, "model": "m", "persona_id": null, "rated_by": null, "unrated_by": "ana@example.com", "user": "someone-else", "limit": 50, "offset": 0});
        let page = app.invoke("results", json!({"filter": filter})).unwrap();
        assert_eq!(page["total"], 4, "unrated_by me leaves four");
        let rated = json!({"run_id": null, "model": null, "persona_id": null, "rated_by": "ana@example.com", "unrated_by": null, "user": null, "limit": 10, "offset": 0});
        let page = app.invoke("results", json!({"filter": rated})).unwrap();
        assert_eq!((page["total"].clone(), page["results"][0]["my_rating"].clone()), (json!(1), json!(4)), "my_rating is the window's rater");
        let detail = app.invoke("result", json!({"id": ids[0]})).unwrap();
        assert_eq!(detail["final_chips"][0]["text"], "burn rate");
        assert_eq!(detail["my_rating"], 4);
    }

    #[test]
    fn rate_undo_and_ratings_list() {
        let app = App::new();
        let (_, ids) = app.seed(1);
        let r = app.invoke("rate", json!({"resultId": ids[0], "rating": 2})).unwrap();
        assert_eq!((r["rating"].clone(), r["user_id"].clone()), (json!(2), json!("ana@example.com")));
        let list = app.invoke("ratings", json!({"filter": {"result_id": ids[0], "user_id": null, "limit": 10, "offset": 0}})).unwrap();
        assert_eq!(list["ratings"].as_array().unwrap().len(), 1);
        assert_eq!(app.invoke("unrate", json!({"resultId": ids[0]})).unwrap(), true);
        assert_eq!(app.invoke("unrate", json!({"resultId": ids[0]})).unwrap(), false);
        assert_eq!(app.invoke("rater", json!({})).unwrap(), "ana@example.com");
    }

    #[test]
    fn bad_input_returns_a_coded_error_and_stores_nothing() {
        let app = App::new();
        let (_, ids) = app.seed(1);
        let err = app.invoke("rate", json!({"resultId": ids[0], "rating": 9})).unwrap_err();
        assert_eq!(err, json!({"code": "validation", "message": "rating: 9 is outside 1-5"}));
        let err = app.invoke("rate", json!({"resultId": "nope", "rating": 3})).unwrap_err();
        assert_eq!(err["code"], "not_found");
        let err = app.invoke("run", json!({"id": "nope"})).unwrap_err();
        assert_eq!(err, json!({"code": "not_found", "message": "run `nope` not found"}));
        assert_eq!(app.store.ratings(&chipbench_core::store::RatingFilter { limit: 10, ..Default::default() }).unwrap().len(), 0);
    }

    #[test]
    fn stats_group_by_a_closed_enum() {
        let app = App::new();
        app.seed(2);
        let stats = app.invoke("stats", json!({"query": {"group_by": "chip_count", "run_id": null, "include_demo": false}})).unwrap();
        assert_eq!(stats["stats"].as_array().unwrap().len(), 2);
        assert_eq!(stats["stats"][0]["result_count"], 1);
        let err = app.invoke("stats", json!({"query": {"group_by": "model; DROP TABLE results", "run_id": null}})).unwrap_err();
        assert!(err.as_str().unwrap_or_default().contains("unknown variant"), "not a stats dimension: {err}");
    }

    #[test]
    fn results_filter_and_sort_by_the_tables_columns_and_facets_list_the_options() {
        let app = App::new();
        let (run_id, _) = app.seed(4);
        let page = |filter: Value| app.invoke("results", json!({ "filter": filter })).unwrap();
        let chips = |p: &Value| p["results"].as_array().unwrap().iter().map(|r| r["chip_count"].as_u64().unwrap()).collect::<Vec<_>>();
        assert_eq!(chips(&page(json!({}))), [4, 3, 2, 1], "every field may be left out: newest first");
        assert_eq!(chips(&page(json!({"order": "chip_count", "descending": false}))), [1, 2, 3, 4]);
        let narrowed = page(json!({"chip_count": 3, "input_type": "basic", "has_errors": false}));
        assert_eq!((chips(&narrowed), narrowed["total"].clone()), (vec![3], json!(1)));
        let err = app.invoke("results", json!({"filter": {"input_type": "fancy"}})).unwrap_err();
        assert!(err.as_str().unwrap_or_default().contains("unknown variant `fancy`"), "{err}");
        let facets = app.invoke("facets", json!({"runId": run_id})).unwrap();
        let models: Vec<_> = facets.as_array().unwrap().iter().filter(|f| f["group_by"] == "model").collect();
        assert_eq!(models, [&json!({"group_by": "model", "value": "m", "result_count": 4})]);
    }

    #[test]
    fn sync_state_token_and_a_failed_sync_now() {
        let app = App::new();
        let state = app.invoke("sync_state", json!({})).unwrap();
        assert_eq!((state["configured"].clone(), state["interval_secs"].clone()), (json!(false), json!(60)));
        let err = app.invoke("sync_now", json!({})).unwrap_err();
        assert_eq!(err["code"], "config", "{err}");
        assert!(err["message"].as_str().unwrap().contains("set it in Settings"), "{err}");

        let state = app.invoke("set_turso_token", json!({"token": "eyJhbGciOiJFZERTQSJ9.secret-part"})).unwrap();
        assert_eq!(state["token"]["masked"], "eyJhbG…part");
        assert!(!state.to_string().contains("secret-part"), "the token never comes back");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(); // closed once dropped
        let settings = json!({"rater": null, "default_concurrency": null, "openrouter_base_url": null, "openai_base_url": null,
                              "turso_database_url": format!("http://127.0.0.1:{port}"), "sync_interval_secs": 0});
        app.invoke("save_settings", json!({ "settings": settings })).unwrap();
        let err = app.invoke("sync_now", json!({})).unwrap_err();
        assert_eq!(err["code"], "sync", "{err}");
        let state = app.invoke("sync_state", json!({})).unwrap();
        assert_eq!((state["configured"].clone(), state["interval_secs"].clone()), (json!(true), json!(0)));
        assert!(state["status"]["last_error"].as_str().unwrap().contains("unreachable"), "{state}");
    }

    #[test]
    fn deleting_a_run_previews_then_tombstones_it_and_an_undo_restores_it() {
        let app = App::new();
        let (run_id, _) = app.seed(3);
        app.store.finish_run(&run_id, chipbench_core::store::RunStatus::Completed, None).unwrap();
        let sel = json!({"selection": {"run_id": run_id}});
        assert_eq!(app.invoke("deletion_plan", sel.clone()).unwrap(), json!({"runs": 1, "results": 3, "ratings": 0}));
        let deleted = app.invoke("delete_runs", sel).unwrap();
        assert_eq!((deleted["results"].clone(), deleted["run_ids"].clone()), (json!(3), json!([run_id])), "what went, and what an undo takes");
        assert_eq!(app.invoke("database_stats", json!({})).unwrap()["runs"], 0);
        assert_eq!(app.invoke("restore_runs", json!({"runIds": [run_id]})).unwrap(), 1);
        assert_eq!(app.invoke("database_stats", json!({})).unwrap()["runs"], 1);
        let err = app.invoke("deletion_plan", json!({"selection": {"started_before": "soon"}})).unwrap_err();
        assert_eq!(err["code"], "validation");
    }

    fn batch_request(concurrency: usize) -> Value {
        json!({"models": ["openai/gpt-5-mini"], "persona_ids": ["teacher"],
               "axes": {"styles": ["terse", "guided"], "constraint_types": ["with_constraint", "no_constraint"],
                        "input_types": ["basic", "enriched"], "chip_counts": [10, 15, 20]},
               "provider": null, "base_url": null, "selector_model": null, "concurrency": concurrency, "max_cost_usd": null})
    }

    impl App {
        /// Collects `batch-progress` and `batch-finished` events.
        fn events(&self) -> (std::sync::mpsc::Receiver<BatchProgress>, std::sync::mpsc::Receiver<BatchFinished>) {
            let (ptx, prx) = std::sync::mpsc::channel();
            let (ftx, frx) = std::sync::mpsc::channel();
            let handle = self.window.app_handle();
            BatchProgress::listen(handle, move |e| drop(ptx.send(e.payload)));
            BatchFinished::listen(handle, move |e| drop(ftx.send(e.payload)));
            (prx, frx)
        }
    }

    #[test]
    fn a_started_batch_reports_progress_and_its_end_as_events() {
        let app = App::new();
        let (progress, finished) = app.events();
        let run_id = app.invoke("start_batch", json!({"request": batch_request(4)})).unwrap();
        let end = finished.recv_timeout(std::time::Duration::from_secs(20)).expect("batch-finished arrives");
        assert_eq!((json!(end.run_id), end.status, end.counts.done, end.counts.total), (run_id, chipbench_core::store::RunStatus::Completed, 24, 24));
        let reports: Vec<BatchProgress> = progress.try_iter().collect();
        assert!(!reports.is_empty(), "progress arrives as events");
        assert!(reports.windows(2).all(|w| w[0].counts.done <= w[1].counts.done), "done only grows");
        assert!(reports.iter().all(|r| r.counts.in_flight <= 4), "never more calls in flight than the concurrency");
        assert_eq!(app.store.run(&end.run_id).unwrap().summary.result_count, 24);
    }

    #[test]
    fn a_batch_records_spans_live_and_the_debugger_reads_replays_searches_and_imports() {
        use crate::commands::traces::SpanActivity;
        let app = App::new();
        let (_, finished) = app.events();
        let (atx, activity) = std::sync::mpsc::channel();
        SpanActivity::listen(app.window.app_handle(), move |e| drop(atx.send(e.payload)));
        let run_id = app.invoke("start_batch", json!({"request": batch_request(4)})).unwrap();
        finished.recv_timeout(std::time::Duration::from_secs(20)).expect("batch-finished arrives");
        std::thread::sleep(std::time::Duration::from_millis(300)); // the last coalesced event
        let events: Vec<SpanActivity> = activity.try_iter().collect();
        let (started, stored): (usize, usize) = events.iter().fold((0, 0), |(a, b), e| (a + e.started.len(), b + e.stored.len()));
        assert!(!events.is_empty() && started > 24 && started == stored, "calls announced as events: {} events, {started} started, {stored} stored", events.len());

        let traces = app.invoke("traces", json!({"filter": {"run_id": run_id, "limit": 100}})).unwrap();
        assert_eq!(traces.as_array().unwrap().len(), 24, "one trace per test");
        let first = &traces[0];
        let trace = app.invoke("trace", json!({"id": first["id"]})).unwrap();
        assert_eq!(trace["trace"]["span_count"], json!(trace["spans"].as_array().unwrap().len()));
        let result = app.invoke("result", json!({"id": first["id"]})).unwrap();
        assert_eq!(result["id"], first["id"], "a test's trace id is its result's id");

        let hits = app.invoke("search_spans", json!({"query": {"text": "teacher", "limit": 5}})).unwrap();
        assert!(hits["total"].as_u64().unwrap() >= 24, "{hits}");
        let err = app.invoke("search_spans", json!({"query": {"text": "\"open"}})).unwrap_err();
        assert_eq!(err["code"], "validation");

        let every_span = traces.as_array().unwrap().iter().flat_map(|t| app.invoke("trace", json!({"id": t["id"]})).unwrap()["spans"].as_array().unwrap().clone());
        for span in every_span.collect::<Vec<_>>() {
            let replay = app.invoke("replay_span", json!({"request": {"span_id": span["id"]}})).unwrap();
            assert_eq!(replay["span"]["replay_of"], span["id"]);
            assert_eq!(replay["span"]["response"], span["response"], "an unchanged {} call replayed on the mock answers the same", span["kind"]);
        }

        let ask = json!({"messages": [{"role": "user", "content": "What is a KPI?"}], "models": ["openai/gpt-5-mini"], "provider": "openrouter"});
        let err = app.invoke("playground", json!({"request": ask})).unwrap_err();
        assert_eq!(err["code"], "config", "no key for the provider: {err}");
        let ask = json!({"messages": [{"role": "user", "content": "What is a KPI?"}], "models": ["openai/gpt-5-mini", "mistralai/mistral-nemo"]});
        let spans = app.invoke("playground", json!({"request": ask})).unwrap();
        assert_eq!(spans.as_array().unwrap().len(), 2);
        let rated = app.invoke("rate_span", json!({"spanId": spans[1]["id"], "rating": 5})).unwrap();
        assert_eq!((&rated["target_kind"], &rated["rating"]), (&json!("span"), &json!(5)));

        let before = app.invoke("traces", json!({"filter": {"kind": "import"}})).unwrap();
        let line = r#"{"span_id":"s1","trace_id":"t1","span_type":"llm_call","name":"chat","start_time":1739800000}"#;
        let err = app.invoke("import_spans", json!({"fileName": "x.jsonl", "text": format!("{line}\n{{broken\n")})).unwrap_err();
        assert_eq!(err["code"], "validation");
        assert!(err["message"].as_str().unwrap().starts_with("x.jsonl: line 2"), "{err}");
        assert_eq!(app.invoke("traces", json!({"filter": {"kind": "import"}})).unwrap(), before, "nothing of that file imported");
        let summary = app.invoke("import_spans", json!({"fileName": "x.jsonl", "text": line})).unwrap();
        assert_eq!(summary, json!({"spans": 1, "traces": 1, "already_stored": 0}));

        // The playground session goes with a look first and comes back with an undo; a test's
        // trace is refused (its run goes instead).
        let session = json!({"traceIds": [spans[0]["trace_id"]]});
        let plan = json!({"traces": 1, "calls": 2, "ratings": 1});
        assert_eq!(app.invoke("trace_deletion_plan", session.clone()).unwrap(), plan);
        assert_eq!(app.invoke("delete_traces", session.clone()).unwrap(), plan);
        let playground = || app.invoke("traces", json!({"filter": {"kind": "playground"}})).unwrap().as_array().unwrap().len();
        assert_eq!(playground(), 0);
        assert_eq!(app.invoke("restore_traces", session).unwrap(), 1);
        assert_eq!(playground(), 1);
        let err = app.invoke("delete_traces", json!({"traceIds": [first["id"]]})).unwrap_err();
        assert_eq!(err["code"], "validation", "{err}");
    }

    #[test]
    fn cancel_interrupts_and_resume_completes() {
        let app = App::with_mock_latency("1"); // calls of 40-200 ms: the batch takes seconds
        let (progress, finished) = app.events();
        let run_id = app.invoke("start_batch", json!({"request": batch_request(1)})).unwrap();
        progress.recv_timeout(std::time::Duration::from_secs(20)).expect("the batch started");
        assert_eq!(app.invoke("cancel_batch", json!({"runId": run_id})).unwrap(), true);
        let end = finished.recv_timeout(std::time::Duration::from_secs(10)).expect("stops within the grace");
        assert_eq!((end.status, end.reason.as_deref()), (chipbench_core::store::RunStatus::Interrupted, Some("interrupted by user")));
        assert!(end.counts.done < 24);
        assert_eq!(app.invoke("cancel_batch", json!({"runId": run_id})).unwrap(), false, "nothing left to cancel");

        let resumed = app.invoke("resume_batch", json!({"runId": run_id})).unwrap();
        assert_eq!(resumed, run_id, "the same run continues");
        let end = finished.recv_timeout(std::time::Duration::from_secs(60)).expect("the resumed run ends");
        assert_eq!((end.status, end.counts.done), (chipbench_core::store::RunStatus::Completed, 24));
    }

    #[test]
    fn settings_round_trip_keys_stay_masked_and_bad_values_change_nothing() {
        let app = App::new();
        let view = app.invoke("settings", json!({})).unwrap();
        assert_eq!((view["rater"].clone(), view["keys"][0]["source"].clone()), (json!("ana@example.com"), Value::Null));
        let settings = json!({"rater": "bo@example.com", "default_concurrency": 4, "openrouter_base_url": null, "openai_base_url": "http://127.0.0.1:8080/v1"});
        let view = app.invoke("save_settings", json!({"settings": settings})).unwrap();
        assert_eq!(view["rater"], "bo@example.com");
        assert_eq!(app.invoke("rater", json!({})).unwrap(), "bo@example.com", "ratings now go to the new rater");

        let view = app.invoke("set_api_key", json!({"provider": "openrouter", "key": "sk-or-v1-secret-0123456789"})).unwrap();
        assert_eq!((view["keys"][0]["source"].clone(), view["keys"][0]["masked"].clone()), (json!("settings"), json!("sk-or-…6789")));
        assert!(!view.to_string().contains("secret"), "the key never comes back to the UI");
        let stored = std::fs::read_to_string(app.config.path().join("secrets.json")).unwrap();
        assert!(stored.contains("sk-or-v1-secret-0123456789"), "keys live in the config dir");
        let in_db: i64 = app
            .store
            .read(|c| {
                let tables: Vec<String> = c.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
                let mut hits = 0;
                for t in tables {
                    let columns: Vec<String> = c.prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
                    for col in columns {
                        hits += c.query_row::<i64, _, _>(&format!("SELECT count(*) FROM \"{t}\" WHERE CAST(\"{col}\" AS TEXT) LIKE '%secret%'"), [], |r| r.get(0))?;
                    }
                }
                Ok(hits)
            })
            .unwrap();
        assert_eq!(in_db, 0, "no table of the database holds the key");

        let bad = json!({"rater": null, "default_concurrency": 0, "openrouter_base_url": null, "openai_base_url": null});
        let err = app.invoke("save_settings", json!({"settings": bad})).unwrap_err();
        assert_eq!(err, json!({"code": "validation", "message": "default concurrency: 0 must be at least 1"}));
        assert_eq!(app.invoke("settings", json!({})).unwrap()["settings"]["default_concurrency"], 4, "nothing changed");

        let model = json!({"id": "local/smollm2", "name": "SmolLM2", "input_price": 0.0, "output_price": 0.0});
        assert_eq!(app.invoke("save_model", json!({"model": model})).unwrap().as_array().unwrap().len(), 11);
        let bad = json!({"id": "x", "name": "x", "input_price": -1.0, "output_price": 0.0});
        assert_eq!(app.invoke("save_model", json!({"model": bad})).unwrap_err()["message"], "model x: input_price -1 must be a non-negative number");
        assert_eq!(app.invoke("delete_model", json!({"id": "local/smollm2"})).unwrap().as_array().unwrap().len(), 10);
        assert_eq!(app.invoke("delete_model", json!({"id": "local/smollm2"})).unwrap_err(), json!({"code": "not_found", "message": "model `local/smollm2` not found"}));
    }

    #[test]
    fn the_catalog_lists_models_and_personas() {
        let app = App::new();
        assert_eq!(app.invoke("models", json!({})).unwrap().as_array().unwrap().len(), 10);
        let personas = app.invoke("personas", json!({})).unwrap();
        assert_eq!(personas[0]["id"], "tech_pm");
    }

    #[test]
    fn estimate_and_bad_requests_run_nothing() {
        let app = App::new();
        let e = app.invoke("estimate", json!({"request": batch_request(4)})).unwrap();
        assert_eq!((e["tests"].clone(), e["calls"].clone()), (json!(24), json!(12 + 36)));
        let err = app.invoke("start_batch", json!({"request": batch_request(0)})).unwrap_err();
        assert_eq!(err, json!({"code": "validation", "message": "concurrency: 0 must be at least 1"}));
        let err = app.invoke("resume_batch", json!({"runId": null})).unwrap_err();
        assert_eq!(err["code"], "not_found");
        assert_eq!(app.store.run_count().unwrap(), 0, "no run was created");
    }

    /// The committed bindings must match the commands; regenerate with
    /// `UPDATE_BINDINGS=1 cargo test -p chipbench bindings`.
    #[test]
    fn bindings_are_up_to_date() {
        let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts");
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("bindings.ts");
        specta_builder::<MockRuntime>()
            .export(specta_typescript::Typescript::default().header("// Generated from the Rust commands by src-tauri/src/app.rs; do not edit."), &fresh)
            .expect("export bindings");
        let fresh = std::fs::read_to_string(fresh).unwrap();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&committed, &fresh).unwrap();
        }
        let old = std::fs::read_to_string(&committed).unwrap_or_default();
        assert!(old == fresh, "ui/src/bindings.ts is stale: run `UPDATE_BINDINGS=1 cargo test -p chipbench bindings`");
    }
}
