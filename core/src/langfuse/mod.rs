//! Import from Langfuse: sessions, traces and observations through the public API ([`client`]),
//! stored as Chipbench traces and spans ([`map`]), so search, the trace view, replay and rating
//! work on them. Traces are imported incrementally from the newest timestamp of the last
//! successful import (`fromTimestamp`, and `fromStartTime` for observations); each page is stored
//! in one transaction and ids derive from Langfuse's, so a page fetched again after an
//! interruption adds nothing. Every import is recorded with its state and counts, and ends with a
//! check of the local counts against the remote's totals.

pub mod client;
pub mod map;

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub use client::Client;

use crate::{
    clock,
    llm::{FailureKind, LlmError},
    store::{Store, StoreError},
};

#[derive(Debug, thiserror::Error)]
pub enum LangfuseError {
    #[error("{0}")]
    Config(String),
    #[error("Langfuse refused the keys ({0}); check LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY")]
    Auth(String),
    #[error("Langfuse is rate limiting the import ({0}); the next import continues where this one stopped")]
    RateLimited(String),
    #[error("Langfuse is unreachable: {0}")]
    Unreachable(String),
    #[error("Langfuse failed: {0}")]
    Http(String),
    #[error("the import was cancelled")]
    Cancelled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LangfuseError {
    fn from_http(e: LlmError) -> LangfuseError {
        match e.kind {
            FailureKind::Auth => LangfuseError::Auth(e.message),
            FailureKind::RateLimited => LangfuseError::RateLimited(e.message),
            FailureKind::Connect | FailureKind::Timeout => LangfuseError::Unreachable(e.message),
            FailureKind::Cancelled => LangfuseError::Cancelled,
            FailureKind::Server | FailureKind::Rejected => LangfuseError::Http(e.message),
        }
    }

    /// The import's recorded state after this error.
    pub fn status(&self) -> ImportStatus {
        match self {
            LangfuseError::RateLimited(_) => ImportStatus::RateLimited,
            _ => ImportStatus::Error,
        }
    }
}

impl crate::error::Coded for LangfuseError {
    fn code(&self) -> crate::ErrorCode {
        match self {
            Self::Config(_) | Self::Auth(_) => crate::ErrorCode::Config,
            Self::Store(e) => e.code(),
            _ => crate::ErrorCode::Provider,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    Running,
    Ok,
    RateLimited,
    Error,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Ok => "ok",
            Self::RateLimited => "rate_limited",
            Self::Error => "error",
        }
    }
}

/// What an import brought (new rows only: rows already here are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportCounts {
    pub sessions: u64,
    pub traces: u64,
    pub observations: u64,
    /// Observations kept with what was known (a missing field, an unknown type).
    pub partial: u64,
}

/// Local counts against the remote's totals after an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Verification {
    pub remote_traces: u64,
    pub local_traces: u64,
    pub remote_observations: u64,
    pub local_observations: u64,
}

impl Verification {
    pub fn matches(&self) -> bool {
        self.remote_traces == self.local_traces && self.remote_observations == self.local_observations
    }
}

