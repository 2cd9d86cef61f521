//! The real app (WebKit) over WebDriver: tauri-driver + WebKitWebDriver, under the Xvfb display
//! scripts/test.sh provides. Each test gets free ports and a fresh database, runs the mock at zero
//! latency, and waits on page state, never on fixed sleeps. Screenshots land in target/screenshots.

use std::{path::PathBuf, time::Duration};

use fantoccini::{key::Key, Client, Locator};
use serde_json::json;

use crate::{
    support::{mock_batch, query_i64, query_one},
    webdriver::{assert_fits_width, button, driver, Driver, driver_with_latency, open_app, screenshot, sideways, wait_for, wait_for_exact, wait_for_text, wait_until_text},
};

/// A temporary directory, a WebDriver for the app, and a database there holding one 24-test mock
/// batch; None where WebDriver is missing (outside CI).
async fn app_driver_and_a_mock_batch() -> Option<(tempfile::TempDir, Driver, PathBuf)> {
    let dir = tempfile::tempdir().unwrap();
    let driver = driver(&dir.path().join("config")).await?;
    let db = dir.path().join("ui.db");
    mock_batch(&db).await;
    Some((dir, driver, db))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mock_batch_started_from_the_window_runs_to_completion() {
    let Some((_dir, driver, db)) = app_driver_and_a_mock_batch().await else { return }; // an earlier run of 24 tests, from the CLI
    let cli_run = query_one::<String>(&db, "SELECT id FROM runs");
    let c = open_app(&driver, &db).await;
    let cli_row = format!("tr[data-run-id='{cli_run}']");
    wait_for_exact(&c, &format!("{cli_row} [data-testid=matrix]"), "openai/gpt-5-mini · teacher").await;
    button(&c, "New batch").await.click().await.unwrap();
    // Defaults: the first model, every persona, every variant.
    let estimate = wait_for_text(&c, "[data-testid=estimate]", "288 tests").await;
    assert!(estimate.contains(", instant, on mock (offline demo: nothing is charged"), "the mock (no key: automatic picks it) without latency takes no time: {estimate}");
    let selector = c.execute("return document.querySelector('select[name=selector]').value", vec![]).await.unwrap();
    assert_eq!(selector, json!(chipbench_core::bench::DEFAULT_SELECTOR), "core's default selector, preselected");
    choose(&c, "selector", "openai/gpt-5-mini").await;
    screenshot(&c, "new-batch").await;
    button(&c, "Start batch").await.click().await.unwrap();
    wait_for_exact(&c, &format!("tr[data-status=completed]:not([data-run-id='{cli_run}']) [data-testid=done]"), "288").await;
    wait_for_text(&c, "tr[data-run-id]:first-child [data-testid=matrix]", "· 12 personas").await;
    screenshot(&c, "runs").await;

    // A run's Results button opens the results of that run alone.
    wait_for(&c, &format!("{cli_row} button[aria-label=\"This run's results\"]")).await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=results-total]", "24 results").await;
    let chosen = c.execute("return document.querySelector('select[name=run]').value", vec![]).await.unwrap();
    assert_eq!(chosen, json!(cli_run), "the run filter shows the run");
    button(&c, "Results").await.click().await.unwrap(); // the tab: every run's results
    wait_for_exact(&c, "[data-testid=results-total]", "312 results").await;
    c.close().await.unwrap();
    assert_eq!(query_i64(&db, "SELECT count(*) FROM results"), 312, "the window's batch stored every test");
    let run = format!("run_id IN (SELECT id FROM runs WHERE id != '{cli_run}')");
    assert_eq!(query_one::<String>(&db, &format!("SELECT config ->> '$.selector_model' FROM runs WHERE id != '{cli_run}'")), "openai/gpt-5-mini");
    let selectors = query_one::<String>(&db, &format!("SELECT group_concat(DISTINCT model) FROM spans WHERE kind = 'selection' AND {run}"));
    assert_eq!(selectors, "openai/gpt-5-mini", "the enriched tests' selections went to the chosen selector");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_batch_input_shows_a_clear_message_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(driver) = driver(&dir.path().join("config")).await else { return };
    let db = dir.path().join("ui.db");
    let c = open_app(&driver, &db).await;
    button(&c, "New batch").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=estimate]", "tests").await;
    let concurrency = wait_for(&c, "input[name=concurrency]").await;
    for (typed, message) in [("0", "concurrency: 0 must be at least 1"), ("abc", "concurrency: `abc` is not a whole number")] {
        concurrency.clear().await.unwrap();
        concurrency.send_keys(typed).await.unwrap();
        wait_for_text(&c, "[data-testid=batch-problem]", message).await;
        assert!(!button(&c, "Start batch").await.is_enabled().await.unwrap(), "cannot start with {typed:?}");
    }
    screenshot(&c, "bad-input").await;
    c.close().await.unwrap();
    assert_eq!(query_i64(&db, "SELECT count(*) FROM runs"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn blind_keyboard_rating_moves_the_leaderboard_and_undo_withdraws_one() {
    let Some((dir, driver, db)) = app_driver_and_a_mock_batch().await else { return };
    let c = open_app(&driver, &db).await;
    let model_row = "tr[data-group='openai/gpt-5-mini']";
    button(&c, "Leaderboard").await.click().await.unwrap();
    wait_for(&c, "[data-testid=board-empty]").await; // mock runs are demo runs: hidden by default
    wait_for(&c, "input[name=include_demo]").await.click().await.unwrap();
    wait_for_exact(&c, &format!("{model_row} [data-testid=rated]"), "0").await;

    button(&c, "Rate").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=rate-progress]", "1 of 24").await;
    wait_for_text(&c, "[data-testid=model]", "hidden until you rate").await;
    for (i, key) in ["1", "2", "3", "4", "5"].into_iter().enumerate() {
        c.active_element().await.unwrap().send_keys(key).await.unwrap();
        wait_for_exact(&c, "[data-testid=rate-progress]", &format!("{} of 24", i + 2)).await;
    }
    let notice = wait_for_text(&c, "[data-testid=rate-notice]", "Rated 5").await;
    assert!(notice.contains("that was openai/gpt-5-mini"), "blind mode reveals the model once rated: {notice}");
    assert_eq!(query_i64(&db, "SELECT count(*) FROM ratings WHERE deleted_at IS NULL"), 5);
    assert_eq!(query_i64(&db, "SELECT sum(rating) FROM ratings WHERE deleted_at IS NULL"), 15, "the keys' ratings 1..5");
    screenshot(&c, "rate").await;

    c.active_element().await.unwrap().send_keys("u").await.unwrap();
    wait_for_text(&c, "[data-testid=rate-notice]", "Rating undone").await;
    wait_for_exact(&c, "[data-testid=rate-progress]", "5 of 24").await;

    // Ctrl+3 (this view) and Ctrl+4 (the leaderboard) open views and rate nothing, where 3 and 4
    // alone would. The leaderboard counts the four remaining ratings: (1 + 2 + 3 + 4) / 4.
    for key in ["3", "4"] {
        c.active_element().await.unwrap().send_keys(&(Key::Control + key)).await.unwrap();
    }
    wait_for(&c, "input[name=include_demo]").await.click().await.unwrap();
    wait_for_exact(&c, &format!("{model_row} [data-testid=rated]"), "4").await;
    wait_for_exact(&c, &format!("{model_row} [data-testid=avg]"), "2.50").await;
    wait_for_text(&c, "[data-testid=agreement]", "needs results rated by two or more raters").await;
    wait_for(&c, &format!("{model_row} .front")).await; // the only model is on the Pareto front
    wait_for(&c, "[data-testid=pareto] svg").await;
    // One rater's 1, 2, 3, 4 as z-scores average 0.
    wait_for(&c, "input[name=normalise]").await.click().await.unwrap();
    wait_for_exact(&c, &format!("{model_row} [data-testid=avg]"), "0.00").await;
    screenshot(&c, "leaderboard").await;

    // The board as shown (by model, z-scores) exports to CSV.
    button(&c, "Export…").await.click().await.unwrap();
    let csv = dir.path().join("board.csv");
    wait_for(&c, "[data-testid=export-board] [data-testid=export-path]").await.send_keys(csv.to_str().unwrap()).await.unwrap();
    wait_for(&c, "[data-testid=export-board] [data-testid=export-submit]").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=exported]", &format!("Exported 1 row to {}", csv.display())).await;
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("model,rank,z_score,") && text.lines().nth(1).unwrap().starts_with("openai/gpt-5-mini,1,0,"), "{text}");

    // "?" lists the shortcuts (typed into no field); Esc closes the list.
    c.execute("document.activeElement.blur()", vec![]).await.unwrap();
    c.active_element().await.unwrap().send_keys("?").await.unwrap();
    let list = wait_for_text(&c, "[data-testid=shortcuts][open]", "Ctrl+1").await;
    assert!(list.contains("undo the last rating"), "every view's keys: {list}");
    screenshot(&c, "shortcuts").await;
    c.active_element().await.unwrap().send_keys(&Key::Escape).await.unwrap();
    wait_for(&c, "[data-testid=shortcuts]:not([open])").await;
    c.close().await.unwrap();
    assert_eq!(query_i64(&db, "SELECT count(*) FROM ratings WHERE deleted_at IS NULL"), 4, "u withdrew the last rating");
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_show_keys_masked_and_refuse_a_price_that_is_not_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let Some(driver) = driver(&dir.path().join("config")).await else { return };
    let db = dir.path().join("ui.db");
    let c = open_app(&driver, &db).await;
    button(&c, "Settings").await.click().await.unwrap();

    let key_input = wait_for(&c, "input[aria-label='openrouter API key']").await;
    key_input.send_keys("sk-or-v1-secret-0123456789").await.unwrap();
    c.find(Locator::XPath("//div[@data-provider='openrouter']//button[normalize-space()='Save key']")).await.unwrap().click().await.unwrap();
    wait_for_exact(&c, "[data-provider=openrouter] [data-testid=key-status]", "sk-or-…6789 (from settings)").await;
    assert!(!c.source().await.unwrap().contains("secret-0123"), "the key never reaches the page");

    let row = "tr[data-model='openai/gpt-5-mini']";
    let price = wait_for(&c, &format!("{row} input[name=input_price]")).await;
    price.clear().await.unwrap();
    price.send_keys("abc").await.unwrap();
    c.find(Locator::Css(&format!("{row} button"))).await.unwrap().click().await.unwrap();
    wait_for_exact(&c, "[data-testid=settings-error]", "openai/gpt-5-mini: input price `abc` is not a number").await;
    screenshot(&c, "settings").await;
    c.close().await.unwrap();
    let stored = rusqlite::Connection::open(&db).unwrap().query_row("SELECT input_price FROM models WHERE id = 'openai/gpt-5-mini'", [], |r| r.get::<_, f64>(0)).unwrap();
    assert_eq!(stored, 0.15, "the price is unchanged");
    assert!(std::fs::read_to_string(dir.path().join("config/secrets.json")).unwrap().contains("sk-or-v1-secret"), "the key went to the 0600 file");
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_check_an_endpoint_and_add_a_model_it_serves_to_the_price_table() {
    let dir = tempfile::tempdir().unwrap();
    let Some(driver) = driver(&dir.path().join("config")).await else { return };
    let fake = chipbench_e2e::FakeProvider::start().await;
    let db = dir.path().join("ui.db");
    let c = open_app(&driver, &db).await;
    button(&c, "Settings").await.click().await.unwrap();

    // The URL as typed is checked, before it is saved.
    let url = wait_for(&c, "input[name=openai_base_url]").await;
    url.send_keys("http://127.0.0.1:9/v1").await.unwrap();
    let check = wait_for(&c, "[data-provider=openai] [data-testid=check-provider]").await;
    check.click().await.unwrap();
    let refused = wait_for_text(&c, "[data-provider=openai] [data-testid=check-error]", "http://127.0.0.1:9/v1/models").await;
    assert!(refused.contains("Connection refused"), "{refused}");

    url.clear().await.unwrap();
    url.send_keys(&fake.base_url()).await.unwrap();
    check.click().await.unwrap();
    wait_for_text(&c, "[data-provider=openai] [data-testid=served]", "2 models, 1 in the price table").await;
    let offered = wait_for(&c, "[data-testid=served] tr[data-model='fake/chat-1']").await;
    let mut cells = Vec::new();
    for td in offered.find_all(Locator::Css("td")).await.unwrap() {
        cells.push(td.text().await.unwrap());
    }
    assert_eq!(cells, ["fake/chat-1", "$0.5 / $1.5 per M", "Add"], "its id and the endpoint's prices");
    assert!(c.find_all(Locator::Css("[data-testid=served] tr[data-model='openai/gpt-5-mini']")).await.unwrap().is_empty(), "what the table has is not offered");
    c.execute("document.querySelector('[data-testid=served]').scrollIntoView({block: 'center'})", vec![]).await.unwrap();
    screenshot(&c, "settings-check").await;
    offered.find(Locator::Css("button")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "[data-testid=served]", "Every model it serves is in the price table").await;
    let added = wait_for(&c, "[data-testid=prices] tr[data-model='fake/chat-1'] input[name=input_price]").await;
    assert_eq!(added.prop("value").await.unwrap().as_deref(), Some("0.5"));

    // Remove takes a model out of the table at once; Undo puts it back as it was. A price typed in
    // another row and not saved stays typed.
    let haiku = wait_for(&c, "[data-testid=prices] tr[data-model='anthropic/claude-haiku-4.5'] input[name=input_price]").await;
    haiku.clear().await.unwrap();
    haiku.send_keys("0.9").await.unwrap();
    let nemo = "[data-testid=prices] tr[data-model='mistralai/mistral-nemo']";
    wait_for(&c, &format!("{nemo} button[aria-label^=Remove]")).await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=settings-message]", "Removed mistralai/mistral-nemo from the price table Undo").await;
    assert!(c.find_all(Locator::Css(nemo)).await.unwrap().is_empty(), "gone from the table");
    assert_eq!(query_i64(&db, "SELECT count(*) FROM models WHERE id = 'mistralai/mistral-nemo' AND deleted_at IS NOT NULL"), 1, "a tombstone");
    button(&c, "Undo").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=settings-message]", "mistralai/mistral-nemo is back in the price table").await;
    assert_eq!(wait_for(&c, &format!("{nemo} input[name=output_price]")).await.prop("value").await.unwrap().as_deref(), Some("0.1"));
    assert_eq!(haiku.prop("value").await.unwrap().as_deref(), Some("0.9"), "still as typed");

    // OpenRouter (here the fake at its URL) lists models to anyone: Check also asks what the key has spent.
    // (Enter in a key's field saves it, as its Save key button does.)
    let key = wait_for(&c, "input[aria-label='openrouter API key']").await;
    key.send_keys("sk-or-v1-test").await.unwrap();
    key.send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_for_text(&c, "[data-provider=openrouter] [data-testid=key-status]", "(from settings)").await;
    wait_for(&c, "input[name=openrouter_base_url]").await.send_keys(&fake.base_url()).await.unwrap();
    wait_for(&c, "[data-provider=openrouter] [data-testid=check-provider]").await.click().await.unwrap();
    wait_for_text(&c, "[data-provider=openrouter] [data-testid=served]", "The key works: $0.25 spent, a $10 limit.").await;
    c.execute("document.querySelector('[data-provider=openrouter] [data-testid=served]').scrollIntoView({block: 'center'})", vec![]).await.unwrap();
    screenshot(&c, "settings-check-openrouter").await;

    // The OpenAI-compatible URL typed before the key was saved is still there (saving a key once
    // wiped it); saved (Enter in a field saves its section), it is what a new batch uses when
    // its own field is left blank.
    wait_for(&c, "input[name=openai_base_url]").await.send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_for_exact(&c, "[data-testid=settings-message]", "Settings saved").await;
    button(&c, "Runs").await.click().await.unwrap();
    button(&c, "New batch").await.click().await.unwrap();
    choose(&c, "provider", "OpenAI-compatible").await;
    // The field shows the saved URL once the settings are read.
    wait_for(&c, &format!("input[name=base_url][placeholder='{}']", fake.base_url())).await;
    wait_for_exact(&c, "[data-testid=estimate-provider]", "on openai").await;
    let before = fake.requests();
    button(&c, "Start batch").await.click().await.unwrap();
    wait_for(&c, "tr[data-status=completed]").await;
    assert!(fake.requests() >= before + 288, "the batch's calls went to the saved URL: {}", fake.requests() - before);
    c.close().await.unwrap();
    let stored = rusqlite::Connection::open(&db).unwrap().query_row("SELECT name, input_price, output_price FROM models WHERE id = 'fake/chat-1'", [], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?, r.get::<_, f64>(2)?))).unwrap();
    assert_eq!(stored, ("Fake: Chat 1".to_owned(), 0.5, 1.5));
}

