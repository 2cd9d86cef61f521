//! Export of a grid run: one record per cell with its dataset row, the model's output, the
//! call's figures, every grade and the exporting user's own grade; CSV or JSON by extension.

use std::path::Path;

use serde::Serialize;

use super::GridError;
use crate::{
    export,
    store::{GridCell, Store},
};

#[derive(Serialize)]
struct Record<'a> {
    row_index: u64,
    /// The dataset row's values, by column.
    row: serde_json::Map<String, serde_json::Value>,
    /// The same values in the file's column order (the map orders by name).
    #[serde(skip)]
    values: &'a [String],
    #[serde(flatten)]
    cell: &'a GridCell,
}

/// Writes the run's cells to `path` (`.csv` or `.json`); returns how many.
pub fn export(store: &Store, run_id: &str, user: &str, path: &Path) -> Result<usize, GridError> {
    let run = store.grid(run_id)?;
    let dataset = store.dataset(&run.dataset_id)?;
    let rows = store.dataset_rows(&dataset.id, 0, u32::try_from(dataset.row_count).unwrap_or(u32::MAX))?;
    let cells = store.grid_cells(run_id, user, ..)?;
    let records: Vec<Record> = cells
        .iter()
        .map(|cell| {
            let values = rows.get(cell.row_index as usize).map(Vec::as_slice).unwrap_or_default();
            let row = dataset.headers.iter().cloned().zip(values.iter().map(|v| serde_json::Value::from(v.as_str()))).collect();
            Record { row_index: cell.row_index, row, values, cell }
        })
        .collect();
    let csv = || {
        let mut w = csv::Writer::from_writer(Vec::new());
        let fixed = [
            "cell_id", "row_index", "model", "status", "output", "error", "input_tokens", "output_tokens", "cost_usd", "latency_ms", "rule_pass",
            "rule_reason", "judge_pass", "judge_reason", "my_grade", "span_id",
        ];
        w.write_record(dataset.headers.iter().map(String::as_str).chain(fixed))?;
        let flag = |b: Option<bool>| b.map(|p| if p { "pass" } else { "fail" }).unwrap_or_default().to_owned();
        for r in &records {
            let c = r.cell;
            w.write_record(r.values.iter().cloned().chain([
                c.id.clone(),
                c.row_index.to_string(),
                c.model.clone(),
                c.status.as_str().to_owned(),
                c.output.clone().unwrap_or_default(),
                c.error.clone().unwrap_or_default(),
                c.input_tokens.to_string(),
                c.output_tokens.to_string(),
                c.cost_usd.to_string(),
                c.latency_ms.to_string(),
                flag(c.rule_pass),
                c.rule_reason.clone().unwrap_or_default(),
                flag(c.judge_pass),
                c.judge_reason.clone().unwrap_or_default(),
                flag(c.my_grade),
                c.span_id.clone().unwrap_or_default(),
            ]))?;
        }
        w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
    };
    export::write_as(path, || serde_json::to_vec_pretty(&records).expect("cells serialise"), csv)?;
    Ok(records.len())
}
