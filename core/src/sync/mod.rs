//! Sync with a shared Turso database: push local changes in transactional Hrana batches, then
//! pull what others pushed, by the remote's revision counter. The rules are in ARCHITECTURE.md
//! (Sync); `tables` holds the synced tables and their conflict rules, `remote` the Hrana client,
//! `store::sync` the local outbox and the applying of pulled rows.

mod adopt;
mod remote;
pub mod tables;

use libsql_hrana::proto::{Batch, Stmt};
use rusqlite::types::Value as Sql;
use serde::Serialize;

pub use adopt::Adopted;
pub use remote::Remote;
use remote::{from_hrana, stmt};
use tables::{Side, TABLES};

use crate::store::{Store, StoreError};

/// The remote schema this build writes. A remote whose minimum compatible version is above it is
/// left alone. 2 added spans, 3 the prompt lab (current prompt versions, renames, datasets and
/// their rows, grid runs, cells, cell events, people's grades); builds of earlier versions still
/// sync with it (they leave the new tables alone), so the minimum compatible version stays 1.
pub const REMOTE_SCHEMA_VERSION: i64 = 3;

/// Rows per push batch and per pull page (a push of 2,000 rows is well under the ~4 MB a request
/// should stay below).
const PUSH_ROWS: usize = 2000;
const PULL_ROWS: i64 = 2000;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Config(String),
    #[error("the sync server is unreachable: {0}")]
    Unreachable(String),
    #[error("the sync server answered HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("the sync server refused the credentials (HTTP {status}): check TURSO_AUTH_TOKEN")]
    Auth { status: u16 },
    #[error("the sync server refused a statement: {0}")]
    Remote(String),
    #[error("the sync server refused step {step} of a batch: {message}")]
    Refused { step: usize, message: String },
    #[error("unexpected answer from the sync server: {0}")]
    Protocol(String),
    #[error(
        "the shared database has schema version {remote} and needs at least version {needs} of Chipbench's sync; this build has {ours}: update Chipbench (nothing was written)"
    )]
    SchemaTooNew { remote: i64, needs: i64, ours: i64 },
    #[error("another sync of this database is running")]
    Busy,
    #[error(
        "this computer's clock is {secs} s off the sync server's: set it right before syncing (nothing was pushed), since edits are ordered by their time"
    )]
    ClockSkew { secs: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl crate::error::Coded for SyncError {
    fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode;
        match self {
            SyncError::Config(_) | SyncError::SchemaTooNew { .. } | SyncError::ClockSkew { .. } | SyncError::Auth { .. } => ErrorCode::Config,
            SyncError::Busy => ErrorCode::Conflict,
            SyncError::Store(e) => e.code(),
            _ => ErrorCode::Sync,
        }
    }
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncReport {
    /// The remote had no Chipbench schema and got one.
    pub created_schema: bool,
    pub pushed: u64,
    pub pulled: u64,
    /// Rows the remote refused in this sync, now kept out of pushes (see the status).
    pub quarantined: u64,
    /// The seed-era tables this sync adopted, if it found any.
    pub adopted: Option<Adopted>,
}

/// What a sync sends.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncOptions {
    /// Demo (mock) runs, their results and ratings are kept local unless the user asks.
    pub include_demo: bool,
    /// Spans' prompts and responses (their large part); without them spans sync their figures.
    pub span_payloads: bool,
}

impl SyncOptions {
    /// As the user's settings ask.
    pub fn from_settings(s: &crate::settings::Settings) -> SyncOptions {
        SyncOptions { include_demo: s.sync_demo_runs, span_payloads: !s.sync_without_span_payloads }
    }
}

