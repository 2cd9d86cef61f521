//! Traces and spans: group-committed span inserts (immutable once written; each insert adds its
//! spans' figures to their `traces` rows), the newest traces, one trace with its spans and
//! replays, and full-text search with highlighted snippets. Spans of deleted runs and deleted
//! traces are hidden everywhere.
//!
//! The FTS5 index is not written with the span: indexing costs several times what storing does,
//! and a batch must not pay it per call. [`Store::index_spans`] indexes stored spans in order
//! (the app does it in the background, a search first catches up), so search sees every span.

use rusqlite::{params, params_from_iter, types::Value as Sql, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use super::{results::json, Result, Store, StoreError};
use crate::{
    llm::CallKind,
    trace::{parsed_output, query, Span, TraceKind},
};

/// A span is not under a deleted benchmark run (a grid cell's spans carry their grid run's id,
/// which is not in `runs`) nor in a deleted trace.
const LIVE: &str = concat!(
    "(s.run_id IS NULL OR s.run_id NOT IN (SELECT id FROM runs WHERE deleted_at IS NOT NULL)) AND s.trace_id NOT IN (",
    deleted_traces!(),
    ")"
);
/// The same for a trace.
pub(super) const LIVE_TRACE: &str = concat!(
    "(t.run_id IS NULL OR t.run_id NOT IN (SELECT id FROM runs WHERE deleted_at IS NOT NULL)) AND t.id NOT IN (",
    deleted_traces!(),
    ")"
);

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TraceSummary {
    pub id: String,
    pub kind: TraceKind,
    pub name: String,
    pub run_id: Option<String>,
    pub started_at: String,
    pub ended_at: String,
    pub span_count: u64,
    pub error_count: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

/// A later call that replayed one of this trace's spans.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReplayRef {
    pub original_span_id: String,
    pub span_id: String,
    pub trace_id: String,
    pub model: Option<String>,
    pub ok: bool,
    pub started_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TraceDetail {
    pub trace: TraceSummary,
    /// In the order they started.
    pub spans: Vec<Span>,
    pub replays: Vec<ReplayRef>,
    /// The asking user's ratings of this trace's spans (playground responses), by span id.
    pub my_ratings: Vec<(String, u8)>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default)]
pub struct TraceFilter {
    pub kind: Option<TraceKind>,
    pub run_id: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default)]
pub struct SearchQuery {
    pub text: String,
    pub model: Option<String>,
    pub run_id: Option<String>,
    /// A span kind: generation, selection, fill, chat, or an imported type.
    pub kind: Option<String>,
    pub has_error: Option<bool>,
    pub limit: u32,
    pub offset: u32,
}

/// A run of snippet text; `hit` marks the words that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SnippetPart {
    pub text: String,
    pub hit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SearchHit {
    pub span_id: String,
    pub trace_id: String,
    pub trace_name: String,
    pub trace_kind: TraceKind,
    pub kind: String,
    pub model: Option<String>,
    pub run_id: Option<String>,
    pub ok: bool,
    pub started_at: String,
    pub snippet: Vec<SnippetPart>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    /// Matching spans, counted up to [`COUNT_CAP`]; `total_capped` says there are more.
    pub total: u64,
    pub total_capped: bool,
    /// Spans stored but not yet searchable (the background indexer is still catching up after a
    /// large batch or pull); the page says so.
    pub unindexed: u64,
}

/// Counting every match of a common word in a million spans would cost more than the page (with
/// a filter, it walks every match); the count stops here and the page says "1,000+".
pub const COUNT_CAP: u64 = 1_000;
const MAX_PAGE: u32 = 500;
/// Spans indexed per transaction: keeps the write lock short beside a running batch.
pub const INDEX_CHUNK: usize = 2_000;
/// A search first indexes up to this many waiting spans (about a second's work); beyond that it
/// answers at once and says how many are not searchable yet.
const INDEX_BEFORE_SEARCH: usize = 10_000;
// Snippet markers: control characters no tokenized text contains, split out in Rust so the UI
// renders the parts as text (never as HTML).
const HIT_START: char = '\u{2}';
const HIT_END: char = '\u{3}';

const SPAN_COLUMNS: &str = "s.id, s.trace_id, s.parent_id, s.trace_kind, s.trace_name, s.run_id, s.kind, s.name, s.provider,
    s.model, s.status, s.error, s.messages, s.params, s.response, s.attempts, s.input_tokens, s.output_tokens,
    s.cost_usd, s.billed_cost_usd, s.latency_ms, s.started_at, s.ended_at, s.replay_of, s.attributes";

fn from_json<T: serde::de::DeserializeOwned>(r: &Row, i: usize) -> rusqlite::Result<Option<T>> {
    let text: Option<String> = r.get(i)?;
    text.map(|t| serde_json::from_str(&t).map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))))
        .transpose()
}

fn trace_kind(r: &Row, i: usize) -> rusqlite::Result<TraceKind> {
    let s: String = r.get(i)?;
    TraceKind::parse(&s).ok_or_else(|| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, format!("trace kind `{s}`").into()))
}