/// Clicks the option of `select[name=…]` whose text starts with `label`.
async fn choose(c: &Client, select: &str, label: &str) {
    let xpath = format!("//select[@name='{select}']/option[starts-with(normalize-space(), '{label}')]");
    c.wait().at_most(Duration::from_secs(20)).for_element(Locator::XPath(&xpath)).await.unwrap().click().await.unwrap();
}

/// The texts of one column (`nth` from 1) over the rows on screen.
async fn column(c: &Client, nth: usize) -> Vec<String> {
    let script = "return [...document.querySelectorAll(`[data-testid=result-row] > span:nth-child(${arguments[0]})`)].map((e) => e.innerText);";
    serde_json::from_value(c.execute(script, vec![json!(nth)]).await.unwrap()).unwrap()
}

/// The column once `ok` holds for it: a new filter or sort refetches the page after the total or
/// the header has already changed.
async fn column_until(c: &Client, nth: usize, ok: impl Fn(&[String]) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let cells = column(c, nth).await;
        if ok(&cells) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "column {nth} never became as expected: {cells:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_narrow_the_results_table_and_a_row_opens_to_be_rated() {
    let dir = tempfile::tempdir().unwrap();
    let Some(driver) = driver(&dir.path().join("config")).await else { return };
    let db = dir.path().join("ui.db");
    let batch = crate::support::chipbench(&db, &["--batch", "--model", "openai/gpt-5-mini", "--model", "deepseek/deepseek-v3.2", "--persona", "teacher"]).await;
    assert!(batch.code <= 1, "{}", batch.stderr);
    let c = open_app(&driver, &db).await;
    button(&c, "Results").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=results-total]", "48 results").await;

    choose(&c, "model", "openai/gpt-5-mini").await;
    wait_for_exact(&c, "[data-testid=results-total]", "24 results").await;
    column_until(&c, 1, |models| models.len() == 24 && models.iter().all(|m| m == "openai/gpt-5-mini")).await;
    choose(&c, "chip_count", "10 chips").await;
    wait_for_exact(&c, "[data-testid=results-total]", "8 results").await;
    choose(&c, "input_type", "enriched").await;
    wait_for_exact(&c, "[data-testid=results-total]", "4 results").await;
    let with_errors = query_i64(&db, "SELECT count(*) FROM results WHERE model = 'openai/gpt-5-mini' AND chip_count = 10 AND input_type = 'enriched' AND error_count > 0");
    choose(&c, "has_errors", "with errors").await;
    wait_for_exact(&c, "[data-testid=results-total]", &format!("{with_errors} results")).await;
    choose(&c, "has_errors", "with or without").await;
    wait_for_exact(&c, "[data-testid=results-total]", "4 results").await;

    // Sorting by chips, then opening the first row and rating it from the keyboard.
    choose(&c, "chip_count", "any chip count").await;
    wait_for_exact(&c, "[data-testid=results-total]", "12 results").await;
    c.find(Locator::XPath("//button[@role='columnheader'][starts-with(normalize-space(), 'Chips')]")).await.unwrap().click().await.unwrap();
    wait_for(&c, "[aria-sort=descending]").await;
    // Sorted by chips, most first.
    column_until(&c, 4, |cells| {
        let chips: Option<Vec<u32>> = cells.iter().map(|s| s.parse().ok()).collect();
        chips.is_some_and(|chips| chips.len() == 12 && chips.windows(2).all(|w| w[0] >= w[1]) && chips[0] == 20)
    })
    .await;
    wait_for(&c, "[data-testid=result-row]").await.click().await.unwrap();
    wait_for(&c, "[data-testid=result-detail]").await;
    c.active_element().await.unwrap().send_keys("4").await.unwrap();
    wait_for(&c, "[aria-label='Your rating'] [aria-pressed=true]").await;
    screenshot(&c, "results").await;
    c.active_element().await.unwrap().send_keys(&Key::Escape).await.unwrap(); // closes the detail
    wait_for_exact(&c, "[aria-selected=true] [data-testid=my-rating]", "4").await;
    choose(&c, "mine", "unrated by me").await;
    wait_for_exact(&c, "[data-testid=results-total]", "11 results").await;
    c.close().await.unwrap();
    assert_eq!(query_i64(&db, "SELECT count(*) FROM ratings r JOIN results x ON x.id = r.target_id WHERE x.chip_count = 20 AND r.rating = 4"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_is_configured_in_settings_and_the_indicator_syncs_now() {
    let Some((dir, driver, db)) = app_driver_and_a_mock_batch().await else { return };
    let Some(turso) = crate::sync::Turso::start(dir.path()).await else { return };
    let c = open_app(&driver, &db).await;
    // While sync is off, the indicator opens Settings to set it up.
    wait_for_exact(&c, "[data-testid=sync-indicator]", "sync off").await;
    wait_for(&c, "[data-testid=sync-indicator]").await.click().await.unwrap();
    let url = wait_for(&c, "input[name=turso_database_url]").await;
    url.send_keys(&turso.url()).await.unwrap();
    let every = wait_for(&c, "input[name=sync_interval_secs]").await;
    every.send_keys("0").await.unwrap(); // only on demand, so the test decides when
    wait_for(&c, "input[name=sync_demo_runs]").await.click().await.unwrap();
    button(&c, "Save").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=settings-message]", "Settings saved").await;
    // Saved, the header knows sync is set up (it read "sync off" until then); a click syncs now.
    wait_until_text(&c, "[data-testid=sync-indicator]", "pending", |t| t.starts_with("pending")).await;
    wait_for(&c, "[data-testid=sync-indicator]").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=sync-indicator]", "synced").await;
    screenshot(&c, "sync").await;
    assert_eq!(turso.count("SELECT count(*) FROM results").await, 24, "the demo batch reached the shared database");

    // The background sync: another process changes the database, an interval is set, and the
    // change reaches the shared database without a click.
    assert_eq!(crate::support::chipbench(&db, &["add-model", "x/background"]).await.code, 0);
    let every = wait_for(&c, "input[name=sync_interval_secs]").await;
    every.clear().await.unwrap();
    every.send_keys("1").await.unwrap();
    button(&c, "Save").await.click().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while turso.count("SELECT count(*) FROM models WHERE id = 'x/background'").await == 0 {
        assert!(std::time::Instant::now() < deadline, "the background sync never pushed the change");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_for_exact(&c, "[data-testid=sync-indicator]", "synced").await;

    // The auth token sits in the Sync section; Enter in its field saves the token (masked from
    // then on), not the section's other fields, and Remove takes it away.
    const TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.ui-secret-part";
    let token = wait_for(&c, "input[aria-label='Turso auth token']").await;
    token.send_keys(TOKEN).await.unwrap();
    token.send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_for_exact(&c, "[data-testid=settings-message]", "Token saved").await;
    let status = wait_for_text(&c, "[data-testid=token-status]", "(from settings)").await;
    assert!(!status.contains("ui-secret-part"), "masked: {status}");
    assert!(!c.source().await.unwrap().contains(TOKEN), "the token never reaches the page");
    assert!(!std::fs::read_to_string(dir.path().join("config/settings.json")).unwrap().contains(TOKEN), "nor settings.json");
    c.find(Locator::XPath("//div[@data-testid='turso-token']/button[normalize-space()='Remove']")).await.unwrap().click().await.unwrap();
    wait_for_exact(&c, "[data-testid=token-status]", "not set").await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runs_results_are_exported_from_the_runs_view_and_a_bad_path_is_refused() {
    let Some((dir, driver, db)) = app_driver_and_a_mock_batch().await else { return };
    let c = open_app(&driver, &db).await;
    button(&c, "Export…").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=export-run]", "Export its 24 results to").await;
    let path = wait_for(&c, "[data-testid=export-path]").await;
    // The window has no working folder: a relative path is refused by name.
    path.send_keys("run.csv").await.unwrap();
    button(&c, "Export").await.click().await.unwrap();
    wait_for_text(&c, "[role=alert]", "export file run.csv: give a full path").await;
    path.clear().await.unwrap();
    let xml = dir.path().join("run.xml");
    path.send_keys(xml.to_str().unwrap()).await.unwrap();
    button(&c, "Export").await.click().await.unwrap();
    let refused = wait_for_text(&c, "[role=alert]", "unknown extension").await;
    assert!(refused.contains(xml.to_str().unwrap()), "the message names the path: {refused}");
    assert!(!xml.exists() && !dir.path().join("run.partial").exists(), "nothing written");
    screenshot(&c, "export").await;

    let csv = dir.path().join("run.csv");
    path.clear().await.unwrap();
    path.send_keys(csv.to_str().unwrap()).await.unwrap();
    button(&c, "Export").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=exported]", &format!("Exported 24 results to {}", csv.display())).await;
    c.close().await.unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("id,run_id,model,persona_id"), "{text}");
    assert_eq!(text.lines().count(), 25, "a header and the run's 24 results");
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_run_asks_first_can_be_undone_and_removes_it_from_every_view() {
    let Some((_dir, driver, db)) = app_driver_and_a_mock_batch().await else { return };
    let c = open_app(&driver, &db).await;
    button(&c, "Traces").await.click().await.unwrap();
    wait_for(&c, "[data-testid=trace-item]").await;
    button(&c, "Runs").await.click().await.unwrap();
    button(&c, "Delete").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=confirm-delete]", "with its 24 results and 0 ratings").await;
    button(&c, "Keep it").await.click().await.unwrap();
    assert_eq!(query_i64(&db, "SELECT count(*) FROM runs WHERE deleted_at IS NULL"), 1, "keeping it changes nothing");
    button(&c, "Delete").await.click().await.unwrap();
    button(&c, "Delete run").await.click().await.unwrap();
    wait_for(&c, "[data-testid=no-runs]").await;
    // Undo brings it back with everything under it; then it goes for good.
    wait_for_exact(&c, "[data-testid=deleted]", "Deleted the run with its 24 results and 0 ratings. Undo").await;
    button(&c, "Undo").await.click().await.unwrap();
    wait_for(&c, "tr[data-run-id]").await;
    assert_eq!(query_i64(&db, "SELECT count(*) FROM runs WHERE deleted_at IS NULL"), 1, "restored");
    button(&c, "Results").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=results-total]", "24 results").await;
    button(&c, "Runs").await.click().await.unwrap();
    button(&c, "Delete").await.click().await.unwrap();
    button(&c, "Delete run").await.click().await.unwrap();
    wait_for(&c, "[data-testid=no-runs]").await;
    button(&c, "Results").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=results-total]", "0 results").await;
    button(&c, "Leaderboard").await.click().await.unwrap();
    wait_for(&c, "input[name=include_demo]").await.click().await.unwrap();
    wait_for(&c, "[data-testid=board-empty]").await;
    button(&c, "Traces").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=trace-list]", "No traces yet").await;
    search(&c, "teacher").await;
    wait_for_exact(&c, "[data-testid=search-total]", "0 matching spans").await;
    c.close().await.unwrap();
    assert_eq!(query_i64(&db, "SELECT count(*) FROM runs WHERE deleted_at IS NOT NULL"), 1, "a tombstone, for sync");
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_before_a_date_are_deleted_from_settings_and_undo_brings_them_back() {
    let Some((_dir, driver, db)) = app_driver_and_a_mock_batch().await else { return };
    let c = open_app(&driver, &db).await;
    button(&c, "Settings").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=database-stats]", "1 runs · 24 results").await;
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    wait_for(&c, "input[name=delete_before]").await.send_keys(&tomorrow).await.unwrap();
    button(&c, "Review").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=confirm-delete-before]", "This deletes 1 runs with 24 results and 0 ratings").await;
    c.find(Locator::Css("[data-testid=confirm-delete-before] button.danger")).await.unwrap().click().await.unwrap();
    wait_for_exact(&c, "[data-testid=settings-message]", "Deleted 1 runs, 24 results, 0 ratings Undo").await;
    wait_for_text(&c, "[data-testid=database-stats]", "0 runs · 0 results").await;
    assert_eq!(query_i64(&db, "SELECT count(*) FROM runs WHERE deleted_at IS NOT NULL"), 1);
    button(&c, "Undo").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=settings-message]", "1 runs are back").await;
    wait_for_text(&c, "[data-testid=database-stats]", "1 runs · 24 results").await;
    c.close().await.unwrap();
    assert_eq!(query_i64(&db, "SELECT count(*) FROM runs WHERE deleted_at IS NULL"), 1, "restored, for sync to carry");
}

