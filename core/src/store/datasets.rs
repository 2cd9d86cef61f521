//! Datasets: a file imported as a stream into one transaction (all rows or none), the list of
//! datasets, and pages of rows.

use std::io::Read;

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::{results::json, Result, Store, StoreError};
use crate::{
    clock,
    dataset::{self, Format},
    ids,
};

/// A stored dataset without its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DatasetSummary {
    pub id: String,
    pub name: String,
    pub source_file: String,
    pub format: Format,
    pub headers: Vec<String>,
    pub row_count: u64,
    pub created_at: String,
}

const COLUMNS: &str = "id, name, source_file, format, headers, row_count, created_at";

fn summary_from_row(r: &Row) -> rusqlite::Result<DatasetSummary> {
    let format: String = r.get(3)?;
    let headers: String = r.get(4)?;
    Ok(DatasetSummary {
        id: r.get(0)?,
        name: r.get(1)?,
        source_file: r.get(2)?,
        format: Format::parse(&format).ok_or_else(|| rusqlite::Error::InvalidColumnType(3, format, rusqlite::types::Type::Text))?,
        headers: serde_json::from_str(&headers).map_err(|e| rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, e.into()))?,
        row_count: r.get(5)?,
        created_at: r.get(6)?,
    })
}

impl Store {
    /// Reads `input` as `format` and stores it as a dataset named `name`, in one transaction: a
    /// problem anywhere in the file (named by line or item) stores nothing.
    pub fn import_dataset(&self, name: &str, source_file: &str, format: Format, input: impl Read) -> Result<DatasetSummary> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("name: a dataset needs a name".into()));
        }
        let origin = self.installation_id().to_owned();
        self.write(|tx| {
            let mut d = DatasetSummary {
                id: ids::new_id(),
                name: name.to_owned(),
                source_file: source_file.to_owned(),
                format,
                headers: Vec::new(),
                row_count: 0,
                created_at: clock::now(),
            };
            // The dataset row first (its rows refer to it); headers and count are known at the end.
            tx.execute(
                &format!("INSERT INTO datasets ({COLUMNS}, origin) VALUES (?1, ?2, ?3, ?4, '[]', 0, ?5, ?6)"),
                params![d.id, d.name, d.source_file, format.as_str(), d.created_at, origin],
            )?;
            let mut insert = tx.prepare_cached("INSERT INTO dataset_rows (id, dataset_id, row_index, cells) VALUES (?1 || '/' || ?2, ?1, ?2, ?3)")?;
            let mut failed = None;
            dataset::read(input, format, |h| d.headers = h.to_vec(), |row| {
                if failed.is_none() {
                    match insert.execute(params![d.id, d.row_count, json(&row)]) {
                        Ok(_) => d.row_count += 1,
                        Err(e) => failed = Some(e),
                    }
                }
            })
            .map_err(|e| StoreError::Invalid(format!("{source_file}: {e}")))?;
            if let Some(e) = failed {
                return Err(e.into());
            }
            tx.execute("UPDATE datasets SET headers = ?2, row_count = ?3 WHERE id = ?1", params![d.id, json(&d.headers), d.row_count])?;
            Ok(d)
        })
    }

    /// Every dataset, newest first.
    pub fn datasets(&self) -> Result<Vec<DatasetSummary>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!("SELECT {COLUMNS} FROM datasets ORDER BY created_at DESC, id DESC"))?;
            let rows = stmt.query_map([], summary_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Imports a file by path (its format from its extension), named `name` or after the file.
    pub fn import_dataset_file(&self, path: &std::path::Path, name: Option<&str>) -> Result<DatasetSummary> {
        let (format, file) = dataset::open(path).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let file_name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let stem = path.file_stem().map_or_else(|| file_name.clone(), |s| s.to_string_lossy().into_owned());
        self.import_dataset(name.filter(|n| !n.trim().is_empty()).unwrap_or(&stem), &file_name, format, file)
    }

    pub fn dataset(&self, id: &str) -> Result<DatasetSummary> {
        self.read(|c| {
            c.query_row(&format!("SELECT {COLUMNS} FROM datasets WHERE id = ?1"), [id], summary_from_row)
                .optional()?
                .ok_or_else(|| StoreError::NotFound { what: "dataset", id: id.to_owned() })
        })
    }

    /// Up to `limit` rows of a dataset from `offset`, in file order.
    pub fn dataset_rows(&self, id: &str, offset: u64, limit: u32) -> Result<Vec<dataset::Row>> {
        self.read(|c| {
            let known: bool = c.query_row("SELECT count(*) FROM datasets WHERE id = ?1", [id], |r| r.get(0))?;
            if !known {
                return Err(StoreError::NotFound { what: "dataset", id: id.to_owned() });
            }
            let mut stmt = c.prepare_cached("SELECT cells FROM dataset_rows WHERE dataset_id = ?1 AND row_index >= ?2 ORDER BY row_index LIMIT ?3")?;
            let rows = stmt.query_map(params![id, offset, limit], |r| r.get::<_, String>(0))?;
            rows.map(|cells| serde_json::from_str(&cells?).map_err(|e| StoreError::Invalid(format!("dataset {id}: stored row is not a list of strings: {e}"))))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{dataset::Format, store::tests::temp_store};

    #[test]
    fn an_import_stores_every_row_in_order() {
        let (_dir, store) = temp_store();
        let csv = "question,expected\nWhat is 2+2?,4\n\"Two\nlines\",x\nlast,\n";
        let d = store.import_dataset(" Arithmetic ", "q.csv", Format::Csv, csv.as_bytes()).unwrap();
        assert_eq!((d.name.as_str(), d.row_count, d.headers.clone()), ("Arithmetic", 3, vec!["question".to_string(), "expected".to_string()]));
        assert_eq!(store.datasets().unwrap(), vec![d.clone()]);
        let rows = store.dataset_rows(&d.id, 1, 10).unwrap();
        assert_eq!(rows, vec![vec!["Two\nlines".to_string(), "x".to_string()], vec!["last".to_string(), String::new()]]);
    }

    #[test]
    fn a_bad_file_stores_nothing() {
        let (_dir, store) = temp_store();
        let ragged = "a,b\n1,2\n3,4\n5\n";
        let err = store.import_dataset("r", "r.csv", Format::Csv, ragged.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("r.csv") && err.contains("line 4"), "{err}");
        let err = store.import_dataset("j", "j.json", Format::Json, r#"[{"a": 1}, "x"]"#.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("item 2"), "{err}");
        assert!(store.import_dataset("  ", "ok.csv", Format::Csv, "a\n1\n".as_bytes()).unwrap_err().to_string().starts_with("name:"));
        assert!(store.datasets().unwrap().is_empty());
        let rows: i64 = store.read(|c| Ok(c.query_row("SELECT count(*) FROM dataset_rows", [], |r| r.get(0))?)).unwrap();
        assert_eq!(rows, 0, "rows stored before the bad line were rolled back");
        assert!(matches!(store.dataset_rows("nope", 0, 1), Err(crate::store::StoreError::NotFound { .. })));
    }
}
