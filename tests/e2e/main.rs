//! End-to-end tests: one test binary (run with `cargo test -p chipbench-e2e`).
//! - `client`: the OpenAI-compatible client against the fake provider's faults.
//! - `cli`: the `chipbench` binary: batches, bad input, exit codes, Ctrl-C, export.
//! - `crash`: SIGKILL in the middle of a batch, then `--resume`.
//! - `langfuse`: the Langfuse importer against a fake Langfuse API: paging, increments, faults.
//! - `llama`: the client against a real llama.cpp server (started by scripts/test.sh).
//! - `sync`: two and more clients against a real Turso server (tursodb --sync-server).
//! - `ui`: the real app (WebKit) driven over WebDriver under Xvfb (tauri-driver, see `webdriver`).

mod cli;
mod client;
mod crash;
mod langfuse;
mod llama;
mod support;
mod sync;
mod ui;
mod webdriver;