/// Types `text` into the traces search box and submits it.
async fn search(c: &Client, text: &str) {
    let input = wait_for(c, "[data-testid=search-input]").await;
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
    button(c, "Search").await.click().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_results_trace_opens_and_a_replay_with_an_edited_prompt_shows_its_diff() {
    let Some((_dir, driver, db)) = app_driver_and_a_mock_batch().await else { return };
    let c = open_app(&driver, &db).await;
    // A result whose last generation answered bare JSON, which the view indents: the mock wraps
    // some answers in prose, and which result comes first depends on the batch's timing.
    let result_id: String = query_one(
        &db,
        "SELECT t.id FROM traces t WHERE (SELECT s.response FROM spans s WHERE s.trace_id = t.id AND s.kind = 'generation'
             ORDER BY s.started_at DESC, s.seq DESC LIMIT 1) LIKE '{%' ORDER BY t.id LIMIT 1",
    );
    button(&c, "Results").await.click().await.unwrap();
    wait_for(&c, &format!("[data-testid=result-row][data-id='{result_id}']")).await.click().await.unwrap();
    wait_for(&c, "[data-testid=result-detail]").await;
    let selected = wait_for(&c, "[data-testid=result-row][aria-selected=true]").await.attr("data-id").await.unwrap();
    assert_eq!(selected.as_deref(), Some(result_id.as_str()));
    wait_for(&c, "[data-testid=open-trace]").await.click().await.unwrap();
    let trace = wait_for(&c, "[data-testid=trace-view]").await;
    assert_eq!(trace.attr("data-trace-id").await.unwrap().as_deref(), Some(result_id.as_str()), "the result's own trace");
    let spans = c.find_all(Locator::Css("[data-testid=span-row]")).await.unwrap();
    assert!(!spans.is_empty());
    let trace_id = trace.attr("data-trace-id").await.unwrap().unwrap();
    let stored = query_i64(&db, &format!("SELECT span_count FROM traces WHERE id = '{trace_id}'"));
    assert_eq!(spans.len() as i64, stored, "one row per span of the trace");

    // Replay the last generation call with another sector and role: the mock answers for them.
    let generation = c.find_all(Locator::Css("[data-testid=span-row][data-span-kind=generation]")).await.unwrap();
    generation.last().unwrap().click().await.unwrap();
    // Its JSON response reads indented; the toggle shows the text exactly as stored.
    wait_until_text(&c, "[data-testid=span-response]", "indented JSON", |t| t.starts_with("{\n  \"chips\": [")).await;
    screenshot(&c, "trace").await;
    wait_for(&c, "[data-testid=raw-response]").await.click().await.unwrap();
    let raw = wait_until_text(&c, "[data-testid=span-response]", "the raw text", |t| t.starts_with("{\"chips\":[")).await;
    let sql = format!("SELECT count(*) FROM spans WHERE trace_id = '{trace_id}' AND response = '{}'", raw.replace('\'', "''"));
    assert_eq!(query_i64(&db, &sql), 1, "the raw text is the stored response");
    // "as sent": the body the client posts (a mock call has no endpoint, so no curl command).
    wait_for(&c, "[data-testid=as-sent]").await.click().await.unwrap();
    let body = wait_until_text(&c, "[data-testid=sent-request]", "the request body", |t| t.starts_with('{')).await;
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let span_id = wait_for(&c, "[data-testid=span-row][aria-pressed=true]").await.attr("data-span-id").await.unwrap().unwrap();
    let stored: serde_json::Value = serde_json::from_str(&query_one::<String>(&db, &format!("SELECT messages FROM spans WHERE id = '{span_id}'"))).unwrap();
    assert_eq!((&body["messages"], &body["response_format"]["json_schema"]["name"]), (&stored, &json!("chips")), "{body}");
    wait_for_text(&c, "[data-testid=sent-note]", "The mock answers offline").await;
    screenshot(&c, "as-sent").await;
    wait_for(&c, "[data-testid=as-sent]").await.click().await.unwrap(); // back to the messages
    wait_for(&c, "[data-testid=replay-open]").await.click().await.unwrap();
    let prompt = wait_for(&c, "[data-testid=replay-message]").await;
    prompt.clear().await.unwrap();
    prompt.send_keys("Generate 10 short chips for a person in Aviation who wants to work as Dispatcher. Answer with JSON only: {\"chips\": [{\"text\": \"...\", \"type\": \"...\"}]}").await.unwrap();
    wait_for(&c, "[data-testid=replay-send]").await.click().await.unwrap();
    wait_for(&c, "[data-testid=text-diff] .added").await;
    wait_for(&c, "[data-testid=chip-diff] [data-change=added]").await;
    screenshot(&c, "replay").await;
    c.close().await.unwrap();
    assert_eq!(query_i64(&db, "SELECT count(*) FROM spans WHERE replay_of IS NOT NULL AND messages LIKE '%Aviation%'"), 1, "the replay is stored, linked");
}

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_a_chip_text_and_opens_its_trace() {
    let Some((_dir, driver, db)) = app_driver_and_a_mock_batch().await else { return };
    // A chip some response contains, and the traces whose spans contain it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let chip: String = conn.query_row("SELECT value ->> 'text' FROM results, json_each(final_chips) ORDER BY results.id LIMIT 1", [], |r| r.get(0)).unwrap();
    let c = open_app(&driver, &db).await;
    button(&c, "Traces").await.click().await.unwrap();
    search(&c, &format!("\"{chip}\"")).await;
    let hit = wait_for(&c, "[data-testid=search-hit]").await;
    let marked = wait_for(&c, "[data-testid=search-hit] mark").await.text().await.unwrap();
    assert!(chip.to_lowercase().contains(&marked.to_lowercase()), "the snippet marks the match: {marked:?} in {chip:?}");
    hit.click().await.unwrap();
    // The hit may be a call that answered the chip or one whose prompt listed it (a selection):
    // either way the opened trace shows that call, request and response.
    wait_until_text(&c, "[data-testid=trace-view]", &chip, |text| text.to_lowercase().contains(&chip.to_lowercase())).await;
    screenshot(&c, "search").await;
    let err_query = wait_for(&c, "[data-testid=search-input]").await;
    err_query.clear().await.unwrap();
    err_query.send_keys("\"unclosed").await.unwrap();
    button(&c, "Search").await.click().await.unwrap();
    wait_for_text(&c, "[role=alert]", "never closed").await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_batch_shows_its_calls_and_traces_without_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    // Calls of 40-200 ms, so the batch is still running while the view is watched.
    let Some(driver) = driver_with_latency(&dir.path().join("config"), "1").await else { return };
    let db = dir.path().join("ui.db");
    let c = open_app(&driver, &db).await;
    button(&c, "New batch").await.click().await.unwrap();
    let estimate = wait_for_text(&c, "[data-testid=estimate]", "288 tests").await;
    assert!(estimate.contains(", ~4 s, on mock"), "576 calls of 120 ms (the mock's mean), 16 at a time: {estimate}");
    button(&c, "Start batch").await.click().await.unwrap();
    // The run's row says how long is left at the pace so far, and fits the window while it does.
    wait_until_text(&c, "[data-testid=time-left]", "time left", |t| t.starts_with('~') && t.ends_with(" left")).await;
    assert_fits_width(&c, "Runs, a batch running").await;
    button(&c, "Traces").await.click().await.unwrap();
    wait_for(&c, "[data-testid=in-flight]").await;
    let count = "return document.querySelectorAll('[data-testid=trace-item]').length";
    let first: i64 = c.execute(count, vec![]).await.unwrap().as_i64().unwrap();
    wait_for(&c, "[data-testid=follow-live]").await.click().await.unwrap();
    wait_for(&c, "[data-testid=trace-view]").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let now: i64 = c.execute(count, vec![]).await.unwrap().as_i64().unwrap();
        if now > first {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the list never grew past {first}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(&c, "live").await;
    button(&c, "Runs").await.click().await.unwrap();
    button(&c, "Cancel").await.click().await.unwrap();
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lab_imports_a_csv_runs_a_graded_grid_and_a_hand_grade_moves_the_agreement() {
    let dir = tempfile::tempdir().unwrap();
    let Some(driver) = driver(&dir.path().join("config")).await else { return };
    let db = dir.path().join("ui.db");
    let csv = dir.path().join("questions.csv");
    std::fs::write(&csv, "question,expected\nWhat limits throughput?,throughput\n\"Name a \"\"key\"\" metric\",revenue\nWhy run audits?,audits\n").unwrap();
    let c = open_app(&driver, &db).await;
    button(&c, "Lab").await.click().await.unwrap();

    wait_for(&c, "[data-testid=dataset-path]").await.send_keys(csv.to_str().unwrap()).await.unwrap();
    wait_for(&c, "[data-testid=dataset-check]").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=dataset-summary]", "3 rows · columns: question, expected").await;
    wait_for(&c, "[data-testid=dataset-import]").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=grid-dataset] option", "questions (3 rows").await;

    // A placeholder the dataset lacks is named before anything runs.
    wait_for(&c, "[data-testid=prompt-name]").await.send_keys("qa").await.unwrap();
    let text = wait_for(&c, "[data-testid=prompt-text]").await;
    text.send_keys("Answer briefly in a {{tone}} tone: {{question}}").await.unwrap();
    wait_for_text(&c, "[data-testid=prompt-missing]", "no column {{tone}}").await;
    assert!(!wait_for(&c, "[data-testid=grid-start]").await.is_enabled().await.unwrap(), "cannot run with a missing column");
    text.clear().await.unwrap();
    text.send_keys("Answer briefly: {{question}}").await.unwrap();
    let second = "//label[contains(normalize-space(), 'openai/gpt-5-mini')]/input"; // the first model is chosen already
    c.find(Locator::XPath(second)).await.unwrap().click().await.unwrap();
    choose(&c, "rule", "contains").await;
    choose(&c, "expected", "expected").await;
    wait_for(&c, "[data-testid=grader-judge]").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=grid-start]", "Run 3 rows × 2 models").await;
    c.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css("[data-testid=grid-start]:enabled")).await.unwrap().click().await.unwrap();

    wait_for_exact(&c, "[data-testid=grid-status]", "completed").await;
    let cells = c.find_all(Locator::Css("[data-testid=grid-cell]")).await.unwrap();
    assert_eq!(cells.len(), 6, "3 rows x 2 models");
    wait_for_text(&c, "[data-testid=agreement-judge]", "no cells graded by people yet").await;
    // Grading by hand moves the agreement figure: one cell, then two.
    c.find_all(Locator::Css("[data-testid=grade-fail]")).await.unwrap()[0].click().await.unwrap();
    wait_for_text(&c, "[data-testid=agreement-judge]", "over 1 cell,").await;
    c.find_all(Locator::Css("[data-testid=grade-pass]")).await.unwrap()[1].click().await.unwrap();
    wait_for_text(&c, "[data-testid=agreement-judge]", "over 2 cells").await;
    // A cell opens its events and can be rated 1-5: the rating stands beside the pass rates.
    wait_for(&c, "[data-testid=grid-cell] .state").await.click().await.unwrap();
    wait_for_text(&c, "aside .events", "queued").await;
    wait_for_text(&c, "aside .events", "graded").await;
    c.find_all(Locator::Css("[data-testid=cell-rate]")).await.unwrap()[3].click().await.unwrap();
    wait_for_text(&c, "table.summary tbody tr:first-child", "4.00 (1)").await;
    screenshot(&c, "lab-grid").await;

    // The prompt's editor against its versions: an edit shows as a word diff; loading v1 undoes it.
    let text = wait_for(&c, "[data-testid=prompt-text]").await;
    text.send_keys(" Be kind.").await.unwrap();
    wait_for_text(&c, "[data-testid=prompt-diff] .added", "kind.").await;
    screenshot(&c, "lab-prompt").await;
    button(&c, "Load this version").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=prompt-versions] + .same", "the text is version 1").await;

    let out = dir.path().join("grid.csv");
    let path = wait_for(&c, "[data-testid=export-path]").await;
    path.send_keys(out.to_str().unwrap()).await.unwrap();
    wait_for(&c, "[data-testid=export-submit]").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=exported]", "Exported 6 cells").await;
    // The form stays open: a refused export after it replaces the success line, never sits beside it.
    path.clear().await.unwrap();
    path.send_keys(dir.path().join("grid.xml").to_str().unwrap()).await.unwrap();
    wait_for(&c, "[data-testid=export-submit]").await.click().await.unwrap();
    wait_for_text(&c, ".export [role=alert]", "unknown extension").await;
    assert!(c.find_all(Locator::Css("[data-testid=exported]")).await.unwrap().is_empty(), "the earlier success is gone");
    screenshot(&c, "lab-export-refused").await;
    c.close().await.unwrap();
    let exported = std::fs::read_to_string(&out).unwrap();
    assert_eq!(exported.lines().count(), 7, "a header and a line per cell:\n{exported}");
    assert!(exported.contains("Name a \"\"key\"\" metric"), "the dataset's values, quoted as CSV");
    assert_eq!(query_i64(&db, "SELECT count(*) FROM manual_grades WHERE grade IS NOT NULL"), 2);
    assert_eq!(query_i64(&db, "SELECT count(*) FROM spans s JOIN grid_cells c ON c.id = s.trace_id"), 12, "every answer and judgement is a span");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_playground_sends_one_prompt_to_two_models_side_by_side_and_its_trace_is_deleted_and_restored() {
    let dir = tempfile::tempdir().unwrap();
    let Some(driver) = driver(&dir.path().join("config")).await else { return };
    let db = dir.path().join("ui.db");
    let c = open_app(&driver, &db).await;
    button(&c, "Playground").await.click().await.unwrap();
    let second = "//label[contains(normalize-space(), 'openai/gpt-5-mini')]/input"; // the first model is chosen already
    c.wait().at_most(Duration::from_secs(20)).for_element(Locator::XPath(second)).await.unwrap().click().await.unwrap();
    wait_for(&c, "[data-testid=playground-prompt]").await.send_keys("Explain throughput budgets").await.unwrap();
    wait_for(&c, "[data-testid=playground-send]").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=playground-answer]:nth-child(2)", "mock reply from openai/gpt-5-mini").await;
    let answers = c.find_all(Locator::Css("[data-testid=playground-answer]")).await.unwrap();
    assert_eq!(answers.len(), 2, "one answer per chosen model");
    screenshot(&c, "playground").await;
    assert_eq!(query_i64(&db, "SELECT count(*) FROM spans WHERE trace_kind = 'playground'"), 2);

    // Its trace is deleted from the trace view after a look, and Undo brings it back.
    button(&c, "Traces").await.click().await.unwrap();
    wait_for(&c, "[data-testid=trace-item]").await.click().await.unwrap();
    wait_for(&c, "[data-testid=trace-delete]").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=confirm-trace-delete]", "Delete this playground trace with its 2 calls and 0 ratings").await;
    screenshot(&c, "trace-delete").await;
    button(&c, "Keep it").await.click().await.unwrap();
    assert_eq!(query_i64(&db, "SELECT count(*) FROM trace_deletions"), 0, "keeping it changes nothing");
    wait_for(&c, "[data-testid=trace-delete]").await.click().await.unwrap();
    button(&c, "Delete trace").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=trace-deleted]", "Deleted the trace with its 2 calls and 0 ratings. Undo").await;
    wait_for_text(&c, "[data-testid=trace-list]", "No traces yet").await;
    search(&c, "throughput").await;
    wait_for_exact(&c, "[data-testid=search-total]", "0 matching spans").await;
    button(&c, "Undo").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=search-total]", "2 matching spans").await;
    wait_for(&c, "[data-testid=trace-view]").await;
    c.close().await.unwrap();
    assert_eq!(query_i64(&db, "SELECT count(*) FROM trace_deletions WHERE deleted_at IS NULL"), 1, "restored, for sync to carry");
}

