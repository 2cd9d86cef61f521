//! Results: group-committed inserts (a test key is stored at most once), the filtered list with
//! avg_rating, rating_count, my_rating and total (newest-arrived first), the detail, and export rows.
//!
//! A page's total comes from the maintained `result_counts` / `user_rating_counts` tables when
//! the filters are among run, model, persona, rated_by and unrated_by; otherwise it counts.

use rusqlite::{params, params_from_iter, types::Value as Sql, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use super::{runs::heartbeat, Result, Store, StoreError};
use crate::{
    bench::{ConstraintType, InputType, TestKey},
    chips::Chip,
};

/// The rating of user `?1`, as a column of a result `r`.
macro_rules! my_rating {
    () => {
        "(SELECT rating FROM ratings m WHERE m.target_kind = 'result' AND m.target_id = r.id AND m.user_id = ?1 AND m.deleted_at IS NULL)"
    };
}
macro_rules! avg_rating {
    () => {
        "CASE WHEN r.rating_count > 0 THEN CAST(r.rating_sum AS REAL) / r.rating_count END"
    };
}

/// Objective metrics stored with every result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Metrics {
    pub parsed: bool,
    pub count_met: bool,
    pub constraint_met: bool,
    pub duplicates_removed: u32,
    pub fill_used: bool,
    pub overlong_dropped: u32,
    pub unknown_type_dropped: u32,
}

/// What a test produced, beyond its key and summary figures: stored with a new result and
/// returned in a result's detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Outputs {
    pub sector: String,
    pub desired_role: String,
    pub final_chips: Vec<Chip>,
    pub step1_chips: Option<Vec<Chip>>,
    pub selected_chips: Option<Vec<Chip>>,
    pub fill_chips: Option<Vec<Chip>>,
    pub errors: Vec<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub billed_cost_usd: Option<f64>,
    pub metrics: Metrics,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewResult {
    pub key: TestKey,
    #[serde(flatten)]
    pub outputs: Outputs,
    pub latency_ms: u64,
    pub cost_usd: f64,
    pub created_at: String,
}

/// What a results page is sorted by. Ties fall back to arrival order, so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ResultOrder {
    /// Arrival in this database.
    #[default]
    Arrival,
    /// A stable shuffle that says nothing about the model (result ids are hashes), for blind rating.
    Shuffled,
    Model,
    Persona,
    /// Style, then input type, then constraint.
    Variant,
    ChipCount,
    AvgRating,
    RatingCount,
    MyRating,
    Cost,
    Latency,
    Errors,
}

impl ResultOrder {
    /// The ORDER BY terms; `?1` is the user whose rating `my_rating` shows.
    fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Arrival => &["r.seq"],
            Self::Shuffled => &["r.id"],
            Self::Model => &["r.model"],
            Self::Persona => &["r.persona_id"],
            Self::Variant => &["r.style", "r.input_type", "r.constraint_type"],
            Self::ChipCount => &["r.chip_count"],
            Self::AvgRating => &[avg_rating!()],
            Self::RatingCount => &["r.rating_count"],
            Self::MyRating => &[my_rating!()],
            Self::Cost => &["r.cost_usd"],
            Self::Latency => &["r.latency_ms"],
            Self::Errors => &["r.error_count"],
        }
    }

    fn sql(self, descending: bool) -> String {
        let dir = if descending { "DESC" } else { "ASC" };
        let mut terms: Vec<String> = self.columns().iter().map(|c| format!("{c} {dir}")).collect();
        // seq and id are unique, and a tie-break would keep their index from ordering the page
        if !matches!(self, Self::Arrival | Self::Shuffled) {
            terms.push(format!("r.seq {dir}"));
        }
        terms.join(", ")
    }
}

