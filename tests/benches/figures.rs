//! Prints Chipbench's speed and memory figures (not a pass/fail test):
//! - batch throughput against the fake server at 50 ms latency, concurrency 16 and 64, database
//!   writes included, beside the fake server's own ceiling measured alone;
//! - store: 100,000 result inserts; with CHIPBENCH_BENCH_FULL=1, 1,000,000 results and 300,000
//!   ratings: stats by model and a filtered results page (medians);
//! - peak RSS of the `chipbench` binary running a 10,080-test mock batch;
//! - sync: 50,400 results pushed to and pulled from a real Turso server (when CHIPBENCH_TURSODB is set);
//! - spans: the CPU time recording spans adds to a batch (the binary, concurrency 64, 50 ms fake
//!   server, with and without `--no-spans`), and the instructions it adds under callgrind;
//! - writer: the same spans' cost on the writer thread alone, without the network's noise;
//! - traces: search over 100,000 spans of about 1 KB (1,000,000
//!   with CHIPBENCH_BENCH_FULL=1) for a word, a phrase and a prefix; opening a trace of 20 spans;
//!   the analytics view over those spans (all, 30 days, 7 days, 24 h);
//! - dataset: `chipbench dataset FILE --import` of a generated 100 MB CSV (500,000 rows): its
//!   wall time and the process's own peak RSS;
//! - langfuse: importing 100,000 observations (20,000 traces) from the fake Langfuse API, no
//!   delay between pages;
//! - grid: a prompt-lab grid of 1,000 rows x 4 models with an LLM grader (8,000 calls) against
//!   the 50 ms fake server at concurrency 32, beside its ideal (calls x 50 ms / 32).
//!
//! Run: `scripts/bench.sh` (or `cargo bench -p chipbench-e2e --bench figures`); name sections to
//! run only those: `cargo bench -p chipbench-e2e --bench figures -- traces spans`.

use std::time::{Duration, Instant};

use chipbench_core::{
    analytics::DayRange,
    bench::{self, Axes, BatchRequest},
    dataset::Format,
    grid::{self, Graders, GridRequest, JudgeGrader, RuleGrader},
    llm::{settings::ProcessEnv, ProviderKind},
    personas,
    store::{GroupBy, Model, ResultFilter, ResultOrder, SearchQuery, StatsQuery, Store, INDEX_CHUNK, TARGET_RESULT},
};
use chipbench_core::sync::{self, Remote, SyncOptions};
use chipbench_e2e::{
    fixtures::{fill, fill_spans, rate_many, vocabulary, ME},
    FakeProvider,
};
use tokio_util::sync::CancellationToken;

const LATENCY: Duration = Duration::from_millis(50);

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!("# Chipbench figures ({} cores)", std::thread::available_parallelism().map_or(0, |n| n.get()));
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.is_empty() && !a.starts_with('-')).collect();
    let run = |section: &str| only.is_empty() || only.iter().any(|o| o == section);
    if run("throughput") {
        rt.block_on(throughput());
    }
    if run("spans") {
        rt.block_on(span_cpu());
    }
    if run("writer") {
        writer_cpu();
    }
    if run("traces") {
        trace_figures();
    }
    if run("store") {
        store_figures();
    }
    if run("memory") {
        memory();
    }
    if run("dataset") {
        dataset_import();
    }
    if run("langfuse") {
        rt.block_on(langfuse_import());
    }
    if run("grid") {
        rt.block_on(grid_run());
    }
    if run("sync") {
        rt.block_on(sync_figures());
    }
}