/// One sync: the remote schema checked (created when missing), local changes pushed, remote
/// changes pulled. Stops at the first error; what was committed on either side stays committed and
/// the next sync continues from there.
pub async fn sync(store: &Store, remote: &Remote, options: SyncOptions) -> Result<SyncReport, SyncError> {
    let (versions, remote_secs) = remote_state(remote).await?;
    let (created_schema, adopted) = ensure_schema(remote, versions).await?;
    check_clock(chrono::Utc::now().timestamp(), remote_secs)?;
    let (pushed, quarantined) = push(store, remote, options).await?;
    let pulled = pull(store, remote).await?;
    Ok(SyncReport { created_schema, pushed, pulled, quarantined, adopted })
}

/// The shared database's URL (`TURSO_DATABASE_URL`, or the setting), or None: sync is off.
pub fn database_url(env: &dyn crate::llm::settings::Env) -> Option<String> {
    env.var("TURSO_DATABASE_URL").filter(|u| !u.trim().is_empty())
}

/// The remote named by [`database_url`] (with `TURSO_AUTH_TOKEN`), or None when sync is off.
pub fn remote_from_env(env: &dyn crate::llm::settings::Env) -> Result<Option<Remote>, SyncError> {
    database_url(env).map(|url| Remote::new(&url, env.var("TURSO_AUTH_TOKEN"))).transpose()
}

/// The longest wait between background syncs after failures.
pub const MAX_BACKOFF: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The wait before the next background sync: the interval after a success; after `failures`
/// failures in a row, the interval doubled that many times, at most [`MAX_BACKOFF`]; then `jitter`
/// (in -1..=1) moves it by up to a fifth either way, so clients that failed together spread out.
pub fn next_delay(interval: std::time::Duration, failures: u32, jitter: f64) -> std::time::Duration {
    let base = interval.saturating_mul(2u32.saturating_pow(failures.min(16))).min(MAX_BACKOFF.max(interval));
    base.mul_f64(1.0 + 0.2 * jitter.clamp(-1.0, 1.0))
}

/// One syncer per database file at a time (the window and a `--batch --sync` may both run): an
/// exclusive lock on `<database>.sync-lock`, which the OS releases when its holder exits, even by
/// SIGKILL. A database in memory belongs to one process and needs none.
pub struct SyncLock {
    /// Held for its lock; closing the file releases it.
    _file: Option<std::fs::File>,
}

impl SyncLock {
    pub fn acquire(store: &Store) -> Result<SyncLock, SyncError> {
        let Some(path) = store.path() else { return Ok(SyncLock { _file: None }) };
        let lock_path = format!("{}.sync-lock", path.display());
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| SyncError::Config(format!("cannot open {lock_path}: {e}")))?;
        match file.try_lock() {
            Ok(()) => Ok(SyncLock { _file: Some(file) }),
            Err(std::fs::TryLockError::WouldBlock) => Err(SyncError::Busy),
            Err(std::fs::TryLockError::Error(e)) => Err(SyncError::Config(format!("cannot lock {lock_path}: {e}"))),
        }
    }
}

/// A sync as the app and the CLI run it: under this database's sync lock, demo rows queued when
/// they are newly included, the outcome recorded in the sync status (errors by their message).
pub async fn sync_recorded(store: &Store, remote: &Remote, options: SyncOptions) -> Result<SyncReport, SyncError> {
    let lock = SyncLock::acquire(store)?;
    store.sync_include_demo(options.include_demo)?;
    let outcome = sync(store, remote, options).await;
    drop(lock);
    match &outcome {
        Ok(r) => store.sync_record(Ok((r.pushed, r.pulled)))?,
        Err(e) => store.sync_record(Err(&e.to_string()))?,
    }
    outcome
}

/// How far the local clock may be off the server's before a push is refused: last-writer-wins
/// orders edits by their time.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

fn check_clock(local_secs: i64, remote_secs: i64) -> Result<(), SyncError> {
    let secs = local_secs - remote_secs;
    if secs.abs() > MAX_CLOCK_SKEW_SECS {
        return Err(SyncError::ClockSkew { secs });
    }
    Ok(())
}

