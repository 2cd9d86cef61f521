//! Daily aggregates (V9) of LLM calls, results and ratings. Calls are summed in memory per (day,
//! source, model) from the spans a transaction inserts and added with one upsert per group, so
//! no view over time ever scans the spans; spans arriving by pull are read back once and added
//! the same way. Results are summed the same way; ratings are kept by triggers. A deleted run's calls, results and
//! ratings are taken out; a rebuild recomputes everything.

use std::{
    borrow::Cow,
    collections::{BTreeMap, HashMap},
};

use rusqlite::{params, Connection};
use serde::Serialize;

use super::{Result, Store, TARGET_RESULT, TARGET_SPAN};
use crate::{
    analytics::{latency_bucket, quantile, DayRange},
    trace::Span,
};

/// One call's contribution: a span's own strings are borrowed, rows read back are owned.
struct Call<'a> {
    day: Cow<'a, str>,
    source: Cow<'a, str>,
    model: Cow<'a, str>,
    ok: bool,
    input_tokens: u64,
    output_tokens: u64,
    cost_usd: f64,
    latency_ms: u64,
}

#[derive(Default)]
struct Sums {
    calls: i64,
    errors: i64,
    input_tokens: i64,
    output_tokens: i64,
    cost_usd: f64,
    latency_ms: i64,
    buckets: HashMap<i64, i64>,
}

/// (day, source, model).
type Group<'a> = (Cow<'a, str>, Cow<'a, str>, Cow<'a, str>);

/// New calls (or, with `sign` -1, calls taken out) per (day, source, model).
pub(crate) struct DailyShares<'a> {
    sign: i64,
    groups: HashMap<Group<'a>, Sums>,
}

impl<'a> DailyShares<'a> {
    pub(crate) fn adding() -> Self {
        DailyShares { sign: 1, groups: HashMap::new() }
    }

    fn removing() -> Self {
        DailyShares { sign: -1, groups: HashMap::new() }
    }

    fn add(&mut self, c: Call<'a>) {
        let s = self.groups.entry((c.day, c.source, c.model)).or_default();
        let k = self.sign;
        s.calls += k;
        s.errors += k * i64::from(!c.ok);
        s.input_tokens += k * c.input_tokens as i64;
        s.output_tokens += k * c.output_tokens as i64;
        s.cost_usd += k as f64 * c.cost_usd;
        s.latency_ms += k * c.latency_ms as i64;
        *s.buckets.entry(latency_bucket(c.latency_ms)).or_default() += k;
    }

    pub(crate) fn add_span(&mut self, s: &'a Span) {
        self.add(Call {
            day: Cow::Borrowed(day_of(&s.started_at)),
            source: Cow::Borrowed(s.trace_kind.as_str()),
            model: Cow::Borrowed(s.model.as_deref().unwrap_or("")),
            ok: s.ok,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            cost_usd: s.cost_usd,
            latency_ms: s.latency_ms,
        });
    }

    /// Adds the spans `condition` selects (`?1` bound to `arg`), read back in one pass.
    fn add_stored(&mut self, tx: &Connection, condition: &str, arg: rusqlite::types::Value) -> rusqlite::Result<()> {
        let mut stmt = tx.prepare(&format!(
            "SELECT started_at, trace_kind, coalesce(model, ''), status = 'ok', input_tokens, output_tokens, cost_usd, latency_ms FROM spans WHERE {condition}"
        ))?;
        let mut rows = stmt.query([arg])?;
        while let Some(r) = rows.next()? {
            let mut day: String = r.get(0)?;
            day.truncate(day_of(&day).len());
            self.add(Call {
                day: Cow::Owned(day),
                source: Cow::Owned(r.get(1)?),
                model: Cow::Owned(r.get(2)?),
                ok: r.get(3)?,
                input_tokens: r.get(4)?,
                output_tokens: r.get(5)?,
                cost_usd: r.get(6)?,
                latency_ms: r.get(7)?,
            });
        }
        Ok(())
    }

