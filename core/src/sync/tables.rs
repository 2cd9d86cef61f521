//! The synced tables: their columns (the same locally and remotely, id first) and the rule by
//! which an incoming copy of a row replaces the one already there. The upsert SQL is generated
//! here once and runs on both sides (both are SQLite), so the two sides apply the same rules.

use rusqlite::types::Value as Sql;

/// How an incoming copy of a row wins over the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Never changes once written (results, prompt versions, datasets, cell events): the first
    /// copy stays.
    Immutable,
    /// The copy with the later `updated_at` wins; ties break on the row's values, so every side
    /// picks the same winner (ratings per result and user, models, grid runs and cells, people's
    /// grades, trace deletions).
    LastWriter,
    /// Last writer, except that a completed run never goes back to another status.
    RunProgress,
}

#[derive(Debug)]
pub struct SyncTable {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub rule: Rule,
    /// REAL columns: they cross as the text of their shortest round-trip decimal, because a
    /// server may parse JSON floats with less than full precision (tursodb does), and a synced
    /// copy must be bit-identical.
    pub reals: &'static [&'static str],
    /// Immutable and numerous (results, spans): pushed above a high-water mark on the local
    /// `seq` instead of through the outbox, skipping the seq ranges pull inserted
    /// (`sync_pulled_<table>`).
    pub by_seq: bool,
    /// Large columns a sync may leave out (sent as NULL), by the user's choice.
    pub payload: &'static [&'static str],
}

/// Parents before children: a pull applies runs before their results.
pub const TABLES: [SyncTable; 15] = [
    SyncTable {
        name: "runs",
        columns: &[
            "id", "started_at", "completed_at", "status", "status_reason", "config", "provider", "is_demo", "origin",
            "total_tests", "heartbeat_at", "updated_at", "deleted_at",
        ],
        rule: Rule::RunProgress,
        reals: &[],
        by_seq: false,
        payload: &[],
    },
    SyncTable {
        name: "models",
        columns: &["id", "name", "input_price", "output_price", "updated_at", "deleted_at"],
        rule: Rule::LastWriter,
        reals: &["input_price", "output_price"],
        by_seq: false,
        payload: &[],
    },
    SyncTable {
        name: "prompts",
        columns: &["id", "name", "version", "text", "created_at"],
        rule: Rule::Immutable,
        reals: &[],
        by_seq: false,
        payload: &[],
    },
    SyncTable {
        name: "prompt_current",
        columns: &["id", "prompt_id", "updated_at"],
        rule: Rule::LastWriter,
        reals: &[],
        by_seq: false,
        payload: &[],
    },
    SyncTable {
        name: "prompt_renames",
        columns: &["id", "from_name", "created_at"],
        rule: Rule::Immutable,
        reals: &[],
        by_seq: false,
        payload: &[],
    },
    SyncTable {
        name: "datasets",
        columns: &["id", "name", "source_file", "format", "headers", "row_count", "created_at", "origin"],
        rule: Rule::Immutable,
        reals: &[],
        by_seq: false,
        payload: &[],
    },
    SyncTable {
        name: "dataset_rows",
        columns: &["id", "dataset_id", "row_index", "cells"],
        rule: Rule::Immutable,
        reals: &[],
        by_seq: true,
        payload: &[],
    },
    SyncTable {
        name: "grid_runs",
        columns: &[
            "id", "prompt_id", "dataset_id", "models", "params", "graders", "active_metric", "provider", "base_url", "concurrency",
            "is_demo", "status", "status_reason", "created_at", "completed_at", "updated_at", "origin",
        ],
        rule: Rule::LastWriter,
        reals: &[],
        by_seq: false,
        payload: &[],
    },
    SyncTable {
        name: "grid_cells",
        columns: &[
            "id", "run_id", "row_index", "model", "status", "output", "error", "input_tokens", "output_tokens", "cost_usd",
            "latency_ms", "rule_pass", "rule_reason", "judge_pass", "judge_reason", "span_id", "attempts", "updated_at",
        ],
        rule: Rule::LastWriter,
        reals: &["cost_usd"],
        by_seq: false,
        payload: &[],
    },
    SyncTable {
        name: "grid_cell_events",
        columns: &["id", "cell_id", "event", "detail", "at"],
        rule: Rule::Immutable,
        reals: &[],
        by_seq: true,
        payload: &[],
    },
    SyncTable {
        name: "manual_grades",
        columns: &["id", "cell_id", "user_id", "grade", "updated_at"],
        rule: Rule::LastWriter,
        reals: &[],
        by_seq: false,
        payload: &[],
    },
    SyncTable {
        name: "results",
        columns: &[
            "id", "run_id", "model", "persona_id", "sector", "desired_role", "style", "input_type", "constraint_type",
            "chip_count", "final_chips", "step1_chips", "selected_chips", "fill_chips", "errors", "error_count",
            "latency_ms", "input_tokens", "output_tokens", "cost_usd", "billed_cost_usd", "parsed", "count_met",
            "constraint_met", "duplicates_removed", "fill_used", "overlong_dropped", "unknown_type_dropped", "created_at",
        ],
        rule: Rule::Immutable,
        reals: &["cost_usd", "billed_cost_usd"],
        by_seq: true,
        payload: &[],
    },
    SyncTable {
        name: "ratings",
        columns: &["id", "target_kind", "target_id", "user_id", "rating", "created_at", "updated_at", "deleted_at"],
        rule: Rule::LastWriter,
        reals: &[],
        by_seq: false,
        payload: &[],
    },
    SyncTable {
        name: "spans",
        columns: &[
            "id", "trace_id", "parent_id", "trace_kind", "trace_name", "run_id", "kind", "name", "provider", "model", "status",
            "error", "messages", "params", "response", "attempts", "input_tokens", "output_tokens", "cost_usd",
            "billed_cost_usd", "latency_ms", "started_at", "ended_at", "replay_of", "attributes", "origin",
        ],
        rule: Rule::Immutable,
        reals: &["cost_usd", "billed_cost_usd"],
        by_seq: true,
        payload: &["messages", "params", "response", "attributes"],
    },
    SyncTable {
        name: "trace_deletions",
        columns: &["id", "deleted_at", "updated_at"],
        rule: Rule::LastWriter,
        reals: &[],
        by_seq: false,
        payload: &[],
    },
];

