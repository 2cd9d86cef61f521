//! The local SQLite database. [`Store::open`] sets pragmas, refuses a file it cannot read or whose
//! schema is newer than this build, applies the embedded refinery migrations (`migrations/`) and
//! seeds the built-in prompts. One writer connection (every write is `BEGIN IMMEDIATE`, so the GUI
//! and a `--batch` process never deadlock on a lock upgrade) and a pool of readers that run in
//! parallel under WAL. One submodule per table family holds its queries.

/// The traces a user deleted (V11): tombstones that sync; their spans stay stored, left out of
/// every read and aggregate.
macro_rules! deleted_traces {
    () => {
        "SELECT id FROM trace_deletions WHERE deleted_at IS NOT NULL"
    };
}

mod analytics;
mod catalog;
mod data;
mod datasets;
mod grids;
mod langfuse;
mod ratings;
pub(crate) mod results;
mod runs;
mod stats;
mod sync;
pub(crate) mod traces;
pub mod writer;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use analytics::{Analytics, CallStats, GroupStats};
pub use ratings::{Rating, RatingFilter, TARGET_RESULT, TARGET_SPAN};
pub use catalog::{Model, PromptVersion};
pub use data::{DatabaseStats, Deleted, DeletionPlan, RunSelection, TraceDeletion};
pub use datasets::DatasetSummary;
pub use langfuse::{AgentStats, AgentTrace, LangfuseImport, Turn};
pub use grids::{CellEvent, CellUpdate, GraderAgreement, GridCell, ModelSummary, PassCount};
pub use results::{Metrics, NewResult, Outputs, ResultDetail, ResultFilter, ResultOrder, ResultPage, ResultSummary};
pub use runs::{stale_before, NewRun, RunDetail, RunStatus, RunSummary, HEARTBEAT_STALE_SECS};
pub use sync::{Pending, SyncStatus};
pub use traces::{ImportSummary, ReplayRef, SearchHit, SearchPage, SearchQuery, SnippetPart, TraceDetail, TraceFilter, TraceSummary, COUNT_CAP, INDEX_CHUNK};
pub use stats::{Facet, GroupBy, GroupKey, Leaderboard, StatsQuery, StatsRow};

mod embedded {
    refinery::embed_migrations!("../migrations");
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot use database {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("database {path} has schema version {found}, newer than this build of Chipbench supports ({supported}); upgrade Chipbench (nothing was changed)")]
    NewerSchema { path: String, found: i64, supported: i64 },
    #[error("{0}")]
    Invalid(String),
    #[error("{what} `{id}` not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migration(String),
}

impl crate::error::Coded for StoreError {
    fn code(&self) -> crate::ErrorCode {
        use crate::ErrorCode;
        match self {
            Self::Invalid(_) => ErrorCode::Validation,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::NewerSchema { .. } | Self::Unreadable { .. } => ErrorCode::Config,
            Self::Sqlite(_) | Self::Migration(_) => ErrorCode::Storage,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A cheap, clonable handle to one database file.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: Option<PathBuf>,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    installation_id: String,
    /// Bootstrap intervals by the exact histogram they were computed from (see `stats.rs`).
    intervals: Mutex<stats::IntervalCache>,
}

impl Drop for Inner {
    /// Readers close first, so the writer is the file's last connection: SQLite then checkpoints
    /// the WAL into the database file and removes it, which a read-only connection cannot do.
    fn drop(&mut self) {
        self.readers.get_mut().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// The newest migration this build knows.
pub fn schema_version() -> i64 {
    embedded::migrations::runner().get_migrations().iter().map(|m| i64::from(m.version())).max().unwrap_or(0)
}

impl Store {
    /// Opens (creating if missing) the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| unreadable(path, e))?;
        }
        let conn = Connection::open(path).map_err(|e| unreadable(path, e))?;
        Self::init(conn, Some(path.to_owned()))
    }

    /// A private in-memory database (tests, `--dry-run`): readers share the writer connection.
    pub fn open_in_memory() -> Result<Store> {
        Self::init(Connection::open_in_memory()?, None)
    }

    fn init(mut conn: Connection, path: Option<PathBuf>) -> Result<Store> {
        let label = path.as_deref().map_or(":memory:".into(), |p| p.display().to_string());
        configure(&conn).map_err(|e| StoreError::Unreadable { path: label.clone(), reason: e.to_string() })?;
        refuse_newer(&conn, &label)?;
        embedded::migrations::runner()
            .set_grouped(true)
            .run(&mut conn)
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        let installation_id = catalog::ensure_seeds(&mut conn)?;
        analytics::ensure_built(&mut conn)?;
        Ok(Store {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(conn),
                readers: Mutex::new(Vec::new()),
                installation_id,
                intervals: Mutex::default(),
            }),
        })
    }

    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Bytes on disk: the database file with its WAL and shared-memory files (0 in memory).
    pub fn disk_usage(&self) -> u64 {
        let Some(path) = self.path() else { return 0 };
        ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
            .map(|m| m.len())
            .sum()
    }

