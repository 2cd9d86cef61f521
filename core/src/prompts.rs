//! The benchmark's prompts are data: text files under `core/prompts/`, each identified by a
//! version (a hash of its text). A run records the prompt ids it used; the store keeps every
//! version it has seen. Templates use `{{name}}` placeholders.

use sha2::{Digest, Sha256};

/// Names of the built-in prompts, in the order they are seeded.
pub const NAMES: [&str; 6] =
    ["generation_terse", "generation_guided", "constraint_clause", "signals_clause", "selection", "fill"];

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Prompt {
    pub id: String,
    pub name: String,
    pub version: String,
    pub text: String,
}

impl Prompt {
    pub fn new(name: &str, text: &str) -> Prompt {
        let sha = hex(&Sha256::digest(text.as_bytes()));
        Prompt {
            id: crate::ids::prompt_id(name, &sha),
            name: name.to_owned(),
            version: sha[..12].to_owned(),
            text: text.to_owned(),
        }
    }

    /// Substitutes every `{{name}}`; a placeholder without a value is a bug in the caller.
    pub fn render(&self, vars: &[(&str, &str)]) -> String {
        let mut out = self.text.clone();
        for (name, value) in vars {
            out = out.replace(&format!("{{{{{name}}}}}"), value);
        }
        debug_assert!(!out.contains("{{") || vars.is_empty(), "unfilled placeholder in {}: {out}", self.name);
        out
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn built_in() -> Vec<Prompt> {
    let texts = [
        include_str!("../prompts/generation_terse.txt"),
        include_str!("../prompts/generation_guided.txt"),
        include_str!("../prompts/constraint_clause.txt"),
        include_str!("../prompts/signals_clause.txt"),
        include_str!("../prompts/selection.txt"),
        include_str!("../prompts/fill.txt"),
    ];
    NAMES.iter().zip(texts).map(|(name, text)| Prompt::new(name, text)).collect()
}

/// The prompts one run uses, looked up by name.
#[derive(Debug, Clone)]
pub struct PromptSet(pub Vec<Prompt>);

impl PromptSet {
    pub fn get(&self, name: &str) -> &Prompt {
        self.0.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("prompt set has no `{name}`"))
    }

    /// The generation prompt for a style (`terse`, `guided`).
    pub fn generation(&self, style: &str) -> Option<&Prompt> {
        self.0.iter().find(|p| p.name == format!("generation_{style}"))
    }

    pub fn ids(&self) -> std::collections::BTreeMap<String, String> {
        self.0.iter().map(|p| (p.name.clone(), p.id.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_follow_the_text() {
        let a = Prompt::new("fill", "x");
        assert_eq!(a, Prompt::new("fill", "x"), "same text, same version and id");
        assert_ne!(a.id, Prompt::new("fill", "y").id);
        assert_ne!(a.id, Prompt::new("selection", "x").id, "the name is part of the identity");
        assert_eq!(a.version, "2d711642b726", "version = first 12 hex digits of sha256(text)");
    }

    #[test]
    fn built_in_prompts_render_completely() {
        let set = PromptSet(built_in());
        let gen = set.generation("guided").unwrap();
        let text = gen.render(&[
            ("chip_count", "15"),
            ("sector", "Healthcare"),
            ("desired_role", "Nurse"),
            ("constraint", ""),
            ("signals", ""),
        ]);
        assert!(text.contains("Generate 15 chips") && !text.contains("{{"), "{text}");
        assert!(set.generation("unknown").is_none());
    }
}