    pub(crate) fn store(&self, tx: &Connection) -> rusqlite::Result<()> {
        let mut calls = tx.prepare_cached(
            "INSERT INTO daily_calls (day, source, model, calls, errors, input_tokens, output_tokens, cost_usd, latency_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT DO UPDATE SET calls = calls + excluded.calls, errors = errors + excluded.errors,
                 input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
                 cost_usd = cost_usd + excluded.cost_usd, latency_ms = latency_ms + excluded.latency_ms",
        )?;
        let mut latency = tx.prepare_cached(
            "INSERT INTO daily_latency (day, source, model, bucket, calls) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT DO UPDATE SET calls = calls + excluded.calls",
        )?;
        for ((day, source, model), s) in &self.groups {
            calls.execute(params![day, source, model, s.calls, s.errors, s.input_tokens, s.output_tokens, s.cost_usd, s.latency_ms])?;
            for (bucket, n) in &s.buckets {
                latency.execute(params![day, source, model, bucket, n])?;
            }
        }
        if self.sign < 0 {
            tx.execute("DELETE FROM daily_calls WHERE calls <= 0", [])?;
            tx.execute("DELETE FROM daily_latency WHERE calls <= 0", [])?;
        }
        Ok(())
    }
}

fn day_of(time: &str) -> &str {
    time.get(..10).unwrap_or(time)
}

/// Adds results to the results per day and model: `(created_at, model, has errors)` of each
/// result a transaction inserted.
pub(crate) fn add_results<'a>(tx: &Connection, results: impl Iterator<Item = (&'a str, &'a str, bool)>) -> rusqlite::Result<()> {
    let mut groups: HashMap<(&str, &str), (i64, i64)> = HashMap::new();
    for (created_at, model, errors) in results {
        let g = groups.entry((day_of(created_at), model)).or_default();
        (g.0, g.1) = (g.0 + 1, g.1 + i64::from(errors));
    }
    let mut upsert = tx.prepare_cached(
        "INSERT INTO daily_results (day, model, results, with_errors) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO UPDATE SET results = results + excluded.results, with_errors = with_errors + excluded.with_errors",
    )?;
    for ((day, model), (n, e)) in groups {
        upsert.execute(params![day, model, n, e])?;
    }
    Ok(())
}

/// Results that count: not under a deleted run.
const LIVE_RESULTS: &str = "run_id NOT IN (SELECT id FROM runs WHERE deleted_at IS NOT NULL)";
/// Spans that count: not under a deleted run, not in a deleted trace.
const LIVE_SPANS: &str = concat!(
    "(run_id IS NULL OR run_id NOT IN (SELECT id FROM runs WHERE deleted_at IS NOT NULL)) AND trace_id NOT IN (",
    deleted_traces!(),
    ")"
);

/// Adds results inserted after `after_seq` (a pull's; a deleted run's are left out), and ratings
/// that arrived before them.
pub(crate) fn fold_new_results(tx: &Connection, after_seq: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO daily_results (day, model, results, with_errors)
         SELECT substr(created_at, 1, 10), model, count(*), sum(error_count > 0) FROM results
         WHERE seq > ?1 AND {LIVE_RESULTS} GROUP BY 1, 2
         ON CONFLICT DO UPDATE SET results = results + excluded.results, with_errors = with_errors + excluded.with_errors"
    ))?
    .execute([after_seq])?;
    add_waiting_ratings(tx, "results", LIVE_RESULTS, TARGET_RESULT, after_seq)
}

/// Adds spans inserted after `after_seq` (a pull's; those of a deleted run or trace are left
/// out), and ratings that arrived before them.
pub(crate) fn fold_new_spans(tx: &Connection, after_seq: i64) -> rusqlite::Result<()> {
    let mut shares = DailyShares::adding();
    shares.add_stored(tx, &format!("seq > ?1 AND {LIVE_SPANS}"), after_seq.into())?;
    shares.store(tx)?;
    add_waiting_ratings(tx, "spans", LIVE_SPANS, TARGET_SPAN, after_seq)
}

/// Counts the live ratings of `table`'s rows inserted after `after_seq`: ratings a pull brought
/// before what they rate (spans are pulled after ratings, and a sync may stop between tables),
/// which the ratings trigger could not place then. A rating stored after its target is counted by
/// the trigger alone, since its target was not new then.
/// `live` says which of those rows count (ratings has none of the columns it names).
fn add_waiting_ratings(tx: &Connection, table: &str, live: &str, kind: &str, after_seq: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO daily_ratings (day, source, model, ratings, rating_sum)
         SELECT day, source, model, count(*), sum(rating) FROM rating_targets
         WHERE live AND rating_id IN (SELECT x.id FROM {table} t JOIN ratings x ON x.target_kind = ?2 AND x.target_id = t.id WHERE t.seq > ?1 AND {live})
         GROUP BY 1, 2, 3
         ON CONFLICT DO UPDATE SET ratings = ratings + excluded.ratings, rating_sum = rating_sum + excluded.rating_sum"
    ))?
    .execute(params![after_seq, kind])?;
    Ok(())
}