/// Sync through a real Turso server (tursodb) when CHIPBENCH_TURSODB names one: 100,800 results
/// pushed, pulled into an empty client, a sync with nothing to do, and what change capture adds to
/// local writes.
async fn sync_figures() {
    let Some(bin) = std::env::var_os("CHIPBENCH_TURSODB").filter(|b| std::path::Path::new(b).exists()) else {
        println!("sync: skipped (set CHIPBENCH_TURSODB to a tursodb binary; scripts/setup.sh --test installs one)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _server = tokio::process::Command::new(bin)
        .arg(dir.path().join("remote.db"))
        .args(["--sync-server", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let remote = Remote::new(&format!("http://127.0.0.1:{port}"), None).unwrap();
    let (a, b) = (Store::open(&dir.path().join("a.db")).unwrap(), Store::open(&dir.path().join("b.db")).unwrap());
    let rows = fill(&a, 42);
    let push = timed_async(sync::sync(&a, &remote, SyncOptions::default())).await;
    let pull = timed_async(sync::sync(&b, &remote, SyncOptions::default())).await;
    let mut idle = Vec::new();
    for _ in 0..10 {
        idle.push(timed_async(sync::sync(&a, &remote, SyncOptions::default())).await);
    }
    println!(
        "sync with tursodb: {rows} results pushed in {:.1} s, pulled into an empty client in {:.1} s (targets < 15 s each); a sync with nothing to do {:.1} ms median of 10 (target < 100)",
        push.as_secs_f64(),
        pull.as_secs_f64(),
        ms(median(idle))
    );
    // Change capture: the same inserts with the outbox triggers dropped (results need none).
    let insert = |capture: bool| {
        median(
            (0..3)
                .map(|_| {
                    let d = tempfile::tempdir().unwrap();
                    let store = Store::open(&d.path().join("c.db")).unwrap();
                    if !capture {
                        store
                            .write(|tx| {
                                for t in ["runs_outbox_ai", "runs_outbox_au", "ratings_outbox_ai", "ratings_outbox_au"] {
                                    tx.execute_batch(&format!("DROP TRIGGER {t}"))?;
                                }
                                Ok(())
                            })
                            .unwrap();
                    }
                    let started = Instant::now();
                    fill(&store, 42);
                    rate_many(&store, 10_000);
                    started.elapsed()
                })
                .collect(),
        )
    };
    let (with, without) = (insert(true), insert(false));
    println!(
        "change capture: 100,800 results and 10,000 ratings written in {:.2} s with it, {:.2} s without ({:+.1}%; target < 10%)",
        with.as_secs_f64(),
        without.as_secs_f64(),
        (with.as_secs_f64() / without.as_secs_f64() - 1.0) * 100.0
    );
}

async fn timed_async<T, E: std::fmt::Debug>(f: impl std::future::Future<Output = Result<T, E>>) -> Duration {
    let s = Instant::now();
    f.await.expect("sync");
    s.elapsed()
}

async fn throughput() {
    let fake = FakeProvider::start_lean().await;
    fake.set_latency(LATENCY);
    for concurrency in [16usize, 64] {
        let ceiling = fake_ceiling(&fake, concurrency, Duration::from_secs(4)).await;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("bench.db")).unwrap();
        for i in 0..8 {
            store.upsert_model(&Model { id: format!("bench/model-{i}"), name: format!("m{i}"), input_price: 0.1, output_price: 0.2 }).unwrap();
        }
        let req = BatchRequest {
            models: vec![],
            persona_ids: vec![],
            axes: Axes::default(),
            provider: Some(ProviderKind::Openai),
            base_url: Some(fake.base_url()),
            selector_model: None,
            concurrency,
            max_cost_usd: None,
        };
        let bench::Prepared { run, runner } = bench::prepare_new(&store, &req, &ProcessEnv, &personas::built_in()).unwrap();
        let before = fake.requests();
        let started = Instant::now();
        let outcome = runner.execute(&run, CancellationToken::new(), |_| {}).await.unwrap();
        let secs = started.elapsed().as_secs_f64();
        let calls = fake.requests() - before;
        let ideal = concurrency as f64 / LATENCY.as_secs_f64();
        let rate = calls as f64 / secs;
        println!(
            "throughput c={concurrency:>2}: {calls} calls, {} results stored in {secs:.1} s = {rate:.0} calls/s; ideal {ideal:.0}/s -> {:.1}% (target {}%); fake server alone: {ceiling:.0} calls/s ({:.1}% of ideal)",
            outcome.stored,
            100.0 * rate / ideal,
            if concurrency == 16 { 90 } else { 85 },
            100.0 * ceiling / ideal
        );
    }
}

/// The fake server's own ceiling: `concurrency` plain clients calling it back to back.
async fn fake_ceiling(fake: &FakeProvider, concurrency: usize, for_: Duration) -> f64 {
    let url = format!("{}/chat/completions", fake.base_url());
    let client = reqwest_client();
    let body = serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        tasks.spawn(async move {
            let mut n = 0u64;
            while started.elapsed() < for_ {
                client.post(&url).json(&body).send().await.unwrap().bytes().await.unwrap();
                n += 1;
            }
            n
        });
    }
    let total: u64 = tasks.join_all().await.into_iter().sum();
    total as f64 / started.elapsed().as_secs_f64()
}

fn reqwest_client() -> reqwest::Client {
    reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap()
}

fn median<T: Ord + Copy>(mut xs: Vec<T>) -> T {
    xs.sort();
    xs[xs.len() / 2]
}

fn store_figures() {
    // Insert speed: 100,000 results into a fresh database, three times; the median.
    let inserts = median(
        (0..3)
            .map(|_| {
                let dir = tempfile::tempdir().unwrap();
                let store = Store::open(&dir.path().join("insert.db")).unwrap();
                let started = Instant::now();
                fill(&store, 42);
                started.elapsed()
            })
            .collect(),
    );
    println!("store: inserted 100,800 results in {:.2} s (median of 3 fresh databases, group commits of 512; target < 5 s for 100,000)", inserts.as_secs_f64());

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store.db")).unwrap();
    let full = std::env::var_os("CHIPBENCH_BENCH_FULL").is_some();
    let inserted = fill(&store, if full { 417 } else { 42 });
    let ratings = if full { 300_000 } else { 30_000 };
    let took = rate_many(&store, ratings);
    println!("store: {ratings} ratings ({} second ratings) written in {:.1} s (triggers maintain the aggregates)", ratings / 10, took.as_secs_f64());
    let by_model = StatsQuery::by(GroupBy::Model);
    let cold = timed(|| store.stats(&by_model).unwrap());
    let stats = median((0..15).map(|_| timed(|| store.stats(&by_model).unwrap())).collect());
    let normalised = StatsQuery { normalise: true, ..StatsQuery::by(GroupBy::Model) };
    let z = median((0..15).map(|_| timed(|| store.stats(&normalised).unwrap())).collect());
    let page = |offset| {
        median(
            (0..15)
                .map(|_| {
                    timed(|| {
                        store
                            .results(&ResultFilter { model: Some("model-3".into()), unrated_by: Some(ME.into()), user: Some(ME.into()), limit: 50, offset, ..Default::default() })
                            .unwrap()
                    })
                })
                .collect(),
        )
    };
    let (p0, p10k) = (page(0), page(10_000));
    // The rating queue: its page (unrated by me, blind order) and each next item's detail.
    let queue_filter = ResultFilter { unrated_by: Some(ME.into()), user: Some(ME.into()), limit: 200, order: ResultOrder::Shuffled, ..Default::default() };
    let queue = median((0..15).map(|_| timed(|| store.results(&queue_filter).unwrap())).collect());
    let items = store.results(&queue_filter).unwrap().results;
    let next = median(items.iter().take(15).map(|r| timed(|| store.result(&r.id, Some(ME)).unwrap())).collect());
    let rate = median(items.iter().take(100).map(|r| timed(|| store.rate(TARGET_RESULT, &r.id, ME, 4).unwrap())).collect());
    println!(
        "store with {inserted} results: rating queue page (200, unrated by me, blind order) {:.2} ms; next item's detail {:.2} ms (target < 20); storing a rating {:.2} ms (median of 100)",
        ms(queue),
        ms(next),
        ms(rate)
    );
    println!(
        "store with {inserted} results: stats by model with bootstrap intervals and agreement {:.2} ms cold (first read), {:.2} ms median after (cached per histogram; targets < 100, < 50), rater-normalised {:.2} ms; page by model + unrated_by me with my_rating and total: offset 0 {:.2} ms, offset 10,000 {:.2} ms (target < 20){}",
        ms(cold),
        ms(stats),
        ms(z),
        ms(p0),
        ms(p10k),
        if full { "" } else { "  [set CHIPBENCH_BENCH_FULL=1 for 1,000,000 results and 300,000 ratings]" }
    );
}

fn timed<T>(f: impl FnOnce() -> T) -> Duration {
    let s = Instant::now();
    std::hint::black_box(f());
    s.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// CPU time (user + system) of the binary's batch with spans and with `--no-spans`, in
/// back-to-back pairs (15, or CHIPBENCH_SPAN_PAIRS) after one unmeasured pair, against the 50 ms fake server at
/// concurrency 64. The fake runs in this process, so the child's own CPU time is measured exactly
/// (RUSAGE_CHILDREN). Single runs vary by 10-20% on these machines, so every run is printed beside
/// the medians and the pairs' ratios, and the system time and page faults beside those. Then one
/// pair runs under callgrind (when valgrind is installed), whose instruction counts repeat within
/// about 0.5%: the figure to compare changes by.
async fn span_cpu() {
    let pairs: usize = std::env::var("CHIPBENCH_SPAN_PAIRS").ok().and_then(|n| n.parse().ok()).filter(|&n| n >= 4).unwrap_or(15);
    let fake = FakeProvider::start_lean().await;
    fake.set_latency(LATENCY);
    let url = fake.base_url();
    let (mut with, mut without) = (Vec::new(), Vec::new());
    // One unmeasured pair first: a session's first runs were 10-20% slow.
    for round in 0..2 * (pairs + 1) {
        // Every other pair runs without spans first, so neither mode always runs first.
        let spans = (round % 2 == 0) == (round / 2 % 2 == 0);
        let before = ChildUsage::now();
        span_batch(&[], &url, spans).await;
        let used = ChildUsage::now().since(&before);
        match (round < 2, spans) {
            (true, _) => {}
            (false, true) => with.push(used),
            (false, false) => without.push(used),
        }
    }
    // The kernel's share (WAL writes, page faults) was about a third of what spans cost in a profile.
    let system = |xs: &[ChildUsage]| median(xs.iter().map(|u| u.system).collect());
    let faults = |xs: &[ChildUsage]| median(xs.iter().map(|u| u.minor_faults).collect());
    let (system_with, system_without, faults_with, faults_without) = (system(&with), system(&without), faults(&with), faults(&without));
    let (with, without): (Vec<Duration>, Vec<Duration>) = (with.iter().map(ChildUsage::cpu).collect(), without.iter().map(ChildUsage::cpu).collect());
    // Each pair ran back to back, so its ratio is free of the machine's slower drifts (whole
    // runs of this bench moved by 20% in a session), which the medians of each mode are not.
    let mut ratios: Vec<f64> = with.iter().zip(&without).map(|(w, wo)| w.as_secs_f64() / wo.as_secs_f64() - 1.0).collect();
    ratios.sort_by(f64::total_cmp);
    let runs = |xs: &[Duration]| xs.iter().map(|d| format!("{:.2}", d.as_secs_f64())).collect::<Vec<_>>().join(" ");
    let each = if pairs <= 20 { format!("; runs: {} / {}", runs(&with), runs(&without)) } else { String::new() };
    let (w, wo) = (median(with), median(without));
    // A distribution-free 95% interval for the pairs' median: the order statistics about 1.96
    // standard deviations of a binomial(n, 1/2) count either side of the middle.
    let half_width = (1.96 * (pairs as f64).sqrt() / 2.0).ceil() as usize;
    let (low, high) = (ratios[(pairs / 2).saturating_sub(half_width)], ratios[(pairs / 2 + half_width).min(pairs - 1)]);
    println!(
        "spans: a 2,880-test batch (about 5,500 calls, concurrency 64, 50 ms fake server) takes {:.2} s of CPU with spans, {:.2} s with --no-spans (medians of {pairs}{each}): recording adds {:.1}% by the medians, {:.1}% by the median of the {pairs} back-to-back pairs (95% interval {:.1}% to {:.1}%; quartiles {:.1}% and {:.1}%) (target < 10%)",
        w.as_secs_f64(),
        wo.as_secs_f64(),
        100.0 * (w.as_secs_f64() / wo.as_secs_f64() - 1.0),
        100.0 * ratios[pairs / 2],
        100.0 * low,
        100.0 * high,
        100.0 * ratios[pairs / 4],
        100.0 * ratios[3 * pairs / 4],
    );
    println!(
        "spans: of that, system time {:.2} s with spans, {:.2} s without; minor page faults {faults_with} and {faults_without} (medians)",
        system_with.as_secs_f64(),
        system_without.as_secs_f64(),
    );
    let has_valgrind = std::process::Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success());
    if !has_valgrind {
        println!("spans: instruction counts skipped (no valgrind on PATH)");
        return;
    }
    let mut instructions = [0u64; 2];
    for (n, spans) in instructions.iter_mut().zip([true, false]) {
        let stderr = span_batch(&CALLGRIND, &url, spans).await;
        let collected = stderr.lines().find_map(|l| l.split_once("Collected :")).map(|(_, n)| n.trim().replace(',', ""));
        *n = collected.and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no instruction count in valgrind's output:\n{stderr}"));
    }
    println!(
        "spans under callgrind (one pair; its counts repeat within about 0.5%, where CPU time moves by 10-20%): {:.0}M instructions with spans, {:.0}M with --no-spans: recording adds {:.1}%",
        instructions[0] as f64 / 1e6,
        instructions[1] as f64 / 1e6,
        100.0 * (instructions[0] as f64 / instructions[1] as f64 - 1.0)
    );
}

/// The command that runs a program counting its instructions.
const CALLGRIND: [&str; 3] = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"];

/// Runs the spans figure's batch on a fresh database (under `wrapper`, if not empty); returns stderr.
async fn span_batch(wrapper: &[&str], url: &str, spans: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = wrapper.iter().map(|a| a.to_string()).collect();
    args.push(chipbench_e2e::chipbench_bin().display().to_string());
    args.extend(["--db".to_string(), dir.path().join("cpu.db").display().to_string()]);
    args.extend(["--batch", "--all", "--provider", "openai", "--base-url", url, "--concurrency", "64"].map(String::from));
    if !spans {
        args.push("--no-spans".into());
    }
    let out = tokio::process::Command::new(&args[0]).args(&args[1..]).env_remove("OPENROUTER_API_KEY").output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.code().unwrap_or(99) <= 1, "{stderr}");
    stderr
}

/// What storing spans costs the writer thread alone: a 2,880-test mock batch's spans and results
/// are stored again through `insert_outcomes` in 80 group commits (a 16 s batch at one commit per
/// 200 ms), with and without the spans, five times each way, on fresh databases. On a quiet
/// machine its figure repeats within 3% (83.1, 84.8 and, once, 98.8 ms in three runs), where the
/// whole batch's moves by several points; on a busy one it moves as much (77-154 ms on
/// 2026-12-07), and only its instructions under callgrind repeat.
fn writer_cpu() {
    use chipbench_core::{store::NewRun, testing::sample_result};
    const COMMITS: usize = 80;
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    run_instant_mock(&source, &["--batch", "--all", "--provider", "mock", "--concurrency", "64"]);
    let trace_ids: Vec<String> = rusqlite::Connection::open(&source)
        .unwrap()
        .prepare("SELECT id FROM traces ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let store = Store::open(&source).unwrap();
    let mut spans: Vec<_> = trace_ids.iter().flat_map(|id| store.trace(id, None).unwrap().spans).collect();
    // As the runner's spans: without `parsed` (derived when read), with their messages' JSON made
    // (the request body made it; left unmade, the writer made it: a fifth of the figure).
    for s in &mut spans {
        s.parsed = None;
        if let Some(m) = &s.messages {
            m.json();
        }
    }
    let results: Vec<_> = (0..trace_ids.len())
        .map(|i| {
            let mut r = sample_result(&format!("model-{}", i % 12), &format!("persona_{}", i / 12), 10 + (i % 5) as u32, 0.001);
            r.key.style = format!("style-{i}");
            r
        })
        .collect();
    let (per_results, per_spans) = (results.len().div_ceil(COMMITS), spans.len().div_ceil(COMMITS));
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for round in 0..10 {
        let record = round % 2 == 0;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("writer.db")).unwrap();
        let run = store.create_run(&NewRun { config: serde_json::json!({}), provider: "openai".into(), is_demo: false, total_tests: results.len() as u64 }).unwrap();
        // Cloned before the clock starts: the runtime's workers build spans, the writer stores and frees them.
        let mut groups: Vec<Vec<_>> = spans.chunks(per_spans).map(|g| if record { g.to_vec() } else { Vec::new() }).collect();
        let started = thread_cpu();
        for (rows, group) in results.chunks(per_results).zip(groups.drain(..)) {
            store.insert_outcomes(&run.summary.id, rows, &group).unwrap();
        }
        let cpu = thread_cpu() - started;
        if record { with.push(cpu) } else { without.push(cpu) }
    }
    let (w, wo) = (median(with), median(without));
    println!(
        "writer: a 2,880-test mock batch's {} spans and {} results stored in {COMMITS} commits take {:.1} ms of the writer's CPU, {:.1} ms without the spans (medians of 5): the spans cost {:.1} ms, {:.1} us each",
        spans.len(),
        results.len(),
        ms(w),
        ms(wo),
        ms(w.saturating_sub(wo)),
        ms(w.saturating_sub(wo)) * 1e3 / spans.len() as f64
    );
}

/// This thread's CPU time (user + system).
fn thread_cpu() -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// What this process's finished children have used, summed (RUSAGE_CHILDREN).
struct ChildUsage {
    user: Duration,
    system: Duration,
    minor_faults: i64,
}

impl ChildUsage {
    fn now() -> ChildUsage {
        // SAFETY: getrusage writes into the zeroed struct we own.
        let u = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
            usage
        };
        let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
        ChildUsage { user: tv(u.ru_utime), system: tv(u.ru_stime), minor_faults: u.ru_minflt }
    }

    /// What the children that ended after `before` used.
    fn since(&self, before: &ChildUsage) -> ChildUsage {
        ChildUsage { user: self.user - before.user, system: self.system - before.system, minor_faults: self.minor_faults - before.minor_faults }
    }

    fn cpu(&self) -> Duration {
        self.user + self.system
    }
}

