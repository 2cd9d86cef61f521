//! Statistics for leaderboards, read from the maintained `result_stats` summary (never a scan of
//! results). Each result counts once: result_count = distinct results, rated_count = results with
//! a live rating, avg_rating = mean of per-result mean ratings; cost, latency and tokens are over
//! results. The interval is a seeded bootstrap over the maintained histogram of per-result means
//! (`rating_hist`, [`crate::stats`]). Rank = 1 + entries whose interval lies wholly above this one
//! (overlaps tie).

use std::collections::HashMap;

use rusqlite::{params_from_iter, types::Value as Sql};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::{Result, Store};
use crate::stats::{bootstrap_interval, BOOTSTRAP_ROUNDS};

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

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Tokens {
    pub input: Option<f64>,
    pub output: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StatsRow {
    #[serde(flatten)]
    pub key: GroupKey,
    pub result_count: u64,
    pub rated_count: u64,
    pub avg_rating: Option<f64>,
    /// 95% bootstrap interval of avg_rating (results resampled, 1,000 seeded rounds).
    pub rating_interval: Option<(f64, f64)>,
    pub rank: Option<u32>,
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

fn rank(rows: &mut [StatsRow]) {
    let intervals: Vec<_> = rows.iter().map(|r| r.rating_interval).collect();
    for row in rows.iter_mut() {
        row.rank = row.rating_interval.map(|(_, hi)| 1 + intervals.iter().flatten().filter(|(lo, _)| *lo > hi).count() as u32);
    }
}

/// One value a dimension takes, with how many results have it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Facet {
    pub group_by: GroupBy,
    pub value: String,
    pub result_count: u64,
}

impl Store {
    pub fn stats(&self, q: &StatsQuery) -> Result<Vec<StatsRow>> {
        // Which runs count: one run, or every live run (demo runs only when asked).
        let mut p = vec![Sql::Text(q.group_by.as_str().into())];
        let runs = match &q.run_id {
            Some(run) => {
                p.push(Sql::Text(run.clone()));
                " AND s.run_id = ?2"
            }
            None if !q.include_demo => " AND r.is_demo = 0",
            None => "",
        };
        let sums = format!(
            "SELECT s.value, sum(s.result_count), sum(s.rated_count), sum(s.mean_sum),
                    sum(s.cost_sum), sum(s.latency_sum), sum(s.input_tokens_sum), sum(s.output_tokens_sum),
                    sum(s.parsed_sum), sum(s.count_met_sum), sum(s.constraint_met_sum), sum(s.fill_used_sum),
                    sum(s.with_errors_sum)
             FROM result_stats s JOIN runs r ON r.id = s.run_id
             WHERE s.dim = ?1 AND r.deleted_at IS NULL{runs}
             GROUP BY s.value HAVING sum(s.result_count) > 0"
        );
        let hist = format!(
            "SELECT s.value, CAST(s.rsum AS REAL) / s.rcount, sum(s.n)
             FROM rating_hist s JOIN runs r ON r.id = s.run_id
             WHERE s.dim = ?1 AND r.deleted_at IS NULL{runs}
             GROUP BY s.value, s.rsum, s.rcount HAVING sum(s.n) > 0"
        );
        let (mut rows, hists) = self.read(|c| {
            let rows = c
                .prepare_cached(&sums)?
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
                        rating_interval: None,
                        rank: None,
                        total_cost_usd: r.get(4)?,
                        avg_latency_ms: Some(rate(5)?),
                        avg_tokens: Tokens { input: Some(rate(6)?), output: Some(rate(7)?) },
                        parsed_rate: rate(8)?,
                        count_met_rate: rate(9)?,
                        constraint_met_rate: rate(10)?,
                        fill_rate: rate(11)?,
                        error_rate: rate(12)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut hists: HashMap<String, Vec<(f64, u64)>> = HashMap::new();
            let mut stmt = c.prepare_cached(&hist)?;
            let mut cursor = stmt.query(params_from_iter(&p))?;
            while let Some(r) = cursor.next()? {
                hists.entry(r.get(0)?).or_default().push((r.get(1)?, r.get(2)?));
            }
            Ok((rows, hists))
        })?;
        let mut cache = self.inner.intervals.lock().unwrap_or_else(|e| e.into_inner());
        for row in &mut rows {
            row.rating_interval = hists.get(row.value()).and_then(|h| cache.get_or_compute(seed(row.value()), h));
        }
        drop(cache);
        rank(&mut rows);
        rows.sort_by(|a, b| {
            b.avg_rating.partial_cmp(&a.avg_rating).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.value().cmp(b.value()))
        });
        Ok(rows)
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
        let rows = store.stats(&StatsQuery { group_by: GroupBy::Model, run_id: None, include_demo: false }).unwrap();
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
        let q = StatsQuery { group_by: GroupBy::Model, run_id: None, include_demo: false };
        let interval = |rows: &[StatsRow], m: &str| rows.iter().find(|r| r.value() == m).unwrap().rating_interval;
        let before = store.stats(&q).unwrap();
        assert_eq!(store.stats(&q).unwrap(), before, "unchanged data, unchanged intervals");
        store.rate(TARGET_RESULT, &ids[0], "u", 5).unwrap();
        let after = store.stats(&q).unwrap();
        assert_ne!(interval(&after, "a"), interval(&before, "a"), "a's new rating moves its interval");
        assert_eq!(interval(&after, "b"), interval(&before, "b"), "b is untouched");
    }

    #[test]
    fn demo_runs_are_left_out_unless_asked() {
        let (_d, store) = temp_store();
        let demo = new_run(&store, true).summary.id;
        store.insert_results(&demo, &[sample("m", "p", 10, 1.0)]).unwrap();
        let q = |include_demo, run_id| StatsQuery { group_by: GroupBy::Model, run_id, include_demo };
        assert!(store.stats(&q(false, None)).unwrap().is_empty());
        assert_eq!(store.stats(&q(true, None)).unwrap().len(), 1);
        assert_eq!(store.stats(&q(false, Some(demo))).unwrap().len(), 1, "naming the run includes it");
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

    #[test]
    fn rank_ties_overlapping_intervals() {
        let row = |lo, hi| StatsRow {
            key: GroupKey::default(),
            result_count: 1,
            rated_count: 1,
            avg_rating: Some((lo + hi) / 2.0),
            rating_interval: Some((lo, hi)),
            rank: None,
            total_cost_usd: 0.0,
            avg_latency_ms: None,
            avg_tokens: Tokens { input: None, output: None },
            parsed_rate: 0.0,
            count_met_rate: 0.0,
            constraint_met_rate: 0.0,
            fill_rate: 0.0,
            error_rate: 0.0,
        };
        let mut rows = vec![row(4.0, 4.8), row(3.9, 4.5), row(2.0, 3.0)];
        rank(&mut rows);
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
            let got = store.stats(&StatsQuery { group_by: g, run_id: None, include_demo: true }).unwrap();
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
        // Result-page totals from the maintained counts agree with counting.
        for user in ["u1", "u2"] {
            let f = crate::store::ResultFilter { unrated_by: Some(user.into()), model: Some("a".into()), limit: 1000, ..Default::default() };
            let page = store.results(&f).unwrap();
            assert_eq!(page.total as usize, page.results.len(), "unrated_by total for {user}");
        }
    }
}