    /// This installation's id (created on first open, never synced).
    pub fn installation_id(&self) -> &str {
        &self.inner.installation_id
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction and commits; rolls back on error.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Moves everything in the WAL into the database file and empties the WAL; returns whether it
    /// could. The app does this when it exits: it ends without closing the store, which would do
    /// it (see `Drop for Inner`). It never waits: while another process writes, or reads an older
    /// snapshot, the WAL stays as it is (nothing is lost; the last connection to close moves it).
    pub fn checkpoint(&self) -> Result<bool> {
        let conn = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.busy_timeout(std::time::Duration::ZERO)?;
        let busy = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0));
        conn.busy_timeout(WRITER_BUSY_TIMEOUT)?;
        Ok(busy? == 0)
    }

    /// Runs `f` on a reader connection (parallel with other readers and the writer under WAL).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let Some(path) = &self.inner.path else {
            return f(&self.inner.writer.lock().unwrap_or_else(|p| p.into_inner()));
        };
        let pooled = self.inner.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                c
            }
        };
        let out = f(&conn);
        self.inner.readers.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
        out
    }
}

fn unreadable(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Unreadable { path: path.display().to_string(), reason: e.to_string() }
}

/// How long a write waits for another process's write to end.
const WRITER_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(WRITER_BUSY_TIMEOUT)?;
    // A new database gets 8 KB pages: a span (1-2 KB) and a result fit more to a page, so a batch
    // writes fewer pages and WAL frames (span recording's CPU: about +19% -> +15%; inserts 4.3 s ->
    // 4.1 s). An existing file keeps its page size (changing it in WAL mode needs a VACUUM).
    conn.execute_batch("PRAGMA page_size = 8192;")?;
    // Reading a pragma is the first access to the file: a non-database fails here, before any write.
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    // 32 MB of page cache keeps the result indexes' hot pages in memory during a batch.
    // Checkpoint the WAL every 10,000 pages instead of SQLite's 1,000 (80 MB of 8 KB pages; it was
    // chosen at 4 KB, 40 MB): a batch's group commits then rarely wait for one (100,800 inserts:
    // 5.1 s -> 4.2 s); the size limit keeps the file from staying large.
    // Statement journals (what a statement that fires triggers, or changes many rows after an
    // earlier change, keeps to undo itself alone) stay in memory: SQLite moves one past 64 KB to a
    // temporary file it writes and deletes in every transaction (100,800 result inserts 6.2-8.4 s
    // -> 3.5-4.6 s, `scripts/bench.sh store`). A journal is as large as what its statement
    // changes; the largest (indexing spans, deleting a run) are a few megabytes. In memory SQLite
    // keeps them in 1 KB pieces, about 5% of a batch's instructions; a spill threshold raised at
    // build time keeps one piece, but only up to 128 KB works (a spilled journal is written in one
    // write, which SQLite's Unix layer cuts to 128 KB: "database or disk is full"), and at 128 KB
    // the inserts took 6.75 s.
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -32000;
         PRAGMA wal_autocheckpoint = 10000; PRAGMA journal_size_limit = 67108864; PRAGMA temp_store = MEMORY;",
    )?;
    Ok(())
}