impl std::fmt::Display for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (t, o) = (self.local_traces, self.local_observations);
        if self.matches() {
            write!(f, "verified: {t} traces and {o} observations here, as in Langfuse")
        } else {
            write!(f, "mismatch: Langfuse has {} traces and {} observations, here {t} and {o}", self.remote_traces, self.remote_observations)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportReport {
    pub counts: ImportCounts,
    /// Where the next import starts (the newest trace timestamp seen).
    pub watermark: Option<String>,
    pub verification: Verification,
}

/// One import. The import is recorded as running, then as ok with its counts, watermark and
/// verification, or with the error's state and message (the watermark stays where the last
/// successful import left it, so the next import fetches the rest again).
pub async fn import(store: &Store, client: &Client, cancel: &CancellationToken, progress: impl Fn(&str)) -> Result<ImportReport, LangfuseError> {
    let (id, from) = store.langfuse_begin()?;
    let mut counts = ImportCounts::default();
    let outcome = run(store, client, from.as_deref(), cancel, &progress, &mut counts).await;
    match &outcome {
        Ok(report) => store.langfuse_finish(id, ImportStatus::Ok, None, &counts, report.watermark.as_deref(), Some(&report.verification.to_string()))?,
        Err(e) => store.langfuse_finish(id, e.status(), Some(&e.to_string()), &counts, None, None)?,
    }
    outcome
}

async fn run(store: &Store, client: &Client, from: Option<&str>, cancel: &CancellationToken, progress: &impl Fn(&str), counts: &mut ImportCounts) -> Result<ImportReport, LangfuseError> {
    each_page(client, "sessions", &[], cancel, |data| {
        counts.sessions += store.langfuse_store_sessions(data)? as u64;
        progress(&format!("sessions: {} new", counts.sessions));
        Ok(())
    })
    .await?;

    let mut query: Vec<(&str, String)> = vec![("orderBy", "timestamp.asc".into())];
    query.extend(from.map(|f| ("fromTimestamp", f.to_owned())));
    let mut watermark = from.map(str::to_owned);
    let mut names: HashMap<String, String> = HashMap::new();
    each_page(client, "traces", &query, cancel, |data| {
        let (rows, spans): (Vec<_>, Vec<_>) = data.iter().filter_map(map::trace).unzip();
        for row in &rows {
            names.extend(row.name.clone().map(|n| (row.source_id.clone(), n)));
        }
        for v in data {
            let stamp = v.get("timestamp").and_then(Value::as_str);
            if stamp.and_then(clock::parse) > watermark.as_deref().and_then(clock::parse) {
                watermark = stamp.map(str::to_owned);
            }
        }
        counts.traces += store.langfuse_store_traces(&rows, &spans)? as u64;
        progress(&format!("traces: {} new", counts.traces));
        Ok(())
    })
    .await?;

    let query: Vec<(&str, String)> = from.map(|f| ("fromStartTime", f.to_owned())).into_iter().collect();
    each_page(client, "observations", &query, cancel, |data| {
        let wanted: Vec<&str> = data.iter().filter_map(|v| v.get("traceId")?.as_str()).filter(|t| !names.contains_key(*t)).collect();
        names.extend(store.langfuse_trace_names(&wanted)?);
        let mapped: Vec<_> = data.iter().map(|v| map::observation(v, &|t: &str| names.get(t).cloned())).collect();
        counts.partial += mapped.iter().filter(|(_, partial)| *partial).count() as u64;
        let spans: Vec<_> = mapped.into_iter().map(|(span, _)| span).collect();
        counts.observations += store.langfuse_store_observations(&spans)? as u64;
        progress(&format!("observations: {} new", counts.observations));
        Ok(())
    })
    .await?;

    let total = |list: &'static str| async move { Ok::<_, LangfuseError>(client.page(list, 1, &[], cancel).await?.meta.total_items) };
    let (local_traces, local_observations) = store.langfuse_counts()?;
    let verification = Verification { remote_traces: total("traces").await?, local_traces, remote_observations: total("observations").await?, local_observations };
    Ok(ImportReport { counts: *counts, watermark, verification })
}

/// Every page of a listing in order, handed to `store` as it arrives, with the client's polite
/// delay between pages.
async fn each_page(client: &Client, list: &str, query: &[(&str, String)], cancel: &CancellationToken, mut store: impl FnMut(&[Value]) -> Result<(), LangfuseError>) -> Result<(), LangfuseError> {
    let mut page = 1;
    loop {
        let p = client.page(list, page, query, cancel).await?;
        store(&p.data)?;
        if page >= p.meta.total_pages || p.data.is_empty() {
            return Ok(());
        }
        page += 1;
        tokio::select! {
            _ = cancel.cancelled() => return Err(LangfuseError::Cancelled),
            _ = tokio::time::sleep(client.page_delay) => {}
        }
    }
}