#[tokio::test(flavor = "multi_thread")]
async fn analytics_show_a_batchs_calls_over_time_and_refuse_a_backward_range() {
    let Some((_dir, driver, db)) = app_driver_and_a_mock_batch().await else { return };
    let calls = query_i64(&db, "SELECT count(*) FROM spans");
    let c = open_app(&driver, &db).await;
    button(&c, "Analytics").await.click().await.unwrap();
    wait_for(&c, "[data-testid=range-24h]").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=total-calls]", &calls.to_string()).await;
    wait_for_text(&c, "table[aria-label='Per model']", "openai/gpt-5-mini").await;
    wait_for(&c, "figure svg").await;
    screenshot(&c, "analytics").await;
    // One source at a time: nothing was imported.
    c.find(Locator::XPath("//select[@aria-label='Source']/option[normalize-space()='imported']")).await.unwrap().click().await.unwrap();
    wait_for_exact(&c, "[data-testid=total-calls]", "0").await;
    // A range whose end is before its start is refused with the reason.
    let script = "const [f, t] = document.querySelectorAll('input[type=date]'); for (const [el, v] of [[f, '2026-11-20'], [t, '2026-11-01']]) { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }";
    c.execute(script, vec![]).await.unwrap();
    wait_for(&c, "[data-testid=range-custom]").await.click().await.unwrap();
    wait_for_text(&c, "[data-testid=analytics-error]", "range: the end 2026-11-01 is before the start 2026-11-20").await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_langfuse_import_from_settings_brings_traces_into_every_view() {
    use chipbench_e2e::langfuse::{FakeLangfuse, SECRET_KEY};
    let fake = FakeLangfuse::start().await;
    fake.add(0, 12, 2);
    let dir = tempfile::tempdir().unwrap();
    let Some(driver) = driver(&dir.path().join("config")).await else { return };
    let db = dir.path().join("ui.db");
    let c = open_app(&driver, &db).await;
    // Imports only when asked: the background schedule would import as soon as the keys are set,
    // and when it finished before the click, the click's import found nothing new (seen once).
    configure_langfuse(&c, &fake.base_url(), "0").await;
    c.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css("[data-testid=langfuse-import]:enabled")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "[data-testid=langfuse-status]", "12 traces, 24 observations").await;
    wait_for_text(&c, "[data-testid=langfuse-verification]", "verified: 12 traces and 24 observations").await;
    c.execute("document.querySelector('[data-testid=langfuse-status]').scrollIntoView({block: 'center'})", vec![]).await.unwrap();
    screenshot(&c, "langfuse").await;
    assert!(!std::fs::read_to_string(dir.path().join("config/settings.json")).unwrap_or_default().contains(SECRET_KEY), "the secret key is not in settings.json");

    // The imported calls are in the analytics (from their own days) and the traces.
    button(&c, "Analytics").await.click().await.unwrap();
    wait_for(&c, "[data-testid=range-all]").await.click().await.unwrap();
    c.find(Locator::XPath("//select[@aria-label='Source']/option[normalize-space()='imported']")).await.unwrap().click().await.unwrap();
    wait_for_exact(&c, "[data-testid=total-calls]", "36").await;
    button(&c, "Traces").await.click().await.unwrap();
    wait_for_text(&c, "main", "langfuse: Match").await;
    c.close().await.unwrap();
    assert_eq!(query_i64(&db, "SELECT count(*) FROM langfuse_traces"), 12);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_background_schedule_imports_from_langfuse_once_the_keys_are_set() {
    let fake = chipbench_e2e::langfuse::FakeLangfuse::start().await;
    fake.add(0, 12, 2);
    let dir = tempfile::tempdir().unwrap();
    let Some(driver) = driver(&dir.path().join("config")).await else { return };
    let db = dir.path().join("ui.db");
    let c = open_app(&driver, &db).await;
    configure_langfuse(&c, &fake.base_url(), "").await; // the default interval
    wait_for_text(&c, "[data-testid=langfuse-status]", "12 traces, 24 observations").await;
    c.close().await.unwrap();
    assert_eq!(query_i64(&db, "SELECT count(*) FROM langfuse_traces"), 12, "imported without a click");
}

