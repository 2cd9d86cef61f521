//! Fixtures for tests and benchmarks (the `test-support` feature): one place that builds a valid
//! result, so tests elsewhere do not repeat its fields.

use crate::{
    bench::{ConstraintType, InputType, TestKey},
    chips::{Chip, ChipType},
    store::{Metrics, NewResult, Outputs},
};

/// A parsed, error-free basic test result of `model` for `persona` with one chip.
pub fn sample_result(model: &str, persona: &str, chip_count: u32, cost_usd: f64) -> NewResult {
    NewResult {
        key: TestKey {
            model: model.into(),
            persona_id: persona.into(),
            style: "terse".into(),
            constraint_type: ConstraintType::NoConstraint,
            input_type: InputType::Basic,
            chip_count,
        },
        outputs: Outputs {
            sector: "Software".into(),
            desired_role: "Product Manager".into(),
            final_chips: vec![Chip { text: "burn rate".into(), kind: ChipType::Jargon }],
            step1_chips: None,
            selected_chips: None,
            fill_chips: None,
            errors: vec![],
            input_tokens: 10,
            output_tokens: 20,
            billed_cost_usd: None,
            metrics: Metrics { parsed: true, ..Metrics::default() },
        },
        latency_ms: 100,
        cost_usd,
        created_at: crate::clock::now(),
    }
}
