//! Chips and the rules applied to what a model returns: JSON extraction from prose or code fences,
//! parsing against the response contract, normalisation, and the fill plan.
//!
//! Model output is untrusted text: nothing here interprets it beyond the contract.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const MAX_WORDS: usize = 8;
pub const MIN_CHIPS_PER_TYPE: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ChipType {
    Situation,
    Jargon,
    RoleTask,
    Environment,
}

impl ChipType {
    pub const ALL: [ChipType; 4] = [Self::Situation, Self::Jargon, Self::RoleTask, Self::Environment];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Situation => "situation",
            Self::Jargon => "jargon",
            Self::RoleTask => "role_task",
            Self::Environment => "environment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Chip {
    pub text: String,
    #[serde(rename = "type")]
    pub kind: ChipType,
}

/// A chip as the model wrote it, before normalisation (its type may be unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawChip {
    pub text: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// Finds the first JSON object in `text` that has `key`: the whole text, else any object
/// embedded in prose or a code fence.
pub fn extract_object(text: &str, key: &str) -> Option<serde_json::Map<String, Value>> {
    let fits = |v: Value| match v {
        Value::Object(m) if m.contains_key(key) => Some(m),
        _ => None,
    };
    if let Some(m) = serde_json::from_str(text.trim()).ok().and_then(fits) {
        return Some(m);
    }
    text.char_indices().filter(|&(_, c)| c == '{').find_map(|(i, _)| {
        let mut values = serde_json::Deserializer::from_str(&text[i..]).into_iter::<Value>();
        values.next()?.ok().and_then(fits)
    })
}

/// Parses a `chips` response: `{"chips": [{"text": "...", "type": "..."}]}`.
pub fn parse_chips(text: &str) -> Result<Vec<RawChip>, String> {
    let obj = extract_object(text, "chips").ok_or_else(|| {
        format!("unparseable output: no JSON object with \"chips\" in {} characters", text.len())
    })?;
    let items = obj["chips"]
        .as_array()
        .ok_or_else(|| "schema violation: \"chips\" is not an array".to_string())?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = |name: &str| {
                item.get(name).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
                    format!("schema violation: chip {i} has no string \"{name}\"")
                })
            };
            Ok(RawChip { text: field("text")?, kind: field("type")? })
        })
        .collect()
}

/// Parses a `selection` response: `{"selected_ids": [0, 3]}`.
pub fn parse_selection(text: &str) -> Result<Vec<i64>, String> {
    let obj = extract_object(text, "selected_ids").ok_or_else(|| {
        format!("unparseable selection: no JSON object with \"selected_ids\" in {} characters", text.len())
    })?;
    let ids = obj["selected_ids"]
        .as_array()
        .ok_or_else(|| "schema violation: \"selected_ids\" is not an array".to_string())?;
    ids.iter()
        .map(|v| v.as_i64().ok_or_else(|| format!("schema violation: selected id {v} is not an integer")))
        .collect()
}

/// Picks the selected step-1 chips; ids out of range (or repeated) are ignored with an error.
pub fn select(step1: &[Chip], ids: &[i64], errors: &mut Vec<String>) -> Vec<Chip> {
    let mut seen = std::collections::HashSet::new();
    let mut out_of_range = Vec::new();
    let mut picked = Vec::new();
    for &id in ids {
        match usize::try_from(id).ok().filter(|&i| i < step1.len()) {
            Some(i) if seen.insert(i) => picked.push(step1[i].clone()),
            Some(_) => {}
            None => out_of_range.push(id.to_string()),
        }
    }
    if !out_of_range.is_empty() {
        errors.push(format!(
            "selection: ignored {} out-of-range id(s): {}",
            out_of_range.len(),
            out_of_range.join(", ")
        ));
    }
    picked
}

/// What normalisation kept and dropped.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Normalised {
    pub chips: Vec<Chip>,
    pub empty: usize,
    pub overlong: usize,
    pub unknown_type: usize,
    pub duplicates: usize,
}

impl Normalised {
    /// One error per kind of dropped chip, with the count.
    pub fn errors(&self, errors: &mut Vec<String>) {
        for (n, what) in [
            (self.empty, "empty chip(s)"),
            (self.overlong, "chip(s) over 8 words"),
            (self.unknown_type, "chip(s) with an unknown type"),
        ] {
            if n > 0 {
                errors.push(format!("dropped {n} {what}"));
            }
        }
    }
}