/// Sets Langfuse's URL, keys and import interval (`""`: the default) in Settings.
async fn configure_langfuse(c: &Client, base_url: &str, interval: &str) {
    use chipbench_e2e::langfuse::{PUBLIC_KEY, SECRET_KEY};
    button(c, "Settings").await.click().await.unwrap();
    wait_for(c, "input[name=langfuse_base_url]").await.send_keys(base_url).await.unwrap();
    wait_for(c, "input[name=langfuse_public_key]").await.send_keys(PUBLIC_KEY).await.unwrap();
    if !interval.is_empty() {
        wait_for(c, "input[name=langfuse_import_interval_secs]").await.send_keys(interval).await.unwrap();
    }
    button(c, "Save").await.click().await.unwrap();
    wait_for_exact(c, "[data-testid=settings-message]", "Settings saved").await;
    wait_for(c, "input[aria-label='Langfuse secret key']").await.send_keys(SECRET_KEY).await.unwrap();
    c.find(Locator::XPath("//div[@data-testid='langfuse-secret']/button[normalize-space()='Save key']")).await.unwrap().click().await.unwrap();
    wait_for_text(c, "[data-testid=langfuse-secret]", "(from settings)").await;
    assert!(!c.source().await.unwrap().contains(SECRET_KEY), "the secret key never reaches the page");
}