/// The server's clock, in Unix seconds.
async fn remote_clock(remote: &Remote) -> Result<i64, SyncError> {
    let r = remote.execute(Stmt::new("SELECT unixepoch()", true)).await?;
    match r.rows.into_iter().next().and_then(|row| row.values.into_iter().next()).map(from_hrana) {
        Some(Sql::Integer(secs)) => Ok(secs),
        other => Err(SyncError::Protocol(format!("the server's clock reads {other:?}"))),
    }
}

/// The remote's (schema_version, min_compatible), None when it has no Chipbench schema, and the
/// server's clock in Unix seconds: one request (a second only for a remote without the schema).
async fn remote_state(remote: &Remote) -> Result<(Option<(i64, i64)>, i64), SyncError> {
    let sql = "SELECT unixepoch(), (SELECT value FROM chipbench_meta WHERE key = 'schema_version'), (SELECT value FROM chipbench_meta WHERE key = 'min_compatible')";
    match remote.execute(Stmt::new(sql, true)).await {
        Ok(r) => {
            let row = r.rows.into_iter().next().map(|r| r.values).unwrap_or_default();
            let int = |i: usize| match row.get(i).cloned().map(from_hrana) {
                Some(Sql::Integer(v)) => Some(v),
                _ => None,
            };
            let secs = int(0).ok_or_else(|| SyncError::Protocol(format!("the server's clock reads {:?}", row.first())))?;
            Ok((int(1).zip(int(2)), secs))
        }
        Err(SyncError::Remote(msg)) if msg.contains("no such table") => Ok((None, remote_clock(remote).await?)),
        Err(e) => Err(e),
    }
}

/// Refuses a remote newer than this build (`versions`, as [`remote_state`] read them) before
/// writing anything; creates the schema when it is missing (idempotent, one transaction, so two
/// clients creating it at once both succeed), adopting a seed-era database's tables in the same
/// transaction.
async fn ensure_schema(remote: &Remote, versions: Option<(i64, i64)>) -> Result<(bool, Option<Adopted>), SyncError> {
    if let Some((version, needs)) = versions {
        if needs > REMOTE_SCHEMA_VERSION {
            return Err(SyncError::SchemaTooNew { remote: version, needs, ours: REMOTE_SCHEMA_VERSION });
        }
        if version >= REMOTE_SCHEMA_VERSION {
            return Ok((false, None));
        }
    }
    let adoption = if versions.is_none() { adopt::plan(remote).await? } else { None };
    let (mut ddl, adopted) = adoption.map_or((Vec::new(), None), |(stmts, adopted)| (stmts, Some(adopted)));
    ddl.push(Stmt::new("CREATE TABLE IF NOT EXISTS chipbench_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)", false));
    ddl.extend(TABLES.iter().flat_map(|t| t.remote_ddl()).map(|sql| Stmt::new(sql, false)));
    // Versions only move up (an older remote is migrated forward by the statements above); the
    // revision counter is never reset.
    for (key, value) in [("schema_version", REMOTE_SCHEMA_VERSION), ("min_compatible", 1)] {
        ddl.push(stmt(
            "INSERT INTO chipbench_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
            [Sql::Text(key.into()), Sql::Integer(value)],
        ));
    }
    ddl.push(stmt("INSERT OR IGNORE INTO chipbench_meta (key, value) VALUES ('rev', 0)", []));
    remote.batch(Batch::transactional(ddl)).await?;
    Ok((versions.is_none(), adopted))
}

