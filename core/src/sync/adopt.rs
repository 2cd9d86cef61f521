//! Adoption of a seed-era shared database: a Turso database that already holds the seed's `runs`,
//! `results` and `ratings` tables (seed 000's schema: no sync columns, ratings keyed by
//! `result_id`, random rating ids). On the first sync each such table is rebuilt with Chipbench's
//! remote columns in the same transaction that creates the rest of the schema; every existing row
//! is kept, gets defaults for what the seed lacked, and becomes a synced row (revision 0). Rating
//! ids are re-keyed to the deterministic id of (result, user), so a rating of the same result by
//! the same person from a Chipbench client updates it instead of duplicating it.

use libsql_hrana::proto::Stmt;
use rusqlite::types::Value as Sql;
use serde::Serialize;

use super::{
    remote::{from_hrana, stmt},
    tables::table,
    Remote, SyncError,
};

/// What adoption found and kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Adopted {
    pub runs: u64,
    pub results: u64,
    pub ratings: u64,
}

/// How each adopted column is filled from a seed row `s` (columns the seed had are copied).
fn fill(table: &str, column: &str) -> &'static str {
    match (table, column) {
        ("runs", "status") => "coalesce(s.status, 'completed')",
        ("runs", "config") => "coalesce(s.config, '{}')",
        ("runs", "provider") => "coalesce(json_extract(s.config, '$.provider'), 'openrouter')",
        ("runs", "is_demo") => "0",
        ("runs", "origin") => "'seed'",
        ("runs", "total_tests") => "(SELECT count(*) FROM results r WHERE r.run_id = s.id)",
        ("runs", "updated_at") => "coalesce(s.completed_at, s.started_at)",
        ("results", "errors") => "coalesce(s.errors, '[]')",
        ("results", "error_count") => "json_array_length(coalesce(s.errors, '[]'))",
        ("results", "latency_ms") | ("results", "input_tokens") | ("results", "output_tokens") => "coalesce(s.COLUMN, 0)",
        ("results", "cost_usd") => "coalesce(s.cost_usd, 0.0)",
        ("results", "parsed") | ("results", "constraint_met") => "1",
        ("results", "count_met") => "json_array_length(s.final_chips) >= s.chip_count",
        ("results", "fill_used") => "s.fill_chips IS NOT NULL",
        ("results", "duplicates_removed") | ("results", "overlong_dropped") | ("results", "unknown_type_dropped") => "0",
        ("ratings", "id") => "coalesce(k.new_id, s.id)",
        ("ratings", "target_kind") => "'result'",
        ("ratings", "target_id") => "s.result_id",
        ("ratings", "updated_at") => "s.created_at",
        _ => "NULL",
    }
}

async fn columns(remote: &Remote, name: &str) -> Result<Vec<String>, SyncError> {
    let r = remote.execute(stmt(format!("SELECT name FROM pragma_table_info('{name}')"), [])).await?;
    Ok(r.rows.into_iter().filter_map(|row| match row.values.into_iter().next().map(from_hrana) {
        Some(Sql::Text(c)) => Some(c),
        _ => None,
    }).collect())
}

async fn count(remote: &Remote, name: &str) -> Result<u64, SyncError> {
    let r = remote.execute(stmt(format!("SELECT count(*) FROM {name}"), [])).await?;
    match r.rows.into_iter().next().and_then(|row| row.values.into_iter().next()).map(from_hrana) {
        Some(Sql::Integer(n)) => Ok(n as u64),
        other => Err(SyncError::Protocol(format!("count of {name}: {other:?}"))),
    }
}

/// The statements that rebuild the seed's tables, or None when the remote has none of them.
pub(super) async fn plan(remote: &Remote) -> Result<Option<(Vec<Stmt>, Adopted)>, SyncError> {
    let mut found = Vec::new();
    for name in ["runs", "results", "ratings"] {
        let cols = columns(remote, name).await?;
        // present, and not already Chipbench's (which has a revision column)
        if !cols.is_empty() && !cols.iter().any(|c| c == "rev") {
            found.push((name, cols));
        }
    }
    if found.is_empty() {
        return Ok(None);
    }
    let mut stmts = vec![Stmt::new("CREATE TABLE chipbench_rekey (old_id TEXT PRIMARY KEY, new_id TEXT NOT NULL)", false)];
    let mut adopted = Adopted::default();
    for (name, seed_cols) in &found {
        let n = count(remote, name).await?;
        match *name {
            "runs" => adopted.runs = n,
            "results" => adopted.results = n,
            _ => adopted.ratings = n,
        }
        if *name == "ratings" && seed_cols.iter().any(|c| c == "result_id") {
            stmts.extend(rekey_ratings(remote).await?);
        }
        let t = table(name).expect("a synced table");
        let [create, index] = t.remote_ddl();
        let seed_has = |c: &str| seed_cols.iter().any(|s| s == c);
        let values: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let fill = fill(name, c).replace("COLUMN", c);
                let rekeyed = *name == "ratings" && *c == "id";
                // a column the seed lacks, or may have left NULL, is filled; the rest is copied
                if rekeyed || !seed_has(c) || fill.starts_with("coalesce(s.") { fill } else { format!("s.{c}") }
            })
            .collect();
        let rekey_join = if *name == "ratings" { " LEFT JOIN chipbench_rekey k ON k.old_id = s.id" } else { "" };
        stmts.extend([
            Stmt::new(format!("ALTER TABLE {name} RENAME TO {name}_seed"), false),
            Stmt::new(create, false),
            Stmt::new(
                format!(
                    "INSERT INTO {name} ({}, pushed_by, rev) SELECT {}, 'seed', 0 FROM {name}_seed s{rekey_join}",
                    t.column_list(),
                    values.join(", ")
                ),
                false,
            ),
            Stmt::new(format!("DROP TABLE {name}_seed"), false),
            Stmt::new(index, false),
        ]);
    }
    stmts.push(Stmt::new("DROP TABLE chipbench_rekey", false));
    Ok(Some((stmts, adopted)))
}

/// The seed's random rating ids mapped to the deterministic id of (result, user).
async fn rekey_ratings(remote: &Remote) -> Result<Vec<Stmt>, SyncError> {
    let r = remote.execute(stmt("SELECT id, result_id, user_id FROM ratings", [])).await?;
    let mut stmts = Vec::new();
    for row in r.rows {
        let v: Vec<Sql> = row.values.into_iter().map(from_hrana).collect();
        if let [Sql::Text(old), Sql::Text(result), Sql::Text(user)] = &v[..] {
            let new = crate::ids::rating_id("result", result, user);
            stmts.push(stmt("INSERT INTO chipbench_rekey (old_id, new_id) VALUES (?1, ?2)", [Sql::Text(old.clone()), Sql::Text(new)]));
        }
    }
    Ok(stmts)
}