/// Refuses a database migrated by a newer Chipbench: never migrate down, never overwrite.
fn refuse_newer(conn: &Connection, label: &str) -> Result<()> {
    let has_history: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'refinery_schema_history')",
        [],
        |r| r.get(0),
    )?;
    if !has_history {
        return Ok(());
    }
    let found: i64 = conn.query_row("SELECT coalesce(max(version), 0) FROM refinery_schema_history", [], |r| r.get(0))?;
    let supported = schema_version();
    if found > supported {
        return Err(StoreError::NewerSchema { path: label.to_owned(), found, supported });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        (dir, store)
    }

    /// Storing a rating journals about a dozen 8 KB pages for its triggers; that journal stays in
    /// memory (`temp_store = MEMORY`) rather than in a temporary file, which SQLite names
    /// `etilqs_*` and unlinks at once, so only /proc shows it, and only until the transaction
    /// ends: hence the rating stored by hand inside `write`, not `rate`.
    #[cfg(target_os = "linux")]
    #[test]
    fn statement_journals_stay_in_memory() {
        let (_d, store) = temp_store();
        let run = runs::tests::new_run(&store, false).summary.id;
        let results: Vec<_> = (0..200).map(|i| crate::testing::sample_result(&format!("m{}", i % 10), &format!("p{i}"), 15, 1.0)).collect();
        store.insert_results(&run, &results).unwrap();
        let spilled = store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO ratings (id, target_kind, target_id, user_id, rating, created_at, updated_at)
                     SELECT 'x', 'result', id, 'ana', 4, '2026-12-06T00:00:00Z', '2026-12-06T00:00:00Z' FROM results LIMIT 1",
                    [],
                )?;
                Ok(std::fs::read_dir("/proc/self/fd")
                    .unwrap()
                    .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                    .filter(|target| target.to_string_lossy().contains("etilqs_"))
                    .count())
            })
            .unwrap();
        assert_eq!(spilled, 0, "a statement journal went to a temporary file");
    }

    /// A statement that changes megabytes after an earlier change in its transaction (indexing
    /// 2,000 spans for search, deleting a large run) keeps a journal of megabytes to undo itself.
    /// SQLite once wrote such a journal to a temporary file in one write of up to 1 MB, which its
    /// Unix layer cuts to 128 KB and then failed as "database or disk is full".
    #[test]
    fn a_statement_that_changes_megabytes_is_written() {
        let (_d, store) = temp_store();
        let rows = "CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT NOT NULL CHECK (length(v) > 0));
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
                    INSERT INTO big (v) SELECT printf('%.2000c', 'x') FROM n;";
        store.write(|tx| Ok(tx.execute_batch(rows)?)).unwrap();
        let changed = store.write(|tx| {
            tx.execute("INSERT INTO big (v) VALUES ('first')", [])?; // the next statement may undo alone
            Ok(tx.execute("UPDATE big SET v = v || 'y'", [])?) // about 4 MB of pages to journal
        });
        assert_eq!(changed.unwrap(), 2001);
    }

    /// The last connection to close checkpoints the WAL into the database file and removes it, but
    /// only a connection that can write: readers close first. Otherwise a batch left all it stored
    /// in a WAL of tens of megabytes beside a database file of one page, and a copy of the `.db`
    /// file alone (a backup) held none of it.
    #[test]
    fn closing_the_store_leaves_everything_in_the_database_file() {
        let (dir, store) = temp_store();
        let run = runs::tests::new_run(&store, false).summary.id;
        let results: Vec<_> = (0..50).map(|i| crate::testing::sample_result("m", &format!("p{i}"), 15, 1.0)).collect();
        let wal = dir.path().join("t.db-wal");
        store.insert_results(&run, &results[..25]).unwrap();
        assert!(std::fs::metadata(&wal).unwrap().len() > 0, "the results are in the WAL");
        let reopened = Store::open(&dir.path().join("t.db")).unwrap();
        assert!(reopened.checkpoint().unwrap());
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0, "a checkpoint empties the WAL while the store is open");
        drop(reopened);
        // Written after the checkpoint, so only closing the store can move them into the file.
        store.insert_results(&run, &results[25..]).unwrap();
        assert_eq!(store.results(&ResultFilter { limit: 5, ..Default::default() }).unwrap().total, 50, "read through a reader");
        drop(store);
        assert!(std::fs::metadata(&wal).map_or(true, |m| m.len() == 0), "the WAL is left with {:?} bytes", std::fs::metadata(&wal).map(|m| m.len()));
        let copy = dir.path().join("copy.db");
        std::fs::copy(dir.path().join("t.db"), &copy).unwrap();
        let n: i64 = Connection::open(&copy).unwrap().query_row("SELECT count(*) FROM results", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 50);
    }

    /// The app checkpoints as it exits; another process in the middle of a read (or a write)
    /// must not hold the exit up for the writer's busy timeout.
    #[test]
    fn a_checkpoint_gives_way_at_once_to_another_processs_reader() {
        let (dir, store) = temp_store();
        let run = runs::tests::new_run(&store, false).summary.id;
        let other = Connection::open(dir.path().join("t.db")).unwrap();
        let reading = other.unchecked_transaction().unwrap();
        let _: i64 = reading.query_row("SELECT count(*) FROM runs", [], |r| r.get(0)).unwrap();
        store.insert_results(&run, &[crate::testing::sample_result("m", "p", 15, 1.0)]).unwrap();
        let started = std::time::Instant::now();
        assert!(!store.checkpoint().unwrap(), "an older snapshot is being read: the WAL cannot be emptied");
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "waited {:?}", started.elapsed());
        drop(reading);
        assert!(store.checkpoint().unwrap());
        assert_eq!(store.results(&ResultFilter { limit: 5, ..Default::default() }).unwrap().total, 1, "nothing lost");
    }

    #[test]
    fn open_migrates_and_seeds_once() {
        let (dir, store) = temp_store();
        let id = store.installation_id().to_owned();
        let models: i64 = store.read(|c| Ok(c.query_row("SELECT count(*) FROM models", [], |r| r.get(0))?)).unwrap();
        assert_eq!(models, 10, "the January 2026 price table is seeded");
        assert!(store.disk_usage() > 4096, "the file, its WAL and shm are counted");
        assert_eq!(Store::open_in_memory().unwrap().disk_usage(), 0);
        drop(store);
        let again = Store::open(&dir.path().join("t.db")).unwrap();
        assert_eq!(again.installation_id(), id, "the installation id is created once");
    }

    #[test]
    fn a_newer_schema_is_refused_and_left_untouched() {
        let (dir, store) = temp_store();
        store.write(|tx| Ok(tx.execute("INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (999, 'future', 'x', '0')", [])?)).unwrap();
        drop(store);
        let path = dir.path().join("t.db");
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(&path).err().expect("newer schema must be refused");
        assert!(matches!(err, StoreError::NewerSchema { found: 999, .. }), "{err}");
        assert!(err.to_string().contains("upgrade Chipbench"));
        assert_eq!(std::fs::read(&path).unwrap(), before, "a refused database is not modified");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.db");
        std::fs::write(&path, "these are my notes, not a database, and long enough to have a header").unwrap();
        let err = Store::open(&path).err().expect("must refuse");
        assert!(matches!(err, StoreError::Unreadable { .. }), "{err}");
        assert!(err.to_string().contains("notes.db"), "the message names the file: {err}");
        assert!(std::fs::read_to_string(&path).unwrap().starts_with("these are my notes"), "the file is not overwritten");
    }

    /// The window and a `--batch` process write the same file at once: BEGIN IMMEDIATE and the
    /// busy timeout serialise them; neither sees SQLITE_BUSY.
    #[test]
    fn two_processes_write_one_file_without_busy_errors() {
        let (dir, a) = temp_store();
        let b = Store::open(&dir.path().join("t.db")).unwrap();
        let writers: Vec<_> = [a.clone(), b]
            .into_iter()
            .enumerate()
            .map(|(w, store)| {
                std::thread::spawn(move || {
                    for i in 0..300 {
                        store.write(|tx| Ok(tx.execute("INSERT INTO meta (key, value) VALUES (?1, 'x')", [format!("w{w}-{i}")])?)).unwrap();
                        store.read(|c| Ok(c.query_row("SELECT count(*) FROM meta", [], |r| r.get::<_, i64>(0))?)).unwrap();
                    }
                })
            })
            .collect();
        writers.into_iter().for_each(|t| t.join().expect("no writer failed"));
        let n: i64 = a.read(|c| Ok(c.query_row("SELECT count(*) FROM meta WHERE key LIKE 'w%'", [], |r| r.get(0))?)).unwrap();
        assert_eq!(n, 600);
    }

    #[test]
    fn a_failed_write_rolls_back() {
        let (_dir, store) = temp_store();
        let err = store.write(|tx| {
            tx.execute("INSERT INTO meta (key, value) VALUES ('probe', 'x')", [])?;
            Err::<(), _>(StoreError::Invalid("boom".into()))
        });
        assert!(err.is_err());
        let n: i64 = store.read(|c| Ok(c.query_row("SELECT count(*) FROM meta WHERE key = 'probe'", [], |r| r.get(0))?)).unwrap();
        assert_eq!(n, 0, "nothing of a failed write is stored");
    }
}