/// Trim, drop empty, overlong and unknown-type chips, dedupe case-insensitively (also against
/// `existing`), and cut to `limit`.
pub fn normalise(raw: &[RawChip], existing: &[Chip], limit: usize) -> Normalised {
    let mut out = Normalised::default();
    let mut seen: std::collections::HashSet<String> =
        existing.iter().map(|c| c.text.to_lowercase()).collect();
    for chip in raw {
        let text = chip.text.trim();
        if text.is_empty() {
            out.empty += 1;
            continue;
        }
        if text.split_whitespace().count() > MAX_WORDS {
            out.overlong += 1;
            continue;
        }
        let Some(kind) = ChipType::parse(chip.kind.trim()) else {
            out.unknown_type += 1;
            continue;
        };
        if !seen.insert(text.to_lowercase()) {
            out.duplicates += 1;
            continue;
        }
        out.chips.push(Chip { text: text.to_owned(), kind });
    }
    out.chips.truncate(limit);
    out
}

pub fn count_of(chips: &[Chip], kind: ChipType) -> usize {
    chips.iter().filter(|c| c.kind == kind).count()
}

/// What a fill call must ask for: how many chips, and which types are short (under the constraint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FillPlan {
    pub count: usize,
    pub short_types: Vec<(ChipType, usize)>,
}

pub fn fill_plan(chips: &[Chip], chip_count: usize, constrained: bool) -> Option<FillPlan> {
    let short_types: Vec<(ChipType, usize)> = if constrained {
        ChipType::ALL
            .into_iter()
            .filter_map(|t| MIN_CHIPS_PER_TYPE.checked_sub(count_of(chips, t)).filter(|&n| n > 0).map(|n| (t, n)))
            .collect()
    } else {
        Vec::new()
    };
    let missing = chip_count.saturating_sub(chips.len());
    let needed_types: usize = short_types.iter().map(|(_, n)| n).sum();
    let count = missing.max(needed_types);
    (count > 0).then_some(FillPlan { count, short_types })
}

/// Merges fill chips into the list. When the fill was for short types and the list is now over
/// `chip_count`, drops chips from the end of the most plentiful types, never below the minimum.
pub fn merge_fill(mut chips: Vec<Chip>, fill: Vec<Chip>, chip_count: usize, constrained: bool) -> Vec<Chip> {
    chips.extend(fill);
    while chips.len() > chip_count {
        let plentiful = ChipType::ALL.into_iter().max_by_key(|&t| count_of(&chips, t)).expect("four types");
        let floor = if constrained { MIN_CHIPS_PER_TYPE } else { 0 };
        if count_of(&chips, plentiful) <= floor {
            chips.truncate(chip_count);
            break;
        }
        let last = chips.iter().rposition(|c| c.kind == plentiful).expect("counted above");
        chips.remove(last);
    }
    chips
}

/// Content errors left after fill: shortfall and unmet constraint.
pub fn final_errors(chips: &[Chip], chip_count: usize, constrained: bool, errors: &mut Vec<String>) {
    if chips.len() < chip_count {
        errors.push(format!("shortfall: {} of {chip_count} chips after fill", chips.len()));
    }
    if constrained {
        for t in ChipType::ALL {
            let n = count_of(chips, t);
            if n < MIN_CHIPS_PER_TYPE {
                errors.push(format!("constraint unmet: {} has {n} of {MIN_CHIPS_PER_TYPE}", t.as_str()));
            }
        }
    }
}

