//! Running the binary and reading its database.

use std::{path::Path, process::Output};

use chipbench_e2e::{chipbench_bin, FakeProvider};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts a usage or configuration error (exit 2) whose message contains `message`.
    pub fn refused(&self, message: &str) {
        assert_eq!(self.code, 2, "stderr: {}", self.stderr);
        assert!(self.stderr.contains(message), "{}", self.stderr);
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run { code: o.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&o.stdout).into(), stderr: String::from_utf8_lossy(&o.stderr).into() }
    }
}

/// A `chipbench` command with a clean environment (no keys, no CI log noise) and this database.
pub fn command(db: &Path, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(chipbench_bin());
    cmd.arg("--db").arg(db).args(args);
    // Never the user's own settings or stored keys.
    cmd.env("CHIPBENCH_CONFIG_DIR", db.with_extension("config"));
    // No DISPLAY: headless runs must never need GTK.
    for var in [
        "OPENROUTER_API_KEY",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "TURSO_DATABASE_URL",
        "TURSO_AUTH_TOKEN",
        "CHIPBENCH_DB",
        "CHIPBENCH_MOCK_FAULT_RATE",
        "DISPLAY",
        "WAYLAND_DISPLAY",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("CHIPBENCH_MOCK_LATENCY_SCALE", "0").env("RUST_LOG", "error").kill_on_drop(true);
    cmd
}

pub async fn chipbench(db: &Path, args: &[&str]) -> Run {
    command(db, args).output().await.expect("run chipbench").into()
}

/// A 24-test mock batch (openai/gpt-5-mini, the teacher persona) stored in `db` by the CLI.
pub async fn mock_batch(db: &Path) {
    let batch = chipbench(db, &["--batch", "--model", "openai/gpt-5-mini", "--persona", "teacher"]).await;
    assert!(batch.code <= 1, "{}", batch.stderr);
}

pub fn query_i64(db: &Path, sql: &str) -> i64 {
    query_one(db, sql)
}

/// The first column of the first row `sql` returns.
pub fn query_one<T: rusqlite::types::FromSql>(db: &Path, sql: &str) -> T {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

pub fn rows(db: &Path, sql: &str) -> Vec<(String, String)> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let mut stmt = c.prepare(sql).unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

/// A fake provider and a fresh database path, for one test.
pub struct Setup {
    pub fake: FakeProvider,
    pub url: String,
    pub db: std::path::PathBuf,
    /// Deleted when dropped: bind it (`dir: _dir`) for the whole test, never with `..`.
    pub dir: tempfile::TempDir,
}

impl Setup {
    pub async fn new() -> Setup {
        let fake = FakeProvider::start().await;
        let dir = tempfile::tempdir().unwrap();
        Setup { url: fake.base_url(), db: dir.path().join("c.db"), fake, dir }
    }
}