fn span_from_row(r: &Row) -> rusqlite::Result<Span> {
    let kind: String = r.get(6)?;
    let response: Option<String> = r.get(14)?;
    // Derived here rather than stored: parsing every response again during a batch would cost it.
    let parsed = CallKind::parse(&kind).zip(response.as_deref()).and_then(|(k, text)| parsed_output(k, text));
    Ok(Span {
        id: r.get(0)?,
        trace_id: r.get(1)?,
        parent_id: r.get(2)?,
        trace_kind: trace_kind(r, 3)?,
        trace_name: r.get(4)?,
        run_id: r.get(5)?,
        kind,
        name: r.get(7)?,
        provider: r.get(8)?,
        model: r.get(9)?,
        ok: r.get::<_, String>(10)? == "ok",
        error: r.get(11)?,
        messages: from_json(r, 12)?,
        params: from_json(r, 13)?,
        response,
        parsed,
        retries: from_json(r, 15)?.unwrap_or_default(),
        input_tokens: r.get(16)?,
        output_tokens: r.get(17)?,
        cost_usd: r.get(18)?,
        billed_cost_usd: r.get(19)?,
        latency_ms: r.get(20)?,
        started_at: r.get(21)?,
        ended_at: r.get(22)?,
        replay_of: r.get(23)?,
        attributes: from_json(r, 24)?,
    })
}

/// The seqs of trace `?1`'s spans (spans have no trace_id index; see V5).
pub(super) const TRACE_SEQS: &str = "SELECT m.seq FROM traces t JOIN trace_spans m ON m.trace_no = t.rowid WHERE t.id = ?1";

const TRACE_COLUMNS: &str =
    "t.id, t.kind, t.name, t.run_id, t.started_at, t.ended_at, t.span_count, t.error_count, t.input_tokens, t.output_tokens, t.cost_usd";

fn trace_from_row(r: &Row) -> rusqlite::Result<TraceSummary> {
    Ok(TraceSummary {
        id: r.get(0)?,
        kind: trace_kind(r, 1)?,
        name: r.get(2)?,
        run_id: r.get(3)?,
        started_at: r.get(4)?,
        ended_at: r.get(5)?,
        span_count: r.get(6)?,
        error_count: r.get(7)?,
        input_tokens: r.get(8)?,
        output_tokens: r.get(9)?,
        cost_usd: r.get(10)?,
    })
}

/// How a trace's row takes in more of its spans' figures (`excluded` holds theirs).
const ADD_TO_TRACE: &str = "ON CONFLICT (id) DO UPDATE SET
     started_at = min(started_at, excluded.started_at),
     ended_at = max(ended_at, excluded.ended_at),
     span_count = span_count + excluded.span_count,
     error_count = error_count + excluded.error_count,
     input_tokens = input_tokens + excluded.input_tokens,
     output_tokens = output_tokens + excluded.output_tokens,
     cost_usd = cost_usd + excluded.cost_usd,
     last_seq = max(last_seq, excluded.last_seq)";

/// Folds the spans stored after `after_seq` into their traces' rows and `trace_spans`, in the
/// caller's transaction, with two grouped statements: for spans that arrived as rows (a pull).
pub(crate) fn fold_new_spans(tx: &Connection, after_seq: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO traces (id, kind, name, run_id, started_at, ended_at, span_count, error_count,
                             input_tokens, output_tokens, cost_usd, last_seq)
         SELECT trace_id, trace_kind, trace_name, run_id, min(started_at), max(ended_at), count(*),
                sum(status = 'error'), sum(input_tokens), sum(output_tokens), sum(cost_usd), max(seq)
         FROM spans WHERE seq > ?1 GROUP BY trace_id
         {ADD_TO_TRACE}"
    ))?
    .execute([after_seq])?;
    tx.prepare_cached("INSERT INTO trace_spans (trace_no, seq) SELECT t.rowid, s.seq FROM spans s JOIN traces t ON t.id = s.trace_id WHERE s.seq > ?1")?
        .execute([after_seq])?;
    Ok(())
}

/// One trace's share of the spans an insert stored, summed in memory: reading the new rows back
/// and grouping them in SQL cost a batch more than storing them (issue 5's CPU budget).
struct TraceShare<'a> {
    first: &'a Span,
    started_at: &'a str,
    ended_at: &'a str,
    errors: u64,
    input_tokens: u64,
    output_tokens: u64,
    cost_usd: f64,
    seqs: Vec<i64>,
}

impl<'a> TraceShare<'a> {
    fn new(first: &'a Span) -> Self {
        let (started_at, ended_at) = (first.started_at.as_str(), first.ended_at.as_str());
        TraceShare { first, started_at, ended_at, errors: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0.0, seqs: Vec::new() }
    }

    fn add(&mut self, s: &'a Span, seq: i64) {
        self.started_at = self.started_at.min(s.started_at.as_str());
        self.ended_at = self.ended_at.max(s.ended_at.as_str());
        self.errors += u64::from(!s.ok);
        self.input_tokens += s.input_tokens;
        self.output_tokens += s.output_tokens;
        self.cost_usd += s.cost_usd;
        self.seqs.push(seq);
    }