#[tokio::test(flavor = "multi_thread")]
async fn imported_agents_open_a_conversation_whose_rated_answer_moves_todays_analytics() {
    use chipbench_e2e::langfuse::{FakeLangfuse, PUBLIC_KEY, SECRET_KEY};
    let fake = FakeLangfuse::start().await;
    fake.add(0, 10, 1);
    let dir = tempfile::tempdir().unwrap();
    let Some(driver) = driver(&dir.path().join("config")).await else { return };
    let db = dir.path().join("ui.db");
    let mut import = crate::support::command(&db, &["import", "langfuse"]);
    import.env("LANGFUSE_BASE_URL", fake.base_url()).env("LANGFUSE_PUBLIC_KEY", PUBLIC_KEY).env("LANGFUSE_SECRET_KEY", SECRET_KEY).env("LANGFUSE_PAGE_DELAY_MS", "0");
    let imported: crate::support::Run = import.output().await.unwrap().into();
    assert_eq!(imported.code, 0, "{}", imported.stderr);

    let c = open_app(&driver, &db).await;
    button(&c, "Analytics").await.click().await.unwrap();
    wait_for(&c, "[data-testid=range-24h]").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=total-ratings]", "0").await;

    button(&c, "Agents").await.click().await.unwrap();
    wait_for_text(&c, "table[aria-label=Agents]", "Mortal").await;
    assert_eq!(c.find_all(Locator::Css("[data-testid=agent-row]")).await.unwrap().len(), 4);
    c.find(Locator::XPath("//tr[@data-testid='agent-row']//button[normalize-space()='Mortal']")).await.unwrap().click().await.unwrap();
    wait_for(&c, "[data-testid=agent-trace] button.link").await;
    let rows = c.find_all(Locator::Css("[data-testid=agent-trace]")).await.unwrap();
    assert_eq!(rows.len(), 3, "Mortal's traces");
    c.find_all(Locator::Css("[data-testid=agent-trace] td:first-child button")).await.unwrap()[0].click().await.unwrap();
    wait_for_text(&c, "[data-testid=conversation]", "who suits me?").await;
    wait_for_text(&c, "[data-testid=conversation]", "Answer").await;
    c.find_all(Locator::Css("[data-testid=turn-rate]")).await.unwrap()[3].click().await.unwrap();
    wait_for(&c, "[data-testid=turn-rate][aria-pressed=true]").await;
    screenshot(&c, "agents").await;

    button(&c, "Analytics").await.click().await.unwrap();
    wait_for(&c, "[data-testid=range-24h]").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=total-ratings]", "1 (4.00)").await;
    c.close().await.unwrap();
}

