//! Driving the real app (WebKit) over WebDriver: tauri-driver + WebKitWebDriver on free ports,
//! the app with its own database and settings, waits on page state. Shared by the UI tests
//! (`e2e/ui.rs`) and the app benchmark (`benches/app.rs`), which include this file.

use std::{path::Path, process::Stdio, time::Duration};

use chipbench_e2e::{available, chipbench_bin};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// tauri-driver, leading a process group of its own: the WebKitWebDriver it starts and the apps
/// that one launches join it.
pub struct Driver {
    child: tokio::process::Child,
    /// The process group: tauri-driver's pid.
    pub group: i32,
    port: u16,
    /// What tauri-driver, WebKitWebDriver and the app print, for a test that hangs (the file
    /// goes with the Driver).
    _log: tempfile::NamedTempFile,
    /// Dropping it stops the watchdog.
    _watchdog: Option<std::sync::mpsc::Sender<()>>,
}

impl Drop for Driver {
    /// Kills the whole group. Killing tauri-driver alone left its WebKitWebDriver running, and an
    /// app whose test failed before closing its session.
    fn drop(&mut self) {
        kill_group(self.group);
    }
}

fn kill_group(group: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; it touches no memory.
    unsafe { libc::kill(-group, libc::SIGKILL) };
}

/// A UI test's time limit. A WebDriver request has no timeout of its own: once, in CI, one never
/// returned and the test hung until CI's own limit. The watchdog kills the driver's group instead,
/// so the pending request fails and the test fails with the group's log.
const UI_TEST_LIMIT: Duration = Duration::from_secs(120);

/// Kills `group` unless the returned sender is dropped within `limit`.
fn watchdog(group: i32, limit: Duration, log: std::path::PathBuf) -> std::sync::mpsc::Sender<()> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if stopped.recv_timeout(limit) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
            let printed = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = printed.lines().rev().take(40).collect();
            eprintln!("UI test still running after {limit:?}: killed its driver and app. Their last lines:");
            tail.iter().rev().for_each(|line| eprintln!("  {line}"));
            kill_group(group);
        }
    });
    stop
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts tauri-driver (the app inherits its environment: instant mock, settings in `config`), or
/// None (skipped outside CI) when it or a display is missing. It is killed after [`UI_TEST_LIMIT`].
pub async fn driver(config: &Path) -> Option<Driver> {
    driver_with_latency(config, "0").await
}

/// As [`driver`], with the mock's latency scale (1: calls of 40-200 ms, to watch a batch run).
pub async fn driver_with_latency(config: &Path, mock_latency_scale: &str) -> Option<Driver> {
    start(config, mock_latency_scale, true, Some(UI_TEST_LIMIT)).await
}

/// As [`driver`], but the app renders as it ships, without compositing (for the app's figures;
/// screenshots hang), and with no time limit.
#[allow(dead_code)] // used by the app bench, which includes this file
pub async fn driver_as_shipped(config: &Path) -> Option<Driver> {
    start(config, "0", false, None).await
}