/// Search and trace figures over synthetic spans of about 1 KB each.
fn trace_figures() {
    let full = std::env::var_os("CHIPBENCH_BENCH_FULL").is_some();
    let n = if full { 1_000_000 } else { 100_000 };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("spans.db")).unwrap();
    let (long_trace, took) = fill_spans(&store, n);
    let indexing = timed(|| while store.index_spans(INDEX_CHUNK).unwrap() > 0 {});
    let words = vocabulary(5_000);
    let search = |text: String, model: Option<&str>| {
        let q = SearchQuery { text, model: model.map(String::from), limit: 50, ..SearchQuery::default() };
        let first = store.search(&q).unwrap();
        let t = median((0..15).map(|_| timed(|| store.search(&q).unwrap())).collect());
        (t, first.total, first.total_capped)
    };
    let shown = |(t, total, capped): (Duration, u64, bool)| format!("{:.1} ms ({total}{} hits)", ms(t), if capped { "+" } else { "" });
    let word = shown(search(words[40].clone(), None));
    let rare = shown(search(words[3_000].clone(), None));
    let phrase = shown(search("\"night shift handover\"".into(), None));
    let prefix = shown(search(format!("{}*", &words[700][..4]), None));
    let filtered = shown(search(words[40].clone(), Some("model-3")));
    let open = median((0..20).map(|_| timed(|| store.trace(&long_trace, None).unwrap())).collect());
    let view = |range: &str| {
        let range = DayRange::parse(range, DayRange::today()).unwrap();
        ms(median((0..15).map(|_| timed(|| store.analytics(range, None).unwrap())).collect()))
    };
    println!(
        "analytics over {n} spans spread over 90 days, from the daily aggregates (median of 15; target < 100 ms): all {:.2} ms, 30 days {:.2} ms, 7 days {:.2} ms, 24 h {:.2} ms",
        view("all"),
        view("30d"),
        view("7d"),
        view("24h")
    );
    println!(
        "traces: {n} spans of about 1 KB inserted in {:.1} s, indexed for search in {:.1} s ({:.0} us a span, in the background); search, first page of 50 with snippets (median of 15; target < 100 ms): a common word {word}, a rare word {rare}, a phrase {phrase}, a prefix {prefix}, a common word in one model's spans {filtered}; a trace of 20 spans opens in {:.2} ms (target < 50){}",
        took.as_secs_f64(),
        indexing.as_secs_f64(),
        indexing.as_secs_f64() * 1e6 / n as f64,
        ms(open),
        if full { "" } else { "  [set CHIPBENCH_BENCH_FULL=1 for 1,000,000 spans]" }
    );
}