/// Pushes everything pending, a batch at a time. Each batch bumps the remote revision, checks the
/// schema version inside the same transaction, and upserts under the tables' rules. A row the
/// remote refuses is quarantined and the batch sent again without it, so it never blocks the rest.
/// Returns (rows pushed, rows quarantined).
async fn push(store: &Store, remote: &Remote, options: SyncOptions) -> Result<(u64, u64), SyncError> {
    // Statement steps in a transactional batch: BEGIN, the revision bump, the schema guard, rows.
    const GUARD_STEP: usize = 2;
    const FIRST_ROW_STEP: usize = 3;
    let me = Sql::Text(store.installation_id().to_owned());
    let (mut pushed, mut quarantined) = (0, 0);
    loop {
        let mut pending = store.sync_pending(PUSH_ROWS, options)?;
        if pending.is_empty() {
            return Ok((pushed, quarantined));
        }
        // Send the rows until the remote takes them; when every pending entry was passed over
        // (demo, pulled or quarantined rows) there is nothing to send, only to forget.
        while !pending.rows.is_empty() {
            let mut stmts = vec![
                Stmt::new("UPDATE chipbench_meta SET value = value + 1 WHERE key = 'rev'", false),
                // Fails the batch (malformed JSON) when the schema moved past this build meanwhile.
                stmt(
                    "SELECT CASE WHEN (SELECT value FROM chipbench_meta WHERE key = 'min_compatible') > ?1 THEN json('schema') ELSE 1 END",
                    [Sql::Integer(REMOTE_SCHEMA_VERSION)],
                ),
            ];
            for (t, values) in &pending.rows {
                stmts.push(stmt(t.upsert_sql(Side::Remote), t.to_remote(values).into_iter().chain([me.clone()])));
            }
            match remote.batch(Batch::transactional(stmts)).await {
                Ok(_) => {
                    pushed += pending.rows.len() as u64;
                    break;
                }
                Err(SyncError::Refused { step: GUARD_STEP, .. }) => {
                    let (version, needs) = remote_state(remote).await?.0.unwrap_or_default();
                    return Err(SyncError::SchemaTooNew { remote: version, needs, ours: REMOTE_SCHEMA_VERSION });
                }
                Err(SyncError::Refused { step, message }) if step >= FIRST_ROW_STEP && step - FIRST_ROW_STEP < pending.rows.len() => {
                    let (t, values) = pending.rows.remove(step - FIRST_ROW_STEP);
                    store.sync_quarantine(t.name, &values[0], &message)?;
                    quarantined += 1;
                }
                Err(e) => return Err(e),
            }
        }
        store.sync_pushed(&pending)?;
    }
}

/// Pulls every table after its cursor, parents first, a page per local transaction. The cursor is
/// (revision, id) in the middle of a revision, or (revision, "") once that revision is done. The
/// first page of every table comes in one request, read in one transaction (one snapshot, so a
/// child's first page never holds rows whose parents came after the parents' page): a sync with
/// nothing new then waits for one round trip to pull, where a request per table (14) made it
/// 165 ms against a local server.
async fn pull(store: &Store, remote: &Remote) -> Result<u64, SyncError> {
    let me = Sql::Text(store.installation_id().to_owned());
    let (firsts, cursors): (Vec<Stmt>, Vec<PageCursor>) = TABLES.iter().map(|t| next_page(store, t, &me)).collect::<Result<Vec<_>, _>>()?.into_iter().unzip();
    // Step 0 is the transaction's BEGIN.
    let mut steps = remote.batch(Batch::transactional(firsts)).await?.step_results.into_iter().skip(1);
    let mut pulled = 0;
    for (t, cursor) in TABLES.iter().zip(cursors) {
        // A missing step, like a step without a result, is the server's error: never a table skipped.
        let first = steps.next().flatten().ok_or_else(|| SyncError::Protocol(format!("no first page of {}", t.name)))?;
        let mut page = Some((first, cursor));
        loop {
            let (page, PageCursor { rev, within }) = match page.take() {
                Some(prefetched) => prefetched,
                None => {
                    let (stmt, cursor) = next_page(store, t, &me)?;
                    (remote.execute(stmt).await?, cursor)
                }
            };
            let full = page.rows.len() as i64 == PULL_ROWS;
            let cursor = match page.rows.last() {
                None if within => (rev, String::new()), // that revision is done; go on after it
                None => break,
                Some(last) => match (from_hrana(last.values[0].clone()), from_hrana(last.values[1].clone())) {
                    (Sql::Integer(rev), Sql::Text(id)) => (rev, if full { id } else { String::new() }),
                    other => return Err(SyncError::Protocol(format!("a {} row without a revision and id: {other:?}", t.name))),
                },
            };
            let rows: Vec<Option<Vec<Sql>>> = page
                .rows
                .into_iter()
                .map(|r| {
                    let mut values = r.values.into_iter().map(from_hrana);
                    let mine = matches!(values.nth(2), Some(Sql::Integer(1)));
                    (!mine).then(|| t.from_remote(&values.collect::<Vec<_>>()))
                })
                .collect();
            pulled += rows.iter().flatten().count() as u64;
            store.sync_apply(t, &rows, (cursor.0, &cursor.1))?;
            if !full && !within {
                break;
            }
        }
    }
    Ok(pulled)
}

