//! SIGKILL in the middle of a batch, then `--resume`: every test key ends with exactly one result
//! and nothing stored before the kill is lost or changed.

use std::time::Duration;

use crate::support::{command, query_i64, rows, Setup};

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_batch_resumes_without_loss_or_duplicates() {
    let Setup { fake, url, db, dir: _dir } = Setup::new().await;
    fake.set_latency(Duration::from_millis(20));
    // One model, every persona: 12 x 24 tests.
    let args = ["--batch", "--model", "deepseek/deepseek-v3.2", "--provider", "openai", "--base-url", &url, "--concurrency", "4"];
    let mut child = command(&db, &args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();

    // Wait until some results are committed, then kill -9 mid-batch.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !db.exists() || query_results(&db) < 40 {
        assert!(std::time::Instant::now() < deadline, "the batch made no progress");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    let before = rows(&db, "SELECT id, final_chips || errors || cost_usd FROM results ORDER BY id");
    let total = 12 * 24;
    assert!(before.len() < total, "killed mid-batch ({} of {total} stored)", before.len());

    // The dead process's heartbeat goes stale; resume picks the run up.
    let mut resume = command(&db, &["--batch", "--resume", "--json"]);
    resume.env("CHIPBENCH_HEARTBEAT_STALE_SECS", "1");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let out: crate::support::Run = resume.output().await.unwrap().into();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(query_i64(&db, "SELECT count(*) FROM results"), total as i64, "every key has a result");
    let keys = "SELECT count(DISTINCT run_id || model || persona_id || style || constraint_type || input_type || chip_count) FROM results";
    assert_eq!(query_i64(&db, keys), total as i64, "no key has two");
    let after = rows(&db, "SELECT id, final_chips || errors || cost_usd FROM results ORDER BY id");
    for row in &before {
        assert!(after.contains(row), "result {} stored before the kill was lost or changed", row.0);
    }
    assert_eq!(query_i64(&db, "SELECT count(*) FROM runs WHERE status = 'completed'"), 1);
}

fn query_results(db: &std::path::Path) -> i64 {
    // The schema may not exist for the first few milliseconds.
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    c.query_row("SELECT count(*) FROM results", [], |r| r.get(0)).unwrap_or(0)
}
