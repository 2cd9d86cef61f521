//! What Langfuse imports store: each page of sessions, traces (their rows and root spans) or
//! observations (spans) in one transaction, new rows counted and rows already here passed over;
//! the record of every import, whose last success says where the next one starts.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::Value;

use super::{traces::LIVE_TRACE, Result, Store};
use crate::{
    clock,
    langfuse::{map::TraceRow, ImportCounts, ImportStatus},
    trace::Span,
};

/// The latest import, as a status line shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LangfuseImport {
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: String,
    pub error: Option<String>,
    pub counts: ImportCounts,
    pub watermark: Option<String>,
    pub verification: Option<String>,
}

/// An imported agent (Langfuse traces by name): how much it ran, how often it failed, what it cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgentStats {
    pub name: String,
    pub traces: u64,
    pub sessions: u64,
    /// Traces with at least one failed observation.
    pub failed_traces: u64,
    pub error_rate: f64,
    pub mean_latency_ms: Option<f64>,
    pub cost_usd: f64,
    pub last_at: String,
}

/// One of an agent's traces.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgentTrace {
    pub trace_id: String,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub timestamp: String,
    pub spans: u64,
    pub errors: u64,
    pub cost_usd: f64,
}

/// One turn of an imported conversation: what was sent (the trace's input) and answered (its
/// output, rated through the trace's root span).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Turn {
    pub trace_id: String,
    pub span_id: String,
    pub name: String,
    pub timestamp: String,
    pub messages: Vec<crate::llm::Message>,
    pub response: Option<String>,
    pub my_rating: Option<u8>,
}

