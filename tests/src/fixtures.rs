//! Synthetic data for the benchmarks: runs of results across 10 models x 10 personas and ratings
//! by three users, written through the store as the app would.

use std::time::Instant;

use chipbench_core::{
    bench::{Axes, Matrix},
    store::{NewResult, NewRun, Store},
};

pub const ME: &str = "me@example.com";

/// Inserts `runs` runs of 2,400 synthetic results; returns how many.
pub fn fill(store: &Store, runs: usize) -> usize {
    let mut inserted = 0;
    for r in 0..runs {
        let run = store.create_run(&NewRun { config: serde_json::json!({}), provider: "openai".into(), is_demo: false, total_tests: 2400 }).unwrap();
        for chunk in synthetic_results(r).chunks(512) {
            inserted += store.insert_results(&run.summary.id, chunk).unwrap();
        }
    }
    inserted
}

/// 2,400 results: 10 models x 10 personas x 24 variants.
fn synthetic_results(seed: usize) -> Vec<NewResult> {
    let chips = vec![chipbench_core::chips::Chip { text: "quarterly board review".into(), kind: chipbench_core::chips::ChipType::Situation }; 15];
    let axes = Axes::default();
    let matrix = Matrix { models: (0..10).map(|i| format!("model-{i}")).collect(), persona_ids: (0..10).map(|i| format!("persona_{i}")).collect(), axes };
    matrix
        .keys()
        .enumerate()
        .map(|(i, key)| {
            let mut r = chipbench_core::testing::sample_result(&key.model, &key.persona_id, key.chip_count, 0.0001);
            r.key = key;
            r.outputs.final_chips = chips.clone();
            if (i + seed).is_multiple_of(7) {
                r.outputs.errors.push("shortfall: 14 of 15 chips after fill".into());
            }
            r.latency_ms = 800 + (i % 400) as u64;
            r
        })
        .collect()
}

/// Writes `n` ratings by three users (one third each), written in large transactions: nine in ten on
/// distinct results, one in ten a second rater's rating of an already rated result (so agreement
/// has units to compare). Returns how long the writes took.
pub fn rate_many(store: &Store, n: usize) -> std::time::Duration {
    let distinct = n - n / 10;
    let ids: Vec<String> = store
        .read(|c| {
            let mut stmt = c.prepare(&format!("SELECT id FROM results ORDER BY id LIMIT {distinct}"))?;
            let ids = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            Ok(ids)
        })
        .unwrap();
    const USERS: [&str; 3] = [ME, "ana@example.com", "bo@example.com"];
    let first = ids.iter().enumerate().map(|(j, id)| (id, USERS[j % 3]));
    let second = ids.iter().take(n / 10).enumerate().map(|(j, id)| (id, USERS[(j + 1) % 3]));
    let all: Vec<_> = first.chain(second).collect();
    let started = Instant::now();
    for chunk in all.chunks(10_000) {
        store
            .write(|tx| {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO ratings (id, target_kind, target_id, user_id, rating, created_at, updated_at) VALUES (?1, 'result', ?2, ?3, ?4, ?5, ?5)",
                )?;
                for (i, (id, user)) in chunk.iter().enumerate() {
                    stmt.execute(rusqlite::params![chipbench_core::ids::rating_id("result", id, user), id, user, 1 + (i % 5) as i64, chipbench_core::clock::now()])?;
                }
                Ok(())
            })
            .unwrap();
    }
    started.elapsed()
}
