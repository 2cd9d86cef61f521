//! Statistics for leaderboards, read from the maintained `result_stats` summary (never a scan of
//! results). Each result counts once: result_count = distinct results, rated_count = results with
//! a live rating, avg_rating = mean of per-result mean ratings; cost, latency and tokens are over
//! results. The interval is a seeded bootstrap over the maintained histogram of per-result means
//! (`rating_hist`, [`crate::stats`]). Rank = 1 + entries whose interval lies wholly above this one
//! (overlaps tie).
//!
//! With `normalise`, the score is the mean rater z-score over the group's ratings (from the
//! maintained per-rater moments, `rater_stats`) with a normal interval, and rank and the Pareto
//! front follow it. Agreement (Krippendorff's alpha, ordinal) is over results rated twice or more,
//! per group and overall, from the maintained coincidence matrices (`coincidence`).

use std::collections::HashMap;

use rusqlite::{params_from_iter, types::Value as Sql, Connection};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::{Result, Store};
use crate::stats::{bootstrap_interval, krippendorff_alpha_ordinal, z_score, Coincidence, Moments, BOOTSTRAP_ROUNDS};

/// The dimensions stats can be grouped by: a closed set, never spliced text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Model,
    PersonaId,
    Style,
    InputType,
    ConstraintType,
    ChipCount,
}

impl GroupBy {
    pub const ALL: [GroupBy; 6] =
        [Self::Model, Self::PersonaId, Self::Style, Self::InputType, Self::ConstraintType, Self::ChipCount];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::PersonaId => "persona_id",
            Self::Style => "style",
            Self::InputType => "input_type",
            Self::ConstraintType => "constraint_type",
            Self::ChipCount => "chip_count",
        }
    }

    pub fn parse(s: &str) -> Option<GroupBy> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StatsQuery {
    pub group_by: GroupBy,
    pub run_id: Option<String>,
    /// Demo (mock) runs are left out unless asked for, or unless `run_id` names one.
    #[serde(default)]
    pub include_demo: bool,
    /// Score by rater z-scores instead of raw ratings (rank and the Pareto front follow).
    #[serde(default)]
    pub normalise: bool,
}

impl StatsQuery {
    /// Every live non-demo run, raw ratings.
    pub fn by(group_by: GroupBy) -> StatsQuery {
        StatsQuery { group_by, run_id: None, include_demo: false, normalise: false }
    }

    /// The dimension (`?1`) and the runs that count (one run as `?2`, or every live run, demo
    /// runs only when asked), as a condition on runs `r` and summary rows `s`, with its parameters.
    fn scope(&self) -> (&'static str, Vec<Sql>) {
        let dim = Sql::Text(self.group_by.as_str().into());
        match &self.run_id {
            Some(run) => (" AND s.run_id = ?2", vec![dim, Sql::Text(run.clone())]),
            None if !self.include_demo => (" AND r.is_demo = 0", vec![dim]),
            None => ("", vec![dim]),
        }
    }
}

/// The group a stats row is for, keyed by the dimension's name as the seed API did:
/// `{"model": "openai/gpt-5-mini"}`. Exactly one field is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GroupKey {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persona_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chip_count: Option<String>,
}

impl GroupKey {
    pub fn new(group_by: GroupBy, value: String) -> GroupKey {
        let mut key = GroupKey::default();
        *match group_by {
            GroupBy::Model => &mut key.model,
            GroupBy::PersonaId => &mut key.persona_id,
            GroupBy::Style => &mut key.style,
            GroupBy::InputType => &mut key.input_type,
            GroupBy::ConstraintType => &mut key.constraint_type,
            GroupBy::ChipCount => &mut key.chip_count,
        } = Some(value);
        key
    }