impl Store {
    /// Imported traces grouped by name (the per-agent view), the busiest first.
    pub fn langfuse_agents(&self) -> Result<Vec<AgentStats>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT coalesce(l.name, '(unnamed)'), count(*), count(DISTINCT l.session_id), sum(t.error_count > 0),
                        avg((julianday(t.ended_at) - julianday(t.started_at)) * 86400000.0), sum(t.cost_usd), max(l.timestamp)
                 FROM langfuse_traces l JOIN traces t ON t.id = l.id WHERE {LIVE_TRACE} GROUP BY 1 ORDER BY 2 DESC, 1",
            ))?;
            let rows = stmt.query_map([], |r| {
                let (traces, failed): (u64, u64) = (r.get(1)?, r.get(3)?);
                Ok(AgentStats {
                    name: r.get(0)?,
                    traces,
                    sessions: r.get(2)?,
                    failed_traces: failed,
                    error_rate: if traces > 0 { failed as f64 / traces as f64 } else { 0.0 },
                    mean_latency_ms: r.get(4)?,
                    cost_usd: r.get(5)?,
                    last_at: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// An agent's traces, newest first.
    pub fn langfuse_agent_traces(&self, name: &str, limit: u32) -> Result<Vec<AgentTrace>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT l.id, l.session_id, l.user_id, l.timestamp, t.span_count, t.error_count, t.cost_usd
                 FROM langfuse_traces l JOIN traces t ON t.id = l.id WHERE coalesce(l.name, '(unnamed)') = ?1 AND {LIVE_TRACE}
                 ORDER BY l.timestamp DESC LIMIT ?2",
            ))?;
            let rows = stmt.query_map(params![name, limit], |r| {
                Ok(AgentTrace {
                    trace_id: r.get(0)?,
                    session_id: r.get(1)?,
                    user_id: r.get(2)?,
                    timestamp: r.get(3)?,
                    spans: r.get(4)?,
                    errors: r.get(5)?,
                    cost_usd: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The conversation an imported trace belongs to: every trace of its session in time order
    /// (only itself without a session), each as the messages sent and the answer, with `user`'s
    /// rating of the answer.
    pub fn langfuse_conversation(&self, trace_id: &str, user: &str) -> Result<Vec<Turn>> {
        let traces: Vec<(String, String, Option<String>, String)> = self.read(|c| {
            let mut stmt = c.prepare_cached(concat!(
                "SELECT l.id, l.source_id, l.name, l.timestamp FROM langfuse_traces l
                 WHERE (l.id = ?1 OR (l.session_id IS NOT NULL AND l.session_id = (SELECT session_id FROM langfuse_traces WHERE id = ?1)))
                   AND l.id NOT IN (",
                deleted_traces!(),
                ") ORDER BY l.timestamp, l.id"
            ))?;
            let rows = stmt.query_map([trace_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        if traces.is_empty() {
            return Err(super::StoreError::NotFound { what: "imported trace", id: trace_id.to_owned() });
        }
        traces
            .into_iter()
            .map(|(id, source, name, timestamp)| {
                let span = self.span(&crate::langfuse::map::root_span_id(&source))?;
                Ok(Turn {
                    trace_id: id,
                    my_rating: self.my_rating(super::TARGET_SPAN, &span.id, user)?,
                    span_id: span.id,
                    name: name.unwrap_or_else(|| "(unnamed)".into()),
                    timestamp,
                    messages: span.messages.map(crate::llm::Messages::into_vec).unwrap_or_default(),
                    response: span.response,
                })
            })
            .collect()
    }

    /// Records a new import as running; returns its id and where it starts (the watermark of the
    /// last successful import, if any).
    pub fn langfuse_begin(&self) -> Result<(i64, Option<String>)> {
        self.write(|tx| {
            let from: Option<String> = tx
                .query_row("SELECT watermark FROM langfuse_imports WHERE status = 'ok' AND watermark IS NOT NULL ORDER BY id DESC LIMIT 1", [], |r| r.get(0))
                .optional()?;
            tx.execute("INSERT INTO langfuse_imports (started_at, status) VALUES (?1, 'running')", [clock::now()])?;
            Ok((tx.last_insert_rowid(), from))
        })
    }

    pub fn langfuse_finish(&self, id: i64, status: ImportStatus, error: Option<&str>, counts: &ImportCounts, watermark: Option<&str>, verification: Option<&str>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE langfuse_imports SET finished_at = ?2, status = ?3, error = ?4, sessions = ?5, traces = ?6, observations = ?7,
                     partial = ?8, watermark = ?9, verification = ?10 WHERE id = ?1",
                params![id, clock::now(), status.as_str(), error, counts.sessions, counts.traces, counts.observations, counts.partial, watermark, verification],
            )?;
            Ok(())
        })
    }

    /// The latest import, if any.
    pub fn langfuse_last_import(&self) -> Result<Option<LangfuseImport>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT started_at, finished_at, status, error, sessions, traces, observations, partial, watermark, verification
                 FROM langfuse_imports ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok(LangfuseImport {
                        started_at: r.get(0)?,
                        finished_at: r.get(1)?,
                        status: r.get(2)?,
                        error: r.get(3)?,
                        counts: ImportCounts { sessions: r.get(4)?, traces: r.get(5)?, observations: r.get(6)?, partial: r.get(7)? },
                        watermark: r.get(8)?,
                        verification: r.get(9)?,
                    })
                },
            )
            .optional()?)
        })
    }

    /// Stores a page of sessions; how many were new.
    pub fn langfuse_store_sessions(&self, sessions: &[Value]) -> Result<usize> {
        self.write(|tx| {
            let mut insert = tx.prepare_cached("INSERT INTO langfuse_sessions (id, created_at, environment) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING")?;
            let mut new = 0;
            for s in sessions {
                let Some(id) = s.get("id").and_then(Value::as_str) else { continue };
                let text = |k: &str| s.get(k).and_then(Value::as_str);
                new += insert.execute(params![id, text("createdAt"), text("environment")])?;
            }
            Ok(new)
        })
    }

    /// Stores a page of traces (their rows and root spans); how many were new.
    pub fn langfuse_store_traces(&self, rows: &[TraceRow], spans: &[Span]) -> Result<usize> {
        let origin = self.installation_id().to_owned();
        self.write(|tx| {
            let mut insert = tx.prepare_cached(
                "INSERT INTO langfuse_traces (id, source_id, session_id, user_id, name, timestamp) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO NOTHING",
            )?;
            let mut new = 0;
            for t in rows {
                new += insert.execute(params![t.id, t.source_id, t.session_id, t.user_id, t.name, t.timestamp])?;
            }
            super::traces::insert_spans(tx, &origin, spans)?;
            Ok(new)
        })
    }

    /// Stores a page of observations; how many were new.
    pub fn langfuse_store_observations(&self, spans: &[Span]) -> Result<usize> {
        let origin = self.installation_id().to_owned();
        self.write(|tx| Ok(super::traces::insert_spans(tx, &origin, spans)?))
    }

    /// The names of imported traces, by Langfuse id.
    pub fn langfuse_trace_names(&self, source_ids: &[&str]) -> Result<HashMap<String, String>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT name FROM langfuse_traces WHERE source_id = ?1 AND name IS NOT NULL")?;
            let mut names = HashMap::new();
            for id in source_ids {
                if let Some(name) = stmt.query_row([id], |r| r.get::<_, String>(0)).optional()? {
                    names.insert((*id).to_owned(), name);
                }
            }
            Ok(names)
        })
    }

    /// Imported traces and observations here.
    pub fn langfuse_counts(&self) -> Result<(u64, u64)> {
        self.read(|c| {
            let traces = c.query_row("SELECT count(*) FROM langfuse_traces", [], |r| r.get(0))?;
            // A scan of the spans; an import runs it once, at its end.
            let observations = c.query_row("SELECT count(*) FROM spans WHERE trace_kind = 'import' AND provider = 'langfuse' AND kind <> 'trace'", [], |r| r.get(0))?;
            Ok((traces, observations))
        })
    }
}