/// The binary on `db` with the mock provider answering at once (no simulated latency).
fn instant_mock(db: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(chipbench_e2e::chipbench_bin());
    cmd.arg("--db").arg(db).args(args).env("CHIPBENCH_MOCK_LATENCY_SCALE", "0").env_remove("OPENROUTER_API_KEY");
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    cmd
}

fn run_instant_mock(db: &std::path::Path, args: &[&str]) {
    let status = instant_mock(db, args).status().unwrap();
    assert!(status.code().unwrap_or(99) <= 1, "{args:?} failed: {status}");
}

/// Runs `cmd` to its end; returns its exit status and its own resource usage. wait4 gives this
/// child's peak RSS, where RUSAGE_CHILDREN gives the largest of any child this process ran (the
/// spans figure's callgrind runs among them).
#[expect(clippy::zombie_processes, reason = "the child is reaped by wait4, which also gives its rusage")]
fn run_measured(cmd: &mut std::process::Command) -> (libc::c_int, libc::rusage) {
    let child = cmd.spawn().unwrap();
    // SAFETY: wait4 writes into the status and the zeroed struct we own.
    unsafe {
        let (mut status, mut usage): (libc::c_int, libc::rusage) = (0, std::mem::zeroed());
        libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        (status, usage)
    }
}

