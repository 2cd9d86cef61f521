//! Row identities. New rows get UUID v7 (time-ordered). Rows with a natural key get a UUID v5 of
//! that key, so two installations that create the same thing offline converge on one id.
//!
//! The v5 name is the UTF-8 bytes of the fields below joined by a NUL byte (0x00), under
//! [`NAMESPACE`]:
//! - result:  `result \0 run_id \0 model \0 persona_id \0 style \0 constraint_type \0 input_type \0 chip_count`
//! - rating:  `rating \0 target_kind \0 target_id \0 user_id`
//! - prompt:  `prompt \0 name \0 sha256(text) as lowercase hex`
//! - imported trace: `import \0 source trace id`; imported span: `import \0 source trace id \0 source span id`
//! - Langfuse trace: `langfuse \0 source trace id`; its spans: `langfuse \0 source trace id \0 observation id`
//! - grid cell: `grid_cell \0 run_id \0 row_index (decimal) \0 model`
//! - manual grade: `manual_grade \0 cell_id \0 user_id`

use uuid::Uuid;

/// Chipbench's UUID v5 namespace: a fixed random UUID. Changing it changes every derived id.
pub const NAMESPACE: Uuid = Uuid::from_u128(0x6c0e_5d1f_9c3a_5b7e_8d2f_4a6b_1c9e_0f37);

pub fn new_id() -> String {
    Uuid::now_v7().to_string()
}

fn v5(parts: &[&str]) -> String {
    Uuid::new_v5(&NAMESPACE, parts.join("\0").as_bytes()).to_string()
}

pub fn result_id(key: &crate::bench::TestKey, run_id: &str) -> String {
    let chip_count = key.chip_count.to_string();
    v5(&[
        "result",
        run_id,
        &key.model,
        &key.persona_id,
        &key.style,
        key.constraint_type.as_str(),
        key.input_type.as_str(),
        &chip_count,
    ])
}

pub fn rating_id(target_kind: &str, target_id: &str, user_id: &str) -> String {
    v5(&["rating", target_kind, target_id, user_id])
}

pub fn prompt_id(name: &str, sha256_hex: &str) -> String {
    v5(&["prompt", name, sha256_hex])
}

/// An imported Langfuse trace's id, or one of its spans' (`part`: the observation's id).
pub fn langfuse_id(trace_id: &str, part: Option<&str>) -> String {
    match part {
        Some(part) => v5(&["langfuse", trace_id, part]),
        None => v5(&["langfuse", trace_id]),
    }
}

pub fn grid_cell_id(run_id: &str, row_index: u64, model: &str) -> String {
    v5(&["grid_cell", run_id, &row_index.to_string(), model])
}

pub fn manual_grade_id(cell_id: &str, user_id: &str) -> String {
    v5(&["manual_grade", cell_id, user_id])
}

/// An imported trace's or span's id: importing the same file twice stores each span once.
pub fn imported_id(trace_id: &str, span_id: Option<&str>) -> String {
    match span_id {
        Some(span) => v5(&["import", trace_id, span]),
        None => v5(&["import", trace_id]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{ConstraintType, InputType, TestKey};

    // Test vectors, computed independently (Python's uuid.uuid5 over the bytes documented above).
    // Changing any of these ids breaks convergence between installations.
    #[test]
    fn v5_ids_are_pinned() {
        assert_eq!(rating_id("result", "r1", "ana@example.com"), "b0537f23-f05d-5bde-acf9-17c74ce82798");
        assert_eq!(prompt_id("selection", "abc"), "0db3a761-5553-5593-b0eb-21f76b3bde83");
        let key = TestKey {
            model: "openai/gpt-5-mini".into(),
            persona_id: "tech_pm".into(),
            style: "terse".into(),
            constraint_type: ConstraintType::WithConstraint,
            input_type: InputType::Enriched,
            chip_count: 15,
        };
        assert_eq!(result_id(&key, "run-1"), "2cc7ae74-693b-5894-8672-6b3ab4357771");
        assert_eq!(grid_cell_id("run-1", 12, "openai/gpt-5-mini"), "97e346d7-c603-58d3-a9c4-3aa03ab63ed7");
        assert_eq!(manual_grade_id("cell-1", "ada"), "ead23687-4439-59d9-8629-aaa174d5739c");
        assert_eq!(langfuse_id("t-1", None), "d6874deb-3134-5b70-9958-5a8820762424");
        assert_eq!(langfuse_id("t-1", Some("o-1")), "3b2b0a72-9dc9-53c9-80d6-2675523fce0f");
    }

    #[test]
    fn v5_ids_separate_fields() {
        // "a\0bc" and "ab\0c" must not collide.
        assert_ne!(rating_id("result", "a", "bc"), rating_id("result", "ab", "c"));
    }
}