/// Filters, order and page of a results list. Every field may be left out (newest first).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default)]
pub struct ResultFilter {
    pub run_id: Option<String>,
    pub model: Option<String>,
    pub persona_id: Option<String>,
    pub style: Option<String>,
    pub input_type: Option<InputType>,
    pub constraint_type: Option<ConstraintType>,
    pub chip_count: Option<u32>,
    /// true: only results with errors; false: only results without.
    pub has_errors: Option<bool>,
    pub rated_by: Option<String>,
    pub unrated_by: Option<String>,
    /// Whose rating `my_rating` shows.
    pub user: Option<String>,
    pub limit: u32,
    pub offset: u32,
    pub order: ResultOrder,
    pub descending: bool,
}

impl Default for ResultFilter {
    fn default() -> Self {
        Self {
            run_id: None,
            model: None,
            persona_id: None,
            style: None,
            input_type: None,
            constraint_type: None,
            chip_count: None,
            has_errors: None,
            rated_by: None,
            unrated_by: None,
            user: None,
            limit: 50,
            offset: 0,
            order: ResultOrder::Arrival,
            descending: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ResultSummary {
    pub id: String,
    pub run_id: String,
    pub model: String,
    pub persona_id: String,
    pub style: String,
    pub input_type: String,
    pub constraint_type: String,
    pub chip_count: u32,
    pub avg_rating: Option<f64>,
    pub rating_count: u32,
    pub my_rating: Option<u8>,
    pub cost_usd: f64,
    pub latency_ms: u64,
    pub error_count: u32,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ResultPage {
    pub results: Vec<ResultSummary>,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ResultDetail {
    #[serde(flatten)]
    pub summary: ResultSummary,
    #[serde(flatten)]
    pub outputs: Outputs,
}

pub const MAX_PAGE: u32 = 1000;

const SUMMARY_COLUMNS: &str = concat!("r.id, r.run_id, r.model, r.persona_id, r.style, r.input_type, r.constraint_type,
    r.chip_count, ", avg_rating!(), ", r.rating_count, ", my_rating!(), ", r.cost_usd, r.latency_ms, r.error_count, r.created_at");

fn summary_from_row(r: &Row) -> rusqlite::Result<ResultSummary> {
    Ok(ResultSummary {
        id: r.get(0)?,
        run_id: r.get(1)?,
        model: r.get(2)?,
        persona_id: r.get(3)?,
        style: r.get(4)?,
        input_type: r.get(5)?,
        constraint_type: r.get(6)?,
        chip_count: r.get(7)?,
        avg_rating: r.get(8)?,
        rating_count: r.get(9)?,
        my_rating: r.get(10)?,
        cost_usd: r.get(11)?,
        latency_ms: r.get(12)?,
        error_count: r.get(13)?,
        created_at: r.get(14)?,
    })
}

/// JSON text of a value (chip lists and errors are stored, and exported to CSV, this way).
pub(crate) fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("chips and strings serialise")
}

fn from_json<T: serde::de::DeserializeOwned>(s: Option<String>) -> Option<T> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

/// Inserts results and refreshes the run's heartbeat in the caller's transaction. A result whose
/// test key is already stored is skipped. Returns how many were inserted.
pub(crate) fn insert_results(tx: &Connection, run_id: &str, results: &[NewResult]) -> rusqlite::Result<usize> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO results (id, run_id, model, persona_id, sector, desired_role, style, input_type, constraint_type,
             chip_count, final_chips, step1_chips, selected_chips, fill_chips, errors, error_count, latency_ms,
             input_tokens, output_tokens, cost_usd, billed_cost_usd, parsed, count_met, constraint_met,
             duplicates_removed, fill_used, overlong_dropped, unknown_type_dropped, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,
             ?23, ?24, ?25, ?26, ?27, ?28, ?29)
         ON CONFLICT DO NOTHING",
    )?;
    let mut inserted = Vec::with_capacity(results.len());
    for r in results {
        let (k, o, m) = (&r.key, &r.outputs, &r.outputs.metrics);
        let n = stmt.execute(params![
            crate::ids::result_id(k, run_id),
            run_id,
            k.model,
            k.persona_id,
            o.sector,
            o.desired_role,
            k.style,
            k.input_type.as_str(),
            k.constraint_type.as_str(),
            k.chip_count,
            json(&o.final_chips),
            o.step1_chips.as_ref().map(json),
            o.selected_chips.as_ref().map(json),
            o.fill_chips.as_ref().map(json),
            json(&o.errors),
            o.errors.len(),
            r.latency_ms,
            o.input_tokens,
            o.output_tokens,
            r.cost_usd,
            o.billed_cost_usd,
            m.parsed,
            m.count_met,
            m.constraint_met,
            m.duplicates_removed,
            m.fill_used,
            m.overlong_dropped,
            m.unknown_type_dropped,
            r.created_at,
        ])?;
        if n == 1 {
            inserted.push((r.created_at.as_str(), k.model.as_str(), !o.errors.is_empty()));
        }
    }
    heartbeat(tx, run_id)?;
    let count = inserted.len();
    super::analytics::add_results(tx, inserted.into_iter())?;
    Ok(count)
}

/// WHERE fragments for the filters; each adds fixed SQL text and binds its value.
fn where_clause(f: &ResultFilter, params: &mut Vec<Sql>) -> String {
    // The live-run guard is kept off indexes (`+`): used as an index it made the planner read every
    // result of every run and sort them, where the id or seq order reads only the page.
    let mut sql = String::from("WHERE +r.run_id IN (SELECT id FROM runs WHERE deleted_at IS NULL)");
    let mut bind = |clause: &str, v: Option<Sql>, params: &mut Vec<Sql>| {
        if let Some(v) = v {
            params.push(v);
            sql.push_str(&clause.replace('?', &format!("?{}", params.len())));
        }
    };
    let text = |v: &Option<String>| v.clone().map(Sql::Text);
    bind(" AND r.run_id = ?", text(&f.run_id), params);
    bind(" AND r.model = ?", text(&f.model), params);
    bind(" AND r.persona_id = ?", text(&f.persona_id), params);
    bind(" AND r.style = ?", text(&f.style), params);
    bind(" AND r.input_type = ?", f.input_type.map(|t| Sql::Text(t.as_str().into())), params);
    bind(" AND r.constraint_type = ?", f.constraint_type.map(|t| Sql::Text(t.as_str().into())), params);
    bind(" AND r.chip_count = ?", f.chip_count.map(|n| Sql::Integer(n.into())), params);
    bind(" AND (r.error_count > 0) = ?", f.has_errors.map(|e| Sql::Integer(e.into())), params);
    const RATED: &str = "EXISTS (SELECT 1 FROM ratings x WHERE x.target_kind = 'result' AND x.target_id = r.id AND x.user_id = ? AND x.deleted_at IS NULL)";
    bind(&format!(" AND {RATED}"), text(&f.rated_by), params);
    bind(&format!(" AND NOT {RATED}"), text(&f.unrated_by), params);
    sql
}

/// The total from the maintained counts, when the filters allow it.
fn maintained_total(c: &Connection, f: &ResultFilter) -> rusqlite::Result<Option<u64>> {
    let counted_grain = f.style.is_none()
        && f.input_type.is_none()
        && f.constraint_type.is_none()
        && f.chip_count.is_none()
        && f.has_errors.is_none();
    if !counted_grain {
        return Ok(None);
    }
    let sum = |table: &str, user: Option<&str>| -> rusqlite::Result<u64> {
        let mut sql = format!("SELECT coalesce(sum(n), 0) FROM {table} WHERE run_id IN (SELECT id FROM runs WHERE deleted_at IS NULL)");
        let mut p: Vec<Sql> = Vec::new();
        for (col, v) in [("user_id", user), ("run_id", f.run_id.as_deref()), ("model", f.model.as_deref()), ("persona_id", f.persona_id.as_deref())] {
            if let Some(v) = v {
                p.push(Sql::Text(v.to_owned()));
                sql.push_str(&format!(" AND {col} = ?{}", p.len()));
            }
        }
        c.prepare_cached(&sql)?.query_row(params_from_iter(p), |r| r.get(0))
    };
    Ok(match (&f.rated_by, &f.unrated_by) {
        (None, None) => Some(sum("result_counts", None)?),
        (Some(u), None) => Some(sum("user_rating_counts", Some(u))?),
        (None, Some(u)) => Some(sum("result_counts", None)? - sum("user_rating_counts", Some(u))?),
        (Some(_), Some(_)) => None,
    })
}

/// A page's query: the page's seqs are picked from an index first (`page_seqs_sql`); only the
/// page's rows are then read.
fn page_sql(f: &ResultFilter, clause: &str, bound: usize) -> String {
    let order = f.order.sql(f.descending);
    format!("SELECT {SUMMARY_COLUMNS} FROM results r WHERE r.seq IN ({}) ORDER BY {order}", page_seqs_sql(f, clause, bound))
}

/// The seqs of a page: the filters' `clause` binds `?1..=?bound`, then limit and offset follow.
fn page_seqs_sql(f: &ResultFilter, clause: &str, bound: usize) -> String {
    let order = f.order.sql(f.descending);
    format!("SELECT r.seq FROM results r {clause} ORDER BY {order} LIMIT ?{} OFFSET ?{}", bound + 1, bound + 2)
}

impl Store {
    /// Stores results in one transaction (group commit); see [`insert_results`].
    pub fn insert_results(&self, run_id: &str, results: &[NewResult]) -> Result<usize> {
        self.insert_outcomes(run_id, results, &[])
    }

    /// A batch's group commit: results and the spans of their calls in one transaction.
    pub fn insert_outcomes(&self, run_id: &str, results: &[NewResult], spans: &[crate::trace::Span]) -> Result<usize> {
        let origin = self.installation_id().to_owned();
        self.write(|tx| {
            super::traces::insert_spans(tx, &origin, spans)?;
            Ok(insert_results(tx, run_id, results)?)
        })
    }

    pub fn results(&self, f: &ResultFilter) -> Result<ResultPage> {
        if f.limit == 0 || f.limit > MAX_PAGE {
            return Err(StoreError::Invalid(format!("limit: {} must be between 1 and {MAX_PAGE}", f.limit)));
        }
        self.read(|c| {
            // ?1 is the user for my_rating; the filters bind from ?2 on.
            let mut p = vec![Sql::from(f.user.clone())];
            let clause = where_clause(f, &mut p);
            let total = match maintained_total(c, f)? {
                Some(t) => t,
                // The count never reads ?1; SQLite counts parameters up to the highest index used.
                None => {
                    let bound = if p.len() > 1 { &p[..] } else { &[] };
                    c.prepare_cached(&format!("SELECT count(*) FROM results r {clause}"))?
                        .query_row(params_from_iter(bound), |r| r.get(0))?
                }
            };
            let sql = page_sql(f, &clause, p.len());
            p.extend([Sql::Integer(f.limit.into()), Sql::Integer(f.offset.into())]);
            let results = c.prepare_cached(&sql)?.query_map(params_from_iter(p), summary_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(ResultPage { results, total })
        })
    }

    /// One result with all its chips; `user` fills `my_rating`.
    pub fn result(&self, id: &str, user: Option<&str>) -> Result<ResultDetail> {
        self.read(|c| {
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS}, r.sector, r.desired_role, r.final_chips, r.step1_chips, r.selected_chips,
                        r.fill_chips, r.errors, r.input_tokens, r.output_tokens, r.billed_cost_usd, r.parsed, r.count_met,
                        r.constraint_met, r.duplicates_removed, r.fill_used, r.overlong_dropped, r.unknown_type_dropped
                 FROM results r WHERE r.id = ?2 AND r.run_id IN (SELECT id FROM runs WHERE deleted_at IS NULL)"
            );
            c.prepare_cached(&sql)?
                .query_row(params![user, id], |r| {
                    Ok(ResultDetail {
                        summary: summary_from_row(r)?,
                        outputs: Outputs {
                            sector: r.get(15)?,
                            desired_role: r.get(16)?,
                            final_chips: from_json(r.get(17)?).unwrap_or_default(),
                            step1_chips: from_json(r.get(18)?),
                            selected_chips: from_json(r.get(19)?),
                            fill_chips: from_json(r.get(20)?),
                            errors: from_json(r.get(21)?).unwrap_or_default(),
                            input_tokens: r.get(22)?,
                            output_tokens: r.get(23)?,
                            billed_cost_usd: r.get(24)?,
                            metrics: Metrics {
                                parsed: r.get(25)?,
                                count_met: r.get(26)?,
                                constraint_met: r.get(27)?,
                                duplicates_removed: r.get(28)?,
                                fill_used: r.get(29)?,
                                overlong_dropped: r.get(30)?,
                                unknown_type_dropped: r.get(31)?,
                            },
                        },
                    })
                })
                .optional()?
                .ok_or(StoreError::NotFound { what: "result", id: id.to_owned() })
        })
    }

    /// Ids of the results a run already has (what `--resume` skips).
    pub fn result_ids(&self, run_id: &str) -> Result<std::collections::HashSet<String>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT id FROM results WHERE run_id = ?1")?;
            let ids = stmt.query_map([run_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            Ok(ids)
        })
    }

    /// Every result of a run in full, in the order they were stored (for export).
    pub fn run_results(&self, run_id: &str) -> Result<Vec<ResultDetail>> {
        let ids: Vec<String> = self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT id FROM results WHERE run_id = ?1 ORDER BY seq")?;
            let ids = stmt.query_map([run_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            Ok(ids)
        })?;
        ids.iter().map(|id| self.result(id, None)).collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{
        chips::ChipType,
        store::{runs::tests::new_run, tests::temp_store},
    };

    pub use crate::testing::sample_result as sample;

    #[test]
    fn a_test_key_is_stored_once() {
        let (_d, store) = temp_store();
        let run = new_run(&store, false).summary.id;
        let r = sample("m", "p", 10, 0.5);
        assert_eq!(store.insert_results(&run, &[r.clone(), r.clone()]).unwrap(), 1);
        assert_eq!(store.insert_results(&run, &[r]).unwrap(), 0, "a retried write does not duplicate");
        assert_eq!(store.run(&run).unwrap().summary.result_count, 1);
    }

    #[test]
    fn list_filters_page_and_rate_fields() {
        let (_d, store) = temp_store();
        let run = new_run(&store, false).summary.id;
        let mut all = Vec::new();
        for (i, model) in ["a", "b"].iter().enumerate() {
            for n in 1..=5 {
                all.push(sample(model, if n % 2 == 0 { "p2" } else { "p1" }, n, i as f64));
            }
        }
        store.insert_results(&run, &all).unwrap();
        let page = |f: ResultFilter| store.results(&ResultFilter { limit: 50, ..f }).unwrap();
        assert_eq!(page(ResultFilter::default()).total, 10);
        let only_a = page(ResultFilter { model: Some("a".into()), persona_id: Some("p1".into()), ..Default::default() });
        assert_eq!((only_a.total, only_a.results.len()), (3, 3));
        assert!(only_a.results.iter().all(|r| r.model == "a" && r.persona_id == "p1"));

        let target = only_a.results[0].id.clone();
        store.rate(TARGET_RESULT, &target, "ana", 4).unwrap();
        store.rate(TARGET_RESULT, &target, "bo", 1).unwrap();
        let rated = page(ResultFilter { rated_by: Some("ana".into()), user: Some("ana".into()), ..Default::default() });
        assert_eq!((rated.total, rated.results[0].my_rating, rated.results[0].avg_rating, rated.results[0].rating_count), (1, Some(4), Some(2.5), 2));
        let unrated = page(ResultFilter { unrated_by: Some("ana".into()), model: Some("a".into()), ..Default::default() });
        assert_eq!((unrated.total, unrated.results.len()), (4, 4));
        assert!(unrated.results.iter().all(|r| r.id != target));
        let both = page(ResultFilter { rated_by: Some("bo".into()), unrated_by: Some("ana".into()), ..Default::default() });
        assert_eq!(both.total, 0, "the counted fallback agrees");

        let second = store.results(&ResultFilter { limit: 4, offset: 8, ..Default::default() }).unwrap();
        assert_eq!((second.results.len(), second.total), (2, 10), "offset pages past the first rows");
        let err = store.results(&ResultFilter { limit: 0, ..Default::default() }).unwrap_err();
        assert_eq!(err.to_string(), "limit: 0 must be between 1 and 1000");
    }

    use crate::store::TARGET_RESULT;

    #[test]
    fn shuffled_order_is_stable_and_mixes_models() {
        let (_d, store) = temp_store();
        let run = new_run(&store, false).summary.id;
        let all: Vec<_> = (1..=40).map(|n| sample(if n <= 20 { "a" } else { "b" }, "p", n, 0.0)).collect();
        store.insert_results(&run, &all).unwrap();
        let page = |order| store.results(&ResultFilter { limit: 40, order, ..Default::default() }).unwrap().results;
        let newest: Vec<_> = page(ResultOrder::Arrival).iter().map(|r| r.model.clone()).collect();
        assert_eq!(newest[..20].iter().filter(|m| *m == "b").count(), 20, "newest first: all of b, then a");
        let shuffled = page(ResultOrder::Shuffled);
        assert_eq!(shuffled, page(ResultOrder::Shuffled), "the shuffle is stable between calls");
        let b_in_first_half = shuffled[..20].iter().filter(|r| r.model == "b").count();
        assert!((5..=15).contains(&b_in_first_half), "models are mixed: {b_in_first_half} of b in the first half");
    }

    #[test]
    fn variant_chip_count_and_error_filters_count_what_they_list() {
        let (_d, store) = temp_store();
        let run = new_run(&store, false).summary.id;
        let mut all = Vec::new();
        for n in 1..=8u32 {
            let mut r = sample("m", "p", n, f64::from(n));
            r.key.style = if n % 2 == 0 { "guided".into() } else { "terse".into() };
            r.key.input_type = if n <= 4 { InputType::Enriched } else { InputType::Basic };
            r.key.constraint_type = if n % 4 == 0 { ConstraintType::WithConstraint } else { ConstraintType::NoConstraint };
            if n % 3 == 0 {
                r.outputs.errors = vec!["fill failed".into()];
            }
            all.push(r);
        }
        store.insert_results(&run, &all).unwrap();
        let chips = |f: ResultFilter| {
            let page = store.results(&f).unwrap();
            assert_eq!(page.total, page.results.len() as u64, "total agrees with the rows: {f:?}");
            page.results.iter().map(|r| r.chip_count).collect::<Vec<_>>()
        };
        assert_eq!(chips(ResultFilter { style: Some("guided".into()), ..Default::default() }), [8, 6, 4, 2]);
        assert_eq!(chips(ResultFilter { input_type: Some(InputType::Enriched), ..Default::default() }), [4, 3, 2, 1]);
        let constrained = ResultFilter { constraint_type: Some(ConstraintType::WithConstraint), ..Default::default() };
        assert_eq!(chips(constrained), [8, 4]);
        assert_eq!(chips(ResultFilter { chip_count: Some(5), ..Default::default() }), [5]);
        assert_eq!(chips(ResultFilter { has_errors: Some(true), ..Default::default() }), [6, 3]);
        assert_eq!(chips(ResultFilter { has_errors: Some(false), ..Default::default() }).len(), 6);
        let combined = ResultFilter { style: Some("terse".into()), input_type: Some(InputType::Enriched), has_errors: Some(true), ..Default::default() };
        assert_eq!(chips(combined), [3]);
    }

    #[test]
    fn sorts_by_any_column_in_both_directions_with_arrival_as_tie_break() {
        let (_d, store) = temp_store();
        let run = new_run(&store, false).summary.id;
        // chip counts 1..=6 arrive in order; costs fall as chips rise; two models alternate
        let all: Vec<_> = (1..=6u32).map(|n| sample(if n % 2 == 0 { "b" } else { "a" }, "p", n, 10.0 - f64::from(n))).collect();
        store.insert_results(&run, &all).unwrap();
        let ids: Vec<_> = store.results(&ResultFilter { order: ResultOrder::ChipCount, descending: false, ..Default::default() }).unwrap().results;
        store.rate(TARGET_RESULT, &ids[0].id, "ana", 2).unwrap(); // chip count 1
        store.rate(TARGET_RESULT, &ids[3].id, "ana", 5).unwrap(); // chip count 4
        let sorted = |order, descending| {
            let f = ResultFilter { order, descending, user: Some("ana".into()), ..Default::default() };
            store.results(&f).unwrap().results.iter().map(|r| r.chip_count).collect::<Vec<_>>()
        };
        assert_eq!(sorted(ResultOrder::Arrival, true), [6, 5, 4, 3, 2, 1]);
        assert_eq!(sorted(ResultOrder::ChipCount, false), [1, 2, 3, 4, 5, 6]);
        assert_eq!(sorted(ResultOrder::Cost, false), [6, 5, 4, 3, 2, 1], "cheapest first");
        assert_eq!(sorted(ResultOrder::Model, false), [1, 3, 5, 2, 4, 6], "ties keep arrival order");
        assert_eq!(sorted(ResultOrder::Model, true), [6, 4, 2, 5, 3, 1]);
        assert_eq!(sorted(ResultOrder::MyRating, true), [4, 1, 6, 5, 3, 2], "rated first, unrated last");
        assert_eq!(sorted(ResultOrder::AvgRating, true)[..2], [4, 1]);
        assert_eq!(sorted(ResultOrder::RatingCount, true)[..2], [4, 1]);
        let paged = |offset| {
            let f = ResultFilter { order: ResultOrder::Model, descending: false, limit: 2, offset, ..Default::default() };
            store.results(&f).unwrap().results.into_iter().map(|r| r.chip_count)
        };
        let pages: Vec<_> = (0..3).flat_map(|p| paged(p * 2)).collect();
        assert_eq!(pages, [1, 3, 5, 2, 4, 6], "pages of a sorted list neither overlap nor skip");
    }

    /// The rating queue and the default list pick their page from an index in order; a sort of
    /// every result (a temp B-tree) would cost seconds at 1,000,000 results.
    #[test]
    fn the_queue_and_newest_pages_never_sort_the_table() {
        let (_d, store) = temp_store();
        for f in [
            ResultFilter { unrated_by: Some("me".into()), order: ResultOrder::Shuffled, ..Default::default() },
            ResultFilter { unrated_by: Some("me".into()), model: Some("m".into()), ..Default::default() },
            ResultFilter::default(),
        ] {
            let mut p = vec![Sql::Null];
            let clause = where_clause(&f, &mut p);
            let sql = format!("EXPLAIN QUERY PLAN {}", page_seqs_sql(&f, &clause, p.len()));
            p.extend([Sql::Integer(50), Sql::Integer(0)]);
            let plan: Vec<String> = store
                .read(|c| Ok(c.prepare(&sql)?.query_map(params_from_iter(p), |r| r.get(3))?.collect::<rusqlite::Result<_>>()?))
                .unwrap();
            assert!(!plan.iter().any(|step| step.contains("TEMP B-TREE")), "{f:?} sorts: {plan:#?}");
        }
    }

    #[test]
    fn detail_round_trips_chips_and_metrics() {
        let (_d, store) = temp_store();
        let run = new_run(&store, false).summary.id;
        let mut r = sample("m", "p", 10, 0.25);
        r.outputs.step1_chips = Some(vec![Chip { text: "a".into(), kind: ChipType::Situation }]);
        r.outputs.errors = vec!["shortfall: 1 of 10 chips after fill".into()];
        r.outputs.metrics.duplicates_removed = 3;
        store.insert_results(&run, &[r.clone()]).unwrap();
        let id = crate::ids::result_id(&r.key, &run);
        let d = store.result(&id, Some("ana")).unwrap();
        assert_eq!(d.outputs, r.outputs, "everything a test produced round-trips");
        assert_eq!((d.summary.error_count, d.summary.my_rating), (1, None));
        assert!(matches!(store.result("nope", None), Err(StoreError::NotFound { .. })));
        assert_eq!(store.run_results(&run).unwrap().len(), 1);
    }
}