pub fn table(name: &str) -> Option<&'static SyncTable> {
    TABLES.iter().find(|t| t.name == name)
}

/// Where an upsert runs: the remote also stamps each applied row with the current revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Local,
    Remote,
}

impl SyncTable {
    /// A row without its payload columns (a sync that leaves them out sends NULL).
    pub fn without_payload(&self, row: Vec<Sql>) -> Vec<Sql> {
        row.into_iter().zip(self.columns).map(|(v, c)| if self.payload.contains(c) { Sql::Null } else { v }).collect()
    }

    /// A local row as it is sent: REAL values as exact decimal text.
    pub fn to_remote(&self, row: &[Sql]) -> Vec<Sql> {
        self.map_reals(row, |v| match v {
            Sql::Real(f) => Sql::Text(f.to_string()),
            other => other.clone(),
        })
    }

    /// A pulled row as it is stored locally: REAL columns parsed back from their text.
    pub fn from_remote(&self, row: &[Sql]) -> Vec<Sql> {
        self.map_reals(row, |v| match v {
            Sql::Text(t) => t.parse().map(Sql::Real).unwrap_or_else(|_| v.clone()),
            other => other.clone(),
        })
    }

    fn map_reals(&self, row: &[Sql], f: impl Fn(&Sql) -> Sql) -> Vec<Sql> {
        row.iter().zip(self.columns).map(|(v, c)| if self.reals.contains(c) { f(v) } else { v.clone() }).collect()
    }

    /// The column list, comma-separated.
    pub fn column_list(&self) -> String {
        self.columns.join(", ")
    }

    /// The remote table: the same columns without declared types (values keep the exact type they
    /// were stored with locally), plus who pushed the row last and the revision that wrote it.
    pub fn remote_ddl(&self) -> [String; 2] {
        let name = self.name;
        [
            format!(
                "CREATE TABLE IF NOT EXISTS {name} (id TEXT PRIMARY KEY, {}, pushed_by TEXT NOT NULL, rev INTEGER NOT NULL)",
                self.columns[1..].join(", ")
            ),
            format!("CREATE INDEX IF NOT EXISTS {name}_by_rev ON {name} (rev, id)"),
        ]
    }

    /// A page of rows: with `within_rev`, the rest of revision `?1` after id `?4`; otherwise the
    /// revisions after `?1`. At most `?3` rows; the values of rows that `?2` (this installation)
    /// pushed itself come back as NULL: only the cursor needs them. Two queries rather than one
    /// with OR, so each is a range of the (rev, id) index.
    pub fn pull_sql(&self, within_rev: bool) -> String {
        let cols: Vec<String> = self.columns.iter().map(|c| format!("CASE WHEN pushed_by = ?2 THEN NULL ELSE {c} END")).collect();
        let range = if within_rev { "rev = ?1 AND id > ?4" } else { "rev > ?1" };
        format!("SELECT rev, id, pushed_by = ?2, {} FROM {} WHERE {range} ORDER BY rev, id LIMIT ?3", cols.join(", "), self.name)
    }

