//! Personas: the people the chip benchmark generates chips for. Loading validates every field
//! and names the file, the persona's index and the field on error.

use std::{collections::HashSet, path::Path};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The personas shipped with Chipbench (`personas.json` at the repository root).
pub const BUILT_IN: &str = include_str!("../../personas.json");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Persona {
    pub id: String,
    pub name: String,
    pub sector: String,
    pub desired_role: String,
    pub seniority: String,
    pub background: String,
    pub goals: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PersonaError {
    #[error("cannot read personas file {file}: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("{file}: not a JSON array of personas: {reason}")]
    NotAnArray { file: String, reason: String },
    #[error("{file}: persona {index}, field `{field}`: {problem}")]
    Invalid { file: String, index: usize, field: &'static str, problem: String },
    #[error("unknown persona `{id}`; known personas: {known}")]
    Unknown { id: String, known: String },
}

impl crate::error::Coded for PersonaError {
    fn code(&self) -> crate::ErrorCode {
        match self {
            Self::Unknown { .. } => crate::ErrorCode::NotFound,
            _ => crate::ErrorCode::Validation,
        }
    }
}

pub fn load(path: &Path) -> Result<Vec<Persona>, PersonaError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| PersonaError::Unreadable { file: file.clone(), reason: e.to_string() })?;
    parse(&text, &file)
}

pub fn built_in() -> Vec<Persona> {
    parse(BUILT_IN, "personas.json").expect("the shipped personas.json is valid (tested)")
}

/// Parses and validates; `file` names the source in errors.
pub fn parse(text: &str, file: &str) -> Result<Vec<Persona>, PersonaError> {
    let not_array = |reason: String| PersonaError::NotAnArray { file: file.to_owned(), reason };
    let items: Vec<Value> = serde_json::from_str(text).map_err(|e| not_array(e.to_string()))?;
    if items.is_empty() {
        return Err(not_array("the array is empty".into()));
    }
    let mut ids = HashSet::new();
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let invalid = |field, problem: String| PersonaError::Invalid { file: file.to_owned(), index, field, problem };
            let text_field = |field: &'static str| -> Result<String, PersonaError> {
                match item.get(field) {
                    None => Err(invalid(field, "is missing".into())),
                    Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                    Some(Value::String(_)) => Err(invalid(field, "is empty".into())),
                    Some(other) => Err(invalid(field, format!("must be a string, got {other}"))),
                }
            };
            let persona = Persona {
                id: text_field("id")?,
                name: text_field("name")?,
                sector: text_field("sector")?,
                desired_role: text_field("desired_role")?,
                seniority: text_field("seniority")?,
                background: text_field("background")?,
                goals: text_field("goals")?,
            };
            if !is_snake_case(&persona.id) {
                return Err(invalid("id", format!("`{}` is not snake_case (a-z, 0-9, _)", persona.id)));
            }
            if !ids.insert(persona.id.clone()) {
                return Err(invalid("id", format!("`{}` is used by an earlier persona", persona.id)));
            }
            check_sentences(&persona.background, 2..=4).map_err(|p| invalid("background", p))?;
            check_sentences(&persona.goals, 1..=2).map_err(|p| invalid("goals", p))?;
            Ok(persona)
        })
        .collect()
}

/// Keeps the personas with the given ids, in file order; an unknown id lists the known ones.
pub fn select(all: &[Persona], ids: &[String]) -> Result<Vec<Persona>, PersonaError> {
    for id in ids {
        if !all.iter().any(|p| &p.id == id) {
            let known = all.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ");
            return Err(PersonaError::Unknown { id: id.clone(), known });
        }
    }
    Ok(all.iter().filter(|p| ids.is_empty() || ids.contains(&p.id)).cloned().collect())
}

fn is_snake_case(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn check_sentences(text: &str, allowed: std::ops::RangeInclusive<usize>) -> Result<(), String> {
    let n = text.split_inclusive(['.', '!', '?']).filter(|s| s.trim().len() > 1).count();
    if allowed.contains(&n) {
        Ok(())
    } else {
        Err(format!("has {n} sentence(s); expected {} to {}", allowed.start(), allowed.end()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_personas_are_valid_and_diverse() {
        let all = built_in();
        assert!(all.len() >= 10, "at least 10 personas ship");
        let sectors: HashSet<_> = all.iter().map(|p| p.sector.as_str()).collect();
        assert!(sectors.len() >= 8, "personas span many sectors: {sectors:?}");
        assert!(all.iter().any(|p| p.id == "tech_pm"));
    }

    fn one(overrides: &str) -> String {
        let mut v: serde_json::Map<String, Value> = serde_json::from_str(
            r#"{"id":"a_b","name":"N","sector":"S","desired_role":"R","seniority":"mid",
                "background":"One. Two.","goals":"Goal."}"#,
        )
        .unwrap();
        let o: serde_json::Map<String, Value> = serde_json::from_str(overrides).unwrap();
        v.extend(o);
        serde_json::to_string(&vec![v]).unwrap()
    }

    #[test]
    fn errors_name_file_index_and_field() {
        let cases = [
            (one(r#"{"sector": ""}"#), "f.json: persona 0, field `sector`: is empty"),
            (one(r#"{"goals": 3}"#), "f.json: persona 0, field `goals`: must be a string, got 3"),
            (one(r#"{"id": "Tech-PM"}"#), "f.json: persona 0, field `id`: `Tech-PM` is not snake_case (a-z, 0-9, _)"),
            (one(r#"{"background": "Only one."}"#), "f.json: persona 0, field `background`: has 1 sentence(s); expected 2 to 4"),
        ];
        for (text, want) in cases {
            assert_eq!(parse(&text, "f.json").unwrap_err().to_string(), want);
        }
        let mut missing: Vec<Value> = serde_json::from_str(&one("{}")).unwrap();
        missing[0].as_object_mut().unwrap().remove("seniority");
        let err = parse(&serde_json::to_string(&missing).unwrap(), "f.json").unwrap_err();
        assert_eq!(err.to_string(), "f.json: persona 0, field `seniority`: is missing");
    }

    #[test]
    fn duplicate_ids_and_non_arrays_are_rejected() {
        let two = format!("[{0},{0}]", one("{}").trim_matches(['[', ']']));
        assert!(parse(&two, "f").unwrap_err().to_string().contains("persona 1, field `id`: `a_b` is used by an earlier persona"));
        assert!(matches!(parse("{}", "f"), Err(PersonaError::NotAnArray { .. })));
        assert!(matches!(parse("[]", "f"), Err(PersonaError::NotAnArray { .. })));
    }

    #[test]
    fn unknown_persona_lists_known_ids() {
        let all = built_in();
        let err = select(&all, &["nobody".into()]).unwrap_err();
        assert!(err.to_string().starts_with("unknown persona `nobody`; known personas: tech_pm, icu_nurse"), "{err}");
        assert_eq!(select(&all, &["icu_nurse".into()]).unwrap().len(), 1);
        assert_eq!(select(&all, &[]).unwrap().len(), all.len(), "no filter keeps every persona");
    }
}
