//! The benchmark matrix: models x personas x style x constraint x input type x chip count, the
//! test key that identifies one cell within a run, the run's recorded configuration, and the
//! pre-flight estimate (tests, calls, dollars, minutes).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::llm::{PriceTable, ProviderKind, ProviderSettings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    Basic,
    Enriched,
}

impl InputType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::Enriched => "enriched",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ConstraintType {
    WithConstraint,
    NoConstraint,
}

impl ConstraintType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WithConstraint => "with_constraint",
            Self::NoConstraint => "no_constraint",
        }
    }
}

/// One test within a run. With the run id it is the result's natural key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TestKey {
    pub model: String,
    pub persona_id: String,
    pub style: String,
    pub constraint_type: ConstraintType,
    pub input_type: InputType,
    pub chip_count: u32,
}

impl std::fmt::Display for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} | {} | {} | {} | {} | {}",
            self.model,
            self.persona_id,
            self.style,
            self.constraint_type.as_str(),
            self.input_type.as_str(),
            self.chip_count
        )
    }
}

/// The matrix axes other than models and personas: configuration, with the benchmark's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Axes {
    pub styles: Vec<String>,
    pub constraint_types: Vec<ConstraintType>,
    pub input_types: Vec<InputType>,
    pub chip_counts: Vec<u32>,
}

impl Default for Axes {
    fn default() -> Self {
        Axes {
            styles: vec!["terse".into(), "guided".into()],
            constraint_types: vec![ConstraintType::WithConstraint, ConstraintType::NoConstraint],
            input_types: vec![InputType::Basic, InputType::Enriched],
            chip_counts: vec![10, 15, 20],
        }
    }
}