    /// Adds this share to the trace's row (creating it) and returns the row's number.
    fn store(&self, tx: &Connection, statements: &mut TraceStatements) -> rusqlite::Result<i64> {
        let s = self.first;
        let last_seq = *self.seqs.iter().max().expect("a share has a span");
        let values = params![
            s.trace_id,
            s.trace_kind.as_str(),
            s.trace_name,
            s.run_id,
            self.started_at,
            self.ended_at,
            self.seqs.len() as u64,
            self.errors,
            self.input_tokens,
            self.output_tokens,
            self.cost_usd,
            last_seq
        ];
        // A batch's traces are new: a plain insert, without RETURNING's extra program. A trace
        // with a row already (a resumed test, an import again) takes the upsert.
        if statements.insert.execute(values)? == 1 {
            return Ok(tx.last_insert_rowid());
        }
        statements.add.query_row(values, |r| r.get(0))
    }
}

/// A trace row's two statements, prepared once per insert (not per trace).
struct TraceStatements<'c> {
    insert: rusqlite::CachedStatement<'c>,
    add: rusqlite::CachedStatement<'c>,
}

impl<'c> TraceStatements<'c> {
    fn prepare(tx: &'c Connection) -> rusqlite::Result<Self> {
        Ok(TraceStatements {
            insert: tx.prepare_cached(&format!("{INSERT_TRACE} ON CONFLICT (id) DO NOTHING"))?,
            add: tx.prepare_cached(&format!("{INSERT_TRACE} {ADD_TO_TRACE} RETURNING rowid"))?,
        })
    }
}

const INSERT_TRACE: &str = "INSERT INTO traces (id, kind, name, run_id, started_at, ended_at, span_count, error_count,
                                    input_tokens, output_tokens, cost_usd, last_seq)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

/// Lists spans under their traces: (trace row number, span seq) pairs, [`LISTED_AT_ONCE`] to a
/// statement, since a statement per span cost the writer more than the index entries did.
fn list_under_traces(tx: &Connection, pairs: &[(i64, i64)]) -> rusqlite::Result<()> {
    let insert = |n: usize| format!("INSERT INTO trace_spans (trace_no, seq) VALUES {}", vec!["(?, ?)"; n].join(", "));
    let mut chunks = pairs.chunks_exact(LISTED_AT_ONCE);
    let mut full = tx.prepare_cached(&insert(LISTED_AT_ONCE))?;
    for chunk in &mut chunks {
        full.execute(params_from_iter(chunk.iter().flat_map(|&(trace_no, seq)| [trace_no, seq])))?;
    }
    let mut one = tx.prepare_cached(&insert(1))?;
    for &(trace_no, seq) in chunks.remainder() {
        one.execute([trace_no, seq])?;
    }
    Ok(())
}

const LISTED_AT_ONCE: usize = 32;

/// `v` as JSON in `buf` (cleared first), borrowed for binding.
fn json_into<'b>(buf: &'b mut Vec<u8>, v: &impl Serialize) -> &'b str {
    buf.clear();
    serde_json::to_writer(&mut *buf, v).expect("spans' parts serialise");
    std::str::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// A span's columns: first its own, then what a group's spans usually share (their trace kind,
/// run, provider and replayed span), then the origin. Every text bound is copied, and the shared
/// ones were a fifth of a batch's binds: they are bound again only when they change, the origin
/// once (issue 5's CPU budget).
const SPAN_INSERT: &str = "INSERT INTO spans (id, trace_id, parent_id, trace_name, kind, name, model, status, error, messages,
        params, response, attempts, input_tokens, output_tokens, cost_usd, billed_cost_usd, latency_ms, started_at,
        ended_at, attributes, trace_kind, run_id, provider, replay_of, origin)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24,
        ?25, ?26)
    ON CONFLICT (id) DO NOTHING";
const FIRST_SHARED: usize = 22;
const ORIGIN: usize = 26;

/// Binds `values` to consecutive parameters from `first` (1-based).
fn bind_from(stmt: &mut rusqlite::Statement, first: usize, values: &[&dyn rusqlite::ToSql]) -> rusqlite::Result<()> {
    values.iter().enumerate().try_for_each(|(i, v)| stmt.raw_bind_parameter(first + i, v))
}