pub fn constraint_met(chips: &[Chip]) -> bool {
    ChipType::ALL.into_iter().all(|t| count_of(chips, t) >= MIN_CHIPS_PER_TYPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str, kind: &str) -> RawChip {
        RawChip { text: text.into(), kind: kind.into() }
    }
    fn chip(text: &str, kind: ChipType) -> Chip {
        Chip { text: text.into(), kind }
    }

    #[test]
    fn extracts_json_from_plain_prose_and_fences() {
        let cases = [
            r#"{"chips": []}"#,
            "Sure! Here you go:\n```json\n{\"chips\": []}\n```\nHope it helps.",
            "Here: {\"note\": 1} and then {\"chips\": []} trailing",
            "```\n{\"chips\": [], \"extra\": {\"nested\": \"}\"}}\n```",
        ];
        for text in cases {
            assert!(extract_object(text, "chips").is_some(), "should extract from {text:?}");
        }
        assert!(extract_object("no json here {", "chips").is_none());
        assert!(extract_object(r#"{"other": 1}"#, "chips").is_none(), "an object must have the key to fit");
    }

    #[test]
    fn parse_chips_reports_schema_violations() {
        assert_eq!(parse_chips(r#"{"chips":[{"text":"a","type":"jargon"}]}"#).unwrap(), vec![raw("a", "jargon")]);
        assert!(parse_chips(r#"{"chips": "x"}"#).unwrap_err().contains("not an array"));
        assert!(parse_chips(r#"{"chips": [{"text": 3, "type": "jargon"}]}"#).unwrap_err().contains("chip 0"));
        assert!(parse_chips("I cannot help").unwrap_err().starts_with("unparseable output"));
    }

    #[test]
    fn parse_selection_accepts_integers_only() {
        assert_eq!(parse_selection("ok {\"selected_ids\": [0, 3]}").unwrap(), vec![0, 3]);
        assert!(parse_selection(r#"{"selected_ids": ["a"]}"#).is_err());
    }

    #[test]
    fn normalise_applies_every_rule() {
        let input = [
            raw("  burn rate ", "jargon"),
            raw("", "jargon"),
            raw("   ", "situation"),
            raw("one two three four five six seven eight nine", "situation"),
            raw("board review", "meeting"),
            raw("Burn Rate", "jargon"),
            raw("write PRDs", "role_task"),
            raw("remote-first startup", "environment"),
        ];
        let n = normalise(&input, &[], 2);
        assert_eq!(n.chips, vec![chip("burn rate", ChipType::Jargon), chip("write PRDs", ChipType::RoleTask)]);
        assert_eq!((n.empty, n.overlong, n.unknown_type, n.duplicates), (2, 1, 1, 1));
        let mut errors = Vec::new();
        n.errors(&mut errors);
        assert_eq!(
            errors,
            vec!["dropped 2 empty chip(s)", "dropped 1 chip(s) over 8 words", "dropped 1 chip(s) with an unknown type"]
        );
    }

    #[test]
    fn normalise_dedupes_against_existing_chips() {
        let existing = [chip("Burn rate", ChipType::Jargon)];
        let n = normalise(&[raw("burn RATE", "jargon"), raw("runway", "jargon")], &existing, 10);
        assert_eq!(n.chips, vec![chip("runway", ChipType::Jargon)]);
        assert_eq!(n.duplicates, 1);
    }

    #[test]
    fn exactly_eight_words_is_kept() {
        let n = normalise(&[raw("a b c d e f g h", "situation")], &[], 5);
        assert_eq!(n.chips.len(), 1);
    }

    #[test]
    fn selection_ignores_out_of_range_ids_with_an_error() {
        let step1 = [chip("a", ChipType::Jargon), chip("b", ChipType::Situation)];
        let mut errors = Vec::new();
        let picked = select(&step1, &[1, 5, -1, 1, 0], &mut errors);
        assert_eq!(picked, vec![step1[1].clone(), step1[0].clone()]);
        assert_eq!(errors, vec!["selection: ignored 2 out-of-range id(s): 5, -1"]);
    }

    #[test]
    fn fill_plan_covers_shortfall_and_short_types() {
        let chips: Vec<Chip> = (0..8).map(|i| chip(&format!("s{i}"), ChipType::Situation)).collect();
        assert_eq!(fill_plan(&chips, 8, false), None, "full and unconstrained needs no fill");
        let plan = fill_plan(&chips, 10, false).unwrap();
        assert_eq!((plan.count, plan.short_types.len()), (2, 0));
        let plan = fill_plan(&chips, 8, true).unwrap();
        assert_eq!(plan.count, 6, "three types short by two each");
        assert_eq!(plan.short_types[0], (ChipType::Jargon, 2));
    }

    #[test]
    fn merge_fill_keeps_the_minimum_per_type_when_trimming() {
        let mut chips: Vec<Chip> = (0..8).map(|i| chip(&format!("s{i}"), ChipType::Situation)).collect();
        chips.push(chip("j0", ChipType::Jargon));
        chips.push(chip("j1", ChipType::Jargon));
        let fill = vec![
            chip("r0", ChipType::RoleTask),
            chip("r1", ChipType::RoleTask),
            chip("e0", ChipType::Environment),
            chip("e1", ChipType::Environment),
        ];
        let merged = merge_fill(chips, fill, 10, true);
        assert_eq!(merged.len(), 10);
        assert!(constraint_met(&merged), "trimming must not undo what the fill fixed: {merged:?}");
        assert_eq!(count_of(&merged, ChipType::Situation), 4);
    }

    #[test]
    fn final_errors_name_shortfall_and_constraint() {
        let chips = vec![chip("a", ChipType::Jargon), chip("b", ChipType::Jargon)];
        let mut errors = Vec::new();
        final_errors(&chips, 3, true, &mut errors);
        assert_eq!(errors[0], "shortfall: 2 of 3 chips after fill");
        assert_eq!(errors.len(), 4, "one shortfall and three unmet types: {errors:?}");
    }
}