/// Results and ratings per day, recomputed (a deletion's rare repair; triggers keep them
/// otherwise). Deleted runs' results, and ratings of what belongs to them or to a deleted trace,
/// are left out.
const RESULTS_AND_RATINGS: &str = concat!("
    DELETE FROM daily_results;
    INSERT INTO daily_results (day, model, results, with_errors)
        SELECT substr(created_at, 1, 10), model, count(*), sum(error_count > 0) FROM results
        WHERE run_id NOT IN (SELECT id FROM runs WHERE deleted_at IS NOT NULL) GROUP BY 1, 2;
    DELETE FROM daily_ratings;
    INSERT INTO daily_ratings (day, source, model, ratings, rating_sum)
        SELECT day, source, model, count(*), sum(rating) FROM rating_targets
        WHERE live AND (run_id IS NULL OR run_id NOT IN (SELECT id FROM runs WHERE deleted_at IS NOT NULL))
          AND rating_id NOT IN (SELECT x.id FROM ratings x JOIN spans s ON x.target_kind = 'span' AND s.id = x.target_id
                                WHERE s.trace_id IN (", deleted_traces!(), "))
        GROUP BY 1, 2, 3;");

/// Takes out what runs that were just deleted brought: their calls, results and ratings.
pub(crate) fn remove_runs(tx: &Connection, run_ids: &[String]) -> rusqlite::Result<()> {
    move_runs(tx, run_ids, DailyShares::removing())
}

/// Adds back what runs that were just restored bring (the undo of [`remove_runs`]).
pub(crate) fn restore_runs(tx: &Connection, run_ids: &[String]) -> rusqlite::Result<()> {
    move_runs(tx, run_ids, DailyShares::adding())
}

/// Moves runs' calls by `shares` (removing or adding), then recounts results and ratings.
fn move_runs(tx: &Connection, run_ids: &[String], mut shares: DailyShares) -> rusqlite::Result<()> {
    if run_ids.is_empty() {
        return Ok(());
    }
    for id in run_ids {
        shares.add_stored(tx, "run_id = ?1", id.clone().into())?;
    }
    shares.store(tx)?;
    tx.execute_batch(RESULTS_AND_RATINGS)
}

/// Takes out what traces that were just deleted brought: their calls and the ratings of them.
pub(crate) fn remove_traces(tx: &Connection, trace_ids: &[String]) -> rusqlite::Result<()> {
    move_traces(tx, trace_ids, DailyShares::removing())
}

/// Adds back what traces that were just restored bring (the undo of [`remove_traces`]).
pub(crate) fn restore_traces(tx: &Connection, trace_ids: &[String]) -> rusqlite::Result<()> {
    move_traces(tx, trace_ids, DailyShares::adding())
}

/// Moves traces' calls, and their live ratings, by `shares` (a trace's spans are found through
/// its span list: spans have no index on trace_id).
fn move_traces(tx: &Connection, trace_ids: &[String], mut shares: DailyShares) -> rusqlite::Result<()> {
    if trace_ids.is_empty() {
        return Ok(());
    }
    let spans = format!("seq IN ({})", super::traces::TRACE_SEQS);
    for id in trace_ids {
        shares.add_stored(tx, &spans, id.clone().into())?;
    }
    shares.store(tx)?;
    let mut ratings = tx.prepare_cached(&format!(
        "INSERT INTO daily_ratings (day, source, model, ratings, rating_sum)
         SELECT day, source, model, ?2 * count(*), ?2 * sum(rating) FROM rating_targets
         WHERE live AND rating_id IN (SELECT x.id FROM spans s JOIN ratings x ON x.target_kind = ?3 AND x.target_id = s.id WHERE s.{spans})
         GROUP BY 1, 2, 3
         ON CONFLICT DO UPDATE SET ratings = ratings + excluded.ratings, rating_sum = rating_sum + excluded.rating_sum"
    ))?;
    for id in trace_ids {
        ratings.execute(params![id, shares.sign, TARGET_SPAN])?;
    }
    if shares.sign < 0 {
        tx.execute("DELETE FROM daily_ratings WHERE ratings <= 0", [])?;
    }
    Ok(())
}

/// Recomputes the aggregates from the spans (those of deleted runs and traces left out).
pub(crate) fn rebuild(tx: &Connection) -> rusqlite::Result<()> {
    tx.execute_batch("DELETE FROM daily_calls; DELETE FROM daily_latency;")?;
    let mut shares = DailyShares::adding();
    shares.add_stored(tx, &format!("seq > ?1 AND {LIVE_SPANS}"), 0.into())?;
    shares.store(tx)?;
    tx.execute_batch(RESULTS_AND_RATINGS)?;
    tx.execute("INSERT INTO meta (key, value) VALUES ('daily_calls', 'built') ON CONFLICT (key) DO NOTHING", [])?;
    Ok(())
}

/// Builds the aggregates once for a database whose spans predate them (V9).
pub(super) fn ensure_built(conn: &mut Connection) -> Result<()> {
    let built: bool = conn.query_row("SELECT count(*) FROM meta WHERE key = 'daily_calls'", [], |r| r.get(0))?;
    if !built {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        rebuild(&tx)?;
        tx.commit()?;
    }
    Ok(())
}

/// Calls, errors, tokens, cost and latency of a group of calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CallStats {
    pub calls: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub mean_latency_ms: Option<f64>,
    /// The bucket ceiling at the percentile (buckets are about 19% wide).
    pub p50_latency_ms: Option<f64>,
    pub p95_latency_ms: Option<f64>,
    /// Benchmark results stored, and those with content errors.
    pub results: u64,
    pub results_with_errors: u64,
    /// Ratings given (on the day they were given) and their mean, 1-5.
    pub ratings: u64,
    pub mean_rating: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GroupStats {
    /// The day (YYYY-MM-DD), the model, or both as `day model`.
    pub key: String,
    pub stats: CallStats,
}

/// A view over a range of days: the total, per day (lines over time), per model (bars), and per
/// day and model.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Analytics {
    pub total: CallStats,
    pub days: Vec<GroupStats>,
    pub models: Vec<GroupStats>,
    pub day_models: Vec<GroupStats>,
}

