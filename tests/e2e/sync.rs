//! Sync against a real Turso server: `tursodb FILE --sync-server 127.0.0.1:PORT` (npm
//! `turso@0.6.0`, installed by scripts/setup.sh --test; CHIPBENCH_TURSODB names the binary).
//! Each test gets its own server file and free port, and fresh local databases.

use std::{path::Path, process::Stdio, time::Duration};

use chipbench_core::{
    store::{Store, TARGET_RESULT},
    sync::{self, Remote, SyncError},
};
use rusqlite::types::Value as Sql;

use crate::support::{chipbench, command};

/// The tests' batches run on the mock provider, so their runs are demo runs: sync them.
const DEMO: sync::SyncOptions = sync::SyncOptions { include_demo: true, span_payloads: true };

/// A tursodb sync server on a free port, stopped when dropped; restartable on the same file.
pub(crate) struct Turso {
    bin: String,
    file: std::path::PathBuf,
    port: u16,
    child: Option<tokio::process::Child>,
}

impl Turso {
    /// Starts a server, or None (skipped outside CI) when tursodb is missing.
    pub(crate) async fn start(dir: &Path) -> Option<Turso> {
        let bin = std::env::var("CHIPBENCH_TURSODB").ok().filter(|b| Path::new(b).exists());
        if !chipbench_e2e::available("tursodb (CHIPBENCH_TURSODB)", bin.is_some()) {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut t = Turso { bin: bin.unwrap(), file: dir.join("remote.db"), port, child: None };
        t.restart().await;
        Some(t)
    }

    async fn restart(&mut self) {
        let child = tokio::process::Command::new(&self.bin)
            .arg(&self.file)
            .args(["--sync-server", &format!("127.0.0.1:{}", self.port)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn tursodb");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("tursodb did not listen on {}", self.port);
    }

    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn remote(&self) -> Remote {
        Remote::new(&self.url(), None).unwrap()
    }

    /// One integer from the remote.
    pub(crate) async fn count(&self, sql: &str) -> i64 {
        let r = self.remote().execute(libsql_hrana_stmt(sql)).await.unwrap();
        match r.rows[0].values[0].clone() {
            libsql_hrana::proto::Value::Integer { value } => value,
            other => panic!("{sql}: {other:?}"),
        }
    }
}

fn libsql_hrana_stmt(sql: &str) -> libsql_hrana::proto::Stmt {
    libsql_hrana::proto::Stmt::new(sql, true)
}

/// Every synced table of a database, each row with its exact stored values, in id order.
fn dump(db: &Path) -> Vec<(String, Vec<Vec<Sql>>)> {
    let c = rusqlite::Connection::open(db).unwrap();
    sync::tables::TABLES
        .iter()
        .map(|t| {
            let mut stmt = c.prepare(&format!("SELECT {} FROM {} ORDER BY id", t.column_list(), t.name)).unwrap();
            let n = t.columns.len();
            let rows = stmt.query_map([], |r| (0..n).map(|i| r.get::<_, Sql>(i)).collect::<rusqlite::Result<Vec<_>>>()).unwrap();
            (t.name.to_owned(), rows.map(Result::unwrap).collect())
        })
        .collect()
}

/// Fails with the first differing row of the first differing table (a full dump is unreadable).
fn assert_same(a: &Path, b: &Path, what: &str) {
    for ((table, rows_a), (_, rows_b)) in dump(a).into_iter().zip(dump(b)) {
        assert_eq!(rows_a.len(), rows_b.len(), "{what}: {table} has {} rows on one side, {} on the other", rows_a.len(), rows_b.len());
        if let Some((x, y)) = rows_a.iter().zip(&rows_b).find(|(x, y)| x != y) {
            let t = sync::tables::table(&table).unwrap();
            let diff: Vec<_> = t.columns.iter().zip(x.iter().zip(y)).filter(|(_, (p, q))| p != q).collect();
            panic!("{what}: {table} row {:?} differs in {diff:?}", x[0]);
        }
    }
}

/// Rates the first `n` results of a database as `user`, cycling 1-5.
fn rate_some(db: &Path, user: &str, n: usize) {
    let store = Store::open(db).unwrap();
    let ids: Vec<String> = store
        .read(|c| Ok(c.prepare("SELECT id FROM results ORDER BY id")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?))
        .unwrap();
    for (i, id) in ids.iter().take(n).enumerate() {
        store.rate(TARGET_RESULT, id, user, (i % 5 + 1) as i64).unwrap();
    }
}

/// `chipbench sync --include-demo`: the tests' runs are mock (demo) runs.
async fn sync_cli(db: &Path, turso: &Turso) -> crate::support::Run {
    command(db, &["sync", "--include-demo"]).env("TURSO_DATABASE_URL", turso.url()).output().await.unwrap().into()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_client_receives_every_run_result_and_rating_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let batch = chipbench(&a, &["--batch", "--model", "openai/gpt-5-mini", "--model", "mistralai/mistral-nemo", "--persona", "teacher"]).await;
    assert!(batch.code <= 1, "{}", batch.stderr);
    rate_some(&a, "ana@example.com", 10);

    // Demo runs stay local unless asked for.
    let plain: crate::support::Run = command(&a, &["sync"]).env("TURSO_DATABASE_URL", turso.url()).output().await.unwrap().into();
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(plain.stdout.contains("created the shared schema"), "{}", plain.stdout);
    assert_eq!(turso.count("SELECT (SELECT count(*) FROM runs) + (SELECT count(*) FROM results) + (SELECT count(*) FROM ratings)").await, 0);
    let first = sync_cli(&a, &turso).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stdout.contains("0 pending"), "{}", first.stdout);
    let second = sync_cli(&b, &turso).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_same(&a, &b, "B holds exactly A's rows, values and types included");
    assert_eq!(turso.count("SELECT count(*) FROM results").await, 48);
    let spans = crate::support::query_i64(&a, "SELECT count(*) FROM spans");
    assert!(spans >= 48 && turso.count("SELECT count(*) FROM spans").await == spans, "every call's span is shared");
    let traces = "SELECT count(*) || ' ' || sum(span_count) || ' ' || sum(error_count) FROM traces";
    let conn = |p: &Path| rusqlite::Connection::open(p).unwrap().query_row(traces, [], |r| r.get::<_, String>(0)).unwrap();
    assert_eq!(conn(&a), conn(&b), "B's traces are rebuilt from the pulled spans");
    let daily = "SELECT count(*) || ' ' || sum(calls) || ' ' || sum(errors) || ' ' || sum(latency_ms) || ' ' || (SELECT sum(results) FROM daily_results) FROM daily_calls";
    let sum = |p: &Path| rusqlite::Connection::open(p).unwrap().query_row(daily, [], |r| r.get::<_, String>(0)).unwrap();
    assert_eq!(sum(&a), sum(&b), "and the daily aggregates from the same spans");

    // B's ratings flow back to A, and A's leaderboard aggregates count them.
    rate_some(&b, "bo@example.com", 5);
    assert_eq!(sync_cli(&b, &turso).await.code, 0);
    let again = sync_cli(&a, &turso).await;
    assert!(again.stdout.contains("pulled 5 row(s)"), "{}", again.stdout);
    assert_same(&a, &b, "after B's ratings");
    let store = Store::open(&a).unwrap();
    let board = store.stats(&chipbench_core::store::StatsQuery { include_demo: true, ..chipbench_core::store::StatsQuery::by(chipbench_core::store::GroupBy::Model) }).unwrap();
    assert_eq!(board.agreement_units, 5, "results rated on both machines are agreement units on A");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_with_a_newer_schema_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    let db = dir.path().join("a.db");
    let store = Store::open(&db).unwrap();
    sync::sync(&store, &turso.remote(), DEMO).await.unwrap();
    let remote = turso.remote();
    remote.execute(libsql_hrana_stmt("UPDATE chipbench_meta SET value = 7 WHERE key IN ('schema_version', 'min_compatible')")).await.unwrap();

    let other = Store::open(&dir.path().join("b.db")).unwrap();
    add_a_model(&other);
    let pending = other.sync_pending_count().unwrap();
    let err = sync::sync(&other, &remote, DEMO).await.unwrap_err();
    assert!(matches!(err, SyncError::SchemaTooNew { needs: 7, .. }), "{err}");
    assert!(err.to_string().contains("update Chipbench (nothing was written)"), "{err}");
    assert_eq!(other.sync_pending_count().unwrap(), pending, "nothing was taken off the outbox");
    assert_eq!(turso.count("SELECT count(*) FROM models WHERE id = 'test/newer-schema'").await, 0, "nothing reached the remote");
    let cli = sync_cli(&dir.path().join("b.db"), &turso).await;
    assert_eq!(cli.code, 2, "a configuration error for the CLI: {}", cli.stderr);
}

fn add_a_model(store: &Store) {
    store.upsert_model(&chipbench_core::store::Model { id: "test/newer-schema".into(), name: "n".into(), input_price: 1.0, output_price: 1.0 }).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_dies_mid_sync_loses_nothing_and_the_next_sync_completes() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut turso) = Turso::start(dir.path()).await else { return };
    let a = dir.path().join("a.db");
    for _ in 0..3 {
        let batch = chipbench(&a, &["--batch", "--all"]).await;
        assert!(batch.code <= 1, "{}", batch.stderr);
    }
    let before = dump(&a);
    let store = Store::open(&a).unwrap();
    let remote = turso.remote();
    let syncing = tokio::spawn(async move { sync::sync(&store, &remote, DEMO).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    turso.stop().await;
    let outcome = syncing.await.unwrap();
    assert!(matches!(outcome, Err(SyncError::Unreachable(_) | SyncError::Http { .. } | SyncError::Protocol(_))), "the sync reports the failure: {outcome:?}");
    assert!(dump(&a) == before, "nothing local was lost or changed");

    turso.restart().await;
    let store = Store::open(&a).unwrap();
    let report = sync::sync(&store, &turso.remote(), DEMO).await.unwrap();
    assert_eq!(store.sync_pending_count().unwrap(), 0, "the next sync completes: {report:?}");
    assert_eq!(turso.count("SELECT count(*) FROM results").await, 8640, "every result exactly once");
    let b = dir.path().join("b.db");
    sync::sync(&Store::open(&b).unwrap(), &turso.remote(), DEMO).await.unwrap();
    assert_same(&a, &b, "a second client after the interrupted sync");
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_without_a_usable_url_is_a_usage_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let missing = chipbench(&db, &["sync"]).await;
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("sync needs TURSO_DATABASE_URL"), "{}", missing.stderr);
    let bad: crate::support::Run = command(&db, &["sync"]).env("TURSO_DATABASE_URL", "turso.example:8080").output().await.unwrap().into();
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("TURSO_DATABASE_URL: `turso.example:8080` is not a libsql://"), "{}", bad.stderr);
}

/// Result ids of a database in id order.
fn result_ids(store: &Store) -> Vec<String> {
    store.read(|c| Ok(c.prepare("SELECT id FROM results ORDER BY id")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn ratings_made_offline_on_two_machines_converge_under_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut turso) = Turso::start(dir.path()).await else { return };
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    assert!(chipbench(&a, &["--batch", "--model", "openai/gpt-5-mini", "--persona", "teacher"]).await.code <= 1);
    let (sa, sb) = (Store::open(&a).unwrap(), Store::open(&b).unwrap());
    sync::sync(&sa, &turso.remote(), DEMO).await.unwrap();
    sync::sync(&sb, &turso.remote(), DEMO).await.unwrap();
    let ids = result_ids(&sa);
    assert_eq!(ids, result_ids(&sb));

    turso.stop().await;
    // Offline: ana rates 0..10 on A, undoes 0; later ana rates 5..15 on B (the same result and
    // user on both machines for 5..10) and bo rates 0..3 on B.
    for (i, id) in ids[..10].iter().enumerate() {
        sa.rate(TARGET_RESULT, id, "ana", 1 + (i % 5) as i64).unwrap();
    }
    sa.unrate(TARGET_RESULT, &ids[0], "ana").unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    for id in &ids[5..15] {
        sb.rate(TARGET_RESULT, id, "ana", 5).unwrap();
    }
    for id in &ids[..3] {
        sb.rate(TARGET_RESULT, id, "bo", 2).unwrap();
    }
    let offline = sync::sync(&sa, &turso.remote(), DEMO).await;
    assert!(matches!(offline, Err(SyncError::Unreachable(_))), "{offline:?}");
    assert_eq!(sa.ratings(&chipbench_core::store::RatingFilter { limit: 100, ..Default::default() }).unwrap().len(), 9, "nothing lost while offline");

    turso.restart().await;
    for store in [&sa, &sb, &sa, &sb] {
        sync::sync(store, &turso.remote(), DEMO).await.unwrap();
    }
    assert_same(&a, &b, "after both synced twice");
    let mine = |store: &Store, id: &str, user: &str| {
        store.result(id, Some(user)).unwrap().summary.my_rating
    };
    assert_eq!(mine(&sa, &ids[7], "ana"), Some(5), "the later rating of the same result and user wins");
    assert_eq!(mine(&sa, &ids[2], "ana"), Some(3), "A's own ratings arrive on B untouched");
    assert_eq!(mine(&sb, &ids[0], "ana"), None, "the undo travels as a tombstone");
    assert_eq!(mine(&sa, &ids[1], "bo"), Some(2));
    // The same leaderboard (sums may differ in the last bit: the rows arrived in another order).
    let board = |s: &Store| -> Vec<(u64, u64, String, u64)> {
        let q = chipbench_core::store::StatsQuery { include_demo: true, ..chipbench_core::store::StatsQuery::by(chipbench_core::store::GroupBy::Model) };
        s.stats(&q).unwrap().stats.iter().map(|r| (r.result_count, r.rated_count, format!("{:.9?}", r.avg_rating), r.agreement_units)).collect()
    };
    assert_eq!(board(&sa), board(&sb), "the leaderboards agree");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_killed_during_a_large_push_resumes_and_the_remote_has_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    let db = dir.path().join("a.db");
    let inserted = chipbench_e2e::fixtures::fill(&Store::open(&db).unwrap(), 21);
    assert_eq!(inserted, 50_400);

    let mut child = command(&db, &["sync"]).env("TURSO_DATABASE_URL", turso.url()).spawn().unwrap();
    // Kill it once part of the push has landed (the first batch creates the schema and commits).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let landed = turso.remote().execute(libsql_hrana_stmt("SELECT count(*) FROM results")).await.ok().map(|r| r.rows[0].values[0].clone());
        if matches!(landed, Some(libsql_hrana::proto::Value::Integer { value }) if value > 0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no result reached the remote");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.start_kill().unwrap(); // SIGKILL
    assert!(!child.wait().await.unwrap().success());
    let partial = turso.count("SELECT count(*) FROM results").await;
    assert!(partial < 50_400, "killed mid-push: {partial} of 50,400 had landed");

    let again = sync_cli(&db, &turso).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(turso.count("SELECT count(*) FROM results").await, 50_400, "every result exactly once");
    assert_eq!(turso.count("SELECT count(DISTINCT id) FROM results").await, 50_400);
    assert_eq!(Store::open(&db).unwrap().sync_pending_count().unwrap(), 0, "the outbox is empty");
}

#[tokio::test(flavor = "multi_thread")]
async fn three_clients_with_interleaved_syncs_and_concurrent_writes_converge() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    let paths: Vec<_> = (0..3).map(|i| dir.path().join(format!("c{i}.db"))).collect();
    let stores: Vec<Store> = paths.iter().map(|p| Store::open(p).unwrap()).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let users = ["ana", "bo", "cy"];
    let mut next_chip_count = 1;
    for round in 0..300 {
        let c = rng.random_range(0..3);
        let store = &stores[c];
        match rng.random_range(0..10) {
            // a new run with a few results, on one client
            0 => {
                let run = store
                    .create_run(&chipbench_core::store::NewRun { config: serde_json::json!({}), provider: "openai".into(), is_demo: false, total_tests: 3 })
                    .unwrap();
                let results: Vec<_> = (0..3)
                    .map(|_| {
                        next_chip_count += 1;
                        chipbench_core::testing::sample_result(["m1", "m2"][rng.random_range(0..2)], "p", next_chip_count, rng.random_range(0.0..0.01))
                    })
                    .collect();
                store.insert_results(&run.summary.id, &results).unwrap();
            }
            // a price change
            1 => store
                .upsert_model(&chipbench_core::store::Model { id: "m1".into(), name: format!("round {round}"), input_price: rng.random_range(0.0..2.0), output_price: 1.0 })
                .unwrap(),
            // a sync
            2..=4 => {
                sync::sync(store, &turso.remote(), sync::SyncOptions::default()).await.unwrap();
            }
            // rate or undo a result this client knows
            _ => {
                let ids = result_ids(store);
                if ids.is_empty() {
                    continue;
                }
                let id = &ids[rng.random_range(0..ids.len())];
                let user = users[rng.random_range(0..3)];
                if rng.random_bool(0.2) {
                    store.unrate(TARGET_RESULT, id, user).unwrap();
                } else {
                    store.rate(TARGET_RESULT, id, user, rng.random_range(1..=5)).unwrap();
                }
            }
        }
    }
    for _ in 0..2 {
        for store in &stores {
            sync::sync(store, &turso.remote(), sync::SyncOptions::default()).await.unwrap();
        }
    }
    assert_same(&paths[0], &paths[1], "clients 0 and 1");
    assert_same(&paths[1], &paths[2], "clients 1 and 2");
    assert!(dump(&paths[0]).iter().find(|(t, _)| t == "ratings").unwrap().1.len() > 50, "the rounds rated enough to matter");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_with_sync_pushes_its_run_and_a_failed_sync_is_reported() {
    let setup = crate::support::Setup::new().await;
    let Some(mut turso) = Turso::start(setup.dir.path()).await else { return };
    let args = ["--batch", "--model", "openai/gpt-5-mini", "--persona", "tech_pm", "--provider", "openai", "--base-url", &setup.url, "--json", "--sync"];
    let run: crate::support::Run = command(&setup.db, &args).env("TURSO_DATABASE_URL", turso.url()).output().await.unwrap().into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["stored"], 24, "stdout stays one JSON summary");
    assert!(run.stderr.contains("synced: created the shared schema; pushed"), "{}", run.stderr);
    assert_eq!(turso.count("SELECT count(*) FROM results").await, 24);
    assert_eq!(turso.count("SELECT count(*) FROM runs").await, 1, "a real provider's run is not a demo run: it syncs");
    assert_eq!(turso.count("SELECT count(*) FROM spans WHERE response IS NOT NULL").await, 48, "with their prompts and responses");

    turso.stop().await;
    let run: crate::support::Run = command(&setup.db, &args).env("TURSO_DATABASE_URL", turso.url()).output().await.unwrap().into();
    assert_eq!(run.code, 1, "a failed sync turns success into 1: {}", run.stderr);
    assert!(run.stderr.contains("sync after the batch failed: the sync server is unreachable"), "{}", run.stderr);
    let status = Store::open(&setup.db).unwrap().sync_status().unwrap();
    assert!(status.last_error.as_deref().unwrap_or_default().contains("unreachable"), "{status:?}");
    assert_eq!(status.pending, 25 + 48, "the second run, its 24 results and their 48 calls' spans wait for the next sync");
    assert!(status.last_success_at.is_some() && status.last_pushed > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_row_the_server_refuses_is_quarantined_and_the_rest_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    // A shared database whose models table refuses prices of 100 or more.
    let ddl = "CREATE TABLE models (id TEXT PRIMARY KEY, name, input_price, output_price, updated_at, deleted_at,
               pushed_by TEXT NOT NULL, rev INTEGER NOT NULL, CHECK (CAST(input_price AS REAL) < 100))";
    turso.remote().execute(libsql_hrana_stmt(ddl)).await.unwrap();
    let db = dir.path().join("a.db");
    let store = Store::open(&db).unwrap();
    store.upsert_model(&chipbench_core::store::Model { id: "x/pricey".into(), name: "Pricey".into(), input_price: 150.0, output_price: 1.0 }).unwrap();
    store.upsert_model(&chipbench_core::store::Model { id: "x/fine".into(), name: "Fine".into(), input_price: 1.0, output_price: 1.0 }).unwrap();

    let run = sync_cli(&db, &turso).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("1 row(s) refused by the server and kept local"), "{}", run.stdout);
    assert_eq!(turso.count("SELECT count(*) FROM models WHERE id = 'x/fine'").await, 1, "the rows behind the refused one synced");
    assert_eq!(turso.count("SELECT count(*) FROM models WHERE id = 'x/pricey'").await, 0);
    let status = store.sync_status().unwrap();
    assert_eq!((status.quarantined, status.pending), (1, 0));
    let again = sync_cli(&db, &turso).await;
    assert!(again.stdout.contains("pushed 0 row(s)"), "a quarantined row is not retried: {}", again.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seed_era_database_is_adopted_without_losing_or_duplicating_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    // Seed 000's schema and some of its rows: random ids, ratings keyed by result_id.
    let seed = [
        "CREATE TABLE runs (id TEXT PRIMARY KEY, started_at TEXT NOT NULL, completed_at TEXT, status TEXT DEFAULT 'running', config TEXT)",
        "CREATE TABLE results (id TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id), model TEXT NOT NULL, persona_id TEXT NOT NULL,
            sector TEXT NOT NULL, desired_role TEXT NOT NULL, style TEXT NOT NULL, input_type TEXT NOT NULL, constraint_type TEXT NOT NULL,
            chip_count INTEGER NOT NULL, final_chips TEXT NOT NULL, step1_chips TEXT, selected_chips TEXT, fill_chips TEXT, errors TEXT,
            latency_ms INTEGER, input_tokens INTEGER, output_tokens INTEGER, cost_usd REAL, created_at TEXT NOT NULL)",
        "CREATE TABLE ratings (id TEXT PRIMARY KEY, result_id TEXT NOT NULL REFERENCES results(id), user_id TEXT NOT NULL,
            rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5), created_at TEXT NOT NULL, UNIQUE(result_id, user_id))",
        "INSERT INTO runs VALUES ('abc-123', '2025-06-01T10:00:00Z', '2025-06-01T10:05:00Z', 'completed', '{\"provider\": \"openrouter\"}')",
        "INSERT INTO results VALUES ('def-456', 'abc-123', 'anthropic/claude-haiku-4.5', 'tech_pm', 'Software', 'Product Manager', 'terse', 'basic',
            'no_constraint', 2, '[{\"text\": \"burn rate\", \"type\": \"jargon\"}, {\"text\": \"roadmap review\", \"type\": \"situation\"}]',
            NULL, NULL, NULL, NULL, 1200, 300, 80, 0.0012, '2025-06-01T10:01:00Z')",
        "INSERT INTO results VALUES ('def-789', 'abc-123', 'openai/gpt-5-mini', 'tech_pm', 'Software', 'Product Manager', 'guided', 'basic',
            'with_constraint', 1, '[{\"text\": \"sprint planning\", \"type\": \"situation\"}]',
            NULL, NULL, NULL, '[\"shortfall: 1 of 2\"]', 900, 200, 40, 0.0003, '2025-06-01T10:02:00Z')",
        "INSERT INTO ratings VALUES ('r-1', 'def-456', 'user_123', 4, '2025-06-02T09:00:00Z')",
        "INSERT INTO ratings VALUES ('r-2', 'def-456', 'user_456', 2, '2025-06-02T09:30:00Z')",
    ];
    for sql in seed {
        turso.remote().execute(libsql_hrana_stmt(sql)).await.unwrap();
    }
    let db = dir.path().join("a.db");
    let run = sync_cli(&db, &turso).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("adopted the seed-era database (1 runs, 2 results, 2 ratings kept)"), "{}", run.stdout);
    let remote_counts = "SELECT (SELECT count(*) FROM runs) * 100 + (SELECT count(*) FROM results) * 10 + (SELECT count(*) FROM ratings)";
    assert_eq!(turso.count(remote_counts).await, 122, "nothing lost or duplicated on the server");

    let store = Store::open(&db).unwrap();
    let adopted = store.result("def-789", Some("user_123")).unwrap();
    assert_eq!((adopted.summary.error_count, adopted.outputs.errors.len()), (1, 1), "what the seed lacked is derived");
    let rated = store.result("def-456", Some("user_123")).unwrap();
    assert_eq!((rated.summary.my_rating, rated.summary.rating_count), (Some(4), 2), "the seed's ratings count here");

    // The same person rating the same result from Chipbench updates the adopted rating.
    store.rate(TARGET_RESULT, "def-456", "user_123", 5).unwrap();
    assert_eq!(sync_cli(&db, &turso).await.code, 0);
    assert_eq!(turso.count(remote_counts).await, 122, "updated, not duplicated");
    assert_eq!(turso.count("SELECT rating FROM ratings WHERE target_id = 'def-456' AND user_id = 'user_123'").await, 5);
    let second = dir.path().join("b.db");
    assert_eq!(sync_cli(&second, &turso).await.code, 0);
    assert_same(&db, &second, "a second client after adoption");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_is_reported_as_an_authentication_error() {
    // A server that checks tokens and refuses this one (tursodb does not check any).
    let app = axum::Router::new().route("/v2/pipeline", axum::routing::post(|| async { (axum::http::StatusCode::UNAUTHORIZED, "invalid token") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let run: crate::support::Run =
        command(&db, &["sync"]).env("TURSO_DATABASE_URL", &url).env("TURSO_AUTH_TOKEN", "wrong-token-123").output().await.unwrap().into();
    assert_eq!(run.code, 2, "a configuration error: {}", run.stderr);
    assert!(run.stderr.contains("refused the credentials (HTTP 401): check TURSO_AUTH_TOKEN"), "{}", run.stderr);
    assert!(!run.stderr.contains("wrong-token-123"), "the token is never printed");
    let status = Store::open(&db).unwrap().sync_status().unwrap();
    assert!(status.last_error.unwrap().contains("HTTP 401"));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_clients_creating_the_schema_at_once_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    let (a, b) = (Store::open(&dir.path().join("a.db")).unwrap(), Store::open(&dir.path().join("b.db")).unwrap());
    let (ra, rb) = (turso.remote(), turso.remote());
    let (x, y) = tokio::join!(sync::sync(&a, &ra, DEMO), sync::sync(&b, &rb, DEMO));
    let (x, y) = (x.unwrap(), y.unwrap());
    assert!(x.created_schema || y.created_schema);
    assert_eq!(turso.count("SELECT count(*) FROM chipbench_meta").await, 3, "one set of versions");
    for store in [&a, &b] {
        sync::sync(store, &turso.remote(), DEMO).await.unwrap();
    }
    assert_same(&dir.path().join("a.db"), &dir.path().join("b.db"), "after both created the schema");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_made_while_its_row_is_being_pushed_stays_queued() {
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    let db = dir.path().join("a.db");
    let store = Store::open(&db).unwrap();
    chipbench_e2e::fixtures::fill(&store, 8); // 19,200 results: a sync of several batches
    let target = result_ids(&store)[0].clone();
    store.rate(TARGET_RESULT, &target, "ana", 2).unwrap();
    let (s, remote) = (store.clone(), turso.remote());
    let syncing = tokio::spawn(async move { sync::sync(&s, &remote, DEMO).await });
    // Once the first batch (which carries the rating) has landed, change the rating.
    loop {
        if turso.remote().execute(libsql_hrana_stmt("SELECT count(*) FROM ratings")).await.ok().is_some_and(|r| {
            matches!(r.rows[0].values[0], libsql_hrana::proto::Value::Integer { value } if value > 0)
        }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    store.rate(TARGET_RESULT, &target, "ana", 5).unwrap();
    syncing.await.unwrap().unwrap();
    sync::sync(&store, &turso.remote(), DEMO).await.unwrap();
    assert_eq!(turso.count(&format!("SELECT rating FROM ratings WHERE target_id = '{target}'")).await, 5, "the later change reached the remote");
    assert_eq!(store.sync_pending_count().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clock_ten_minutes_off_stops_the_push_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    let faketime = std::process::Command::new("faketime").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !chipbench_e2e::available("faketime (libfaketime)", faketime) {
        return;
    }
    let db = dir.path().join("a.db");
    let store = Store::open(&db).unwrap();
    store.upsert_model(&chipbench_core::store::Model { id: "x/clock".into(), name: "c".into(), input_price: 1.0, output_price: 1.0 }).unwrap();
    drop(store);
    let bin = chipbench_e2e::chipbench_bin();
    let mut cmd = command(&db, &[]);
    let std_cmd = cmd.as_std_mut();
    let args: Vec<std::ffi::OsString> = std_cmd.get_args().map(|a| a.to_owned()).collect();
    let run: crate::support::Run = tokio::process::Command::new("faketime")
        .arg("-f")
        .arg("+10m")
        .arg(bin)
        .args(args)
        .arg("sync")
        .envs(std_cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))))
        .env("TURSO_DATABASE_URL", turso.url())
        .output()
        .await
        .unwrap()
        .into();
    assert_eq!(run.code, 2, "{}", run.stderr);
    let secs: i64 = run.stderr.split("this computer's clock is ").nth(1).and_then(|r| r.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{}", run.stderr));
    assert!((590..=610).contains(&secs) && run.stderr.contains("s off the sync server's"), "{}", run.stderr);
    assert_eq!(turso.count("SELECT count(*) FROM models").await, 0, "nothing was pushed");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_remote_schema_is_migrated_forward() {
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    let remote = turso.remote();
    for sql in [
        "CREATE TABLE chipbench_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        "INSERT INTO chipbench_meta VALUES ('schema_version', 0), ('min_compatible', 0), ('rev', 41)",
    ] {
        remote.execute(libsql_hrana_stmt(sql)).await.unwrap();
    }
    let store = Store::open(&dir.path().join("a.db")).unwrap();
    sync::sync(&store, &remote, DEMO).await.unwrap();
    assert_eq!(turso.count("SELECT value FROM chipbench_meta WHERE key = 'schema_version'").await, sync::REMOTE_SCHEMA_VERSION);
    assert!(turso.count("SELECT value FROM chipbench_meta WHERE key = 'rev'").await > 41, "the revision counter continues");
    assert!(turso.count("SELECT count(*) FROM models").await > 0, "the tables exist and took the push");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_run_and_a_removed_model_sync_as_tombstones_and_an_undo_syncs_back() {
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    assert!(chipbench(&a, &["--batch", "--model", "openai/gpt-5-mini", "--persona", "teacher"]).await.code <= 1);
    let (sa, sb) = (Store::open(&a).unwrap(), Store::open(&b).unwrap());
    sync::sync(&sa, &turso.remote(), DEMO).await.unwrap();
    sync::sync(&sb, &turso.remote(), DEMO).await.unwrap();
    assert_eq!(sb.runs().unwrap().len(), 1);
    let calls = |s: &Store| s.analytics(chipbench_core::analytics::DayRange::all(), None).unwrap().total.calls;
    let b_calls = calls(&sb);
    assert!(b_calls >= 24, "B counts the pulled run's calls: {b_calls}");
    let run = sa.runs().unwrap()[0].id.clone();
    let gone = sa.delete_runs(&chipbench_core::store::RunSelection { run_id: Some(run), ..Default::default() }).unwrap();
    assert_eq!(gone.taken.results, 24);
    sa.delete_model("mistralai/mistral-nemo").unwrap();
    sync::sync(&sa, &turso.remote(), DEMO).await.unwrap();
    sync::sync(&sb, &turso.remote(), DEMO).await.unwrap();
    assert!(sb.runs().unwrap().is_empty(), "the deletion reached B");
    assert!(sb.price_table().unwrap().get("mistralai/mistral-nemo").is_none(), "so did the model's removal");
    assert_eq!(sb.results(&chipbench_core::store::ResultFilter::default()).unwrap().total, 0);
    assert_eq!(calls(&sb), 0, "its calls left B's analytics");
    assert_same(&a, &b, "both hold the same tombstone");

    // A's undo is newer than the tombstone: it wins on B too, and B counts the run again.
    assert_eq!(sa.restore_runs(&gone.run_ids).unwrap(), 1);
    sync::sync(&sa, &turso.remote(), DEMO).await.unwrap();
    sync::sync(&sb, &turso.remote(), DEMO).await.unwrap();
    assert_eq!(sb.runs().unwrap().len(), 1, "the undo reached B");
    assert_eq!(sb.results(&chipbench_core::store::ResultFilter::default()).unwrap().total, 24);
    assert_eq!(calls(&sb), b_calls, "with its calls");
    assert_same(&a, &b, "both hold the restored run");
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_can_sync_without_their_prompts_and_responses() {
    let setup = crate::support::Setup::new().await;
    let Some(turso) = Turso::start(setup.dir.path()).await else { return };
    let config = setup.db.with_extension("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("settings.json"), r#"{"sync_without_span_payloads": true}"#).unwrap();
    let args = ["--batch", "--model", "openai/gpt-5-mini", "--persona", "tech_pm", "--provider", "openai", "--base-url", &setup.url, "--sync"];
    let run: crate::support::Run = command(&setup.db, &args).env("TURSO_DATABASE_URL", turso.url()).output().await.unwrap().into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(turso.count("SELECT count(*) FROM spans").await, 48);
    assert_eq!(turso.count("SELECT count(*) FROM spans WHERE messages IS NULL AND response IS NULL AND params IS NULL").await, 48, "no payload left the machine");
    assert_eq!(turso.count("SELECT count(*) FROM spans WHERE model IS NOT NULL AND input_tokens = 200 AND status = 'ok'").await, 48, "the figures did");
    let local = crate::support::query_i64(&setup.db, "SELECT count(*) FROM spans WHERE response IS NOT NULL");
    assert_eq!(local, 48, "the local copy keeps everything");

    let other = setup.dir.path().join("other.db");
    let pulled = sync_cli(&other, &turso).await;
    assert_eq!(pulled.code, 0, "{}", pulled.stderr);
    let store = Store::open(&other).unwrap();
    let traces = store.traces(&Default::default()).unwrap();
    assert_eq!(traces.len(), 24);
    let t = store.trace(&traces[0].id, None).unwrap();
    assert!(t.spans.iter().all(|s| s.messages.is_none() && s.response.is_none() && s.input_tokens == 200), "a trace of figures");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grid_run_its_dataset_and_peoples_grades_reach_the_other_machine() {
    use chipbench_core::{dataset::Format, grid};
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let (sa, sb) = (Store::open(&a).unwrap(), Store::open(&b).unwrap());
    let csv = "question,expected\nWhat limits throughput?,throughput\nName a KPI,revenue\nWhy audits?,audits\n";
    let dataset = sa.import_dataset("questions", "q.csv", Format::Csv, csv.as_bytes()).unwrap();
    let prompt = sa.save_prompt("qa", "Answer briefly: {{question}}").unwrap();
    let judge = sa.save_prompt("judge", "Q: {{question}}\nA: {{output}}\nPass?").unwrap();
    let req = grid::GridRequest {
        prompt_id: prompt.prompt.id,
        dataset_id: dataset.id.clone(),
        models: vec!["openai/gpt-5-mini".into(), "mistralai/mistral-nemo".into()],
        graders: grid::Graders {
            rule: Some(grid::RuleGrader { rule: "contains".into(), expected: Some("expected".into()) }),
            judge: Some(grid::JudgeGrader { prompt_id: judge.prompt.id, model: "openai/gpt-5-mini".into() }),
        },
        ..Default::default()
    };
    let instant: std::collections::HashMap<&'static str, &'static str> = [("CHIPBENCH_MOCK_LATENCY_SCALE", "0")].into();
    let grid::Prepared { run, runner } = grid::prepare(&sa, &req, &instant).unwrap();
    runner.execute(&run, Default::default(), |_| {}).await.unwrap();
    let cells = sa.grid_cells(&run.id, "ana", ..).unwrap();
    sa.grade_cell(&cells[0].id, "ana", Some(true)).unwrap();

    // A mock grid is a demo run: a plain sync shares the dataset but not the run.
    sync::sync(&sa, &turso.remote(), sync::SyncOptions::default()).await.unwrap();
    assert_eq!(turso.count("SELECT (SELECT count(*) FROM datasets) * 1000 + (SELECT count(*) FROM dataset_rows)").await, 1003);
    assert_eq!(turso.count("SELECT count(*) FROM grid_runs").await, 0, "demo grid runs stay local unless asked for");
    sa.sync_include_demo(true).unwrap(); // queues what the plain sync passed over
    sync::sync(&sa, &turso.remote(), DEMO).await.unwrap();
    sync::sync(&sb, &turso.remote(), DEMO).await.unwrap();
    assert_same(&a, &b, "B holds A's dataset, grid run, cells, events and grades");
    let page = grid::page(&sb, &run.id, "ana", 0, 10).unwrap();
    assert_eq!((page.rows.len(), page.rows[2].values[0].as_str(), page.rows[0].cells[0].my_grade), (3, "Why audits?", Some(true)));
    assert_eq!(sb.trace(&cells[0].id, None).unwrap().spans.len(), 2, "the cell's answer and judgement came along");
    assert_eq!(sb.cell_events(&cells[0].id).unwrap().len(), 5);

    // Offline, Bo grades on B and Ana grades another cell on A; after syncing both agree.
    sb.grade_cell(&cells[0].id, "bo", Some(false)).unwrap();
    sa.grade_cell(&cells[1].id, "ana", Some(false)).unwrap();
    sync::sync(&sb, &turso.remote(), DEMO).await.unwrap();
    sync::sync(&sa, &turso.remote(), DEMO).await.unwrap();
    sync::sync(&sb, &turso.remote(), DEMO).await.unwrap();
    assert_same(&a, &b, "after grades on both machines");
    let pairs = |s: &Store| s.grader_agreement(&run.id).unwrap()[0].agreement.unwrap().pairs;
    assert_eq!((pairs(&sa), pairs(&sb)), (3, 3), "every person's grade counts on both machines");
}

/// A proxy in front of `target` that counts the requests it forwards.
async fn counting_proxy(target: String) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::{atomic::{AtomicUsize, Ordering}, Arc};
    let count = Arc::new(AtomicUsize::new(0));
    let (seen, http) = (count.clone(), reqwest::Client::new());
    let forward = move |body: axum::body::Bytes| async move {
        seen.fetch_add(1, Ordering::SeqCst);
        let resp = http.post(format!("{target}/v2/pipeline")).header("content-type", "application/json").body(body).send().await.unwrap();
        (axum::http::StatusCode::from_u16(resp.status().as_u16()).unwrap(), resp.bytes().await.unwrap())
    };
    let app = axum::Router::new().route("/v2/pipeline", axum::routing::post(forward));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, count)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_of_several_pages_is_complete_and_a_sync_with_nothing_to_do_asks_the_server_twice() {
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    let (a, b) = (Store::open(&dir.path().join("a.db")).unwrap(), Store::open(&dir.path().join("b.db")).unwrap());
    let rows = chipbench_e2e::fixtures::fill(&a, 1);
    assert!(rows > 2_000, "more than one pull page: {rows}");
    sync::sync(&a, &turso.remote(), DEMO).await.unwrap();

    let (url, requests) = counting_proxy(turso.url()).await;
    let via_proxy = Remote::new(&url, None).unwrap();
    let report = sync::sync(&b, &via_proxy, DEMO).await.unwrap();
    assert_eq!(result_ids(&b), result_ids(&a), "every page of results arrived");
    assert!(report.pulled as usize > rows, "the results and their run: {}", report.pulled);
    requests.store(0, std::sync::atomic::Ordering::SeqCst);
    let idle = sync::sync(&b, &via_proxy, DEMO).await.unwrap();
    assert_eq!((idle.pushed, idle.pulled), (0, 0));
    // The versions and the clock in one request, the first page of every table in another.
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 2, "round trips of a sync with nothing to do");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rating_pulled_before_what_it_rates_counts_in_the_daily_ratings() {
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    let (a, b) = (Store::open(&dir.path().join("a.db")).unwrap(), Store::open(&dir.path().join("b.db")).unwrap());
    chipbench_e2e::fixtures::fill_spans(&a, 4);
    a.rate(chipbench_core::store::TARGET_SPAN, "span-1", "ana", 4).unwrap();
    a.rate(chipbench_core::store::TARGET_SPAN, "span-2", "ana", 1).unwrap();
    sync::sync(&a, &turso.remote(), DEMO).await.unwrap();
    // Ratings are pulled before spans: B stores both ratings before the spans they rate.
    sync::sync(&b, &turso.remote(), DEMO).await.unwrap();
    let rated = |s: &Store| {
        let t = s.analytics(chipbench_core::analytics::DayRange::all(), Some("test")).unwrap().total;
        (t.ratings, t.mean_rating)
    };
    assert_eq!(rated(&a), (2, Some(2.5)));
    assert_eq!(rated(&b), rated(&a), "B counts the ratings once their spans arrive");
    b.rebuild_analytics().unwrap();
    assert_eq!(rated(&b), (2, Some(2.5)), "and a rebuild agrees: counted once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_trace_syncs_as_a_tombstone_and_an_undo_on_the_other_machine_syncs_back() {
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let (sa, sb) = (Store::open(&a).unwrap(), Store::open(&b).unwrap());
    let file = r#"{"span_id":"s1","trace_id":"t1","span_type":"llm_call","name":"chat","start_time":1739800000,"attributes":{"llm.model":"gpt-4o","llm.prompt":"one"}}
{"span_id":"s2","trace_id":"t2","span_type":"llm_call","name":"chat","start_time":1739800001,"attributes":{"llm.model":"gpt-4o","llm.prompt":"two"}}"#;
    sa.import_spans(&chipbench_core::trace::import::parse("f.jsonl", file).unwrap()).unwrap();
    sync::sync(&sa, &turso.remote(), DEMO).await.unwrap();
    sync::sync(&sb, &turso.remote(), DEMO).await.unwrap();
    let listed = |s: &Store| s.traces(&Default::default()).unwrap().into_iter().map(|t| t.id).collect::<Vec<_>>();
    let calls = |s: &Store| s.analytics(chipbench_core::analytics::DayRange::all(), None).unwrap().total.calls;
    assert_eq!((listed(&sb).len(), calls(&sb)), (2, 2));

    let gone = listed(&sa)[0].clone();
    assert_eq!(sa.delete_traces(std::slice::from_ref(&gone)).unwrap().calls, 1);
    sync::sync(&sa, &turso.remote(), DEMO).await.unwrap();
    sync::sync(&sb, &turso.remote(), DEMO).await.unwrap();
    assert!(!listed(&sb).contains(&gone), "the deletion reached B");
    assert!(sb.trace(&gone, None).is_err());
    assert_eq!(calls(&sb), 1, "its call left B's analytics");
    assert_same(&a, &b, "both hold the same tombstone");

    // B's undo is newer than A's tombstone: it wins on A too.
    assert_eq!(sb.restore_traces(std::slice::from_ref(&gone)).unwrap(), 1);
    sync::sync(&sb, &turso.remote(), DEMO).await.unwrap();
    sync::sync(&sa, &turso.remote(), DEMO).await.unwrap();
    assert_eq!((listed(&sa).len(), calls(&sa)), (2, 2), "the undo reached A, with its call");
    assert_same(&a, &b, "both hold the restored trace");
}
