//! Export of a run's results: JSON (an array of full results) or CSV (one row per result, chip
//! lists as JSON text), chosen by the file's extension. [`write_as`] is shared with grid exports.

use std::path::Path;

use crate::store::{results::json, Leaderboard, ResultDetail, StatsQuery, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("export path {path}: unknown extension; use .json or .csv")]
    Format { path: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl crate::error::Coded for ExportError {
    fn code(&self) -> crate::ErrorCode {
        match self {
            Self::Format { .. } => crate::ErrorCode::Validation,
            Self::Write { .. } => crate::ErrorCode::Storage,
            Self::Store(e) => e.code(),
        }
    }
}

/// Writes a stored run's results to `path` (`.json` or `.csv`); how many. An unknown run is an
/// error that names it, not an empty file.
pub fn export_run(store: &Store, run_id: &str, path: &Path) -> Result<usize, ExportError> {
    store.run(run_id)?;
    let results = store.run_results(run_id)?;
    write(path, &results)?;
    Ok(results.len())
}

/// Writes a run's results as JSON or CSV, by the path's extension.
pub fn write(path: &Path, results: &[ResultDetail]) -> Result<(), ExportError> {
    write_as(path, || serde_json::to_vec_pretty(results).expect("results serialise"), || to_csv(results))
}

/// Writes `json()` or `csv()` by the path's extension, to a temporary file beside `path` that is
/// then renamed, so a failed export leaves no half file.
pub fn write_as(path: &Path, json: impl FnOnce() -> Vec<u8>, csv: impl FnOnce() -> Result<Vec<u8>, csv::Error>) -> Result<(), ExportError> {
    let shown = path.display().to_string();
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let bytes = match ext.as_deref() {
        Some("json") => json(),
        Some("csv") => csv().map_err(|e| ExportError::Write { path: shown.clone(), reason: e.to_string() })?,
        _ => return Err(ExportError::Format { path: shown }),
    };
    let tmp = path.with_extension("partial");
    let fail = |e: std::io::Error| ExportError::Write { path: shown.clone(), reason: e.to_string() };
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

fn to_csv(results: &[ResultDetail]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id", "run_id", "model", "persona_id", "style", "input_type", "constraint_type", "chip_count", "final_chips",
        "step1_chips", "selected_chips", "fill_chips", "errors", "latency_ms", "input_tokens", "output_tokens",
        "cost_usd", "billed_cost_usd", "avg_rating", "rating_count", "created_at",
    ])?;
    for r in results {
        let (s, o) = (&r.summary, &r.outputs);
        w.write_record([
            s.id.clone(),
            s.run_id.clone(),
            s.model.clone(),
            s.persona_id.clone(),
            s.style.clone(),
            s.input_type.clone(),
            s.constraint_type.clone(),
            s.chip_count.to_string(),
            json(&o.final_chips),
            json(&o.step1_chips),
            json(&o.selected_chips),
            json(&o.fill_chips),
            json(&o.errors),
            s.latency_ms.to_string(),
            o.input_tokens.to_string(),
            o.output_tokens.to_string(),
            s.cost_usd.to_string(),
            o.billed_cost_usd.map(|c| c.to_string()).unwrap_or_default(),
            s.avg_rating.map(|a| a.to_string()).unwrap_or_default(),
            s.rating_count.to_string(),
            s.created_at.clone(),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// Writes a leaderboard made by `query` as JSON (as `chipbench leaderboard --json` prints it) or
/// CSV (a row per group: rank, the score in use with its 95% interval, counts, the objective
/// metrics as fractions, cost, latency and tokens); how many groups.
pub fn write_board(path: &Path, board: &Leaderboard, query: &StatsQuery) -> Result<usize, ExportError> {
    write_as(path, || serde_json::to_vec_pretty(board).expect("a leaderboard serialises"), || board_csv(board, query))?;
    Ok(board.stats.len())
}

fn board_csv(board: &Leaderboard, query: &StatsQuery) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        query.group_by.as_str(),
        "rank",
        if query.normalise { "z_score" } else { "mean_rating" },
        "interval_low",
        "interval_high",
        "pareto_front",
        "rated",
        "results",
        "agreement_alpha",
        "parsed_rate",
        "count_met_rate",
        "constraint_met_rate",
        "fill_rate",
        "error_rate",
        "cost_usd",
        "avg_latency_ms",
        "avg_input_tokens",
        "avg_output_tokens",
    ])?;
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for r in &board.stats {
        let (score, interval) = r.score(query.normalise);
        w.write_record([
            r.value().to_owned(),
            r.rank.map(|n| n.to_string()).unwrap_or_default(),
            opt(score),
            opt(interval.map(|i| i.0)),
            opt(interval.map(|i| i.1)),
            r.pareto.to_string(),
            r.rated_count.to_string(),
            r.result_count.to_string(),
            opt(r.agreement),
            r.parsed_rate.to_string(),
            r.count_met_rate.to_string(),
            r.constraint_met_rate.to_string(),
            r.fill_rate.to_string(),
            r.error_rate.to_string(),
            r.total_cost_usd.to_string(),
            opt(r.avg_latency_ms),
            opt(r.avg_tokens.input),
            opt(r.avg_tokens.output),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}