#[derive(Default)]
struct Acc {
    sums: Sums,
    buckets: BTreeMap<i64, u64>,
    results: i64,
    results_with_errors: i64,
    ratings: i64,
    rating_sum: i64,
}

impl Acc {
    fn stats(&self) -> CallStats {
        let s = &self.sums;
        let buckets: Vec<(i64, u64)> = self.buckets.iter().map(|(b, n)| (*b, *n)).collect();
        CallStats {
            calls: s.calls as u64,
            errors: s.errors as u64,
            error_rate: if s.calls > 0 { s.errors as f64 / s.calls as f64 } else { 0.0 },
            input_tokens: s.input_tokens as u64,
            output_tokens: s.output_tokens as u64,
            cost_usd: s.cost_usd,
            mean_latency_ms: (s.calls > 0).then(|| s.latency_ms as f64 / s.calls as f64),
            p50_latency_ms: quantile(&buckets, 0.5),
            p95_latency_ms: quantile(&buckets, 0.95),
            results: self.results.max(0) as u64,
            results_with_errors: self.results_with_errors.max(0) as u64,
            ratings: self.ratings.max(0) as u64,
            mean_rating: (self.ratings > 0).then(|| self.rating_sum as f64 / self.ratings as f64),
        }
    }
}

impl Store {
    /// Calls over `range` (and one source, if given) from the daily aggregates.
    pub fn analytics(&self, range: DayRange, source: Option<&str>) -> Result<Analytics> {
        let (from, to) = range.bounds();
        self.read(|c| {
            let mut groups: [BTreeMap<String, Acc>; 4] = Default::default();
            let keys = |day: &str, model: &str| [String::new(), day.to_owned(), model.to_owned(), format!("{day} {model}")];
            let mut stmt = c.prepare_cached(
                "SELECT day, model, calls, errors, input_tokens, output_tokens, cost_usd, latency_ms FROM daily_calls
                 WHERE day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR source = ?3)",
            )?;
            let mut rows = stmt.query(params![from, to, source])?;
            while let Some(r) = rows.next()? {
                let (day, model): (String, String) = (r.get(0)?, r.get(1)?);
                for (g, key) in groups.iter_mut().zip(keys(&day, &model)) {
                    let s = &mut g.entry(key).or_default().sums;
                    s.calls += r.get::<_, i64>(2)?;
                    s.errors += r.get::<_, i64>(3)?;
                    s.input_tokens += r.get::<_, i64>(4)?;
                    s.output_tokens += r.get::<_, i64>(5)?;
                    s.cost_usd += r.get::<_, f64>(6)?;
                    s.latency_ms += r.get::<_, i64>(7)?;
                }
            }
            let mut stmt = c.prepare_cached(
                "SELECT day, model, bucket, calls FROM daily_latency WHERE day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR source = ?3)",
            )?;
            let mut rows = stmt.query(params![from, to, source])?;
            while let Some(r) = rows.next()? {
                let (day, model, bucket, n): (String, String, i64, u64) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                for (g, key) in groups.iter_mut().zip(keys(&day, &model)) {
                    *g.entry(key).or_default().buckets.entry(bucket).or_default() += n;
                }
            }
            if source.is_none_or(|s| s == "test") {
                let mut stmt = c.prepare_cached("SELECT day, model, results, with_errors FROM daily_results WHERE day BETWEEN ?1 AND ?2")?;
                let mut rows = stmt.query(params![from, to])?;
                while let Some(r) = rows.next()? {
                    let (day, model, n, e): (String, String, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                    for (g, key) in groups.iter_mut().zip(keys(&day, &model)) {
                        let acc = g.entry(key).or_default();
                        (acc.results, acc.results_with_errors) = (acc.results + n, acc.results_with_errors + e);
                    }
                }
            }
            let mut stmt = c.prepare_cached(
                "SELECT day, model, ratings, rating_sum FROM daily_ratings WHERE day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR source = ?3)",
            )?;
            let mut rows = stmt.query(params![from, to, source])?;
            while let Some(r) = rows.next()? {
                let (day, model, n, sum): (String, String, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                for (g, key) in groups.iter_mut().zip(keys(&day, &model)) {
                    let acc = g.entry(key).or_default();
                    (acc.ratings, acc.rating_sum) = (acc.ratings + n, acc.rating_sum + sum);
                }
            }
            let [total, days, models, day_models] = groups;
            let list = |g: BTreeMap<String, Acc>| g.into_iter().map(|(key, acc)| GroupStats { key, stats: acc.stats() }).collect();
            Ok(Analytics {
                total: total.get("").map(Acc::stats).unwrap_or_default(),
                days: list(days),
                models: list(models),
                day_models: list(day_models),
            })
        })
    }

    /// Recomputes the daily aggregates from the spans (`chipbench analytics --rebuild`).
    pub fn rebuild_analytics(&self) -> Result<()> {
        self.write(|tx| Ok(rebuild(tx)?))
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::{analytics::bucket_ceiling, store::tests::temp_store, trace::TraceKind};

    /// Random calls over ten days, three sources and four models (one without a model).
    fn random_spans(n: usize, seed: u64) -> Vec<Span> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let sources = [TraceKind::Test, TraceKind::Playground, TraceKind::Import];
        let models = [Some("a/x"), Some("b/y"), Some("c/z"), None];
        (0..n)
            .map(|i| {
                let mut s = crate::store::traces::tests::span(&format!("t{}", i / 3), &format!("s{seed}-{i}"), "p", "r");
                s.trace_kind = sources[rng.random_range(0..3)];
                s.model = models[rng.random_range(0..4)].map(String::from);
                s.ok = rng.random_bool(0.9);
                s.input_tokens = rng.random_range(0..500);
                s.output_tokens = rng.random_range(0..200);
                s.cost_usd = rng.random_range(0.0..0.01);
                s.latency_ms = rng.random_range(0..5000);
                s.started_at = format!("2026-11-{:02}T{:02}:00:00.000Z", rng.random_range(10..20), rng.random_range(0..24));
                s
            })
            .collect()
    }

    /// What a direct GROUP BY over the spans says, per "day model".
    fn grouped(store: &Store) -> BTreeMap<String, (u64, u64, u64, u64, f64, f64)> {
        store
            .read(|c| {
                let mut stmt = c.prepare(
                    "SELECT substr(started_at, 1, 10) || ' ' || coalesce(model, ''), count(*), sum(status = 'error'), sum(input_tokens),
                            sum(output_tokens), sum(cost_usd), avg(latency_ms) FROM spans GROUP BY 1",
                )?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .unwrap()
    }

    /// A view's figures as text, costs to 1e-9: sums in another order differ in the last bits.
    fn figures(a: &Analytics) -> Vec<String> {
        let row = |g: &GroupStats| {
            let s = &g.stats;
            format!("{} {} {} {} {} {:.9} {:?} {:?}", g.key, s.calls, s.errors, s.input_tokens, s.output_tokens, s.cost_usd, s.p50_latency_ms, s.p95_latency_ms)
        };
        a.days.iter().chain(&a.models).chain(&a.day_models).map(row).collect()
    }

    #[test]
    fn daily_aggregates_agree_with_a_group_by_over_the_spans() {
        let (_d, store) = temp_store();
        let spans = random_spans(3000, 7);
        for chunk in spans.chunks(400) {
            store.insert_spans(chunk).unwrap();
        }
        store.insert_spans(&spans[..100]).unwrap(); // stored already: not counted twice
        let all = DayRange::all();
        let a = store.analytics(all, None).unwrap();
        let truth = grouped(&store);
        assert_eq!(a.day_models.len(), truth.len());
        for g in &a.day_models {
            let (calls, errors, input, output, cost, mean) = truth[&g.key];
            let s = &g.stats;
            assert_eq!((s.calls, s.errors, s.input_tokens, s.output_tokens), (calls, errors, input, output), "{}", g.key);
            assert!((s.cost_usd - cost).abs() < 1e-9 && (s.mean_latency_ms.unwrap() - mean).abs() < 1e-6, "{}", g.key);
        }
        assert_eq!(a.total.calls, 3000);
        // Percentiles: the ceiling of the bucket holding the exact value.
        let mut latencies: Vec<u64> = spans.iter().map(|s| s.latency_ms).collect();
        latencies.sort_unstable();
        for (q, got) in [(0.5, a.total.p50_latency_ms.unwrap()), (0.95, a.total.p95_latency_ms.unwrap())] {
            let exact = latencies[(q * latencies.len() as f64).ceil() as usize - 1];
            assert_eq!(got, bucket_ceiling(latency_bucket(exact)), "q{q}: exact {exact}");
        }

        // A range and a source narrow it; the rebuild gives the same figures.
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let some = store.analytics(DayRange { from: d("2026-11-12"), to: d("2026-11-13") }, Some("import")).unwrap();
        let direct: u64 = spans.iter().filter(|s| s.trace_kind == TraceKind::Import && ["2026-11-12", "2026-11-13"].contains(&&s.started_at[..10])).count() as u64;
        assert_eq!((some.total.calls, some.days.len()), (direct, 2));
        store.rebuild_analytics().unwrap();
        assert!(figures(&store.analytics(all, None).unwrap()) == figures(&a), "the rebuild agrees with what was maintained");
    }

    #[test]
    fn a_deleted_runs_calls_leave_the_aggregates_and_an_undo_brings_them_back() {
        let (_d, store) = temp_store();
        let run = crate::store::runs::tests::new_run(&store, false).summary.id;
        store.finish_run(&run, crate::store::RunStatus::Completed, None).unwrap();
        let mut spans = random_spans(200, 3);
        for s in &mut spans[..50] {
            s.run_id = Some(run.clone());
        }
        store.insert_spans(&spans).unwrap();
        let all = DayRange::all();
        let before = store.analytics(all, None).unwrap();
        assert_eq!(before.total.calls, 200);
        let deleted = store.delete_runs(&crate::store::RunSelection { run_id: Some(run), ..Default::default() }).unwrap();
        let after = store.analytics(all, None).unwrap();
        assert_eq!(after.total.calls, 150);
        store.rebuild_analytics().unwrap();
        assert!(figures(&store.analytics(all, None).unwrap()) == figures(&after), "a rebuild leaves the deleted run out too");
        store.restore_runs(&deleted.run_ids).unwrap();
        assert!(figures(&store.analytics(all, None).unwrap()) == figures(&before), "the undo adds its calls back");
    }

    /// A pull may bring a trace's tombstone before its spans (tables are paged separately): the
    /// spans then stay out of the aggregates, and a pulled undo puts them in.
    #[test]
    fn pulled_trace_deletions_move_calls_in_either_order() {
        use crate::{store::traces::tests::span, sync::tables::table};
        let ((_d, here), (_e, there)) = (temp_store(), temp_store());
        here.insert_spans(&[span("x", "x1", "p", "r"), span("x", "x2", "p", "r"), span("y", "y1", "p", "r")]).unwrap();
        here.delete_traces(&["x".into()]).unwrap();
        let scope = crate::sync::SyncOptions { include_demo: true, span_payloads: true };
        let pull = |name: &str| {
            let rows: Vec<_> = here.sync_pending(1000, scope).unwrap().rows.into_iter().filter(|(t, _)| t.name == name).map(|(_, r)| Some(r)).collect();
            there.sync_apply(table(name).unwrap(), &rows, (1, "")).unwrap();
        };
        let calls = || there.analytics(DayRange::all(), None).unwrap().total.calls;
        pull("trace_deletions");
        pull("spans");
        assert_eq!(calls(), 1, "the deleted trace's spans arrived after its tombstone");
        there.rebuild_analytics().unwrap();
        assert_eq!(calls(), 1, "a rebuild agrees");
        here.restore_traces(&["x".into()]).unwrap();
        pull("trace_deletions");
        assert_eq!(calls(), 3, "the pulled undo adds them back");
        here.delete_traces(&["x".into()]).unwrap();
        pull("trace_deletions");
        assert_eq!(calls(), 1, "and a pulled deletion takes them out");
    }

    #[test]
    fn results_and_ratings_count_on_their_days_and_follow_changes_undos_and_deletions() {
        let (_d, store) = temp_store();
        let run = crate::store::runs::tests::new_run(&store, false).summary.id;
        let mut flawed = crate::testing::sample_result("m/a", "p1", 10, 0.01);
        flawed.outputs.errors = vec!["count: 9 chips, not 10".into()];
        store.insert_results(&run, &[crate::testing::sample_result("m/a", "p2", 10, 0.01), flawed]).unwrap();
        store.finish_run(&run, crate::store::RunStatus::Completed, None).unwrap();
        let result = store.results(&crate::store::ResultFilter { run_id: Some(run.clone()), limit: 10, ..Default::default() }).unwrap().results[0].id.clone();
        let span = crate::store::traces::tests::span("t", "s-1", "p", "r");
        store.insert_spans(std::slice::from_ref(&span)).unwrap();
        let today = || store.analytics(DayRange::parse("24h", DayRange::today()).unwrap(), None).unwrap();
        let test = || store.analytics(DayRange::all(), Some("test")).unwrap().total;
        assert_eq!((test().results, test().results_with_errors), (2, 1));

        store.rate(crate::store::TARGET_RESULT, &result, "ana", 2).unwrap();
        store.rate(crate::store::TARGET_RESULT, &result, "ana", 4).unwrap(); // a change moves the sum
        store.rate(crate::store::TARGET_RESULT, &result, "bo", 5).unwrap();
        store.rate(crate::store::TARGET_SPAN, &span.id, "ana", 3).unwrap();
        assert_eq!((today().total.ratings, today().total.mean_rating), (3, Some(4.0)), "ratings count on the day they are given");
        assert_eq!((test().ratings, test().mean_rating), (2, Some(4.5)));
        store.unrate(crate::store::TARGET_RESULT, &result, "bo").unwrap();
        assert_eq!((test().ratings, test().mean_rating), (1, Some(4.0)), "an undo takes the rating out");
        store.rate(crate::store::TARGET_RESULT, &result, "bo", 1).unwrap();
        assert_eq!((test().ratings, test().mean_rating), (2, Some(2.5)), "and a new rating puts one back");

        store.rebuild_analytics().unwrap();
        assert_eq!((test().results, test().ratings, test().mean_rating), (2, 2, Some(2.5)), "the rebuild agrees");
        store.delete_runs(&crate::store::RunSelection { run_id: Some(run), ..Default::default() }).unwrap();
        assert_eq!((test().results, test().ratings), (0, 0), "a deleted run's results and their ratings leave");
        assert_eq!(today().total.ratings, 1, "the playground answer's rating stays");
    }
}