/// Peak RSS of the real binary running a 10,080-test batch on the mock provider.
fn memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mem.db");
    for i in 0..25 {
        run_instant_mock(&db, &["add-model", &format!("mem/model-{i}")]);
    }
    let started = Instant::now();
    let (status, usage) = run_measured(&mut instant_mock(&db, &["--batch", "--all", "--concurrency", "64"]));
    let secs = started.elapsed().as_secs_f64();
    // Exit code 1: tests with content errors (the mock writes some on purpose).
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) <= 1, "the batch failed: {status}");
    println!("memory: a 10,080-test mock batch (concurrency 64) ran in {secs:.1} s with peak RSS {:.1} MB (target < 150 MB)", usage.ru_maxrss as f64 / 1024.0);
}

/// Imports a generated CSV of about 100 MB (500,000 rows, some quoted fields with commas, quotes
/// and newlines) with the release binary: check and import, each a streaming pass over the file.
fn dataset_import() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rows.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(out, "id,question,expected,notes").unwrap();
    let words = vocabulary(5_000);
    for i in 0..500_000usize {
        let pick = |k: usize| words[(i * 7919 + k * 104_729) % words.len()].as_str();
        let question: Vec<&str> = (0..16).map(pick).collect();
        let notes: Vec<&str> = (16..28).map(pick).collect();
        let question = question.join(" ");
        let question = if i % 10 == 0 { format!("\"{question} said \"\"so\"\", then\nleft\"") } else { question };
        writeln!(out, "{i},{question},{},{}", pick(30), notes.join(" ")).unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let size_mb = std::fs::metadata(&csv).unwrap().len() as f64 / 1e6;
    let started = Instant::now();
    let mut import = std::process::Command::new(chipbench_e2e::chipbench_bin());
    import.arg("--db").arg(dir.path().join("d.db")).args(["dataset", csv.to_str().unwrap(), "--import", "--preview", "0"]);
    let (status, usage) = run_measured(import.stdout(std::process::Stdio::null()));
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(status, 0, "the import failed");
    let db = rusqlite::Connection::open(dir.path().join("d.db")).unwrap();
    let stored: i64 = db.query_row("SELECT count(*) FROM dataset_rows", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 500_000, "every row is stored");
    println!(
        "dataset: a {size_mb:.0} MB CSV of 500,000 rows checked and imported in {secs:.1} s (target < 20 s), peak RSS {:.1} MB (target < 200 MB)",
        usage.ru_maxrss as f64 / 1024.0
    );
}