impl Axes {
    pub fn tests_per_persona(&self) -> usize {
        self.styles.len() * self.constraint_types.len() * self.input_types.len() * self.chip_counts.len()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    pub models: Vec<String>,
    pub persona_ids: Vec<String>,
    pub axes: Axes,
}

impl Matrix {
    pub fn len(&self) -> usize {
        self.models.len() * self.persona_ids.len() * self.axes.tests_per_persona()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every test key, model-major (so a run's progress moves through models in order).
    pub fn keys(&self) -> impl Iterator<Item = TestKey> + '_ {
        let a = &self.axes;
        self.models.iter().flat_map(move |model| {
            self.persona_ids.iter().flat_map(move |persona| {
                a.styles.iter().flat_map(move |style| {
                    a.constraint_types.iter().flat_map(move |&constraint_type| {
                        a.input_types.iter().flat_map(move |&input_type| {
                            a.chip_counts.iter().map(move |&chip_count| TestKey {
                                model: model.clone(),
                                persona_id: persona.clone(),
                                style: style.clone(),
                                constraint_type,
                                input_type,
                                chip_count,
                            })
                        })
                    })
                })
            })
        })
    }
}

/// Everything a run needs to be resumed exactly; stored as the run's `config` (never a key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub matrix: Matrix,
    /// The personas as they were when the run started, so a resume never depends on the file.
    pub personas: Vec<crate::personas::Persona>,
    pub provider: ProviderKind,
    pub base_url: Option<String>,
    pub selector_model: String,
    /// Prompt name -> prompt version id.
    pub prompts: BTreeMap<String, String>,
    pub concurrency: usize,
    pub max_cost_usd: Option<f64>,
}

impl RunConfig {
    /// The config a run recorded.
    pub fn of(run: &crate::store::RunDetail) -> Result<RunConfig, super::BenchError> {
        serde_json::from_value(run.config.clone())
            .map_err(|e| super::BenchError::Config(format!("run {} has an unreadable config: {e}", run.summary.id)))
    }
}

/// The default selector: one cheap model for every test, so the simulated user is the same for all
/// models under test.
pub const DEFAULT_SELECTOR: &str = "google/gemini-2.5-flash-lite";

// Token estimates per call, from the prompt templates' sizes and ~12 tokens per generated chip.
const INPUT_TOKENS_PER_CALL: u64 = 300;
const OUTPUT_TOKENS_PER_CHIP: u64 = 12;
const SELECTION_OUTPUT_TOKENS: u64 = 30;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Estimate {
    pub tests: u64,
    /// Calls without any fill; each test may add one fill call.
    pub calls: u64,
    pub max_calls: u64,
    pub cost_usd: f64,
    pub minutes: f64,
    /// `minutes` as people read it: "~40 s", "~12 min", "~2 h 05 min", or "instant".
    pub duration: String,
    /// What the batch would run on, with "automatic" resolved: on the mock, nothing is charged
    /// and `cost_usd` is what the price table says the calls would cost.
    pub provider: ProviderKind,
}

/// Rounds to the unit that matters at that length; under a second reads "instant" (the mock
/// without latency), where "~0.0 min" read like a missing figure.
fn duration_text(minutes: f64) -> String {
    let secs = (minutes * 60.0).round() as u64;
    match secs {
        0 => "instant".to_string(),
        1..=59 => format!("~{secs} s"),
        60..=5399 => format!("~{} min", (minutes.round() as u64).max(1)),
        _ => {
            let m = minutes.round() as u64;
            format!("~{} h {:02} min", m / 60, m % 60)
        }
    }
}

/// A pre-flight estimate of a batch on `provider` (whose typical latency sets the duration).
pub fn estimate(matrix: &Matrix, prices: &PriceTable, selector: &str, concurrency: usize, provider: &ProviderSettings) -> Estimate {
    let (mut calls, mut cost) = (0u64, 0.0);
    for key in matrix.keys() {
        let gen_out = OUTPUT_TOKENS_PER_CHIP * u64::from(key.chip_count);
        let gen = prices.cost(&key.model, INPUT_TOKENS_PER_CALL, gen_out);
        match key.input_type {
            InputType::Basic => {
                calls += 1;
                cost += gen;
            }
            InputType::Enriched => {
                calls += 3;
                cost += 2.0 * gen + prices.cost(selector, INPUT_TOKENS_PER_CALL + gen_out, SELECTION_OUTPUT_TOKENS);
            }
        }
    }
    let tests = matrix.len() as u64;
    let minutes = calls as f64 * provider.typical_call_secs() / concurrency.max(1) as f64 / 60.0;
    Estimate { tests, calls, max_calls: calls + tests, cost_usd: cost, minutes, duration: duration_text(minutes), provider: provider.kind }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Price;

    fn matrix(models: usize, personas: usize) -> Matrix {
        Matrix {
            models: (0..models).map(|i| format!("m{i}")).collect(),
            persona_ids: (0..personas).map(|i| format!("p{i}")).collect(),
            axes: Axes::default(),
        }
    }

    #[test]
    fn twenty_four_tests_per_persona_per_model() {
        let m = matrix(2, 3);
        assert_eq!(m.axes.tests_per_persona(), 24);
        assert_eq!(m.len(), 144);
        let keys: std::collections::HashSet<_> = m.keys().collect();
        assert_eq!(keys.len(), 144, "every key is distinct");
        assert!(matrix(0, 3).is_empty());
    }

    #[test]
    fn estimate_counts_three_calls_for_enriched_tests() {
        let m = matrix(1, 1);
        let prices = PriceTable([("m0".to_string(), Price { input: 1.0, output: 1.0 })].into());
        let openrouter = ProviderSettings { kind: ProviderKind::Openrouter, base_url: None, api_key: None, mock: Default::default() };
        let e = estimate(&m, &prices, "unpriced-selector", 4, &openrouter);
        assert_eq!((e.tests, e.calls, e.max_calls), (24, 12 + 36, 48 + 24));
        assert!((e.minutes - 48.0 * 4.0 / 4.0 / 60.0).abs() < 1e-9, "4 s a call");
        assert!(e.cost_usd > 0.0);
        assert_eq!((e.duration.as_str(), e.provider), ("~48 s", ProviderKind::Openrouter));
    }

    #[test]
    fn durations_read_in_the_unit_that_matters() {
        let cases = [(0.0, "instant"), (0.005, "instant"), (0.02, "~1 s"), (0.4, "~24 s"), (0.99, "~59 s"), (1.0, "~1 min"), (12.4, "~12 min"), (89.9, "~90 min"), (90.0, "~1 h 30 min"), (125.0, "~2 h 05 min")];
        for (minutes, text) in cases {
            assert_eq!(duration_text(minutes), text, "{minutes} min");
        }
    }

    #[test]
    fn run_config_round_trips_as_json() {
        let cfg = RunConfig {
            matrix: matrix(1, 1),
            personas: crate::personas::built_in(),
            provider: ProviderKind::Mock,
            base_url: None,
            selector_model: DEFAULT_SELECTOR.into(),
            prompts: BTreeMap::from([("fill".into(), "id".into())]),
            concurrency: 16,
            max_cost_usd: Some(1.5),
        };
        let back: RunConfig = serde_json::from_value(serde_json::to_value(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
    }
}