async fn start(config: &Path, mock_latency_scale: &str, compositing: bool, limit: Option<Duration>) -> Option<Driver> {
    let display = std::env::var_os("DISPLAY").is_some();
    let found = std::process::Command::new("tauri-driver").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !available("a display (DISPLAY)", display) || !available("tauri-driver on PATH", found) {
        return None;
    }
    // Another process may take a free port before tauri-driver binds it: then it exits, and
    // fresh ports are tried.
    for _ in 0..3 {
        let (port, native) = (free_port(), free_port());
        let mut command = tokio::process::Command::new("tauri-driver");
        if compositing {
            // WebKitGTK's WebDriver screenshots never return without accelerated compositing, which
            // the app turns off by default (app::without_compositing); the page's DOM is the same.
            command.env("CHIPBENCH_COMPOSITING", "1");
        }
        let log = tempfile::NamedTempFile::new().expect("a log file");
        let child = command
            .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("CHIPBENCH_MOCK_LATENCY_SCALE", mock_latency_scale)
            .env("CHIPBENCH_CONFIG_DIR", config)
            .env_remove("OPENROUTER_API_KEY")
            .env("RUST_BACKTRACE", "0")
            .stdout(log.as_file().try_clone().expect("the log file"))
            .stderr(log.as_file().try_clone().expect("the log file"))
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn tauri-driver");
        let group = child.id().expect("a spawned process has a pid") as i32;
        let watchdog = limit.map(|limit| watchdog(group, limit, log.path().to_owned()));
        // A Driver from the start, so that every way out of here kills the group.
        let mut driver = Driver { child, group, port, _log: log, _watchdog: watchdog };
        let status = format!("http://127.0.0.1:{port}/status");
        // 30 s: in one fresh-clone CI run, with other tests loading both cores, a UI test's
        // tauri-driver had not answered after 10 s.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while driver.child.try_wait().expect("tauri-driver's status").is_none() {
            if reqwest::get(&status).await.is_ok_and(|r| r.status().is_success()) {
                return Some(driver);
            }
            assert!(std::time::Instant::now() < deadline, "tauri-driver did not answer on {status}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!("tauri-driver exited three times before answering (ports taken?)");
}

pub async fn open_app(driver: &Driver, db: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("tauri:options".into(), json!({"application": chipbench_bin(), "args": ["--db", db]}));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session")
}

pub async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

/// Waits until the element's text contains `want`.
pub async fn wait_for_text(c: &Client, css: &str, want: &str) -> String {
    wait_until_text(c, css, want, |text| text.contains(want)).await
}

/// Waits until the element's text is exactly `want`.
pub async fn wait_for_exact(c: &Client, css: &str, want: &str) -> String {
    wait_until_text(c, css, want, |text| text.trim() == want).await
}

pub async fn wait_until_text(c: &Client, css: &str, want: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        // innerText, not WebDriver's element text: WebKitWebDriver reports "" for cells of the
        // virtualised table (absolutely positioned grid rows) even when they are on screen.
        wait_for(c, css).await;
        let script = "return document.querySelector(arguments[0])?.innerText ?? '';";
        let text = c.execute(script, vec![json!(css)]).await.ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        if ok(&text) {
            return text;
        }
        assert!(std::time::Instant::now() < deadline, "{css} shows {text:?}, never {want:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn button(c: &Client, label: &str) -> fantoccini::elements::Element {
    c.wait().at_most(Duration::from_secs(20)).for_element(Locator::XPath(&format!("//button[normalize-space()='{label}']"))).await.unwrap()
}

/// Saves a screenshot for people to look at, after asserting that the view fits the window's
/// width (each horizontal scrollbar so far was a layout bug). A screenshot that takes more than
/// 20 s is skipped with a warning.
pub async fn screenshot(c: &Client, name: &str) {
    assert_fits_width(c, name).await;
    let dir = chipbench_bin().parent().unwrap().join("../screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    match tokio::time::timeout(Duration::from_secs(20), c.screenshot()).await {
        Ok(png) => std::fs::write(dir.join(format!("{name}.png")), png.unwrap()).unwrap(),
        Err(_) => eprintln!("warning: the screenshot {name}.png took over 20 s; skipped"),
    }
}

/// Asserts that nothing in the view scrolls sideways (`view` names it in the message).
pub async fn assert_fits_width(c: &Client, view: &str) {
    assert_eq!(sideways(c).await, Vec::<String>::new(), "{view}: these scroll sideways (tag.classes: content width > box width)");
}

/// What scrolls sideways, as "tag.classes: content width > box width".
pub async fn sideways(c: &Client) -> Vec<String> {
    serde_json::from_value(c.execute(WIDER_THAN_THEIR_BOX, vec![]).await.unwrap()).unwrap()
}

/// The elements that scroll sideways: the page, or an element whose style lets it scroll, with
/// content wider than its box.
const WIDER_THAN_THEIR_BOX: &str = "
    return [...document.querySelectorAll('*')]
        .filter(e => {
            const x = getComputedStyle(e).overflowX;
            return (x === 'auto' || x === 'scroll' || e === document.scrollingElement) && e.scrollWidth > e.clientWidth + 1;
        })
        .map(e => `${e.tagName.toLowerCase()}${[...e.classList].map(c => '.' + c).join('')}: ${e.scrollWidth} > ${e.clientWidth}`);";