    /// `INSERT ... ON CONFLICT(id) ...` of one row bound as `?1..=?n` in column order (remotely
    /// also `?n+1`, the pushing installation; the row gets the current revision).
    pub fn upsert_sql(&self, side: Side) -> String {
        let name = self.name;
        let mut cols = self.column_list();
        let mut values: Vec<String> = (1..=self.columns.len()).map(|i| format!("?{i}")).collect();
        if side == Side::Remote {
            // ?n+1: the pushing installation, so its own pull can skip the echo.
            cols.push_str(", pushed_by, rev");
            values.push(format!("?{}", self.columns.len() + 1));
            values.push("(SELECT value FROM chipbench_meta WHERE key = 'rev')".into());
        }
        let values = values.join(", ");
        let on_conflict = match self.rule {
            Rule::Immutable => "DO NOTHING".to_owned(),
            Rule::LastWriter | Rule::RunProgress => {
                let mut set: Vec<String> = self.columns[1..].iter().map(|c| format!("{c} = excluded.{c}")).collect();
                if side == Side::Remote {
                    set.extend(["pushed_by = excluded.pushed_by".into(), "rev = excluded.rev".into()]);
                }
                // (updated_at, then every value) as a total order: equal timestamps still agree.
                let order = |row: &str| {
                    let rest = self.columns[1..].iter().filter(|c| **c != "updated_at").map(|c| format!("coalesce({row}.{c}, '')"));
                    std::iter::once(format!("{row}.updated_at")).chain(rest).collect::<Vec<_>>().join(", ")
                };
                let mut when = format!("({}) > ({})", order("excluded"), order(name));
                if self.rule == Rule::RunProgress {
                    when.push_str(&format!(" AND ({name}.status <> 'completed' OR excluded.status = 'completed')"));
                }
                format!("DO UPDATE SET {} WHERE {when}", set.join(", "))
            }
        };
        format!("INSERT INTO {name} ({cols}) VALUES ({values}) ON CONFLICT(id) {on_conflict}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reals_cross_as_exact_text_and_come_back_bit_identical() {
        let t = table("models").unwrap();
        let row = [Sql::Text("m".into()), Sql::Text("0.1".into()), Sql::Real(2.3840000000000002e-5), Sql::Real(0.1 + 0.2)];
        let sent = t.to_remote(&row);
        assert_eq!(sent[1], Sql::Text("0.1".into()), "a text column stays as it is");
        assert_eq!(sent[2], Sql::Text("0.000023840000000000002".into()));
        let back = t.from_remote(&sent);
        assert_eq!(back, row);
        assert!(matches!(back[3], Sql::Real(f) if f.to_bits() == (0.1f64 + 0.2).to_bits()));
    }

    #[test]
    fn every_synced_table_exists_locally_with_these_columns() {
        let store = crate::store::Store::open_in_memory().unwrap();
        for t in &TABLES {
            let sql = format!("SELECT {} FROM {} LIMIT 0", t.column_list(), t.name);
            store.read(|c| Ok(c.prepare(&sql).map(|_| ())?)).unwrap_or_else(|e| panic!("{}: {e}", t.name));
            assert_eq!(t.columns[0], "id");
        }
    }

    #[test]
    fn last_writer_upserts_break_ties_on_values_and_runs_never_leave_completed() {
        let sql = table("ratings").unwrap().upsert_sql(Side::Local);
        assert!(sql.contains("WHERE (excluded.updated_at, coalesce(excluded.target_kind, ''),"), "{sql}");
        let runs = table("runs").unwrap().upsert_sql(Side::Remote);
        assert!(runs.contains("rev = excluded.rev") && runs.contains("runs.status <> 'completed'"), "{runs}");
        assert!(table("results").unwrap().upsert_sql(Side::Local).ends_with("ON CONFLICT(id) DO NOTHING"));
    }

    #[test]
    fn a_span_without_its_payload_keeps_everything_else() {
        let t = table("spans").unwrap();
        let row: Vec<Sql> = t.columns.iter().map(|c| Sql::Text(format!("v-{c}"))).collect();
        let bare = t.without_payload(row.clone());
        for (c, (before, after)) in t.columns.iter().zip(row.iter().zip(&bare)) {
            let dropped = ["messages", "params", "response", "attributes"].contains(c);
            assert_eq!(after, if dropped { &Sql::Null } else { before }, "{c}");
        }
    }
}
