//! The catalog: the installation id, the models price table and prompt versions.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{Result, Store, StoreError};
use crate::{
    clock,
    llm::{Price, PriceTable},
    prompts::{self, Prompt},
};

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Model {
    pub id: String,
    pub name: String,
    /// Dollars per million input tokens.
    pub input_price: f64,
    pub output_price: f64,
}

/// Creates the installation id on first open and stores the built-in prompt versions.
pub(super) fn ensure_seeds(conn: &mut Connection) -> Result<String> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('installation_id', ?1)", [crate::ids::new_id()])?;
    let id: String = tx.query_row("SELECT value FROM meta WHERE key = 'installation_id'", [], |r| r.get(0))?;
    for p in prompts::built_in() {
        tx.execute(
            "INSERT OR IGNORE INTO prompts (id, name, version, text, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![p.id, p.name, p.version, p.text, clock::EPOCH],
        )?;
    }
    tx.commit()?;
    Ok(id)
}

impl Store {
    pub fn models(&self) -> Result<Vec<Model>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, name, input_price, output_price FROM models WHERE deleted_at IS NULL ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Model { id: r.get(0)?, name: r.get(1)?, input_price: r.get(2)?, output_price: r.get(3)? })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    pub fn price_table(&self) -> Result<PriceTable> {
        Ok(PriceTable(
            self.models()?.into_iter().map(|m| (m.id, Price { input: m.input_price, output: m.output_price })).collect(),
        ))
    }

    /// Adds a model or changes its name or prices.
    pub fn upsert_model(&self, model: &Model) -> Result<()> {
        if model.id.trim().is_empty() {
            return Err(StoreError::Invalid("model id: must not be empty".into()));
        }
        for (field, v) in [("input_price", model.input_price), ("output_price", model.output_price)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(StoreError::Invalid(format!("model {}: {field} {v} must be a non-negative number", model.id)));
            }
        }
        self.write(|tx| {
            let previous: Option<String> = tx.query_row("SELECT updated_at FROM models WHERE id = ?1", [&model.id], |r| r.get(0)).optional()?;
            tx.execute(
                "INSERT INTO models (id, name, input_price, output_price, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, input_price = excluded.input_price,
                     output_price = excluded.output_price, updated_at = excluded.updated_at, deleted_at = NULL",
                params![model.id, model.name, model.input_price, model.output_price, clock::after(previous.as_deref())],
            )?;
            Ok(())
        })
    }

    /// A prompt version by id.
    pub fn prompt(&self, id: &str) -> Result<Prompt> {
        self.read(|c| {
            c.query_row("SELECT id, name, version, text FROM prompts WHERE id = ?1", [id], |r| {
                Ok(Prompt { id: r.get(0)?, name: r.get(1)?, version: r.get(2)?, text: r.get(3)? })
            })
            .optional()?
            .ok_or(StoreError::NotFound { what: "prompt", id: id.to_owned() })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;

    #[test]
    fn prices_are_data_the_user_can_edit() {
        let (_d, store) = temp_store();
        let haiku = store.price_table().unwrap().get("anthropic/claude-haiku-4.5").unwrap();
        assert_eq!((haiku.input, haiku.output), (1.0, 5.0));
        store.upsert_model(&Model { id: "local/smollm2".into(), name: "SmolLM2".into(), input_price: 0.0, output_price: 0.0 }).unwrap();
        store.upsert_model(&Model { id: "anthropic/claude-haiku-4.5".into(), name: "Haiku".into(), input_price: 0.8, output_price: 4.0 }).unwrap();
        let table = store.price_table().unwrap();
        assert_eq!(table.get("anthropic/claude-haiku-4.5").unwrap().input, 0.8);
        assert!(table.get("local/smollm2").is_some());
        let err = store.upsert_model(&Model { id: "x".into(), name: "x".into(), input_price: -1.0, output_price: 0.0 }).unwrap_err();
        assert_eq!(err.to_string(), "model x: input_price -1 must be a non-negative number");
    }

    #[test]
    fn built_in_prompts_are_stored_by_version() {
        let (_d, store) = temp_store();
        for p in prompts::built_in() {
            assert_eq!(store.prompt(&p.id).unwrap(), p);
        }
        assert!(matches!(store.prompt("nope"), Err(StoreError::NotFound { .. })));
    }
}
