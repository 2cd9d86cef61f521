//! Prints the desktop app's figures, measured on the real app over WebDriver (tauri-driver +
//! WebKitWebDriver under the caller's X display), best with the release build:
//! - launch to the first results row on screen with a 100,800-result database (median of 5
//!   launches; the window reopens on the Results view it was left on), and jumps to the middle and
//!   the end of the virtualised table;
//! - rating a result to the next one on screen in the rating queue (median of 20, timed in the page
//!   from the key press to the next result's detail being painted);
//! - the app's memory: the Rust process and its WebKit processes, after browsing results and the
//!   leaderboard (PSS shares each library's pages among the processes mapping them; RSS counts
//!   them once per process; the private pages are the tree's own).
//!
//! With CHIPBENCH_BENCH_FULL=1 they are measured again with 1,000,800 results and 300,000 ratings.
//! Run: `scripts/bench.sh --app` (builds the release binary, provides the display).

#[path = "../e2e/webdriver.rs"]
#[allow(dead_code)] // the UI tests use the rest of it
mod webdriver;

use std::{path::Path, time::Instant};

use chipbench_core::store::Store;
use chipbench_e2e::fixtures::{fill, rate_many};
use fantoccini::Client;
use serde_json::json;
use webdriver::{button, driver_as_shipped, open_app, wait_for, wait_for_text, Driver};

const FIRST_ROW: &str = "[data-testid=result-row] > span:nth-child(2)";

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(app_figures());
}

async fn app_figures() {
    let dir = tempfile::tempdir().unwrap();
    let Some(driver) = driver_as_shipped(&dir.path().join("config")).await else {
        eprintln!("app figures need a display and tauri-driver (scripts/bench.sh --app provides them)");
        return;
    };
    println!("# app figures ({})", chipbench_e2e::chipbench_bin().display());
    let full = std::env::var_os("CHIPBENCH_BENCH_FULL").is_some();
    for (runs, ratings) in [(42, 30_000), (417, 300_000)].into_iter().take(if full { 2 } else { 1 }) {
        let db = dir.path().join(format!("app-{runs}.db"));
        let store = Store::open(&db).unwrap();
        let inserted = fill(&store, runs);
        rate_many(&store, ratings);
        drop(store);
        println!("## {inserted} results, {ratings} ratings");
        measure(&driver, &db).await;
    }
}

async fn measure(driver: &Driver, db: &Path) {
    // The first launch leaves the window on Results; later launches open there.
    let c = open_app(driver, db).await;
    button(&c, "Results").await.click().await.unwrap();
    wait_for(&c, FIRST_ROW).await;
    c.close().await.unwrap();
    let mut launches = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let c = open_app(driver, db).await;
        wait_for(&c, FIRST_ROW).await;
        launches.push(started.elapsed().as_secs_f64() * 1e3);
        c.close().await.unwrap();
    }
    println!("launch to the first results row: {:.0} ms median of 5 (target < 2,000); all {launches:.0?}", median(&launches));

    let c = open_app(driver, db).await;
    let jumps = browse(&c).await;
    println!("results table: jump to the middle row painted in {:.0} ms, to the last row in {:.0} ms (a page fetched and rendered)", jumps[0], jumps[1]);
    button(&c, "Rate").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=rate-progress]", "1 of").await;
    wait_for(&c, "[data-testid=result-detail]").await;
    let mut steps = Vec::new();
    for i in 0..20 {
        steps.push(rate_to_next(&c, ["1", "2", "3", "4", "5"][i % 5]).await);
    }
    println!("rating to the next result on screen: {:.1} ms median of 20 (target < 50); max {:.1}", median(&steps), steps.iter().copied().fold(0.0, f64::max));
    let (pss, rss, private) = app_memory(db);
    println!("app memory after browsing results, rating and the leaderboard: {pss:.0} MB PSS ({private:.0} MB of it private), {rss:.0} MB RSS summed over the app and its WebKit processes (target < 400 MB)");
    c.close().await.unwrap();
}

/// Jumps the results table to the middle and to the end (each a page fetched and painted; the
/// milliseconds of each are returned), then opens the leaderboard.
async fn browse(c: &Client) -> Vec<f64> {
    wait_for(c, FIRST_ROW).await;
    let script = r#"
        const done = arguments[arguments.length - 1];
        const scroller = document.querySelector('[data-testid=results-table] .scroller');
        const t0 = performance.now();
        scroller.scrollTop = (scroller.scrollHeight - scroller.clientHeight) * arguments[0];
        const target = Math.floor(scroller.scrollTop / 30) + 1;
        const painted = () => [...document.querySelectorAll('[data-testid=result-row]')]
            .some((r) => Number(r.getAttribute('aria-rowindex')) >= target && r.children.length > 1);
        const check = () => painted() ? requestAnimationFrame(() => done(performance.now() - t0)) : setTimeout(check, 1);
        check();
    "#;
    let mut jumps = Vec::new();
    for fraction in [0.5, 1.0] {
        jumps.push(c.execute_async(script, vec![json!(fraction)]).await.unwrap().as_f64().unwrap());
    }
    button(c, "Leaderboard").await.click().await.unwrap();
    wait_for(c, "[data-testid=leaderboard]").await;
    jumps
}

/// Presses a rating key in the page and returns the milliseconds until the next result's detail
/// has been painted (the progress moved on and the detail is back).
async fn rate_to_next(c: &Client, key: &str) -> f64 {
    let script = r#"
        const done = arguments[arguments.length - 1];
        const progress = document.querySelector('[data-testid=rate-progress]');
        const before = progress.textContent;
        const ready = () => progress.textContent !== before && document.querySelector('[data-testid=result-detail]');
        const t0 = performance.now();
        const observer = new MutationObserver(() => {
            if (!ready()) return;
            observer.disconnect();
            requestAnimationFrame(() => done(performance.now() - t0));
        });
        observer.observe(document.body, { childList: true, subtree: true, characterData: true });
        window.dispatchEvent(new KeyboardEvent('keydown', { key: arguments[0] }));
    "#;
    c.execute_async(script, vec![json!(key)]).await.unwrap().as_f64().unwrap()
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// PSS, RSS and private memory (USS) in MB of the app process running on `db` and all its
/// descendants. PSS shares a library's pages among every process mapping it, so it moves with
/// what else runs on the machine; the private pages are the tree's own.
fn app_memory(db: &Path) -> (f64, f64, f64) {
    let procs: Vec<(u32, u32, String)> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let ppid = stat.rsplit(") ").next()?.split(' ').nth(1)?.parse().ok()?;
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            Some((pid, ppid, String::from_utf8_lossy(&cmd).replace('\0', " ")))
        })
        .collect();
    let root = procs.iter().find(|(_, _, cmd)| cmd.contains("chipbench") && cmd.contains(&*db.to_string_lossy())).expect("the app process").0;
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(procs.iter().filter(|(_, ppid, _)| *ppid == parent).map(|(pid, _, _)| *pid));
        i += 1;
    }
    let kb = |pid: u32, field: &str| -> f64 {
        let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        rollup.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0.0)
    };
    let sum = |field: &str| tree.iter().map(|&pid| kb(pid, field)).sum::<f64>() / 1024.0;
    (sum("Pss:"), sum("Rss:"), sum("Private_Clean:") + sum("Private_Dirty:"))
}