/// Inserts spans in the caller's transaction (a span already stored, same id, is left as it is)
/// and adds the new ones to their traces.
pub(crate) fn insert_spans(tx: &Connection, origin: &str, spans: &[Span]) -> rusqlite::Result<usize> {
    let mut stmt = tx.prepare_cached(SPAN_INSERT)?;
    let mut shares: Vec<TraceShare> = Vec::new();
    let mut share_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut daily = super::analytics::DailyShares::adding();
    // Spans added to a deleted trace (an import updating it) stay out of the aggregates, as the
    // trace stays out of every view.
    let deleted: std::collections::HashSet<String> =
        tx.prepare_cached(deleted_traces!())?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    // The messages' JSON is usually made already (the request body embeds it). The other JSON
    // columns are written through buffers reused across the group's spans: one allocation per
    // column and group, where serde_json's growing strings took several per span.
    let (mut call_params, mut attempts) = (Vec::new(), Vec::new());
    stmt.raw_bind_parameter(ORIGIN, origin)?;
    let mut bound_shared = None;
    for s in spans {
        let shared = (s.trace_kind, &s.run_id, &s.provider, &s.replay_of);
        if bound_shared != Some(shared) {
            bind_from(&mut stmt, FIRST_SHARED, params![s.trace_kind.as_str(), s.run_id, s.provider, s.replay_of])?;
            bound_shared = Some(shared);
        }
        bind_from(
            &mut stmt,
            1,
            params![
                s.id,
                s.trace_id,
                s.parent_id,
                s.trace_name,
                s.kind,
                s.name,
                s.model,
                if s.ok { "ok" } else { "error" },
                s.error,
                s.messages.as_ref().map(|m| m.json().get()),
                s.params.as_ref().map(|p| json_into(&mut call_params, p)),
                s.response,
                if s.retries.is_empty() { "[]" } else { json_into(&mut attempts, &s.retries) },
                s.input_tokens,
                s.output_tokens,
                s.cost_usd,
                s.billed_cost_usd,
                s.latency_ms,
                s.started_at,
                s.ended_at,
                s.attributes.as_ref().map(json),
            ],
        )?;
        let inserted = stmt.raw_execute()?;
        if inserted == 1 {
            let i = *share_of.entry(s.trace_id.as_str()).or_insert_with(|| {
                shares.push(TraceShare::new(s));
                shares.len() - 1
            });
            shares[i].add(s, tx.last_insert_rowid());
            if deleted.is_empty() || !deleted.contains(&s.trace_id) {
                daily.add_span(s);
            }
        }
    }
    let mut listed = Vec::with_capacity(spans.len());
    let mut statements = TraceStatements::prepare(tx)?;
    for share in &shares {
        let trace_no = share.store(tx, &mut statements)?;
        listed.extend(share.seqs.iter().map(|&seq| (trace_no, seq)));
    }
    list_under_traces(tx, &listed)?;
    daily.store(tx)?;
    Ok(shares.iter().map(|t| t.seqs.len()).sum())
}

/// Splits FTS5 snippet text at the hit markers.
fn snippet_parts(marked: &str) -> Vec<SnippetPart> {
    let mut parts = Vec::new();
    let mut hit = false;
    for piece in marked.split([HIT_START, HIT_END]) {
        if !piece.is_empty() {
            parts.push(SnippetPart { text: piece.to_owned(), hit });
        }
        hit = !hit;
    }
    // split() alternates only when markers alternate, which FTS5 guarantees (start, end, ...).
    parts
}

/// What an import stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportSummary {
    pub spans: u64,
    pub traces: u64,
    /// Spans the database already had (the file was imported before).
    pub already_stored: u64,
}

impl Store {
    pub fn insert_spans(&self, spans: &[Span]) -> Result<usize> {
        let origin = self.installation_id().to_owned();
        self.write(|tx| Ok(insert_spans(tx, &origin, spans)?))
    }

    /// Stores a file's spans in one transaction: all of them or, on any error, none. A file
    /// imported again brings back its traces that were deleted here.
    pub fn import_spans(&self, spans: &[Span]) -> Result<ImportSummary> {
        let traces: std::collections::HashSet<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
        let origin = self.installation_id().to_owned();
        let inserted = self.write(|tx| {
            let ids: Vec<String> = traces.iter().map(|t| t.to_string()).collect();
            super::data::restore_traces(tx, &ids)?;
            Ok(insert_spans(tx, &origin, spans)?)
        })? as u64;
        Ok(ImportSummary { spans: inserted, traces: traces.len() as u64, already_stored: spans.len() as u64 - inserted })
    }

    /// Makes up to `max` stored spans searchable, oldest first, in one transaction; returns how
    /// many (0: the index is complete).
    pub fn index_spans(&self, max: usize) -> Result<usize> {
        self.write(|tx| {
            let mark: i64 = tx.query_row("SELECT seq FROM span_fts_mark", [], |r| r.get(0))?;
            let through: Option<i64> =
                tx.query_row("SELECT max(seq) FROM (SELECT seq FROM spans WHERE seq > ?1 ORDER BY seq LIMIT ?2)", params![mark, max as i64], |r| r.get(0))?;
            let Some(through) = through else { return Ok(0) };
            let n = tx.execute(
                "INSERT INTO span_fts (rowid, trace_name, input, response, error)
                 SELECT seq, trace_name, input, response, error FROM span_text WHERE seq > ?1 AND seq <= ?2",
                [mark, through],
            )?;
            tx.execute("UPDATE span_fts_mark SET seq = ?1", [through])?;
            Ok(n)
        })
    }

    /// Spans stored but not yet searchable.
    pub fn unindexed_spans(&self) -> Result<u64> {
        self.read(|c| Ok(c.query_row("SELECT count(*) FROM spans WHERE seq > (SELECT seq FROM span_fts_mark)", [], |r| r.get(0))?))
    }

