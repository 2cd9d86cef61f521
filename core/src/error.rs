//! The error codes a consumer (the CLI's exit code, the UI) branches on. Each module has its own
//! error type; every one maps to a code, so no consumer matches on message text.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Bad input: a flag, a file, a value out of range.
    Validation,
    NotFound,
    /// The request conflicts with the current state (a run being executed elsewhere).
    Conflict,
    /// Missing or unusable configuration (no API key, a database newer than this build).
    Config,
    /// The LLM provider failed or refused.
    Provider,
    /// The database failed.
    Storage,
    /// The shared (Turso) database was unreachable or refused a sync.
    Sync,
}

/// Every error type of core says which [`ErrorCode`] it is; adapters map codes, never messages.
pub trait Coded: std::fmt::Display {
    fn code(&self) -> ErrorCode;
}
