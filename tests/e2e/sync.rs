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

/// A tursodb sync server on a free port, stopped when dropped; restartable on the same file.
struct Turso {
    bin: String,
    file: std::path::PathBuf,
    port: u16,
    child: Option<tokio::process::Child>,
}

impl Turso {
    /// Starts a server, or None (skipped outside CI) when tursodb is missing.
    async fn start(dir: &Path) -> Option<Turso> {
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

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn remote(&self) -> Remote {
        Remote::new(&self.url(), None).unwrap()
    }

    /// One integer from the remote.
    async fn count(&self, sql: &str) -> i64 {
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

async fn sync_cli(db: &Path, turso: &Turso) -> crate::support::Run {
    command(db, &["sync"]).env("TURSO_DATABASE_URL", turso.url()).output().await.unwrap().into()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_client_receives_every_run_result_and_rating_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let Some(turso) = Turso::start(dir.path()).await else { return };
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let batch = chipbench(&a, &["--batch", "--model", "openai/gpt-5-mini", "--model", "mistralai/mistral-nemo", "--persona", "teacher"]).await;
    assert!(batch.code <= 1, "{}", batch.stderr);
    rate_some(&a, "ana@example.com", 10);

    let first = sync_cli(&a, &turso).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stdout.contains("created the shared schema") && first.stdout.contains("0 pending"), "{}", first.stdout);
    let second = sync_cli(&b, &turso).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_same(&a, &b, "B holds exactly A's rows, values and types included");
    assert_eq!(turso.count("SELECT count(*) FROM results").await, 48);

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
    sync::sync(&store, &turso.remote()).await.unwrap();
    let remote = turso.remote();
    remote.execute(libsql_hrana_stmt("UPDATE chipbench_meta SET value = 7 WHERE key IN ('schema_version', 'min_compatible')")).await.unwrap();

    let other = Store::open(&dir.path().join("b.db")).unwrap();
    add_a_model(&other);
    let pending = other.sync_pending_count().unwrap();
    let err = sync::sync(&other, &remote).await.unwrap_err();
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
    let syncing = tokio::spawn(async move { sync::sync(&store, &remote).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    turso.stop().await;
    let outcome = syncing.await.unwrap();
    assert!(matches!(outcome, Err(SyncError::Unreachable(_) | SyncError::Http { .. } | SyncError::Protocol(_))), "the sync reports the failure: {outcome:?}");
    assert!(dump(&a) == before, "nothing local was lost or changed");

    turso.restart().await;
    let store = Store::open(&a).unwrap();
    let report = sync::sync(&store, &turso.remote()).await.unwrap();
    assert_eq!(store.sync_pending_count().unwrap(), 0, "the next sync completes: {report:?}");
    assert_eq!(turso.count("SELECT count(*) FROM results").await, 8640, "every result exactly once");
    let b = dir.path().join("b.db");
    sync::sync(&Store::open(&b).unwrap(), &turso.remote()).await.unwrap();
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