    pub fn value(&self) -> &str {
        [&self.model, &self.persona_id, &self.style, &self.input_type, &self.constraint_type, &self.chip_count]
            .into_iter()
            .find_map(|v| v.as_deref())
            .unwrap_or("")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Tokens {
    pub input: Option<f64>,
    pub output: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StatsRow {
    #[serde(flatten)]
    pub key: GroupKey,
    pub result_count: u64,
    pub rated_count: u64,
    pub avg_rating: Option<f64>,
    /// 95% bootstrap interval of avg_rating (results resampled, 1,000 seeded rounds).
    pub rating_interval: Option<(f64, f64)>,
    /// With `normalise`: the mean rater z-score and its 95% interval.
    pub z_score: Option<f64>,
    pub z_interval: Option<(f64, f64)>,
    /// By the interval of the score in use (raw or normalised); overlapping intervals tie.
    pub rank: Option<u32>,
    /// Krippendorff's alpha (ordinal) over this group's results rated twice or more.
    pub agreement: Option<f64>,
    /// Results of this group rated by two or more raters (the units of `agreement`).
    pub agreement_units: u64,
    /// On the front of quality (the score in use) against cost per result.
    pub pareto: bool,
    pub total_cost_usd: f64,
    pub avg_latency_ms: Option<f64>,
    pub avg_tokens: Tokens,
    /// Objective metrics as fractions of results.
    pub parsed_rate: f64,
    pub count_met_rate: f64,
    pub constraint_met_rate: f64,
    pub fill_rate: f64,
    pub error_rate: f64,
}

impl StatsRow {
    pub fn value(&self) -> &str {
        self.key.value()
    }
}

/// Intervals keyed by (seed, histogram): unchanged data is never resampled twice, and a new rating
/// changes only its group's histogram. Bounded; cleared when full.
#[derive(Default)]
pub(super) struct IntervalCache(HashMap<HistKey, Option<(f64, f64)>>);

/// A group's seed and its histogram, with values as bit patterns so the key is hashable.
type HistKey = (u64, Vec<(u64, u64)>);

impl IntervalCache {
    const MAX: usize = 4096;

    fn get_or_compute(&mut self, seed: u64, hist: &[(f64, u64)]) -> Option<(f64, f64)> {
        let key = (seed, hist.iter().map(|&(v, c)| (v.to_bits(), c)).collect());
        if let Some(hit) = self.0.get(&key) {
            return *hit;
        }
        if self.0.len() >= Self::MAX {
            self.0.clear();
        }
        let interval = bootstrap_interval(hist, BOOTSTRAP_ROUNDS, seed);
        self.0.insert(key, interval);
        interval
    }
}

/// A stable seed per group, so a leaderboard's intervals do not move between reads.
fn seed(value: &str) -> u64 {
    let h = sha2::Sha256::digest(value.as_bytes());
    u64::from_le_bytes(h[..8].try_into().expect("8 bytes"))
}

/// The leaderboard of a query: a row per group, and agreement over all its multi-rated results.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Leaderboard {
    pub stats: Vec<StatsRow>,
    pub agreement: Option<f64>,
    pub agreement_units: u64,
}

impl StatsRow {
    /// The score in use (the mean rating, or with `normalise` the mean rater z-score) and its interval.
    pub fn score(&self, normalise: bool) -> (Option<f64>, Option<(f64, f64)>) {
        if normalise {
            (self.z_score, self.z_interval)
        } else {
            (self.avg_rating, self.rating_interval)
        }
    }
}

fn rank(rows: &mut [StatsRow], normalise: bool) {
    let intervals: Vec<_> = rows.iter().filter_map(|r| r.score(normalise).1).collect();
    for row in rows.iter_mut() {
        row.rank = row.score(normalise).1.map(|(_, hi)| 1 + intervals.iter().filter(|(lo, _)| *lo > hi).count() as u32);
    }
}

/// Marks the rows on the front of quality against cost per result (rows with a score only).
fn mark_pareto(rows: &mut [StatsRow], normalise: bool) {
    let scored: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].score(normalise).0.is_some()).collect();
    let points: Vec<(f64, f64)> = scored
        .iter()
        .map(|&i| (rows[i].total_cost_usd / rows[i].result_count as f64, rows[i].score(normalise).0.unwrap_or_default()))
        .collect();
    for (&i, on) in scored.iter().zip(crate::stats::pareto_front(&points)) {
        rows[i].pareto = on;
    }
}