/// Where a table's pull stands: the revision it is at, and whether it is in the middle of it.
struct PageCursor {
    rev: i64,
    within: bool,
}

/// The query for a table's next page after its stored cursor.
fn next_page(store: &Store, t: &tables::SyncTable, me: &Sql) -> Result<(Stmt, PageCursor), SyncError> {
    let (rev, id) = store.sync_cursor(t.name)?;
    let within = !id.is_empty();
    let mut args = vec![Sql::Integer(rev), me.clone(), Sql::Integer(PULL_ROWS)];
    if within {
        args.push(Sql::Text(id));
    }
    Ok((stmt(t.pull_sql(within), args), PageCursor { rev, within }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_background_delay_backs_off_to_a_cap_with_jitter() {
        let minute = Duration::from_secs(60);
        assert_eq!(next_delay(minute, 0, 0.0), minute, "after a success: the interval");
        assert_eq!(next_delay(minute, 3, 0.0), Duration::from_secs(480));
        assert_eq!(next_delay(minute, 30, 0.0), MAX_BACKOFF, "capped");
        assert_eq!(next_delay(minute, 0, 1.0), Duration::from_secs(72));
        assert_eq!(next_delay(minute, 0, -1.0), Duration::from_secs(48));
        assert_eq!(next_delay(Duration::from_secs(3600), 2, 0.0), Duration::from_secs(3600), "a long interval is never shortened by the cap");
    }

    #[test]
    fn one_syncer_holds_the_file_lock_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).unwrap();
        let first = SyncLock::acquire(&store).unwrap();
        assert!(matches!(SyncLock::acquire(&store), Err(SyncError::Busy)), "a second syncer is refused");
        drop(first);
        assert!(SyncLock::acquire(&store).is_ok(), "free again once released");
    }

    #[test]
    fn a_clock_more_than_five_minutes_off_is_refused() {
        assert!(check_clock(1_000_000, 1_000_000 + 299).is_ok());
        let err = check_clock(1_000_000, 1_000_000 - 301).unwrap_err();
        assert!(matches!(err, SyncError::ClockSkew { secs: 301 }), "{err}");
        assert!(err.to_string().contains("clock is 301 s off"), "{err}");
        assert!(check_clock(1_000_000, 1_000_600).is_err(), "behind as well as ahead");
    }

    #[test]
    fn sync_is_configured_by_the_url() {
        use std::collections::HashMap;
        assert!(remote_from_env(&HashMap::<&str, &str>::new()).unwrap().is_none());
        let env = HashMap::from([("TURSO_DATABASE_URL", "libsql://team.turso.io"), ("TURSO_AUTH_TOKEN", "t")]);
        assert!(remote_from_env(&env).unwrap().is_some());
        assert!(remote_from_env(&HashMap::from([("TURSO_DATABASE_URL", "nope")])).is_err());
    }
}
