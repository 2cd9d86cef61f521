//! The `chipbench` binary end to end: batches on the mock and against the fake provider, bad
//! input, exit codes, the budget, Ctrl-C and resume, dry runs and export.

use std::time::Duration;

use chipbench_e2e::{FakeProvider, Reply};

use crate::support::{chipbench, command, mock_batch, query_i64, query_one, Run, Setup};

const MODEL: &str = "openai/gpt-5-mini";

fn fake_args<'a>(fake_url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--batch", "--model", MODEL, "--persona", "tech_pm", "--provider", "openai", "--base-url", fake_url, "--json"];
    args.extend_from_slice(extra);
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mock_batch_runs_offline_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let run = chipbench(&db, &["--batch", "--model", MODEL, "--model", "mistralai/mistral-nemo", "--persona", "icu_nurse", "--json"]).await;
    let summary = run.json();
    assert_eq!((summary["status"].as_str(), summary["stored"].as_u64(), summary["total"].as_u64()), (Some("completed"), Some(48), Some(48)), "{}", run.stderr);
    let expected = if summary["with_errors"].as_u64() == Some(0) { 0 } else { 1 };
    assert_eq!(run.code, expected, "exit 1 exactly when some results carry content errors");
    assert_eq!(query_i64(&db, "SELECT is_demo FROM runs"), 1, "mock runs are demo runs");
    assert_eq!(query_i64(&db, "SELECT count(DISTINCT model || persona_id || style || constraint_type || input_type || chip_count) FROM results"), 48);
    assert_eq!(query_i64(&db, "SELECT count(*) FROM traces t JOIN results r ON r.id = t.id"), 48, "each test's calls are the trace of its result");

    let bare = dir.path().join("bare.db");
    let run = chipbench(&bare, &["--batch", "--model", MODEL, "--persona", "icu_nurse", "--no-spans"]).await;
    assert!(run.code <= 1, "{}", run.stderr);
    assert_eq!((query_i64(&bare, "SELECT count(*) FROM results"), query_i64(&bare, "SELECT count(*) FROM spans")), (24, 0), "--no-spans records none");
    let chips = |db: &std::path::Path| -> Vec<String> {
        let sql = "SELECT persona_id || style || constraint_type || input_type || chip_count || final_chips FROM results WHERE model = ?1 ORDER BY 1";
        let c = rusqlite::Connection::open(db).unwrap();
        let mut stmt = c.prepare(sql).unwrap();
        stmt.query_map([MODEL], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    };
    assert_eq!(chips(&bare), chips(&db), "the same answers are read with or without spans");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_against_an_openai_compatible_server_stores_every_test_once() {
    let Setup { fake, url, db, dir: _dir } = Setup::new().await;
    let run = chipbench(&db, &fake_args(&url, &[])).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json()["stored"], 24);
    // 12 basic tests (1 call) + 12 enriched (generation, selection, generation); the fake's lists need no fill.
    assert_eq!(fake.requests(), 12 + 36);
    assert_eq!(query_i64(&db, "SELECT count(*) FROM spans WHERE status = 'ok'"), 48, "a span per call");
    assert_eq!(query_i64(&db, "SELECT count(*) FROM spans WHERE provider = 'openai' AND messages IS NOT NULL AND response IS NOT NULL"), 48);
    assert_eq!(query_i64(&db, "SELECT count(*) FROM results WHERE error_count = 0 AND fill_used = 0"), 24);
    // 200 input and 100 output tokens per call: $90 per million calls at the model's $0.15/$0.60,
    // $12 at the selector's $0.02/$0.08.
    let cost_micro = query_i64(&db, "SELECT CAST(round(sum(cost_usd) * 1e6) AS INTEGER) FROM results");
    assert_eq!(cost_micro, 36 * 90 + 12 * 12, "each call priced at its own model's price, selection at the selector's");
    let billed_micro = query_i64(&db, "SELECT CAST(round(sum(billed_cost_usd) * 1e6) AS INTEGER) FROM results");
    assert_eq!(billed_micro, 48 * 100, "the provider's billed cost is kept beside the price-table cost");
    let selector_calls = fake.bodies().iter().filter(|b| b["response_format"]["json_schema"]["name"] == "selection").count();
    assert_eq!(selector_calls, 12);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_with_a_clear_message_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let bad_personas = dir.path().join("bad.json");
    std::fs::write(&bad_personas, r#"[{"id":"a","name":"A","sector":"S","desired_role":"R","seniority":"x","background":"One. Two.","goals":"G."},
                                     {"id":"b","name":"B","sector":"","desired_role":"R","seniority":"x","background":"One. Two.","goals":"G."}]"#).unwrap();
    let bad_personas = bad_personas.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--batch", "--all", "--model", MODEL], "cannot be used with"),
        (&["--batch", "--model", "nope/model"], "unknown model `nope/model`; known models: anthropic/claude-haiku-4.5"),
        (&["--batch", "--all", "--persona", "nobody"], "unknown persona `nobody`; known personas: tech_pm, icu_nurse"),
        (&["--batch", "--resume", "no-such-run"], "run `no-such-run` not found"),
        (&["--batch", "--resume"], "no unfinished run"),
        (&["--batch", "--all", "--provider", "openrouter"], "OPENROUTER_API_KEY is not set; export OPENROUTER_API_KEY"),
        (&["--batch", "--all", "--personas-file", bad_personas], "bad.json: persona 1, field `sector`: is empty"),
        (&["--batch"], "choose models: --model ID"),
        (&["--batch", "--all", "--concurrency", "0"], "concurrency: 0 must be at least 1"),
    ];
    for (args, message) in cases {
        let run = chipbench(&db, args).await;
        assert_eq!(run.code, 2, "{args:?} is a usage error: {}", run.stderr);
        assert!(run.stderr.contains(message), "{args:?}: expected {message:?} in {}", run.stderr);
    }
    assert_eq!(query_i64(&db, "SELECT count(*) FROM runs"), 0, "no refused command leaves a run behind");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newer_or_foreign_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    assert_eq!(chipbench(&db, &["--list-models"]).await.code, 0);
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute("INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (99, 'future', 'x', '0')", []).unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    let run = chipbench(&db, &["--batch", "--all"]).await;
    run.refused("schema version 99, newer than this build");
    assert_eq!(std::fs::read(&db).unwrap(), before, "never migrated down or overwritten");

    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "not a database at all, but my precious notes; please keep them intact").unwrap();
    let run = chipbench(&notes, &["--batch", "--all"]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot use database") && run.stderr.contains("notes.txt"), "{}", run.stderr);
    assert!(std::fs::read_to_string(&notes).unwrap().starts_with("not a database at all"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_key_fails_the_run_with_the_reason() {
    let Setup { fake, url, db, dir: _dir } = Setup::new().await;
    fake.always(Reply::Status(401));
    let run = chipbench(&db, &fake_args(&url, &["--concurrency", "2"])).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    let s = run.json();
    assert_eq!(s["status"], "failed");
    assert!(s["reason"].as_str().unwrap().contains("refused the credentials"));
    assert_eq!(query_i64(&db, "SELECT count(*) FROM results"), 0);
    assert!(fake.requests() <= 2, "no call is retried or scheduled after a 401: {}", fake.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn list_models_asks_an_endpoint_what_it_serves_and_remove_model_takes_one_out() {
    let Setup { fake, url, db, dir: _dir } = Setup::new().await;
    let listed = chipbench(&db, &["--list-models", "--base-url", &url]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(listed.stdout.starts_with(&format!("{url}/models answered in ")) && listed.stdout.contains("2 models"), "{}", listed.stdout);
    let line = |id: &str| listed.stdout.lines().find(|l| l.trim_start().starts_with(id)).unwrap_or_else(|| panic!("{id} listed:\n{}", listed.stdout)).to_owned();
    assert!(line("openai/gpt-5-mini").ends_with(" in the price table"), "{}", line("openai/gpt-5-mini"));
    assert!(line("fake/chat-1").contains("$0.5/M in  $1.5/M out") && line("fake/chat-1").ends_with("not in the price table"));
    assert!(listed.stderr.contains("chipbench add-model fake/chat-1 --input-price 0.5 --output-price 1.5"), "{}", listed.stderr);

    let json = chipbench(&db, &["--list-models", "--provider", "openai", "--base-url", &url, "--json"]).await.json();
    assert_eq!((json["models"][0]["id"].as_str(), json["models"][1]["id"].as_str()), (Some("fake/chat-1"), Some("openai/gpt-5-mini")), "by id");
    assert_eq!((json["models"][0]["in_price_table"].as_bool(), json["models"][0]["price"]["output"].as_f64()), (Some(false), Some(1.5)));
    assert_eq!(json["models"][1]["in_price_table"], true);

    fake.script([Reply::Status(401)]);
    let refused = chipbench(&db, &["--list-models", "--base-url", &url]).await;
    assert_eq!(refused.code, 2, "a refused key is a configuration error, as for a batch");
    assert!(refused.stderr.contains(&format!("{url}/models refused the credentials (HTTP 401")), "{}", refused.stderr);
    let unreachable = chipbench(&db, &["--list-models", "--base-url", "http://127.0.0.1:9/v1"]).await;
    assert_eq!(unreachable.code, 1);
    assert!(unreachable.stderr.contains("http://127.0.0.1:9/v1/models") && unreachable.stderr.contains("Connection refused"), "{}", unreachable.stderr);
    let mock = chipbench(&db, &["--list-models", "--provider", "mock"]).await;
    assert_eq!(mock.code, 2, "asking the offline mock for its endpoint is a usage error");
    assert!(mock.stderr.contains("the mock provider is offline"), "{}", mock.stderr);
    // OpenRouter lists models to anyone: its key is checked apart, and says what it has spent.
    let openrouter = |script: Vec<Reply>| {
        fake.script(script);
        command(&db, &["--list-models", "--provider", "openrouter", "--base-url", &url]).env("OPENROUTER_API_KEY", "sk-or-v1-test").output()
    };
    let checked: Run = openrouter(vec![]).await.unwrap().into();
    assert!(checked.stdout.contains("the key works: $0.25 spent, a $10 limit"), "{}", checked.stdout);
    let refused: Run = openrouter(vec![Reply::Ok, Reply::Status(401)]).await.unwrap().into();
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains(&format!("{url}/key refused the credentials (HTTP 401")) && refused.stderr.contains("check the openrouter API key"), "{}", refused.stderr);
    assert!(!refused.stdout.contains("answered"), "nothing listed when the key is refused: {}", refused.stdout);
    // Without a provider it is the price table, as before.
    let table = chipbench(&db, &["--list-models"]).await;
    assert!(table.stdout.contains("openai/gpt-5-mini") && !table.stdout.contains("fake/chat-1"), "{}", table.stdout);

    let removed = chipbench(&db, &["remove-model", "openai/gpt-5-mini"]).await;
    assert_eq!((removed.code, removed.stdout.trim()), (0, "model openai/gpt-5-mini: removed from the price table"));
    chipbench(&db, &["remove-model", "openai/gpt-5-mini"]).await.refused("model `openai/gpt-5-mini` not found");
    let listed = chipbench(&db, &["--list-models", "--base-url", &url]).await;
    assert_eq!(listed.stdout.lines().filter(|l| l.ends_with("not in the price table")).count(), 2, "neither served model is in the table now:\n{}", listed.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_tests_store_nothing_and_resume_runs_them() {
    let Setup { fake, url, db, dir: _dir } = Setup::new().await;
    // Every fourth call is rejected (404 is not retried): the tests it belongs to fail.
    fake.script((0..60).map(|i| if i % 4 == 3 { Reply::Status(404) } else { Reply::Ok }));
    let first = chipbench(&db, &fake_args(&url, &["--concurrency", "1"])).await;
    assert_eq!(first.code, 1, "{}", first.stderr);
    let s = first.json();
    let (stored, failed) = (s["stored"].as_u64().unwrap(), s["failed"].as_u64().unwrap());
    assert_eq!((s["status"].as_str(), stored + failed), (Some("interrupted"), 24));
    assert!(failed > 0 && s["resume_command"].as_str().unwrap().contains("--resume"));
    assert_eq!(query_i64(&db, "SELECT count(*) FROM results") as u64, stored, "a failed test stores no result");

    fake.always(Reply::Ok);
    let again = chipbench(&db, &["--batch", "--resume", "--json"]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!((again.json()["stored"].as_u64(), again.json()["run_id"].clone()), (Some(24), s["run_id"].clone()));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_budget_stops_scheduling_with_exit_code_3() {
    let Setup { url, db, dir: _dir, .. } = Setup::new().await;
    // Each call costs $0.00009 here; stop after roughly ten.
    let run = chipbench(&db, &fake_args(&url, &["--concurrency", "1", "--max-cost", "0.0009"])).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    let s = run.json();
    assert!(s["reason"].as_str().unwrap().starts_with("budget reached"), "{s}");
    let stored = s["stored"].as_u64().unwrap();
    assert!(stored > 0 && stored < 24, "stopped part-way: {stored}");
    assert!(s["spent_usd"].as_f64().unwrap() < 0.0009 + 3.0 * 0.00009, "at most one test past the limit");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_cancels_stalled_calls_after_the_grace_and_resume_completes() {
    let Setup { fake, url, db, dir: _dir } = Setup::new().await;
    fake.always(Reply::Stall(Duration::from_secs(40))); // in-flight calls never finish by themselves
    fake.script(std::iter::repeat_n(Reply::Ok, 4)); // a few tests finish first
    let args: Vec<&str> = fake_args(&url, &["--concurrency", "2"]).into_iter().filter(|a| *a != "--json").collect();
    let child = command(&db, &args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    while fake.requests() < 6 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let started = std::time::Instant::now();
    let out: crate::support::Run = child.wait_with_output().await.unwrap().into();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(4500) && waited < Duration::from_secs(8), "stalled calls are cancelled after the 5 s grace: {waited:?}");
    assert_eq!(out.code, 130, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("interrupted") && out.stdout.contains("resume with: chipbench --batch --resume "), "{}", out.stdout);
    assert_eq!(query_i64(&db, "SELECT count(*) FROM runs WHERE status = 'interrupted'"), 1);
    let stored_before = query_i64(&db, "SELECT count(*) FROM results");
    assert!(stored_before < 24, "cancelled tests stored nothing");

    fake.always(Reply::Ok);
    let resumed = chipbench(&db, &["--batch", "--resume", "--json"]).await;
    assert_eq!((resumed.code, resumed.json()["stored"].as_u64()), (0, Some(24)), "{}", resumed.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_ctrl_c_quits_at_once_and_the_run_stays_resumable() {
    let Setup { fake, url, db, dir: _dir } = Setup::new().await;
    fake.always(Reply::Stall(Duration::from_secs(40)));
    let mut child = command(&db, &fake_args(&url, &["--concurrency", "2"])).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    while fake.requests() < 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = child.id().unwrap().to_string();
    let interrupt = || assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    interrupt();
    tokio::time::sleep(Duration::from_millis(300)).await;
    interrupt();
    let started = std::time::Instant::now();
    let status = child.wait().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "no grace after the second Ctrl-C: {:?}", started.elapsed());
    assert_eq!(status.code(), Some(130));

    fake.always(Reply::Ok);
    let mut resume = command(&db, &["--batch", "--resume", "--json"]);
    resume.env("CHIPBENCH_HEARTBEAT_STALE_SECS", "1");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let out: crate::support::Run = resume.output().await.unwrap().into();
    assert_eq!((out.code, out.json()["stored"].as_u64()), (0, Some(24)), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_that_fails_every_call_fails_the_run() {
    let Setup { fake, url, db, dir: _dir } = Setup::new().await;
    fake.always(Reply::Status(404)); // e.g. a wrong base URL path
    let run = chipbench(&db, &fake_args(&url, &["--model", "deepseek/deepseek-v3.2", "--concurrency", "4"])).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let s = run.json();
    assert_eq!(s["status"], "failed");
    assert!(s["reason"].as_str().unwrap().starts_with("the last 24 tests all failed"), "{s}");
    assert!(fake.requests() < 48, "scheduling stopped before the whole matrix: {}", fake.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_estimates_without_network_or_writes() {
    let fake = FakeProvider::start().await;
    let url = fake.base_url();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.db");
    let run = chipbench(&db, &["--dry-run", "--all", "--provider", "openai", "--base-url", &url]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("2880 tests (10 models x 12 personas x 24 variants)"), "{}", run.stdout);
    assert!(run.stdout.contains("calls"), "{}", run.stdout);
    assert_eq!(fake.requests(), 0, "no network");
    assert!(!db.exists(), "no database created");
}

#[tokio::test(flavor = "multi_thread")]
async fn export_writes_json_or_csv_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let csv = dir.path().join("out.csv");
    let json = dir.path().join("out.json");
    for path in [&csv, &json] {
        let run = chipbench(&db, &["--batch", "--model", MODEL, "--persona", "teacher", "--export", path.to_str().unwrap()]).await;
        assert!(run.code <= 1, "{}", run.stderr);
    }
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    assert!(csv_text.starts_with("id,run_id,model,persona_id"));
    assert_eq!(csv_text.lines().count(), 25, "a header and 24 rows");
    let exported: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(exported.len(), 24);
    assert!(exported[0]["final_chips"].is_array());
    let bad = chipbench(&db, &["--batch", "--resume", "x", "--export", "out.xml"]).await;
    assert_eq!(bad.code, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_are_listed_and_a_stored_runs_results_exported_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let none = chipbench(&db, &["runs"]).await;
    assert_eq!((none.code, none.stdout.as_str()), (0, ""));
    assert!(none.stderr.contains("no runs yet"), "{}", none.stderr);
    for persona in ["teacher", "tech_pm"] {
        let run = chipbench(&db, &["--batch", "--model", MODEL, "--persona", persona]).await;
        assert!(run.code <= 1, "{}", run.stderr);
    }
    let listed = chipbench(&db, &["runs", "--json"]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let runs: Vec<serde_json::Value> = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["persona_ids"], serde_json::json!(["tech_pm"]), "newest first");
    assert_eq!((runs[0]["models"][0].as_str(), runs[0]["result_count"].as_u64()), (Some(MODEL), Some(24)));
    let newest = runs[0]["id"].as_str().unwrap();
    let table = chipbench(&db, &["runs"]).await;
    let first = table.stdout.lines().next().unwrap();
    assert!(first.starts_with(newest) && first.contains("completed") && first.contains(&format!("{MODEL} · tech_pm")), "{first}");

    let csv = dir.path().join("again.csv");
    let export = chipbench(&db, &["export", newest, csv.to_str().unwrap()]).await;
    assert_eq!(export.code, 0, "{}", export.stderr);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 25, "a header and the run's 24 results");
    assert!(text.lines().skip(1).all(|l| l.contains(newest)), "only that run's results");

    let missing = dir.path().join("missing.json");
    let unknown = chipbench(&db, &["export", "no-such-run", missing.to_str().unwrap()]).await;
    unknown.refused("run `no-such-run` not found");
    assert!(!missing.exists(), "nothing is written for an unknown run");
    let wrong = chipbench(&db, &["export", newest, dir.path().join("out.xml").to_str().unwrap()]).await;
    wrong.refused("out.xml");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_leaderboard_ranks_rated_results_and_says_why_it_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    mock_batch(&db).await;
    let store = chipbench_core::store::Store::open(&db).unwrap();
    let ids = store.run_results(&crate::support::query_one::<String>(&db, "SELECT id FROM runs")).unwrap();
    for (result, rating) in ids.iter().zip(1..=4) {
        store.rate(chipbench_core::store::TARGET_RESULT, &result.summary.id, "ana", rating).unwrap();
    }
    drop(store);

    let hidden = chipbench(&db, &["leaderboard"]).await;
    assert_eq!((hidden.code, hidden.stdout.as_str()), (0, ""), "{}", hidden.stderr);
    assert!(hidden.stderr.contains("left out unless --include-demo"), "{}", hidden.stderr);

    let json = chipbench(&db, &["leaderboard", "--include-demo", "--json"]).await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    let board: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let row = &board["stats"][0];
    assert_eq!((row["model"].as_str(), row["rated_count"].as_u64(), row["result_count"].as_u64()), (Some(MODEL), Some(4), Some(24)));
    assert_eq!(row["avg_rating"].as_f64(), Some(2.5), "(1 + 2 + 3 + 4) / 4");

    let table = chipbench(&db, &["leaderboard", "--include-demo", "--by", "persona_id"]).await;
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(lines[0].contains("persona_id") && lines[1].contains("teacher *") && lines[1].contains("2.50"), "{}", table.stdout);
    assert!(table.stdout.contains("needs results rated by two or more raters"), "{}", table.stdout);

    let csv = dir.path().join("board.csv");
    let exported = chipbench(&db, &["leaderboard", "--include-demo", "--normalise", "--export", csv.to_str().unwrap()]).await;
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("model,rank,z_score,interval_low,interval_high,pareto_front,rated,results,"), "{text}");
    assert!(lines[1].starts_with(&format!("{MODEL},1,0,")) && lines.len() == 2, "one rater's z-scores average 0: {text}");
    let xml = dir.path().join("board.xml");
    let refused = chipbench(&db, &["leaderboard", "--include-demo", "--export", xml.to_str().unwrap()]).await;
    refused.refused("board.xml: unknown extension");
    assert!(!xml.exists());

    let unknown = chipbench(&db, &["leaderboard", "--run", "no-such-run"]).await;
    unknown.refused("run `no-such-run` not found");
    let bad = chipbench(&db, &["leaderboard", "--by", "planet"]).await;
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("'planet'") && bad.stderr.contains("persona_id"), "{}", bad.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_calls_and_trace_prints_one_with_its_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    mock_batch(&db).await;
    let found = chipbench(&db, &["search", "Education", "--limit", "2"]).await;
    assert_eq!(found.code, 0, "{}", found.stderr);
    let lines: Vec<&str> = found.stdout.lines().collect();
    let total: u64 = lines[0].split_whitespace().next().unwrap().parse().unwrap();
    assert!(total > 2 && lines[0].ends_with("matching call(s)"), "{}", found.stdout);
    assert_eq!(lines.len(), 1 + 2 * 2, "two hits of two lines: {}", found.stdout);
    assert!(lines[2].contains("[Education]"), "the hit is marked in its snippet: {}", lines[2]);
    let trace_id = lines[1].split_whitespace().next().unwrap();

    let trace = chipbench(&db, &["trace", trace_id, "--full"]).await;
    assert_eq!(trace.code, 0, "{}", trace.stderr);
    assert!(trace.stdout.starts_with(&format!("{trace_id} (test): {MODEL} | teacher")), "{}", trace.stdout);
    assert!(trace.stdout.contains("generation") && trace.stdout.contains("    user: ") && trace.stdout.contains("    response: "), "{}", trace.stdout);
    let json = chipbench(&db, &["trace", trace_id, "--json"]).await;
    let detail: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(detail["trace"]["id"], trace_id);
    assert!(detail["spans"].as_array().is_some_and(|s| !s.is_empty()));

    let missing = chipbench(&db, &["trace", "no-such-trace"]).await;
    missing.refused("trace `no-such-trace` not found");
    let bad = chipbench(&db, &["search", r#"budget "quarterly"#]).await;
    bad.refused("character 8 is never closed");
}

/// `chipbench runs | head -1` and the like: output to a closed pipe ends the process as it ends
/// other Unix tools (SIGPIPE), not with a panic's message and backtrace.
#[tokio::test(flavor = "multi_thread")]
async fn output_to_a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let mut child = command(&db, &["runs", "--json"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take()); // the reader goes before anything is written (`[]` at least)
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dataset_file_is_checked_against_a_prompt_without_being_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let csv = dir.path().join("questions.csv");
    std::fs::write(&csv, "question,expected\n\"What is 2+2?\",4\n\"Name a \"\"red\"\" fruit\",apple\n").unwrap();
    let csv = csv.to_str().unwrap();

    let ok = chipbench(&db, &["dataset", csv, "--prompt", "Answer briefly: {{question}}"]).await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.contains("2 rows, columns: question, expected") && ok.stdout.contains(r#""Name a \"red\" fruit""#), "{}", ok.stdout);

    let missing = chipbench(&db, &["dataset", csv, "--prompt", "{{question}} as {{persona}} in {{tone}}"]).await;
    missing.refused("{{persona}}, {{tone}} are not columns");

    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "a,b\n1,2\n3\n").unwrap();
    let run = chipbench(&db, &["dataset", ragged.to_str().unwrap()]).await;
    run.refused("line 3 has 1 fields where the header has 2");
    let run = chipbench(&db, &["dataset", ragged.to_str().unwrap(), "--import"]).await;
    assert_eq!(run.code, 2, "a file that fails its check is not imported");
    assert!(!db.exists(), "checking a dataset opens no database");

    let stored = chipbench(&db, &["dataset", csv, "--import", "--preview", "0"]).await;
    assert_eq!(stored.code, 0, "{}", stored.stderr);
    assert!(stored.stdout.contains("`questions`: 2 rows"), "{}", stored.stdout);
    assert_eq!(query_i64(&db, "SELECT count(*) FROM dataset_rows"), 2);
    assert_eq!(query_i64(&db, "SELECT count(*) FROM datasets WHERE headers = '[\"question\",\"expected\"]' AND source_file = 'questions.csv'"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn prompt_versions_are_saved_listed_and_diffed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let (one, two) = (dir.path().join("one.txt"), dir.path().join("two.txt"));
    std::fs::write(&one, "Answer {{question}} briefly.").unwrap();
    std::fs::write(&two, "Answer {{question}} in one sentence.").unwrap();
    let save = |file: &std::path::Path| {
        let db = db.clone();
        let file = file.to_str().unwrap().to_owned();
        async move { chipbench(&db, &["prompt", "save", "qa", &file]).await }
    };
    let first = save(&one).await;
    assert!(first.stdout.starts_with("qa version 1: "), "{}{}", first.stdout, first.stderr);
    let second = save(&two).await;
    assert!(second.stdout.starts_with("qa version 2: "), "{}", second.stdout);
    assert!(save(&one).await.stdout.starts_with("qa version 1: "), "the same text is the same version");

    let listed = chipbench(&db, &["prompt", "versions", "qa"]).await;
    let ids: Vec<&str> = listed.stdout.lines().map(|l| l.split_whitespace().nth(1).unwrap()).collect();
    assert_eq!(ids.len(), 2, "{}", listed.stdout);
    let diff = chipbench(&db, &["prompt", "diff", ids[0], ids[1]]).await;
    assert_eq!(diff.stdout.trim(), "Answer {{question}} [-briefly.-]{+in one sentence.+}");
    assert!(listed.stdout.lines().next().unwrap().starts_with("  1* "), "the last saved text is current:\n{}", listed.stdout);
    let used = chipbench(&db, &["prompt", "use", ids[1]]).await;
    assert!(used.stdout.starts_with("qa version 2 is current"), "{}{}", used.stdout, used.stderr);
    let renamed = chipbench(&db, &["prompt", "rename", "qa", "answer"]).await;
    assert!(renamed.stdout.starts_with("answer version 1: ") && renamed.stdout.contains("(renamed from qa)"), "{}{}", renamed.stdout, renamed.stderr);
    let lineage = chipbench(&db, &["prompt", "versions", "answer"]).await;
    assert!(lineage.stdout.contains("renamed from: qa"), "{}", lineage.stdout);
    let edited = dir.path().join("selection.txt");
    std::fs::write(&edited, "As {{persona}} choose from {{chips}} in a {{tone}} voice").unwrap();
    let refused = chipbench(&db, &["prompt", "save", "selection", edited.to_str().unwrap()]).await;
    refused.refused("the benchmark fills {{persona}}, {{chips}} in prompt `selection`, not {{tone}}");

    let unknown = chipbench(&db, &["prompt", "versions", "nope"]).await;
    unknown.refused("prompt `nope` not found");
}

#[tokio::test(flavor = "multi_thread")]
async fn outputs_in_a_dataset_are_graded_and_compared_with_peoples_grades() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let file = dir.path().join("graded.jsonl");
    let rows = [
        r#"{"answer": "Paris", "expected": "paris", "human": "pass"}"#,
        r#"{"answer": "Lyon", "expected": "paris", "human": "pass"}"#,
        r#"{"answer": "Nice", "expected": "paris", "human": "fail"}"#,
        r#"{"answer": "It is Paris", "expected": "paris", "human": ""}"#,
    ];
    std::fs::write(&file, rows.join("\n")).unwrap();
    let file = file.to_str().unwrap();
    let run = chipbench(&db, &["dataset", file, "--preview", "0", "--grade", "answer", "--rule", "contains", "--expected", "expected", "--human", "human"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("graded 4 rows: 2 passed (50.0%)"), "{}", run.stdout);
    assert!(run.stdout.contains("grader vs people over 3 rows: agreement 66.7%, Cohen's kappa 0.400"), "{}", run.stdout);

    let bad = chipbench(&db, &["dataset", file, "--grade", "answer", "--rule", "fuzzy"]).await;
    bad.refused("rule: `fuzzy` is not a rule");
    let missing = chipbench(&db, &["dataset", file, "--grade", "reply"]).await;
    missing.refused("column `reply` is not in the dataset");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grid_runs_against_a_server_is_graded_by_hand_shown_and_exported() {
    let fake = FakeProvider::start().await;
    let url = fake.base_url();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let csv = dir.path().join("questions.csv");
    std::fs::write(&csv, "question,expected\nWhat is 2+2?,chip\nName a red fruit,apple\nSay hi,number\n").unwrap();
    let imported = chipbench(&db, &["dataset", csv.to_str().unwrap(), "--import", "--preview", "0"]).await;
    let stored = imported.stdout.lines().find(|l| l.starts_with("stored dataset ")).expect("the dataset is stored");
    let dataset = stored.split_whitespace().nth(2).unwrap().to_owned();
    let (prompt, judge) = (dir.path().join("prompt.txt"), dir.path().join("judge.txt"));
    std::fs::write(&prompt, "Answer briefly: {{question}}").unwrap();
    std::fs::write(&judge, "Q: {{question}}\nA: {{output}}\nPass if it answers.").unwrap();
    let id = |run: crate::support::Run| run.stdout.trim().rsplit(' ').next().unwrap().to_owned();
    let prompt = id(chipbench(&db, &["prompt", "save", "qa", prompt.to_str().unwrap()]).await);
    let judge = id(chipbench(&db, &["prompt", "save", "judge", judge.to_str().unwrap()]).await);
    let out = dir.path().join("grid.csv");
    let grid = |extra: &[&str]| {
        let mut args = vec!["grid", "run", "--prompt", &prompt, "--dataset", &dataset, "--provider", "openai", "--base-url", &url];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let args = grid(&["--model", MODEL, "--model", "mistralai/mistral-nemo", "--rule", "contains", "--expected", "expected", "--judge", &judge, "--judge-model", MODEL, "--export", out.to_str().unwrap()]);
    let run = chipbench(&db, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(fake.requests(), 12, "3 rows x 2 models, each answered and judged");
    let judged = fake.bodies().iter().filter(|b| b.pointer("/response_format/json_schema/name").and_then(|v| v.as_str()) == Some("grade")).count();
    assert_eq!(judged, 6, "the judge asks for the grade schema");
    // The fake answers free text with chips: "chip" is in every answer, "apple" and "number" too ("number 0").
    assert!(run.stdout.contains("completed — 6 succeeded, 0 failed"), "{}", run.stdout);
    assert!(run.stdout.contains("judge grader `judge v1 with openai/gpt-5-mini`: no cells graded by people yet"), "{}", run.stdout);
    let run_id = run.stdout.lines().find(|l| l.starts_with("grid run ")).unwrap().split_whitespace().nth(2).unwrap().trim_end_matches(':').to_owned();
    assert_eq!(query_i64(&db, &format!("SELECT count(*) FROM spans WHERE run_id = '{run_id}'")), 12, "every call is a span");

    let mut cells = csv::Reader::from_path(&out).unwrap();
    let records: Vec<csv::StringRecord> = cells.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 6);
    let (cell, judged_pass) = (records[0][2].to_owned(), &records[0][14]);
    assert_eq!(judged_pass, "pass", "the fake judge passes everything");
    let graded = chipbench(&db, &["grid", "grade", &cell, "fail", "--user", "ada"]).await;
    assert_eq!(graded.code, 0, "{}", graded.stderr);
    let shown = chipbench(&db, &["grid", "show", &run_id]).await;
    assert!(shown.stdout.contains("vs people: agreement 0.0% over 1 cell(s), Cohen's kappa 0.000"), "{}", shown.stdout);

    let five = grid(&["--model", MODEL, "--model", "a/b", "--model", "c/d", "--model", "e/f", "--model", "g/h"]);
    let refused = chipbench(&db, &five.iter().map(String::as_str).collect::<Vec<_>>()).await;
    refused.refused("5 models chosen; a grid runs at most 4");
    let again = chipbench(&db, &["grid", "again", &run_id]).await;
    again.refused("every cell succeeded; nothing to run again");
    assert_eq!(fake.requests(), 12, "refused requests call nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn import_langfuse_prints_what_it_brought_and_wrong_keys_are_a_configuration_error() {
    use chipbench_e2e::langfuse::{FakeLangfuse, PUBLIC_KEY, SECRET_KEY};
    let fake = FakeLangfuse::start().await;
    fake.add(0, 12, 2);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let run = |secret: &'static str| {
        let mut c = command(&db, &["import", "langfuse"]);
        c.env("LANGFUSE_BASE_URL", fake.base_url()).env("LANGFUSE_PUBLIC_KEY", PUBLIC_KEY).env("LANGFUSE_SECRET_KEY", secret).env("LANGFUSE_PAGE_DELAY_MS", "0");
        c
    };
    let ok: crate::support::Run = run(SECRET_KEY).output().await.unwrap().into();
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert_eq!(ok.stdout.trim(), "imported 4 sessions, 12 traces, 24 observations (0 partial); verified: 12 traces and 24 observations here, as in Langfuse");
    let again: crate::support::Run = run(SECRET_KEY).output().await.unwrap().into();
    assert!(again.stdout.starts_with("imported 0 sessions, 0 traces, 0 observations"), "{}", again.stdout);
    let wrong: crate::support::Run = run("sk-wrong").output().await.unwrap().into();
    assert_eq!(wrong.code, 2);
    assert!(wrong.stderr.contains("Langfuse refused the keys") && !wrong.stderr.contains("sk-wrong"), "{}", wrong.stderr);
    let missing: crate::support::Run = command(&db, &["import", "langfuse"]).env_remove("LANGFUSE_PUBLIC_KEY").output().await.unwrap().into();
    missing.refused("LANGFUSE_PUBLIC_KEY is not set");
}

#[tokio::test(flavor = "multi_thread")]
async fn analytics_show_a_batchs_calls_by_day_and_model_and_refuse_a_backward_range() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    mock_batch(&db).await;
    let calls = query_i64(&db, "SELECT count(*) FROM spans");
    let shown = chipbench(&db, &["analytics", "--range", "24h", "--source", "test"]).await;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let model_line = shown.stdout.lines().find(|l| l.starts_with(MODEL)).expect("a line for the model");
    assert_eq!(model_line.split_whitespace().nth(1).unwrap().parse::<i64>().unwrap(), query_i64(&db, &format!("SELECT count(*) FROM spans WHERE model = '{MODEL}'")));
    let total = shown.stdout.lines().find(|l| l.starts_with("total")).unwrap();
    assert_eq!(total.split_whitespace().nth(1).unwrap().parse::<i64>().unwrap(), calls, "{}", shown.stdout);
    let rebuilt = chipbench(&db, &["analytics", "--range", "all", "--rebuild"]).await;
    assert_eq!(rebuilt.stdout.lines().find(|l| l.starts_with("total")).unwrap(), total, "the rebuild agrees");
    let none = chipbench(&db, &["analytics", "--range", "2020-01-01..2020-01-31"]).await;
    assert!(none.stdout.lines().find(|l| l.starts_with("total")).unwrap().split_whitespace().nth(1) == Some("0"), "{}", none.stdout);
    let backward = chipbench(&db, &["analytics", "--range", "2026-11-20..2026-11-01"]).await;
    backward.refused("range: the end 2026-11-01 is before the start 2026-11-20");
}

/// Runs are deleted from a script as from Settings: first what would go, then with --yes, which
/// prints the command that undoes it; an unknown run, a bad date and a run still executing are
/// refused, and nothing changes.
#[tokio::test(flavor = "multi_thread")]
async fn runs_are_deleted_after_a_look_and_restored_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    mock_batch(&db).await;
    mock_batch(&db).await;
    let live = || query_i64(&db, "SELECT count(*) FROM runs WHERE deleted_at IS NULL");
    let stats = chipbench(&db, &["database", "--json"]).await.json();
    assert_eq!((stats["runs"].as_u64(), stats["results"].as_u64(), stats["traces"].as_u64()), (Some(2), Some(48), Some(48)), "{stats}");
    assert!(stats["calls"].as_u64() >= Some(96), "a test makes two calls or more: {stats}");
    let first: String = query_one(&db, "SELECT id FROM runs ORDER BY started_at LIMIT 1");

    let look = chipbench(&db, &["delete-runs", &first]).await;
    assert_eq!(look.code, 0, "{}", look.stderr);
    assert!(look.stdout.contains("would delete 1 run with 24 results and 0 ratings") && look.stdout.contains("--yes"), "{}", look.stdout);
    assert_eq!(live(), 2, "nothing is deleted without --yes");

    let deleted = chipbench(&db, &["delete-runs", &first, "--yes"]).await;
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert!(deleted.stdout.contains("deleted 1 run with 24 results"), "{}", deleted.stdout);
    assert!(deleted.stderr.contains(&format!("undo: chipbench restore-runs {first}")), "{}", deleted.stderr);
    assert_eq!((live(), chipbench(&db, &["runs", "--json"]).await.json().as_array().map(Vec::len)), (1, Some(1)));
    let again = chipbench(&db, &["delete-runs", &first, "--yes"]).await;
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains(&format!("run_id: no run `{first}` here")), "{}", again.stderr);

    let restored = chipbench(&db, &["restore-runs", &first]).await;
    assert_eq!((restored.code, restored.stdout.trim()), (0, "restored 1 run with everything under it"), "{}", restored.stderr);
    assert_eq!((live(), chipbench(&db, &["database", "--json"]).await.json()["results"].as_u64()), (2, Some(48)));
    let twice = chipbench(&db, &["restore-runs", &first]).await;
    assert_eq!(twice.code, 2);
    assert!(twice.stderr.contains("nothing to restore"), "{}", twice.stderr);

    let bad = chipbench(&db, &["delete-runs", "--started-before", "last tuesday", "--yes"]).await;
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("started_before: `last tuesday` is not a date"), "{}", bad.stderr);
    let none = chipbench(&db, &["delete-runs", "--started-before", "2000-01-01", "--yes"]).await;
    assert_eq!(none.code, 0);
    assert!(none.stderr.contains("no runs started before 2000-01-01"), "{}", none.stderr);
    // A run another process is executing (its heartbeat is fresh) stays.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("UPDATE runs SET status = 'running', heartbeat_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1", [&first])
        .unwrap();
    let busy = chipbench(&db, &["delete-runs", "--started-before", "2999-01-01", "--yes"]).await;
    assert_eq!(busy.code, 2);
    assert!(busy.stderr.contains(&format!("run {first} is still running")), "{}", busy.stderr);
    assert_eq!(live(), 2, "neither run went");
}

#[tokio::test]
async fn traces_are_deleted_after_a_look_and_restored_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    mock_batch(&db).await;
    let line = r#"{"span_id":"s1","trace_id":"t1","span_type":"llm_call","name":"chat","start_time":1739800000,"attributes":{"llm.model":"gpt-4o","llm.prompt":"What is a zorblax?","llm.completion":"A made-up word."}}"#;
    let spans = chipbench_core::trace::import::parse("f.jsonl", line).unwrap();
    chipbench_core::store::Store::open(&db).unwrap().import_spans(&spans).unwrap();
    let imported: String = query_one(&db, "SELECT id FROM traces WHERE kind = 'import'");
    let test: String = query_one(&db, "SELECT id FROM traces WHERE kind = 'test' LIMIT 1");
    let deleted = || query_i64(&db, "SELECT count(*) FROM trace_deletions WHERE deleted_at IS NOT NULL");
    let hits = || async { chipbench(&db, &["search", "zorblax", "--json"]).await.json()["total"].as_u64() };
    assert_eq!(hits().await, Some(1));

    let look = chipbench(&db, &["delete-traces", &imported]).await;
    assert_eq!(look.code, 0, "{}", look.stderr);
    assert!(look.stdout.contains("would delete 1 trace with 1 call and 0 ratings") && look.stdout.contains("--yes"), "{}", look.stdout);
    assert_eq!(deleted(), 0, "nothing is deleted without --yes");
    let refused = chipbench(&db, &["delete-traces", &imported, &test, "--yes"]).await;
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains(&format!("trace {test} is a benchmark test's: delete its run")), "{}", refused.stderr);
    assert_eq!(deleted(), 0, "a refused deletion takes none of the traces");

    let gone = chipbench(&db, &["delete-traces", &imported, "--yes", "--json"]).await;
    assert_eq!(gone.code, 0, "{}", gone.stderr);
    assert_eq!(gone.json(), serde_json::json!({"deleted": true, "taken": {"traces": 1, "calls": 1, "ratings": 0}}));
    assert_eq!((deleted(), hits().await), (1, Some(0)), "the trace is out of search");
    let again = chipbench(&db, &["delete-traces", &imported, "--yes"]).await;
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains(&format!("trace `{imported}` not found")), "{}", again.stderr);

    let restored = chipbench(&db, &["restore-traces", &imported]).await;
    assert_eq!((restored.code, restored.stdout.trim()), (0, "restored 1 trace"), "{}", restored.stderr);
    assert_eq!(hits().await, Some(1));
    let twice = chipbench(&db, &["restore-traces", &imported]).await;
    assert_eq!(twice.code, 2);
    assert!(twice.stderr.contains("nothing to restore"), "{}", twice.stderr);
}
