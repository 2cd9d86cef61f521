//! The catalog: the installation id, the models price table and prompt versions.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{Result, Store, StoreError};
use crate::{
    clock,
    llm::{Price, PriceTable},
    prompts::{self, Prompt, PromptSet},
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
        insert_prompt(&tx, &p, clock::EPOCH)?;
    }
    tx.commit()?;
    Ok(id)
}

/// Makes `p` its name's current version.
fn set_current(tx: &Connection, p: &Prompt) -> rusqlite::Result<()> {
    let previous: Option<String> = tx.query_row("SELECT updated_at FROM prompt_current WHERE id = ?1", [&p.name], |r| r.get(0)).optional()?;
    tx.execute(
        "INSERT INTO prompt_current (id, prompt_id, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET prompt_id = excluded.prompt_id, updated_at = excluded.updated_at",
        params![p.name, p.id, clock::after(previous.as_deref())],
    )?;
    Ok(())
}

/// A benchmark prompt's new text may use only the placeholders the benchmark fills for it.
fn check_benchmark_placeholders(name: &str, text: &str) -> Result<()> {
    let Some(built_in) = prompts::built_in().into_iter().find(|p| p.name == name) else { return Ok(()) };
    let filled = crate::dataset::placeholders(&built_in.text);
    let unknown: Vec<String> = crate::dataset::placeholders(text).into_iter().filter(|p| !filled.contains(p)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(StoreError::Invalid(format!("text: the benchmark fills {} in prompt `{name}`, not {}", crate::dataset::quote_placeholders(&filled), crate::dataset::quote_placeholders(&unknown))))
}

/// Stores a prompt version unless its text is already a version of that name; true if new.
fn insert_prompt(tx: &Connection, p: &Prompt, created_at: &str) -> rusqlite::Result<bool> {
    let n = tx.execute(
        "INSERT OR IGNORE INTO prompts (id, name, version, text, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![p.id, p.name, p.version, p.text, created_at],
    )?;
    Ok(n == 1)
}

/// A prompt version with its number among its name's versions (1 = the oldest). Numbers are for
/// display and are derived when read, by creation time, so versions saved offline on two
/// machines never collide: the id (a hash of name and text) is the identity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PromptVersion {
    pub number: u32,
    pub prompt: Prompt,
    pub created_at: String,
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

    /// Takes a model out of the price table: a tombstone, so the removal syncs (its results stay;
    /// [`Store::upsert_model`] brings it back).
    pub fn delete_model(&self, id: &str) -> Result<()> {
        self.write(|tx| {
            let previous: Option<String> =
                tx.query_row("SELECT updated_at FROM models WHERE id = ?1 AND deleted_at IS NULL", [id], |r| r.get(0)).optional()?;
            let Some(previous) = previous else {
                return Err(StoreError::NotFound { what: "model", id: id.to_owned() });
            };
            let now = clock::after(Some(&previous));
            tx.execute("UPDATE models SET deleted_at = ?2, updated_at = ?2 WHERE id = ?1", params![id, now])?;
            Ok(())
        })
    }

    /// Saves `text` as a version of prompt `name` and makes it the name's current version; text
    /// it already has is that version again (no new version). A benchmark prompt's text may use
    /// only the placeholders the benchmark fills.
    pub fn save_prompt(&self, name: &str, text: &str) -> Result<PromptVersion> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("name: a prompt needs a name".into()));
        }
        if text.trim().is_empty() {
            return Err(StoreError::Invalid(format!("text: prompt `{name}` is empty")));
        }
        check_benchmark_placeholders(name, text)?;
        let prompt = Prompt::new(name, text);
        self.write(|tx| {
            // Later than the name's newest version, so numbers follow saves even within a millisecond.
            let newest: Option<String> = tx.query_row("SELECT max(created_at) FROM prompts WHERE name = ?1", [name], |r| r.get(0))?;
            insert_prompt(tx, &prompt, &clock::after(newest.as_deref()))?;
            Ok(set_current(tx, &prompt)?)
        })?;
        self.prompt_version(&prompt.id)
    }

    /// Starts prompt `to` from `from`'s current text: `to` numbers its versions from 1 and keeps
    /// the link to `from` (its lineage). `to` must be a new name.
    pub fn rename_prompt(&self, from: &str, to: &str) -> Result<PromptVersion> {
        let (from, to) = (from.trim(), to.trim());
        let current = self.current_prompt(from)?;
        if to.is_empty() {
            return Err(StoreError::Invalid("name: the new name is empty".into()));
        }
        if self.prompt_versions(to).is_ok() {
            return Err(StoreError::Conflict(format!("name: a prompt `{to}` exists already")));
        }
        check_benchmark_placeholders(to, &current.text)?;
        let prompt = Prompt::new(to, &current.text);
        self.write(|tx| {
            let now = clock::now();
            insert_prompt(tx, &prompt, &now)?;
            set_current(tx, &prompt)?;
            tx.execute("INSERT INTO prompt_renames (id, from_name, created_at) VALUES (?1, ?2, ?3)", params![to, from, now])?;
            Ok(())
        })?;
        self.prompt_version(&prompt.id)
    }

    /// The names a prompt was renamed from, nearest first.
    pub fn prompt_lineage(&self, name: &str) -> Result<Vec<String>> {
        self.read(|c| {
            let mut names: Vec<String> = Vec::new();
            let mut at = name.to_owned();
            let mut stmt = c.prepare_cached("SELECT from_name FROM prompt_renames WHERE id = ?1")?;
            while let Some(from) = stmt.query_row([&at], |r| r.get::<_, String>(0)).optional()? {
                // Renames synced from two machines could form a loop; each name counts once.
                if from == name || names.contains(&from) {
                    break;
                }
                names.push(from.clone());
                at = from;
            }
            Ok(names)
        })
    }

    /// The version of `name` in use: the last one saved (or used), else its newest.
    pub fn current_prompt(&self, name: &str) -> Result<Prompt> {
        let current: Option<String> = self.read(|c| Ok(c.query_row("SELECT prompt_id FROM prompt_current WHERE id = ?1", [name], |r| r.get(0)).optional()?))?;
        match current {
            Some(id) => self.prompt(&id),
            None => Ok(self.prompt_versions(name)?.pop().expect("a prompt has a version").prompt),
        }
    }

    /// The benchmark's prompts at their current versions.
    pub fn benchmark_prompts(&self) -> Result<PromptSet> {
        Ok(PromptSet(prompts::NAMES.iter().map(|name| self.current_prompt(name)).collect::<Result<_>>()?))
    }

    /// Every version of prompt `name`, oldest (number 1) first.
    pub fn prompt_versions(&self, name: &str) -> Result<Vec<PromptVersion>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT id, name, version, text, created_at FROM prompts WHERE name = ?1 ORDER BY created_at, id")?;
            let rows = stmt.query_map([name], |r| {
                Ok((Prompt { id: r.get(0)?, name: r.get(1)?, version: r.get(2)?, text: r.get(3)? }, r.get::<_, String>(4)?))
            })?;
            let versions: Vec<PromptVersion> = rows
                .zip(1..)
                .map(|(row, number)| row.map(|(prompt, created_at)| PromptVersion { number, prompt, created_at }))
                .collect::<rusqlite::Result<_>>()?;
            if versions.is_empty() {
                return Err(StoreError::NotFound { what: "prompt", id: name.to_owned() });
            }
            Ok(versions)
        })
    }

    /// A version by id, with its number among its name's versions.
    pub fn prompt_version(&self, id: &str) -> Result<PromptVersion> {
        let prompt = self.prompt(id)?;
        let versions = self.prompt_versions(&prompt.name)?;
        Ok(versions.into_iter().find(|v| v.prompt.id == id).expect("a stored version is among its name's versions"))
    }

    /// The current version of every prompt, by name.
    pub fn prompt_heads(&self) -> Result<Vec<PromptVersion>> {
        let names: Vec<String> = self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT DISTINCT name FROM prompts ORDER BY name")?;
            let names = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            Ok(names)
        })?;
        names.iter().map(|name| self.prompt_version(&self.current_prompt(name)?.id)).collect()
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
    fn saving_changed_text_adds_a_version_and_the_same_text_does_not() {
        let (_d, store) = temp_store();
        let original = store.prompt_versions("selection").unwrap();
        assert_eq!((original.len(), original[0].number), (1, 1), "the built-in text is version 1");
        let v2 = store.save_prompt("selection", "Pick the chips you relate to: {{chips}}").unwrap();
        assert_eq!(v2.number, 2);
        let again = store.save_prompt(" selection ", "Pick the chips you relate to: {{chips}}").unwrap();
        assert_eq!(again, v2, "identical text is the same version");
        let v3 = store.save_prompt("selection", "Choose: {{chips}}").unwrap();
        let numbers: Vec<u32> = store.prompt_versions("selection").unwrap().iter().map(|v| v.number).collect();
        assert_eq!((v3.number, numbers), (3, vec![1, 2, 3]));
        assert_eq!(store.prompt(&v2.prompt.id).unwrap().text, "Pick the chips you relate to: {{chips}}");
        let mine = store.save_prompt("summarise", "Summarise {{text}}").unwrap();
        assert_eq!(mine.number, 1, "a new name numbers from 1");
        assert_eq!(store.prompt_version(&v2.prompt.id).unwrap(), v2);
        let heads = store.prompt_heads().unwrap();
        let selection = heads.iter().find(|h| h.prompt.name == "selection").unwrap();
        assert_eq!((selection.number, &selection.prompt.text), (3, &v3.prompt.text), "the newest version heads its name");
        assert!(heads.iter().any(|h| h.prompt.name == "summarise" && h.number == 1));
        assert_eq!(store.save_prompt("", "x").unwrap_err().to_string(), "name: a prompt needs a name");
        assert_eq!(store.save_prompt("p", "  ").unwrap_err().to_string(), "text: prompt `p` is empty");
        assert!(matches!(store.prompt_versions("nope"), Err(StoreError::NotFound { .. })));
    }

    #[test]
    fn the_last_saved_text_is_current_and_a_rename_keeps_its_lineage() {
        let (_d, store) = temp_store();
        let v1 = store.save_prompt("qa", "Answer {{question}}").unwrap();
        let v2 = store.save_prompt("qa", "Answer {{question}} briefly").unwrap();
        assert_eq!(store.current_prompt("qa").unwrap(), v2.prompt);
        // Going back to an older text is saving it again: no new version, but it is current.
        assert_eq!(store.save_prompt("qa", "Answer {{question}}").unwrap(), v1);
        assert_eq!(store.current_prompt("qa").unwrap(), v1.prompt);
        assert_eq!(store.prompt_versions("qa").unwrap().len(), 2);
        assert_eq!(store.prompt_heads().unwrap().iter().find(|h| h.prompt.name == "qa").unwrap(), &v1, "heads show the current version");

        let renamed = store.rename_prompt("qa", "answer").unwrap();
        assert_eq!((renamed.number, renamed.prompt.text.as_str()), (1, "Answer {{question}}"), "a new name numbers from 1");
        let again = store.rename_prompt("answer", "reply").unwrap();
        assert_eq!(store.prompt_lineage("reply").unwrap(), ["answer", "qa"], "nearest first");
        assert_eq!(again.prompt.text, v1.prompt.text);
        assert!(store.prompt_lineage("qa").unwrap().is_empty());
        let err = store.rename_prompt("reply", "qa").unwrap_err();
        assert_eq!(err.to_string(), "name: a prompt `qa` exists already");
        assert!(matches!(store.rename_prompt("nope", "x"), Err(StoreError::NotFound { .. })));
    }

    #[test]
    fn a_benchmark_prompt_keeps_to_the_placeholders_the_benchmark_fills() {
        let (_d, store) = temp_store();
        let err = store.save_prompt("selection", "As {{persona}}, pick from {{chips}} in a {{tone}} way").unwrap_err();
        assert_eq!(err.to_string(), "text: the benchmark fills {{persona}}, {{chips}} in prompt `selection`, not {{tone}}");
        let edited = store.save_prompt("selection", "You are {{persona}}. Pick what fits you:\n{{chips}}").unwrap();
        assert_eq!(store.benchmark_prompts().unwrap().get("selection"), &edited.prompt, "the benchmark uses the edit");
        assert_eq!(store.benchmark_prompts().unwrap().get("fill"), &prompts::built_in()[5], "the others stay built in");
    }

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
    fn a_removed_model_leaves_the_table_as_a_tombstone_and_comes_back_when_added() {
        let (_d, store) = temp_store();
        store.write(|tx| Ok(tx.execute("DELETE FROM sync_outbox", [])?)).unwrap(); // as after a sync
        store.delete_model("openai/gpt-5-mini").unwrap();
        assert!(store.price_table().unwrap().get("openai/gpt-5-mini").is_none());
        assert!(!store.models().unwrap().iter().any(|m| m.id == "openai/gpt-5-mini"));
        assert_eq!(store.sync_pending_count().unwrap(), 1, "the removal is queued to sync");
        let tombstone: (Option<String>, String) =
            store.read(|c| Ok(c.query_row("SELECT deleted_at, updated_at FROM models WHERE id = 'openai/gpt-5-mini'", [], |r| Ok((r.get(0)?, r.get(1)?)))?)).unwrap();
        assert_eq!(tombstone.0.as_deref(), Some(tombstone.1.as_str()), "removed now, and newer than the seeded row");
        for id in ["openai/gpt-5-mini", "nope/x"] {
            assert_eq!(store.delete_model(id).unwrap_err().to_string(), format!("model `{id}` not found"), "already gone, or never there");
        }
        store.upsert_model(&Model { id: "openai/gpt-5-mini".into(), name: "GPT-5 Mini".into(), input_price: 0.15, output_price: 0.6 }).unwrap();
        assert_eq!(store.price_table().unwrap().get("openai/gpt-5-mini").unwrap().output, 0.6, "added back");
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