/// One row per group from the maintained summary, without intervals, scores or agreement.
fn summary_rows(c: &Connection, q: &StatsQuery) -> rusqlite::Result<Vec<StatsRow>> {
    let (runs, p) = q.scope();
    let sql = format!(
        "SELECT s.value, sum(s.result_count), sum(s.rated_count), sum(s.mean_sum),
                sum(s.cost_sum), sum(s.latency_sum), sum(s.input_tokens_sum), sum(s.output_tokens_sum),
                sum(s.parsed_sum), sum(s.count_met_sum), sum(s.constraint_met_sum), sum(s.fill_used_sum),
                sum(s.with_errors_sum)
         FROM result_stats s JOIN runs r ON r.id = s.run_id
         WHERE s.dim = ?1 AND r.deleted_at IS NULL{runs}
         GROUP BY s.value HAVING sum(s.result_count) > 0"
    );
    c.prepare_cached(&sql)?
        .query_map(params_from_iter(&p), |r| {
            let n: u64 = r.get(1)?;
            let rated: u64 = r.get(2)?;
            let nf = n as f64;
            let rate = |i: usize| -> rusqlite::Result<f64> { Ok(r.get::<_, f64>(i)? / nf) };
            Ok(StatsRow {
                key: GroupKey::new(q.group_by, r.get(0)?),
                result_count: n,
                rated_count: rated,
                avg_rating: (rated > 0).then(|| r.get::<_, f64>(3).map(|s| s / rated as f64)).transpose()?,
                total_cost_usd: r.get(4)?,
                avg_latency_ms: Some(rate(5)?),
                avg_tokens: Tokens { input: Some(rate(6)?), output: Some(rate(7)?) },
                parsed_rate: rate(8)?,
                count_met_rate: rate(9)?,
                constraint_met_rate: rate(10)?,
                fill_rate: rate(11)?,
                error_rate: rate(12)?,
                ..Default::default() // intervals, scores, rank and agreement come later
            })
        })?
        .collect()
}

/// Per group, the histogram of per-result mean ratings: (mean, how many results).
fn histograms(c: &Connection, q: &StatsQuery) -> rusqlite::Result<HashMap<String, Vec<(f64, u64)>>> {
    let (runs, p) = q.scope();
    let sql = format!(
        "SELECT s.value, CAST(s.rsum AS REAL) / s.rcount, sum(s.n)
         FROM rating_hist s JOIN runs r ON r.id = s.run_id
         WHERE s.dim = ?1 AND r.deleted_at IS NULL{runs}
         GROUP BY s.value, s.rsum, s.rcount HAVING sum(s.n) > 0"
    );
    let mut hists: HashMap<String, Vec<(f64, u64)>> = HashMap::new();
    let mut stmt = c.prepare_cached(&sql)?;
    let mut cursor = stmt.query(params_from_iter(&p))?;
    while let Some(r) = cursor.next()? {
        hists.entry(r.get(0)?).or_default().push((r.get(1)?, r.get(2)?));
    }
    Ok(hists)
}

/// Per (group, rater), the rater's live ratings there, from the maintained `rater_stats`.
fn rater_moments(c: &Connection, q: &StatsQuery) -> rusqlite::Result<HashMap<(String, String), Moments>> {
    let (runs, p) = q.scope();
    let sql = format!(
        "SELECT s.value, s.user_id, sum(s.n), sum(s.s), sum(s.ss)
         FROM rater_stats s JOIN runs r ON r.id = s.run_id
         WHERE s.dim = ?1 AND r.deleted_at IS NULL{runs}
         GROUP BY s.value, s.user_id HAVING sum(s.n) > 0"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(&p), |r| Ok(((r.get(0)?, r.get(1)?), Moments { n: r.get(2)?, s: r.get(3)?, ss: r.get(4)? })))?;
    rows.collect()
}

/// Per group, the maintained coincidence matrix and how many results it pairs.
fn coincidences(c: &Connection, q: &StatsQuery) -> rusqlite::Result<HashMap<String, (Coincidence, u64)>> {
    let (runs, p) = q.scope();
    let cells: Vec<String> = CELLS.iter().map(|(c, k)| format!("sum(s.o{}{})", c + 1, k + 1)).collect();
    let sql = format!(
        "SELECT s.value, sum(s.units), {}
         FROM coincidence s JOIN runs r ON r.id = s.run_id
         WHERE s.dim = ?1 AND r.deleted_at IS NULL{runs}
         GROUP BY s.value HAVING sum(s.units) > 0",
        cells.join(", ")
    );
    let mut out = HashMap::new();
    let mut stmt = c.prepare_cached(&sql)?;
    let mut cursor = stmt.query(params_from_iter(&p))?;
    while let Some(r) = cursor.next()? {
        let mut o: Coincidence = Default::default();
        for (i, &(c, k)) in CELLS.iter().enumerate() {
            o[c][k] = r.get(2 + i)?;
            o[k][c] = o[c][k];
        }
        out.insert(r.get(0)?, (o, r.get(1)?));
    }
    Ok(out)
}

/// The stored cells of the symmetric coincidence matrix: (c, k) with c <= k, values 1-5 as 0-4.
const CELLS: [(usize, usize); 15] =
    [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 1), (1, 2), (1, 3), (1, 4), (2, 2), (2, 3), (2, 4), (3, 3), (3, 4), (4, 4)];

