//! How a replay's response differs from its original's: a word-level text diff, and for chip
//! outputs a chip-level one (added, removed, kept, compared as the normaliser compares chips:
//! case and surrounding space ignored).

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::chips::{self, RawChip};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Kept,
    Added,
    Removed,
}

/// A run of text that both sides share, or that only one has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TextPart {
    pub change: Change,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChipChange {
    pub change: Change,
    pub text: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ResponseDiff {
    pub text: Vec<TextPart>,
    /// Present when both responses are chip lists.
    pub chips: Option<Vec<ChipChange>>,
}

/// Compares the original response with the replay's.
pub fn diff(original: &str, replay: &str) -> ResponseDiff {
    ResponseDiff { text: text_diff(original, replay), chips: chip_diff(original, replay) }
}

/// Word-level diff; neighbouring words with the same change are joined into one part.
pub fn text_diff(original: &str, replay: &str) -> Vec<TextPart> {
    let mut parts: Vec<TextPart> = Vec::new();
    for change in TextDiff::from_words(original, replay).iter_all_changes() {
        let change_kind = match change.tag() {
            ChangeTag::Equal => Change::Kept,
            ChangeTag::Insert => Change::Added,
            ChangeTag::Delete => Change::Removed,
        };
        match parts.last_mut() {
            Some(last) if last.change == change_kind => last.text.push_str(change.value()),
            _ => parts.push(TextPart { change: change_kind, text: change.value().to_owned() }),
        }
    }
    parts
}

/// The original's chips in order (kept or removed), then the replay's new ones (added).
pub fn chip_diff(original: &str, replay: &str) -> Option<Vec<ChipChange>> {
    let (before, after) = (chips::parse_chips(original).ok()?, chips::parse_chips(replay).ok()?);
    let key = |c: &RawChip| c.text.trim().to_lowercase();
    let after_keys: Vec<String> = after.iter().map(key).collect();
    let before_keys: Vec<String> = before.iter().map(key).collect();
    let change = |change, c: &RawChip| ChipChange { change, text: c.text.clone(), kind: c.kind.clone() };
    let mut out: Vec<ChipChange> =
        before.iter().map(|c| change(if after_keys.contains(&key(c)) { Change::Kept } else { Change::Removed }, c)).collect();
    out.extend(after.iter().filter(|c| !before_keys.contains(&key(c))).map(|c| change(Change::Added, c)));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chips_json(texts: &[&str]) -> String {
        let chips: Vec<_> = texts.iter().map(|t| serde_json::json!({"text": t, "type": "jargon"})).collect();
        serde_json::json!({ "chips": chips }).to_string()
    }

    #[test]
    fn text_diff_marks_what_changed_and_joins_runs() {
        let parts = text_diff("the quick brown fox", "the slow brown fox jumps");
        let flat: Vec<_> = parts.iter().map(|p| (p.change, p.text.as_str())).collect();
        assert_eq!(
            flat,
            vec![(Change::Kept, "the "), (Change::Removed, "quick"), (Change::Added, "slow"), (Change::Kept, " brown fox"), (Change::Added, " jumps")]
        );
        let rebuilt: String = parts.iter().filter(|p| p.change != Change::Removed).map(|p| p.text.as_str()).collect();
        assert_eq!(rebuilt, "the slow brown fox jumps", "kept + added is the replay");
    }

    #[test]
    fn identical_responses_are_all_kept() {
        let d = diff(&chips_json(&["KPI", "SLA"]), &chips_json(&["KPI", "SLA"]));
        assert!(d.text.iter().all(|p| p.change == Change::Kept));
        assert!(d.chips.unwrap().iter().all(|c| c.change == Change::Kept));
    }

    #[test]
    fn chip_diff_compares_chips_as_the_normaliser_does() {
        let before = chips_json(&["Budget review", "SLA", "night shift"]);
        let after = format!("Here you go:\n```json\n{}\n```", chips_json(&["budget review ", "KPI", "night shift"]));
        let changes: Vec<_> = chip_diff(&before, &after).unwrap().into_iter().map(|c| (c.change, c.text)).collect();
        assert_eq!(
            changes,
            vec![
                (Change::Kept, "Budget review".into()),
                (Change::Removed, "SLA".into()),
                (Change::Kept, "night shift".into()),
                (Change::Added, "KPI".into()),
            ]
        );
    }

    #[test]
    fn no_chip_diff_unless_both_sides_are_chip_lists() {
        assert_eq!(chip_diff(&chips_json(&["KPI"]), "I cannot help with that"), None);
        assert!(diff("plain answer", "another answer").chips.is_none());
    }
}
