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

/// A made-up vocabulary of `n` words ("kavo", "limesu", ...), so span text has realistic word
/// frequencies without shipping a corpus.
pub fn vocabulary(n: usize) -> Vec<String> {
    const SYLLABLES: [&str; 24] = ["ka", "vo", "li", "me", "su", "ra", "no", "te", "bi", "da", "fu", "ge", "ho", "ji", "ku", "lo", "ma", "ne", "pi", "qu", "ro", "sa", "tu", "we"];
    (0..n)
        .map(|i| {
            let (a, b, c) = (i % 24, (i / 24) % 24, (i / 576) % 24);
            format!("{}{}{}", SYLLABLES[a], SYLLABLES[b], if i >= 576 { SYLLABLES[c] } else { "" })
        })
        .collect()
}

/// Inserts `n` spans of about 1 KB of text (a prompt and a response drawn from a 5,000-word
/// vocabulary with Zipf frequencies, plus chip phrases), four per trace, and one trace of 20 spans
/// (its id is returned with how long the inserts took, generating the text not included).
pub fn fill_spans(store: &Store, n: usize) -> (String, std::time::Duration) {
    use chipbench_core::{
        llm::Message,
        trace::{CallParams, Span, TraceKind},
    };
    use rand::{Rng, SeedableRng};
    use rand_distr::Distribution;
    let words = vocabulary(5_000);
    let zipf = rand_distr::Zipf::new(5_000.0, 1.1).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let text = |rng: &mut rand_chacha::ChaCha8Rng, len: usize| {
        let mut s = String::with_capacity(len + 16);
        while s.len() < len {
            s.push_str(&words[zipf.sample(rng) as usize - 1]);
            s.push(' ');
        }
        s
    };
    let chips = ["quarterly board review", "night shift handover", "budget cut", "root cause", "stakeholder map"];
    let long_trace = chipbench_core::ids::new_id();
    let mut took = std::time::Duration::ZERO;
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..n {
        let trace_id = if i < 20 { long_trace.clone() } else { format!("trace-{}", i / 4) };
        let response = format!("{{\"chips\": [{{\"text\": \"{} {}\", \"type\": \"situation\"}}]}} {}", chips[i % 5], i, text(&mut rng, 380));
        batch.push(Span {
            id: format!("span-{i}"),
            trace_id,
            parent_id: None,
            trace_kind: TraceKind::Test,
            trace_name: format!("model-{} | persona_{} | guided", i % 10, i % 12),
            run_id: None,
            kind: ["generation", "selection", "generation", "fill"][i % 4].into(),
            name: "generation".into(),
            provider: Some("openai".into()),
            model: Some(format!("model-{}", i % 10)),
            ok: i % 50 != 0,
            error: (i % 50 == 0).then(|| "HTTP 503: upstream overloaded after 5 attempt(s)".into()),
            messages: Some(vec![Message::user(text(&mut rng, 600))].into()),
            params: Some(CallParams { response_format: Some("chips".into()), ..CallParams::default() }),
            response: Some(response),
            parsed: None,
            retries: Vec::new(),
            input_tokens: 150,
            output_tokens: 100,
            cost_usd: 0.0001,
            billed_cost_usd: None,
            latency_ms: rng.random_range(200..2000),
            // Spread over the last 90 days, as a store used for a season would hold them.
            started_at: chipbench_core::clock::format(chrono::Utc::now() - chrono::Duration::days((i % 90) as i64)),
            ended_at: chipbench_core::clock::format(chrono::Utc::now() - chrono::Duration::days((i % 90) as i64)),
            replay_of: None,
            attributes: None,
        });
        if batch.len() == 10_000 || i + 1 == n {
            let started = Instant::now();
            store.insert_spans(&batch).unwrap();
            took += started.elapsed();
            batch.clear();
        }
    }
    (long_trace, took)
}