/// The processes of a process group that have not exited (a zombie waits only to be reaped).
fn live_members(group: i32) -> Vec<String> {
    let stats = std::fs::read_dir("/proc").unwrap().flatten().filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok());
    stats
        .filter_map(|stat| {
            // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ')'.
            let (head, rest) = stat.rsplit_once(')')?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            (fields.get(2)?.parse::<i32>().ok()? == group && fields[0] != "Z").then(|| head.split_once('(').map_or(head, |(_, comm)| comm).to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_driver_leaves_no_process_behind_even_with_its_app_open() {
    let dir = tempfile::tempdir().unwrap();
    let Some(driver) = driver(&dir.path().join("config")).await else { return };
    let c = open_app(&driver, &dir.path().join("ui.db")).await;
    wait_for(&c, "[data-testid=no-runs]").await;
    let group = driver.group;
    let members = live_members(group);
    assert!(members.iter().any(|m| m.starts_with("WebKitWebDriver")) && members.iter().any(|m| m == "chipbench"), "{members:?}");
    drop(driver); // as a failed test would, with its session still open
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !live_members(group).is_empty() {
        assert!(std::time::Instant::now() < deadline, "still running: {:?}", live_members(group));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// On a fresh database every view says what to do next instead of showing an empty table.
#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_databases_views_say_what_to_do_first() {
    let dir = tempfile::tempdir().unwrap();
    let Some(driver) = driver(&dir.path().join("config")).await else { return };
    let c = open_app(&driver, &dir.path().join("ui.db")).await;
    let says = [
        ("Runs", "[data-testid=no-runs]", "No runs yet: start one with New batch."),
        ("Results", "[data-testid=results-empty]", "No results yet: start a batch from Runs."),
        ("Rate", "[data-testid=rate-empty]", "No results yet: start a batch from Runs."),
        ("Leaderboard", "[data-testid=board-empty]", "No results yet: start a batch from Runs."),
        ("Analytics", "[data-testid=no-calls]", "No calls in this range."),
        ("Traces", "[data-testid=no-traces]", "No traces yet: run a batch"),
        ("Agents", "[data-testid=no-agents]", "Nothing imported yet"),
        ("Lab", "[data-testid=no-datasets]", "none yet: import a file above"),
    ];
    for (tab, css, text) in says {
        button(&c, tab).await.click().await.unwrap();
        wait_for_text(&c, css, text).await;
    }
    button(&c, "Analytics").await.click().await.unwrap();
    wait_for_exact(&c, "[data-testid=total-cost]", "$0.00").await;
    let tables = c.execute("return document.querySelectorAll('main table').length", vec![]).await.unwrap();
    assert_eq!(tables, json!(0), "no per-model table without calls");
    c.close().await.unwrap();
}

/// The smallest window (tauri.conf.json's minWidth and minHeight): every view, with a result and a
/// trace open, fits its width (a table or form wider than the window hid its last columns).
#[tokio::test(flavor = "multi_thread")]
async fn every_view_fits_the_smallest_window() {
    let Some((_dir, driver, db)) = app_driver_and_a_mock_batch().await else { return };
    let c = open_app(&driver, &db).await;
    let conf: serde_json::Value = serde_json::from_str(include_str!("../../src-tauri/tauri.conf.json")).unwrap();
    let window = &conf["app"]["windows"][0];
    let (width, height) = (window["minWidth"].as_u64().unwrap(), window["minHeight"].as_u64().unwrap());
    c.set_window_size(width as u32, height as u32).await.unwrap();
    let inner = c.execute("return [window.innerWidth, window.innerHeight]", vec![]).await.unwrap();
    assert!(inner[0].as_u64().unwrap() <= width, "the window shrank to {width} wide: {inner}");
    // Each view, and what it shows once data is there; some open a part that takes room.
    let views = [
        ("Runs", "[data-testid=matrix]", None),
        ("Results", "[data-testid=result-row]", Some(("[data-testid=result-row]", "[data-testid=result-detail]"))),
        ("Rate", "[data-testid=rate-progress]", None),
        ("Leaderboard", "[data-testid=board-empty]", Some(("input[name=include_demo]", "[data-testid=leaderboard]"))),
        ("Analytics", "[data-testid=analytics-model]", None),
        ("Agents", "[data-testid=no-agents]", None),
        ("Traces", "[data-testid=trace-item]", Some(("[data-testid=trace-item]", "[data-testid=trace-view]"))),
        ("Playground", "[data-testid=playground-prompt]", None),
        ("Lab", "[data-testid=prompt-name]", None),
        ("Settings", "[data-testid=database-stats]", None),
    ];
    let mut wide = Vec::new();
    let mut check = async |view: String| wide.extend(sideways(&c).await.into_iter().map(|e| format!("{view}: {e}")));
    for (tab, shown, opens) in views {
        button(&c, tab).await.click().await.unwrap();
        wait_for(&c, shown).await;
        check(tab.to_string()).await;
        if let Some((click, opened)) = opens {
            wait_for(&c, click).await.click().await.unwrap();
            wait_for(&c, opened).await;
            check(format!("{tab}, {opened} open")).await;
        }
    }
    button(&c, "Runs").await.click().await.unwrap();
    button(&c, "New batch").await.click().await.unwrap();
    wait_for(&c, "[data-testid=estimate]").await;
    check("the new batch form".to_string()).await;
    assert!(wide.is_empty(), "at {width}x{height}, these scroll sideways (tag.classes: content width > box width):\n{}", wide.join("\n"));
    screenshot(&c, "smallest-window").await;
    c.close().await.unwrap();
}
