//! Ratings: one per (target, user), upserted; 1-5. Undo sets `deleted_at` (the row stays, so the
//! same target can be rated again and the undo can sync). Triggers keep result and summary
//! aggregates in step, in the same transaction.

use rusqlite::{params, params_from_iter, types::Value as Sql, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError};
use crate::{clock, ids};

/// The target kind of a benchmark result.
pub const TARGET_RESULT: &str = "result";
/// The target kind of a span's response (playground and replay answers).
pub const TARGET_SPAN: &str = "span";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Rating {
    pub id: String,
    pub target_kind: String,
    pub target_id: String,
    /// The seed API's name for the target of a result rating.
    pub result_id: String,
    pub user_id: String,
    pub rating: u8,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RatingFilter {
    pub result_id: Option<String>,
    pub user_id: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

const COLUMNS: &str = "id, target_kind, target_id, user_id, rating, created_at, updated_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Rating> {
    let target_id: String = r.get(2)?;
    Ok(Rating {
        id: r.get(0)?,
        target_kind: r.get(1)?,
        result_id: target_id.clone(),
        target_id,
        user_id: r.get(3)?,
        rating: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

fn check_target(tx: &rusqlite::Connection, kind: &str, id: &str) -> Result<()> {
    let (what, sql) = match kind {
        TARGET_RESULT => ("result", "SELECT EXISTS (SELECT 1 FROM results WHERE id = ?1)"),
        TARGET_SPAN => ("span with a response", "SELECT EXISTS (SELECT 1 FROM spans WHERE id = ?1 AND response IS NOT NULL)"),
        _ => return Err(StoreError::Invalid(format!("target_kind: `{kind}` is not a ratable kind (expected `{TARGET_RESULT}` or `{TARGET_SPAN}`)"))),
    };
    if !tx.query_row(sql, [id], |r| r.get::<_, bool>(0))? {
        return Err(StoreError::NotFound { what, id: id.to_owned() });
    }
    Ok(())
}

impl Store {
    /// Rates a target as `user` (upsert): the rating's id is derived from (kind, target, user).
    pub fn rate(&self, target_kind: &str, target_id: &str, user: &str, rating: i64) -> Result<Rating> {
        if !(1..=5).contains(&rating) {
            return Err(StoreError::Invalid(format!("rating: {rating} is outside 1-5")));
        }
        let user = user.trim();
        if user.is_empty() {
            return Err(StoreError::Invalid("user_id: must not be empty".into()));
        }
        let id = ids::rating_id(target_kind, target_id, user);
        self.write(|tx| {
            check_target(tx, target_kind, target_id)?;
            let previous: Option<String> = tx.query_row("SELECT updated_at FROM ratings WHERE id = ?1", [&id], |r| r.get(0)).optional()?;
            let now = clock::after(previous.as_deref());
            tx.execute(
                "INSERT INTO ratings (id, target_kind, target_id, user_id, rating, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                 ON CONFLICT (target_kind, target_id, user_id) DO UPDATE SET
                     rating = excluded.rating, updated_at = excluded.updated_at, deleted_at = NULL",
                params![id, target_kind, target_id, user, rating, now],
            )?;
            Ok(tx.query_row(&format!("SELECT {COLUMNS} FROM ratings WHERE id = ?1"), [&id], from_row)?)
        })
    }

    /// Withdraws `user`'s rating of a target (undo). Returns false when there was none.
    pub fn unrate(&self, target_kind: &str, target_id: &str, user: &str) -> Result<bool> {
        let id = ids::rating_id(target_kind, target_id, user.trim());
        self.write(|tx| {
            let previous: Option<String> = tx.query_row("SELECT updated_at FROM ratings WHERE id = ?1", [&id], |r| r.get(0)).optional()?;
            let n = tx.execute(
                "UPDATE ratings SET deleted_at = ?2, updated_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
                params![id, clock::after(previous.as_deref())],
            )?;
            Ok(n > 0)
        })
    }

    /// Live result ratings, newest first, filtered by result and/or user.
    pub fn ratings(&self, f: &RatingFilter) -> Result<Vec<Rating>> {
        if f.limit == 0 || f.limit > super::results::MAX_PAGE {
            return Err(StoreError::Invalid(format!("limit: {} must be between 1 and {}", f.limit, super::results::MAX_PAGE)));
        }
        self.read(|c| {
            let mut sql = format!("SELECT {COLUMNS} FROM ratings WHERE target_kind = 'result' AND deleted_at IS NULL");
            let mut p: Vec<Sql> = Vec::new();
            for (col, v) in [("target_id", &f.result_id), ("user_id", &f.user_id)] {
                if let Some(v) = v {
                    p.push(Sql::Text(v.clone()));
                    sql.push_str(&format!(" AND {col} = ?{}", p.len()));
                }
            }
            sql.push_str(&format!(" ORDER BY updated_at DESC, id LIMIT {} OFFSET {}", f.limit, f.offset));
            let rows = c.prepare_cached(&sql)?.query_map(params_from_iter(p), from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    /// `user`'s live rating of a target, if any.
    pub fn my_rating(&self, target_kind: &str, target_id: &str, user: &str) -> Result<Option<u8>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT rating FROM ratings WHERE target_kind = ?1 AND target_id = ?2 AND user_id = ?3 AND deleted_at IS NULL",
                params![target_kind, target_id, user],
                |r| r.get(0),
            )
            .optional()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{results::tests::sample, runs::tests::new_run, tests::temp_store};

    fn one_result(store: &Store) -> String {
        let run = new_run(store, false).summary.id;
        let r = sample("m", "p", 10, 0.1);
        store.insert_results(&run, std::slice::from_ref(&r)).unwrap();
        ids::result_id(&r.key, &run)
    }

    #[test]
    fn rating_is_an_upsert_per_target_and_user() {
        let (_d, store) = temp_store();
        let id = one_result(&store);
        let first = store.rate(TARGET_RESULT, &id, "ana@example.com", 2).unwrap();
        let second = store.rate(TARGET_RESULT, &id, "ana@example.com", 5).unwrap();
        assert_eq!(first.id, second.id, "the id is derived from (kind, target, user)");
        assert_eq!(second.rating, 5);
        assert_eq!(store.ratings(&RatingFilter { result_id: Some(id.clone()), limit: 10, ..Default::default() }).unwrap().len(), 1);
        let detail = store.result(&id, Some("ana@example.com")).unwrap();
        assert_eq!((detail.summary.avg_rating, detail.summary.rating_count, detail.summary.my_rating), (Some(5.0), 1, Some(5)));
    }

    #[test]
    fn out_of_range_ratings_and_unknown_targets_are_refused() {
        let (_d, store) = temp_store();
        let id = one_result(&store);
        for bad in [0, 6, -1] {
            let err = store.rate(TARGET_RESULT, &id, "ana", bad).unwrap_err();
            assert_eq!(err.to_string(), format!("rating: {bad} is outside 1-5"));
        }
        assert!(matches!(store.rate(TARGET_RESULT, "missing", "ana", 3), Err(StoreError::NotFound { .. })));
        assert!(store.rate("grid_cell", &id, "ana", 3).unwrap_err().to_string().starts_with("target_kind: `grid_cell`"));
        assert!(store.ratings(&RatingFilter { limit: 10, ..Default::default() }).unwrap().is_empty(), "nothing stored by a refused rating");
    }

    #[test]
    fn undo_withdraws_and_a_target_can_be_rated_again() {
        let (_d, store) = temp_store();
        let id = one_result(&store);
        store.rate(TARGET_RESULT, &id, "ana", 3).unwrap();
        assert!(store.unrate(TARGET_RESULT, &id, "ana").unwrap());
        assert!(!store.unrate(TARGET_RESULT, &id, "ana").unwrap(), "undoing twice changes nothing");
        let d = store.result(&id, Some("ana")).unwrap();
        assert_eq!((d.summary.rating_count, d.summary.my_rating), (0, None));
        store.rate(TARGET_RESULT, &id, "ana", 4).unwrap();
        assert_eq!(store.my_rating(TARGET_RESULT, &id, "ana").unwrap(), Some(4));
        let by_user = store.ratings(&RatingFilter { user_id: Some("ana".into()), limit: 10, ..Default::default() }).unwrap();
        assert_eq!((by_user.len(), by_user[0].result_id.as_str()), (1, id.as_str()));
    }
}