/// A grid of 1,000 rows x 4 models, each cell answered and then judged by a grader prompt: 8,000
/// calls against the 50 ms fake server at concurrency 32 (32 cells in flight, each making its
/// two calls one after the other).
async fn grid_run() {
    let fake = FakeProvider::start_lean().await;
    fake.set_latency(LATENCY);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("grid.db")).unwrap();
    let models: Vec<String> = (0..4).map(|i| format!("bench/model-{i}")).collect();
    for m in &models {
        store.upsert_model(&Model { id: m.clone(), name: m.clone(), input_price: 0.1, output_price: 0.2 }).unwrap();
    }
    let words = vocabulary(2_000);
    let mut csv = String::from("question,expected\n");
    for i in 0..1_000usize {
        let question: Vec<&str> = (0..12).map(|k| words[(i * 31 + k * 977) % words.len()].as_str()).collect();
        csv.push_str(&format!("{},{}\n", question.join(" "), words[i % words.len()]));
    }
    let dataset = store.import_dataset("bench", "bench.csv", Format::Csv, csv.as_bytes()).unwrap();
    let prompt = store.save_prompt("bench", "Answer in one paragraph: {{question}}").unwrap();
    let judge = store.save_prompt("bench judge", "Question: {{question}}\nAnswer: {{output}}\nDoes it answer the question?").unwrap();
    let req = GridRequest {
        prompt_id: prompt.prompt.id,
        dataset_id: dataset.id,
        models: models.clone(),
        graders: Graders {
            rule: Some(RuleGrader { rule: "contains".into(), expected: Some("expected".into()) }),
            judge: Some(JudgeGrader { prompt_id: judge.prompt.id, model: models[0].clone() }),
        },
        provider: Some(ProviderKind::Openai),
        base_url: Some(fake.base_url()),
        concurrency: 32,
        ..GridRequest::default()
    };
    let grid::Prepared { run, runner } = grid::prepare(&store, &req, &ProcessEnv).unwrap();
    let before = fake.requests();
    let started = Instant::now();
    let outcome = runner.execute(&run, CancellationToken::new(), |_| {}).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    let calls = fake.requests() - before;
    assert_eq!((outcome.counts.succeeded, calls), (4_000, 8_000), "every cell answered and judged");
    let ideal = calls as f64 * LATENCY.as_secs_f64() / 32.0;
    println!("grid: 1,000 rows x 4 models with an LLM grader = {calls} calls in {secs:.1} s (target < 25 s; ideal {ideal:.1} s -> {:.0}% of ideal)", 100.0 * ideal / secs);
}

/// 100,000 observations of 20,000 traces through the Langfuse client: 1,000 pages of
/// observations and 200 of traces, each stored in one transaction.
async fn langfuse_import() {
    let fake = chipbench_e2e::langfuse::FakeLangfuse::start().await;
    fake.add(0, 20_000, 5);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("langfuse.db")).unwrap();
    let mut client = chipbench_core::langfuse::Client::new(&fake.base_url(), chipbench_e2e::langfuse::PUBLIC_KEY, chipbench_e2e::langfuse::SECRET_KEY);
    client.page_delay = Duration::ZERO;
    let started = Instant::now();
    let report = chipbench_core::langfuse::import(&store, &client, &CancellationToken::new(), |_| {}).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!((report.counts.traces, report.counts.observations), (20_000, 100_000));
    assert!(report.verification.matches(), "{}", report.verification);
    println!("langfuse: 100,000 observations of 20,000 traces imported in {secs:.1} s (target < 60 s); {}", report.verification);
}