    /// The newest traces first (by their newest span).
    pub fn traces(&self, f: &TraceFilter) -> Result<Vec<TraceSummary>> {
        let limit = if f.limit == 0 { 50 } else { f.limit.min(MAX_PAGE) };
        self.read(|c| {
            let sql = format!(
                "SELECT {TRACE_COLUMNS} FROM traces t
                 WHERE (?1 IS NULL OR t.kind = ?1) AND (?2 IS NULL OR t.run_id = ?2)
                   AND {LIVE_TRACE}
                 ORDER BY t.last_seq DESC LIMIT ?3"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![f.kind.map(TraceKind::as_str), f.run_id, limit], trace_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// One trace with its spans in start order, the replays of its spans, and `user`'s ratings.
    pub fn trace(&self, id: &str, user: Option<&str>) -> Result<TraceDetail> {
        self.read(|c| {
            let trace = c
                .prepare_cached(&format!(
                    "SELECT {TRACE_COLUMNS} FROM traces t WHERE t.id = ?1 AND {LIVE_TRACE}"
                ))?
                .query_row([id], trace_from_row)
                .optional()?
                .ok_or_else(|| StoreError::NotFound { what: "trace", id: id.to_owned() })?;
            let spans: Vec<Span> = c
                .prepare_cached(&format!("SELECT {SPAN_COLUMNS} FROM spans s WHERE s.seq IN ({TRACE_SEQS}) ORDER BY s.started_at, s.seq"))?
                .query_map([id], span_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            let replays = c
                .prepare_cached(
                    &format!(
                        concat!(
                            "SELECT r.replay_of, r.id, r.trace_id, r.model, r.status = 'ok', r.started_at
                             FROM spans s JOIN spans r ON r.replay_of = s.id
                             WHERE s.seq IN ({seqs}) AND r.trace_id NOT IN (",
                            deleted_traces!(),
                            ") ORDER BY r.seq"
                        ),
                        seqs = TRACE_SEQS
                    ),
                )?
                .query_map([id], |r| {
                    Ok(ReplayRef { original_span_id: r.get(0)?, span_id: r.get(1)?, trace_id: r.get(2)?, model: r.get(3)?, ok: r.get(4)?, started_at: r.get(5)? })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let my_ratings = c
                .prepare_cached(
                    &format!("SELECT x.target_id, x.rating FROM spans s JOIN ratings x ON x.target_kind = 'span' AND x.target_id = s.id
                     WHERE s.seq IN ({TRACE_SEQS}) AND x.user_id = ?2 AND x.deleted_at IS NULL"),
                )?
                .query_map(params![id, user], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(TraceDetail { trace, spans, replays, my_ratings })
        })
    }

    pub fn span(&self, id: &str) -> Result<Span> {
        self.read(|c| {
            c.prepare_cached(&format!("SELECT {SPAN_COLUMNS} FROM spans s WHERE s.id = ?1 AND {LIVE}"))?
                .query_row([id], span_from_row)
                .optional()?
                .ok_or_else(|| StoreError::NotFound { what: "span", id: id.to_owned() })
        })
    }

    /// Full-text search over span text, newest first, with a highlighted snippet per hit. Spans
    /// not yet indexed are indexed first (up to 10,000 of them; the page counts the rest).
    pub fn search(&self, q: &SearchQuery) -> Result<SearchPage> {
        let fts = query::fts_query(&q.text).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut indexed = 0;
        while indexed < INDEX_BEFORE_SEARCH {
            match self.index_spans(INDEX_CHUNK)? {
                0 => break,
                n => indexed += n,
            }
        }
        let unindexed = self.unindexed_spans()?;
        let limit = if q.limit == 0 { 50 } else { q.limit.min(MAX_PAGE) };
        let mut p = vec![Sql::Text(fts)];
        let mut clause = format!("span_fts MATCH ?1 AND {LIVE}");
        for (column, value) in [("s.model", &q.model), ("s.run_id", &q.run_id), ("s.kind", &q.kind)] {
            if let Some(v) = value {
                p.push(Sql::Text(v.clone()));
                clause.push_str(&format!(" AND {column} = ?{}", p.len()));
            }
        }
        if let Some(has_error) = q.has_error {
            clause.push_str(if has_error { " AND s.status = 'error'" } else { " AND s.status = 'ok'" });
        }
        self.read(|c| {
            let count_sql = format!("SELECT count(*) FROM (SELECT 1 FROM span_fts JOIN spans s ON s.seq = span_fts.rowid WHERE {clause} LIMIT {})", COUNT_CAP + 1);
            let counted: u64 = c.prepare_cached(&count_sql)?.query_row(params_from_iter(&p), |r| r.get(0))?;
            let page_sql = format!(
                "SELECT s.id, s.trace_id, s.trace_name, s.trace_kind, s.kind, s.model, s.run_id, s.status = 'ok', s.started_at,
                        snippet(span_fts, -1, '{HIT_START}', '{HIT_END}', '…', 16)
                 FROM span_fts JOIN spans s ON s.seq = span_fts.rowid
                 WHERE {clause} ORDER BY span_fts.rowid DESC LIMIT {limit} OFFSET {}",
                q.offset
            );
            let hits = c
                .prepare_cached(&page_sql)?
                .query_map(params_from_iter(&p), |r| {
                    Ok(SearchHit {
                        span_id: r.get(0)?,
                        trace_id: r.get(1)?,
                        trace_name: r.get(2)?,
                        trace_kind: trace_kind(r, 3)?,
                        kind: r.get(4)?,
                        model: r.get(5)?,
                        run_id: r.get(6)?,
                        ok: r.get(7)?,
                        started_at: r.get(8)?,
                        snippet: snippet_parts(&r.get::<_, String>(9)?),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(SearchPage { hits, total: counted.min(COUNT_CAP), total_capped: counted > COUNT_CAP, unindexed })
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{
        llm::{FailedAttempt, FailureKind, Message},
        store::tests::temp_store,
        trace::CallParams,
    };

    pub(crate) fn span(trace: &str, id: &str, prompt: &str, response: &str) -> Span {
        Span {
            id: id.into(),
            trace_id: trace.into(),
            parent_id: None,
            trace_kind: TraceKind::Playground,
            trace_name: format!("trace {trace}"),
            run_id: None,
            kind: "chat".into(),
            name: "chat m".into(),
            provider: Some("mock".into()),
            model: Some("m".into()),
            ok: true,
            error: None,
            messages: Some(vec![Message::user(prompt)].into()),
            params: Some(CallParams::default()),
            response: Some(response.into()),
            parsed: None,
            retries: Vec::new(),
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: 0.25,
            billed_cost_usd: None,
            latency_ms: 12,
            started_at: format!("2026-11-22T10:00:0{}.000Z", id.len() % 10),
            ended_at: "2026-11-22T10:00:09.000Z".into(),
            replay_of: None,
            attributes: None,
        }
    }

    #[test]
    fn an_imported_file_is_stored_once() {
        let (_d, store) = temp_store();
        let file = r#"{"span_id":"s1","trace_id":"t1","span_type":"llm_call","name":"chat","start_time":1739800000,"end_time":1739800001,"attributes":{"llm.model":"gpt-4o","llm.prompt":"What is a KPI?","llm.completion":"A key performance indicator."}}
{"span_id":"s2","trace_id":"t1","parent_span_id":"s1","span_type":"tool_use","name":"lookup","start_time":1739800000.5}"#;
        let spans = crate::trace::import::parse("f.jsonl", file).unwrap();
        assert_eq!(store.import_spans(&spans).unwrap(), ImportSummary { spans: 2, traces: 1, already_stored: 0 });
        assert_eq!(store.import_spans(&spans).unwrap(), ImportSummary { spans: 0, traces: 1, already_stored: 2 });
        store.delete_traces(std::slice::from_ref(&spans[0].trace_id)).unwrap();
        store.import_spans(&spans).unwrap();
        assert!(store.trace(&spans[0].trace_id, None).is_ok(), "importing the file again brings back its deleted trace");
        let t = store.trace(&spans[0].trace_id, None).unwrap();
        assert_eq!((t.trace.kind, t.trace.name.as_str(), t.spans.len()), (TraceKind::Import, "import: chat", 2));
        assert_eq!(search(&store, "indicator").unwrap().hits[0].span_id, spans[0].id, "imported text is searchable");
    }

    fn search(store: &Store, text: &str) -> Result<SearchPage> {
        store.search(&SearchQuery { text: text.into(), ..SearchQuery::default() })
    }

    #[test]
    fn spans_round_trip_and_their_trace_is_maintained() {
        let (_d, store) = temp_store();
        let mut failed = span("t1", "a", "first question", "");
        failed.ok = false;
        failed.response = None;
        failed.error = Some("HTTP 503 after 2 attempt(s)".into());
        failed.retries = vec![FailedAttempt { attempt: 1, kind: FailureKind::Server, message: "HTTP 503".into(), started_ms: 0, ended_ms: 4, wait_ms: 250 }];
        let ok = span("t1", "bb", "second question", "an answer");
        assert_eq!(store.insert_spans(&[failed.clone(), ok.clone()]).unwrap(), 2);
        assert_eq!(store.insert_spans(std::slice::from_ref(&ok)).unwrap(), 0, "a stored span is final");

        store.rate(crate::store::TARGET_SPAN, "bb", "ann", 4).unwrap();
        let err = store.rate(crate::store::TARGET_SPAN, "a", "ann", 4).unwrap_err();
        assert!(err.to_string().contains("span with a response `a` not found"), "a failed call has nothing to rate: {err}");
        let t = store.trace("t1", Some("ann")).unwrap();
        assert_eq!(t.my_ratings, vec![("bb".to_string(), 4)]);
        assert_eq!(t.spans, vec![failed, ok], "every field round-trips, in start order");
        assert_eq!((t.trace.span_count, t.trace.error_count, t.trace.input_tokens, t.trace.cost_usd), (2, 1, 20, 0.5));
        assert_eq!(t.trace.started_at, "2026-11-22T10:00:01.000Z");
        assert!(matches!(store.trace("nope", None), Err(StoreError::NotFound { what: "trace", .. })));
    }

    #[test]
    fn spans_arriving_in_several_groups_add_to_their_trace() {
        let (_d, store) = temp_store();
        // 70 spans of three traces in one group: two full statements of (trace, span) pairs and a rest.
        let group: Vec<Span> = (0..70).map(|i| span(["t1", "t2", "t3"][i % 3], &format!("s{i}"), "q", "r")).collect();
        assert_eq!(store.insert_spans(&group).unwrap(), 70);
        // A resumed test: its trace, which has a row, gets a later attempt.
        let mut resumed = span("t1", "late", "q again", "");
        (resumed.ok, resumed.started_at) = (false, "2026-11-22T09:59:59.000Z".into());
        assert_eq!(store.insert_spans(&[resumed]).unwrap(), 1);
        let t1 = store.trace("t1", None).unwrap();
        assert_eq!((t1.spans.len(), t1.trace.span_count, t1.trace.error_count), (25, 25, 1));
        assert_eq!((t1.trace.started_at.as_str(), t1.spans[0].id.as_str()), ("2026-11-22T09:59:59.000Z", "late"));
        for t in ["t2", "t3"] {
            let trace = store.trace(t, None).unwrap();
            assert_eq!((trace.spans.len(), trace.trace.span_count), (23, 23), "{t}");
        }
        let newest: Vec<_> = store.traces(&TraceFilter::default()).unwrap().into_iter().map(|t| t.id).collect();
        assert_eq!(newest[0], "t1", "the trace with the newest span comes first");
    }

    /// A group's shared columns are bound only when they change: a group that mixes them (an
    /// import, a pull) must store each span's own.
    #[test]
    fn each_span_in_a_mixed_group_keeps_its_run_provider_kind_and_replay() {
        let (_d, store) = temp_store();
        let variants = [(TraceKind::Test, Some("r1"), Some("mock"), None), (TraceKind::Replay, None, Some("openai"), Some("s0"))];
        let group: Vec<Span> = [0, 0, 1, 0, 1, 1]
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let (kind, run, provider, replay_of) = variants[v];
                let mut s = span(&format!("t{i}"), &format!("s{i}"), "q", "r");
                (s.trace_kind, s.run_id, s.provider, s.replay_of) = (kind, run.map(Into::into), provider.map(Into::into), replay_of.map(Into::into));
                s
            })
            .collect();
        assert_eq!(store.insert_spans(&group).unwrap(), 6);
        for s in &group {
            assert_eq!(&store.trace(&s.trace_id, None).unwrap().spans, std::slice::from_ref(s));
        }
        let origins: Vec<String> = store.read(|c| Ok(c.prepare("SELECT DISTINCT origin FROM spans")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?)).unwrap();
        assert_eq!(origins, vec![store.installation_id().to_owned()]);
    }

    /// V10 edits the spans table's stored SQL to change a CHECK: stored spans, the views over them
    /// (search text, rating targets) and the constraint must come through, and the connection
    /// that migrated (the store's writer) must insert without the CHECK's temporary table.
    #[test]
    fn spans_stored_before_v10_keep_their_rows_views_and_checks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v9.db");
        let mut conn = Connection::open(&path).unwrap();
        crate::store::embedded::migrations::runner().set_grouped(true).set_target(refinery::Target::Version(9)).run(&mut conn).unwrap();
        let mut failed = span("t1", "a", "budget review for nurses", "");
        (failed.ok, failed.response, failed.error) = (false, None, Some("HTTP 503".into()));
        let old = [failed, span("t1", "bb", "second question", "an answer")];
        // Today's insert reads V11's deletions: a stand-in that leaves with this connection.
        conn.execute_batch("CREATE TEMP TABLE trace_deletions (id TEXT, deleted_at TEXT)").unwrap();
        assert_eq!(insert_spans(&conn, "here", &old).unwrap(), 2);
        assert!(insert_program(&conn).contains("OpenEphemeral"), "V5's CHECK builds a table per row");
        drop(conn);

        let store = Store::open(&path).unwrap();
        let program = store.write(|tx| Ok(insert_program(tx))).unwrap();
        assert!(!program.contains("OpenEphemeral"), "the migrating connection rereads the schema");
        assert_eq!(store.trace("t1", None).unwrap().spans, old.to_vec(), "every field comes through");
        assert_eq!(search(&store, "nurses").unwrap().hits[0].span_id, "a", "the search text view reads spans");
        store.rate(crate::store::TARGET_SPAN, "bb", "ann", 4).unwrap();
        let rated: (i64, i64) = store.read(|c| Ok(c.query_row("SELECT ratings, rating_sum FROM daily_ratings WHERE source = 'playground'", [], |r| Ok((r.get(0)?, r.get(1)?)))?)).unwrap();
        assert_eq!(rated, (1, 4), "the rating trigger's view reads spans");
        for kind in ["test", "playground", "replay", "import"] {
            store.write(|tx| Ok(tx.execute("UPDATE spans SET trace_kind = ?1 WHERE id = 'a'", [kind])?)).unwrap();
        }
        let err = store.write(|tx| Ok(tx.execute("UPDATE spans SET trace_kind = 'party' WHERE id = 'a'", [])?)).unwrap_err();
        assert!(err.to_string().contains("CHECK constraint failed"), "{err}");
        let integrity: String = store.read(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)).unwrap();
        assert_eq!(integrity, "ok");
    }

    /// The span insert's compiled program, one opcode a line.
    fn insert_program(c: &Connection) -> String {
        let mut stmt = c.prepare(&format!("EXPLAIN {SPAN_INSERT}")).unwrap();
        // Unbound parameters are NULL; EXPLAIN only lists the program.
        let mut rows = stmt.raw_query();
        let mut ops = Vec::new();
        while let Some(r) = rows.next().unwrap() {
            ops.push(r.get::<_, String>(1).unwrap());
        }
        ops.join("\n")
    }

    #[test]
    fn newest_traces_come_first_and_replays_are_linked() {
        let (_d, store) = temp_store();
        store.insert_spans(&[span("old", "a", "q", "r")]).unwrap();
        let mut replay = span("new", "b", "q edited", "r2");
        replay.trace_kind = TraceKind::Replay;
        replay.replay_of = Some("a".into());
        store.insert_spans(&[replay]).unwrap();
        let ids: Vec<_> = store.traces(&TraceFilter::default()).unwrap().into_iter().map(|t| t.id).collect();
        assert_eq!(ids, vec!["new", "old"]);
        let only: Vec<_> = store.traces(&TraceFilter { kind: Some(TraceKind::Replay), ..TraceFilter::default() }).unwrap();
        assert_eq!(only.len(), 1);
        let old = store.trace("old", None).unwrap();
        assert_eq!(old.replays.iter().map(|r| (r.original_span_id.as_str(), r.span_id.as_str())).collect::<Vec<_>>(), vec![("a", "b")]);
    }

    #[test]
    fn search_finds_prompts_responses_and_errors_with_snippets() {
        let (_d, store) = temp_store();
        let mut err = span("t3", "c", "third", "");
        err.ok = false;
        err.error = Some("HTTP 429: rate limited".into());
        store
            .insert_spans(&[span("t1", "a", "Generate chips for Healthcare nurses", "quarterly review; night shift"), span("t2", "b", "C++ compiler engineers", "don't panic: ship it"), err])
            .unwrap();
        let page = search(&store, "healthcare").unwrap();
        assert_eq!((page.total, page.hits.len()), (1, 1));
        let hit = &page.hits[0];
        assert_eq!(hit.trace_id, "t1");
        assert!(hit.snippet.iter().any(|p| p.hit && p.text == "Healthcare"), "{:?}", hit.snippet);
        assert!(hit.snippet.iter().any(|p| !p.hit), "context around the hit");

        assert_eq!(search(&store, r#""night shift""#).unwrap().hits[0].trace_id, "t1", "phrase");
        assert_eq!(search(&store, r#""shift night""#).unwrap().total, 0, "a phrase keeps its order");
        assert_eq!(search(&store, "quart*").unwrap().total, 1, "prefix");
        assert_eq!(search(&store, "C++").unwrap().hits[0].trace_id, "t2", "punctuation is not syntax");
        assert_eq!(search(&store, "don't").unwrap().total, 1);
        assert_eq!(search(&store, "rate OR healthcare").unwrap().total, 2);
        assert_eq!(search(&store, "429").unwrap().hits[0].span_id, "c", "errors are searched");
        let only_errors = store.search(&SearchQuery { text: "third OR healthcare".into(), has_error: Some(true), ..SearchQuery::default() }).unwrap();
        assert_eq!(only_errors.hits.iter().map(|h| h.span_id.as_str()).collect::<Vec<_>>(), vec!["c"]);
        let err = search(&store, r#""unclosed"#).unwrap_err();
        assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("never closed")), "{err}");
    }

    #[test]
    fn spans_are_indexed_after_they_are_stored_in_chunks() {
        let (_d, store) = temp_store();
        let spans: Vec<Span> = (0..5).map(|i| span(&format!("t{i}"), &format!("s{i}"), "budget review", "ok")).collect();
        store.insert_spans(&spans).unwrap();
        assert_eq!(store.unindexed_spans().unwrap(), 5, "storing does not index");
        assert_eq!(store.index_spans(2).unwrap(), 2);
        assert_eq!(store.unindexed_spans().unwrap(), 3);
        let page = search(&store, "budget").unwrap();
        assert_eq!((page.total, page.unindexed), (5, 0), "a search indexes the rest first");
        assert_eq!((store.unindexed_spans().unwrap(), store.index_spans(10).unwrap()), (0, 0));
    }

    #[test]
    fn a_chip_calls_parsed_output_is_read_from_its_response() {
        let (_d, store) = temp_store();
        let mut chips = span("t", "a", "Generate chips", r#"Here: {"chips":[{"text":"budget review","type":"situation"}]}"#);
        chips.kind = "generation".into();
        let mut prose = span("t", "bb", "Generate chips", "sorry, I cannot");
        prose.kind = "fill".into();
        store.insert_spans(&[chips, prose, span("t", "ccc", "hi", "hello")]).unwrap();
        let spans = store.trace("t", None).unwrap().spans;
        assert_eq!(spans[0].parsed.as_ref().unwrap()["chips"][0]["text"], "budget review");
        assert!(spans[1].parsed.as_ref().unwrap()["error"].is_string(), "why it did not parse");
        assert_eq!(spans[2].parsed, None, "free text has no contract");
    }

    #[test]
    fn snippet_markers_split_into_parts() {
        let parts = snippet_parts("a \u{2}hit\u{3} b \u{2}two\u{3}");
        let flat: Vec<_> = parts.iter().map(|p| (p.text.as_str(), p.hit)).collect();
        assert_eq!(flat, vec![("a ", false), ("hit", true), (" b ", false), ("two", true)]);
    }
}
