//! Chipbench's domain: everything the desktop app and the `--batch` CLI share.
//!
//! - [`store`]: the local SQLite database (migrations, repositories, maintained aggregates).
//! - [`llm`]: chat-completion providers (OpenRouter, any OpenAI-compatible server, the offline mock),
//!   retries and pricing.
//! - [`bench`]: the chip benchmark: matrix, the per-test pipeline, and the batch runner.
//! - [`stats`]: statistics over ratings (the bootstrap interval).
//! - [`chips`], [`personas`], [`prompts`]: the benchmark's domain data and its rules.
//! - [`sync`]: sync with a shared Turso database (push, pull, the remote schema).
//! - [`trace`]: the trace debugger: spans of every LLM call, replay diffs, search queries, import.
//! - [`dataset`]: the prompt lab's datasets (CSV, JSON, JSON Lines, read as a stream) and placeholder checks.
//! - [`grade`]: rule-based graders (exact, contains, regex, JSON) and grader-human agreement (Cohen's kappa).
//! - [`analytics`]: time ranges and latency percentiles for the view over time (its daily aggregates are in the store).
//! - [`langfuse`]: import of sessions, traces and observations from Langfuse's public API as traces and spans.
//! - [`grid`]: the prompt lab's grid runs: a prompt version x dataset rows x up to four models, graded.
//! - [`identity`]: who is rating, by default. [`settings`]: settings and API keys, kept as files.
//!
//! This crate never depends on Tauri; progress leaves it through plain callbacks.

pub mod analytics;
pub mod bench;
pub mod chips;
pub mod clock;
pub mod dataset;
pub mod error;
pub mod export;
pub mod grade;
pub mod grid;
pub mod http;
pub mod identity;
pub mod langfuse;
pub mod ids;
pub mod llm;
pub mod personas;
pub mod prompts;
pub mod settings;
pub mod stats;
pub mod store;
pub mod sync;
pub mod trace;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;

pub use error::{Coded, ErrorCode};