/// One value a dimension takes, with how many results have it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Facet {
    pub group_by: GroupBy,
    pub value: String,
    pub result_count: u64,
}

impl Store {
    pub fn stats(&self, q: &StatsQuery) -> Result<Leaderboard> {
        let (mut rows, hists, raters, units) = self.read(|c| {
            let raters = if q.normalise { rater_moments(c, q)? } else { HashMap::new() };
            Ok((summary_rows(c, q)?, histograms(c, q)?, raters, coincidences(c, q)?))
        })?;
        let mut cache = self.inner.intervals.lock().unwrap_or_else(|e| e.into_inner());
        for row in &mut rows {
            row.rating_interval = hists.get(row.value()).and_then(|h| cache.get_or_compute(seed(row.value()), h));
        }
        drop(cache);
        if q.normalise {
            // A rater's moments over every group of one dimension are their moments in scope.
            let mut overall: HashMap<&str, Moments> = HashMap::new();
            for ((_, user), m) in &raters {
                let o = overall.entry(user.as_str()).or_default();
                (o.n, o.s, o.ss) = (o.n + m.n, o.s + m.s, o.ss + m.ss);
            }
            for row in &mut rows {
                let pairs: Vec<_> = raters.iter().filter(|((value, _), _)| value == row.value()).map(|((_, user), &m)| (overall[user.as_str()], m)).collect();
                if let Some((mean, interval)) = z_score(&pairs) {
                    (row.z_score, row.z_interval) = (Some(mean), interval);
                }
            }
        }
        // Each result is in exactly one group of a dimension: the groups' matrices add up.
        let (mut all, mut all_units): (Coincidence, u64) = Default::default();
        for row in &mut rows {
            if let Some((o, n)) = units.get(row.value()) {
                row.agreement = krippendorff_alpha_ordinal(o);
                row.agreement_units = *n;
                all_units += n;
                for (c, k) in (0..5).flat_map(|c| (0..5).map(move |k| (c, k))) {
                    all[c][k] += o[c][k];
                }
            }
        }
        rank(&mut rows, q.normalise);
        mark_pareto(&mut rows, q.normalise);
        rows.sort_by(|a, b| {
            let (sa, sb) = (a.score(q.normalise).0, b.score(q.normalise).0);
            sb.partial_cmp(&sa).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.value().cmp(b.value()))
        });
        Ok(Leaderboard { stats: rows, agreement: krippendorff_alpha_ordinal(&all), agreement_units: all_units })
    }

    /// The values every dimension takes in live runs (one run, or all, demo runs included), with
    /// their result counts: the options of the results view's filters. Read from the summary.
    pub fn facets(&self, run_id: Option<&str>) -> Result<Vec<Facet>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT s.dim, s.value, sum(s.result_count)
                 FROM result_stats s JOIN runs r ON r.id = s.run_id
                 WHERE r.deleted_at IS NULL AND (?1 IS NULL OR s.run_id = ?1)
                 GROUP BY s.dim, s.value HAVING sum(s.result_count) > 0
                 ORDER BY s.dim, CAST(s.value AS INTEGER), s.value",
            )?;
            let rows = stmt.query_map([run_id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?;
            let mut facets = Vec::new();
            for row in rows {
                let (dim, value, result_count) = row?;
                if let Some(group_by) = GroupBy::parse(&dim) {
                    facets.push(Facet { group_by, value, result_count });
                }
            }
            Ok(facets)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{results::tests::sample, runs::tests::new_run, tests::temp_store, TARGET_RESULT};
    use rand::{Rng, SeedableRng};
    use std::collections::HashMap;

    #[test]
    fn a_result_rated_twice_counts_once() {
        let (_d, store) = temp_store();
        let run = new_run(&store, false).summary.id;
        let a = sample("a", "p", 10, 1.0);
        let b = sample("a", "p", 15, 3.0);
        store.insert_results(&run, &[a.clone(), b]).unwrap();
        let a_id = crate::ids::result_id(&a.key, &run);
        store.rate(TARGET_RESULT, &a_id, "u1", 5).unwrap();
        store.rate(TARGET_RESULT, &a_id, "u2", 3).unwrap();
        let rows = store.stats(&StatsQuery::by(GroupBy::Model)).unwrap().stats;
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!((row.result_count, row.rated_count, row.avg_rating), (2, 1, Some(4.0)), "two ratings of one result: one rated result, mean of its mean");
        assert_eq!(row.total_cost_usd, 4.0, "cost is not inflated by the join with ratings");
        assert_eq!(serde_json::to_value(row).unwrap()["model"], "a", "the seed's shape: keyed by the group name");
    }

    #[test]
    fn cached_intervals_follow_new_ratings() {
        let (_d, store) = temp_store();
        let run = new_run(&store, false).summary.id;
        let results: Vec<_> = (1..=6).map(|n| sample(if n <= 3 { "a" } else { "b" }, "p", n, 0.0)).collect();
        store.insert_results(&run, &results).unwrap();
        let ids: Vec<_> = results.iter().map(|r| crate::ids::result_id(&r.key, &run)).collect();
        for (id, rating) in ids.iter().zip([2, 4, 5, 1, 3, 5]) {
            store.rate(TARGET_RESULT, id, "u", rating).unwrap();
        }
        let q = StatsQuery::by(GroupBy::Model);
        let interval = |rows: &[StatsRow], m: &str| rows.iter().find(|r| r.value() == m).unwrap().rating_interval;
        let before = store.stats(&q).unwrap().stats;
        assert_eq!(store.stats(&q).unwrap().stats, before, "unchanged data, unchanged intervals");
        store.rate(TARGET_RESULT, &ids[0], "u", 5).unwrap();
        let after = store.stats(&q).unwrap().stats;
        assert_ne!(interval(&after, "a"), interval(&before, "a"), "a's new rating moves its interval");
        assert_eq!(interval(&after, "b"), interval(&before, "b"), "b is untouched");
    }

    #[test]
    fn demo_runs_are_left_out_unless_asked() {
        let (_d, store) = temp_store();
        let demo = new_run(&store, true).summary.id;
        store.insert_results(&demo, &[sample("m", "p", 10, 1.0)]).unwrap();
        let q = |include_demo, run_id| StatsQuery { run_id, include_demo, ..StatsQuery::by(GroupBy::Model) };
        assert!(store.stats(&q(false, None)).unwrap().stats.is_empty());
        assert_eq!(store.stats(&q(true, None)).unwrap().stats.len(), 1);
        assert_eq!(store.stats(&q(false, Some(demo))).unwrap().stats.len(), 1, "naming the run includes it");
    }

    #[test]
    fn facets_list_each_dimension_value_with_its_count() {
        let (_d, store) = temp_store();
        let (one, two) = (new_run(&store, false).summary.id, new_run(&store, true).summary.id);
        store.insert_results(&one, &[sample("a", "p", 10, 0.0), sample("b", "p", 5, 0.0), sample("a", "p", 15, 0.0)]).unwrap();
        store.insert_results(&two, &[sample("c", "q", 10, 0.0)]).unwrap();
        let of = |run: Option<&str>, g: GroupBy| -> Vec<(String, u64)> {
            let facets = store.facets(run).unwrap();
            facets.into_iter().filter(|f| f.group_by == g).map(|f| (f.value, f.result_count)).collect()
        };
        let owned = |v: &[(&str, u64)]| v.iter().map(|&(s, n)| (s.to_owned(), n)).collect::<Vec<_>>();
        assert_eq!(of(None, GroupBy::Model), owned(&[("a", 2), ("b", 1), ("c", 1)]), "demo runs included");
        assert_eq!(of(None, GroupBy::ChipCount), owned(&[("5", 1), ("10", 2), ("15", 1)]), "chip counts in numeric order");
        assert_eq!(of(Some(&two), GroupBy::PersonaId), owned(&[("q", 1)]));
    }

    /// Stores `n` results of `model` costing `cost` each; returns their ids.
    fn results_of(store: &Store, run: &str, model: &str, n: u32, cost: f64) -> Vec<String> {
        let results: Vec<_> = (1..=n).map(|c| sample(model, "p", c, cost)).collect();
        store.insert_results(run, &results).unwrap();
        results.iter().map(|r| crate::ids::result_id(&r.key, run)).collect()
    }

    #[test]
    fn normalised_scores_undo_a_harsh_and_a_lenient_rater() {
        let (_d, store) = temp_store();
        let run = new_run(&store, false).summary.id;
        let (a, b, c) = (results_of(&store, &run, "a", 2, 0.0), results_of(&store, &run, "b", 2, 0.0), results_of(&store, &run, "c", 2, 0.0));
        // harsh: a 3, 3 and c 1, 1 (mean 2, sd 1); lenient: b 4, 4 and c 5, 5 (mean 4.5, sd 0.5)
        for (ids, user, rating) in [(&a, "harsh", 3), (&c, "harsh", 1), (&b, "lenient", 4), (&c, "lenient", 5)] {
            for id in ids.iter() {
                store.rate(TARGET_RESULT, id, user, rating).unwrap();
            }
        }
        let order = |normalise| -> Vec<(String, f64)> {
            let board = store.stats(&StatsQuery { normalise, ..StatsQuery::by(GroupBy::Model) }).unwrap();
            board.stats.iter().map(|r| (r.value().to_owned(), if normalise { r.z_score.unwrap() } else { r.avg_rating.unwrap() })).collect()
        };
        assert_eq!(order(false)[0], ("b".into(), 4.0), "raw means favour the lenient rater's model");
        let z = order(true);
        assert_eq!(z.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>(), ["a", "c", "b"]);
        for ((_, got), want) in z.iter().zip([1.0, 0.0, -1.0]) {
            assert!((got - want).abs() < 1e-12, "{z:?}");
        }
        // An undone rating leaves the moments: the harsh rater's c ratings gone, c is all lenient +1.
        for id in &c {
            store.unrate(TARGET_RESULT, id, "harsh").unwrap();
        }
        let z = order(true);
        assert!(z.iter().any(|(m, v)| m == "c" && (v - 1.0).abs() < 1e-12), "{z:?}");
    }

    #[test]
    fn agreement_is_krippendorffs_alpha_per_group_and_overall() {
        let (_d, store) = temp_store();
        let run = new_run(&store, false).summary.id;
        let a = results_of(&store, &run, "a", 8, 0.0);
        let b = results_of(&store, &run, "b", 2, 0.0);
        // a: the seven pairs of the unit test (alpha 0.8423588039867109), and one result rated once
        let pairs = [(1, 2), (2, 2), (3, 4), (4, 4), (5, 4), (3, 3), (2, 1)];
        for (id, (x, y)) in a.iter().zip(pairs) {
            store.rate(TARGET_RESULT, id, "u1", x).unwrap();
            store.rate(TARGET_RESULT, id, "u2", y).unwrap();
        }
        store.rate(TARGET_RESULT, &a[7], "u1", 5).unwrap();
        for (id, v) in b.iter().zip([3, 4]) {
            store.rate(TARGET_RESULT, id, "u1", v).unwrap();
            store.rate(TARGET_RESULT, id, "u2", v).unwrap();
            store.rate(TARGET_RESULT, id, "u3", v).unwrap();
        }
        let board = store.stats(&StatsQuery::by(GroupBy::Model)).unwrap();
        let row = |m: &str| board.stats.iter().find(|r| r.value() == m).unwrap().clone();
        assert_eq!(row("a").agreement_units, 7, "the result rated once is no unit");
        assert!((row("a").agreement.unwrap() - 0.842_358_803_986_710_9).abs() < 1e-12);
        assert_eq!((row("b").agreement, row("b").agreement_units), (Some(1.0), 2));
        let unit = |v: &[usize]| {
            let mut u = [0u32; 5];
            v.iter().for_each(|&x| u[x - 1] += 1);
            u
        };
        let mut all: Vec<_> = pairs.iter().map(|&(x, y)| unit(&[x as usize, y as usize])).collect();
        all.extend([unit(&[3, 3, 3]), unit(&[4, 4, 4])]);
        let (got, want) = (board.agreement.unwrap(), krippendorff_alpha_ordinal(&crate::stats::coincidence(&all)).unwrap());
        assert!((got - want).abs() < 1e-12, "overall {got} vs {want}");
        assert_eq!(board.agreement_units, 9);
        // Undoing the second rating removes the unit.
        store.unrate(TARGET_RESULT, &a[0], "u2").unwrap();
        let board = store.stats(&StatsQuery::by(GroupBy::Model)).unwrap();
        assert_eq!(board.stats.iter().find(|r| r.value() == "a").unwrap().agreement_units, 6);
    }

    #[test]
    fn the_pareto_front_marks_models_nothing_beats_on_cost_and_rating() {
        let (_d, store) = temp_store();
        let run = new_run(&store, false).summary.id;
        // (model, cost per result, rating): cheap-ok, dear-best, dear-worse (beaten), unrated
        for (model, cost, rating) in [("cheap", 0.1, Some(3)), ("best", 1.0, Some(5)), ("beaten", 2.0, Some(4)), ("unrated", 0.01, None)] {
            for id in results_of(&store, &run, model, 2, cost) {
                if let Some(r) = rating {
                    store.rate(TARGET_RESULT, &id, "u", r).unwrap();
                }
            }
        }
        let board = store.stats(&StatsQuery::by(GroupBy::Model)).unwrap();
        let front: Vec<_> = board.stats.iter().filter(|r| r.pareto).map(|r| r.value()).collect();
        assert_eq!(front, ["best", "cheap"], "sorted by rating; the beaten and the unrated are off the front");
    }

    #[test]
    fn ratings_that_arrive_before_their_result_count_when_it_arrives() {
        let (_d, store) = temp_store();
        let run = new_run(&store, false).summary.id;
        let late = sample("a", "p", 10, 0.0);
        let id = crate::ids::result_id(&late.key, &run);
        // Sync may deliver ratings first: write them directly, as a pull would.
        store
            .write(|tx| {
                for (user, rating) in [("u1", 2), ("u2", 4)] {
                    tx.execute(
                        "INSERT INTO ratings (id, target_kind, target_id, user_id, rating, created_at, updated_at) VALUES (?1, 'result', ?2, ?3, ?4, 'x', 'x')",
                        rusqlite::params![crate::ids::rating_id("result", &id, user), id, user, rating],
                    )?;
                }
                Ok(())
            })
            .unwrap();
        store.insert_results(&run, &[late, sample("a", "p", 15, 0.0)]).unwrap();
        let other = crate::ids::result_id(&sample("a", "p", 15, 0.0).key, &run);
        store.rate(TARGET_RESULT, &other, "u1", 4).unwrap();
        store.rate(TARGET_RESULT, &other, "u2", 4).unwrap();
        let board = store.stats(&StatsQuery { normalise: true, ..StatsQuery::by(GroupBy::Model) }).unwrap();
        let row = &board.stats[0];
        assert_eq!((row.rated_count, row.agreement_units), (2, 2), "both results are units");
        let units = [[0, 1, 0, 1, 0], [0, 0, 0, 2, 0]];
        assert_eq!(row.agreement, krippendorff_alpha_ordinal(&crate::stats::coincidence(&units)));
        assert!(row.z_score.is_some(), "the early ratings are in the raters' moments");
    }

    #[test]
    fn rank_ties_overlapping_intervals() {
        let row = |lo, hi| StatsRow { avg_rating: Some((lo + hi) / 2.0), rating_interval: Some((lo, hi)), ..Default::default() };
        let mut rows = vec![row(4.0, 4.8), row(3.9, 4.5), row(2.0, 3.0)];
        rank(&mut rows, false);
        assert_eq!(rows.iter().map(|r| r.rank.unwrap()).collect::<Vec<_>>(), vec![1, 1, 3]);
    }

    /// The maintained summary must equal a direct GROUP BY after any mix of writes.
    #[test]
    fn maintained_aggregates_match_a_direct_group_by() {
        let (_d, store) = temp_store();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let runs: Vec<String> = (0..3).map(|i| new_run(&store, i == 2).summary.id).collect();
        let mut ids = Vec::new();
        for (i, run) in runs.iter().enumerate() {
            let batch: Vec<_> = (0..60)
                .map(|j| {
                    let mut r = sample(["a", "b", "c"][j % 3], ["p1", "p2"][j % 2], 5 + j as u32, rng.random_range(0.0..1.0));
                    r.latency_ms = rng.random_range(10..1000);
                    r.outputs.metrics.parsed = rng.random_bool(0.8);
                    if rng.random_bool(0.3) {
                        r.outputs.errors.push("x".into());
                    }
                    ids.push((crate::ids::result_id(&r.key, run), i));
                    r
                })
                .collect();
            store.insert_results(run, &batch).unwrap();
        }
        for _ in 0..400 {
            let (id, _) = &ids[rng.random_range(0..ids.len())];
            let user = ["u1", "u2", "u3"][rng.random_range(0..3)];
            if rng.random_bool(0.2) {
                store.unrate(TARGET_RESULT, id, user).unwrap();
            } else {
                store.rate(TARGET_RESULT, id, user, rng.random_range(1..=5)).unwrap();
            }
        }
        for g in GroupBy::ALL {
            let got = store.stats(&StatsQuery { include_demo: true, ..StatsQuery::by(g) }).unwrap().stats;
            let direct: HashMap<String, (u64, u64, f64, f64)> = store
                .read(|c| {
                    let col = if g == GroupBy::ChipCount { "CAST(chip_count AS TEXT)".into() } else { g.as_str().to_owned() };
                    let sql = format!(
                        "SELECT {col}, count(*), count(m.mean), coalesce(avg(m.mean), 0), sum(cost_usd)
                         FROM results r LEFT JOIN (SELECT target_id, avg(rating) AS mean FROM ratings
                                                   WHERE deleted_at IS NULL GROUP BY target_id) m ON m.target_id = r.id
                         GROUP BY 1"
                    );
                    let mut stmt = c.prepare(&sql)?;
                    let rows = stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))))?;
                    Ok(rows.collect::<rusqlite::Result<_>>()?)
                })
                .unwrap();
            assert_eq!(got.len(), direct.len(), "{g:?}");
            for row in got {
                let (n, rated, mean, cost) = direct[row.value()];
                assert_eq!((row.result_count, row.rated_count), (n, rated), "{g:?} {}", row.value());
                assert!((row.avg_rating.unwrap_or(0.0) - mean).abs() < 1e-9, "{g:?} avg {:?} vs {mean}", row.avg_rating);
                assert!((row.total_cost_usd - cost).abs() < 1e-9);
            }
        }
        // The maintained histogram of per-result (sum, count) pairs agrees with the results.
        let hist = |sql: &str| -> Vec<(String, i64, i64, i64)> {
            store
                .read(|c| {
                    let mut stmt = c.prepare(sql)?;
                    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                    Ok(rows.collect::<rusqlite::Result<_>>()?)
                })
                .unwrap()
        };
        assert_eq!(
            hist("SELECT value, rsum, rcount, sum(n) FROM rating_hist WHERE dim = 'persona_id' GROUP BY 1, 2, 3 HAVING sum(n) > 0 ORDER BY 1, 2, 3"),
            hist("SELECT persona_id, rating_sum, rating_count, count(*) FROM results WHERE rating_count > 0 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
            "rating_hist is the histogram of rated results"
        );
        assert_eq!(
            hist("SELECT value || ' ' || user_id, sum(n), sum(s), sum(ss) FROM rater_stats WHERE dim = 'model' GROUP BY 1 HAVING sum(n) > 0 ORDER BY 1"),
            hist("SELECT r.model || ' ' || x.user_id, count(*), sum(x.rating), sum(x.rating * x.rating) FROM ratings x JOIN results r ON r.id = x.target_id
                  WHERE x.deleted_at IS NULL GROUP BY 1 ORDER BY 1"),
            "rater_stats holds each rater's live ratings per group"
        );
        // Agreement from the maintained coincidence matrices equals alpha over the live ratings.
        let units: Vec<(String, i64, i64, i64)> = hist(
            "SELECT r.model || ' ' || r.id, x.rating, count(*), 0 FROM ratings x JOIN results r ON r.id = x.target_id
             WHERE x.deleted_at IS NULL GROUP BY r.id, x.rating",
        );
        let mut by_model: HashMap<String, HashMap<String, [u32; 5]>> = HashMap::new();
        for (key, rating, n, _) in units {
            let (model, id) = key.split_once(' ').unwrap();
            by_model.entry(model.into()).or_default().entry(id.into()).or_default()[rating as usize - 1] += n as u32;
        }
        let board = store.stats(&StatsQuery { include_demo: true, ..StatsQuery::by(GroupBy::Model) }).unwrap();
        for row in &board.stats {
            let units: Vec<[u32; 5]> = by_model[row.value()].values().copied().collect();
            let want = krippendorff_alpha_ordinal(&crate::stats::coincidence(&units));
            assert_eq!(row.agreement_units as usize, units.iter().filter(|u| u.iter().sum::<u32>() >= 2).count());
            assert!((row.agreement.unwrap() - want.unwrap()).abs() < 1e-9, "{}: {:?} vs {want:?}", row.value(), row.agreement);
        }
        // Result-page totals from the maintained counts agree with counting.
        for user in ["u1", "u2"] {
            let f = crate::store::ResultFilter { unrated_by: Some(user.into()), model: Some("a".into()), limit: 1000, ..Default::default() };
            let page = store.results(&f).unwrap();
            assert_eq!(page.total as usize, page.results.len(), "unrated_by total for {user}");
        }
    }
}
