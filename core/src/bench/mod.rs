//! The chip benchmark: [`matrix`] (what to run), [`pipeline`] (one test), [`runner`] (a batch).
//! [`plan_run`] validates a request into the [`RunConfig`] a run records, so the CLI and the app
//! start runs the same way and `--resume` can continue one exactly.

mod matrix;
mod pipeline;
mod runner;

pub use matrix::{estimate, Axes, ConstraintType, Estimate, InputType, Matrix, RunConfig, TestKey, DEFAULT_SELECTOR};
pub use pipeline::{run_test, TestContext};
pub use runner::{BenchError, Outcome, Progress, Runner, StopCause, GRACE};

use crate::{
    llm::ProviderKind,
    personas::{self, Persona},
    prompts::{self, PromptSet},
    store::{NewRun, RunDetail, Store},
};

/// What a user asks for when starting a batch.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    /// Empty means every model in the price table.
    pub models: Vec<String>,
    /// Empty means every loaded persona.
    pub persona_ids: Vec<String>,
    pub axes: Axes,
    pub provider: ProviderKind,
    pub base_url: Option<String>,
    pub selector_model: String,
    pub concurrency: usize,
    pub max_cost_usd: Option<f64>,
}

/// Validates a request against the price table, the personas and the prompts.
pub fn plan_run(store: &Store, req: &BatchRequest, all_personas: &[Persona]) -> Result<RunConfig, BenchError> {
    let invalid = |m: String| BenchError::Config(m);
    let known: Vec<String> = store.models()?.into_iter().map(|m| m.id).collect();
    for model in req.models.iter().chain([&req.selector_model]) {
        if !known.contains(model) {
            return Err(invalid(format!("unknown model `{model}`; known models: {}", known.join(", "))));
        }
    }
    let personas = personas::select(all_personas, &req.persona_ids).map_err(|e| invalid(e.to_string()))?;
    let set = PromptSet(prompts::built_in());
    for style in &req.axes.styles {
        if set.generation(style).is_none() {
            return Err(invalid(format!("style `{style}` has no generation prompt (known: terse, guided)")));
        }
    }
    if req.axes.chip_counts.contains(&0) {
        return Err(invalid("chip_counts: 0 is not a chip count".into()));
    }
    if req.concurrency == 0 {
        return Err(invalid("concurrency: 0 must be at least 1".into()));
    }
    if let Some(usd) = req.max_cost_usd.filter(|u| !(u.is_finite() && *u > 0.0)) {
        return Err(invalid(format!("max cost: {usd} must be a positive number of dollars")));
    }
    let matrix = Matrix {
        models: if req.models.is_empty() { known } else { req.models.clone() },
        persona_ids: personas.iter().map(|p| p.id.clone()).collect(),
        axes: req.axes.clone(),
    };
    if matrix.is_empty() {
        return Err(invalid("the matrix is empty: pick at least one model, persona and value per axis".into()));
    }
    Ok(RunConfig {
        matrix,
        personas,
        provider: req.provider,
        base_url: req.base_url.clone(),
        selector_model: req.selector_model.clone(),
        prompts: set.ids(),
        concurrency: req.concurrency,
        max_cost_usd: req.max_cost_usd,
    })
}

/// Creates the run record (status running) for a planned config.
pub fn create_run(store: &Store, config: &RunConfig) -> Result<RunDetail, BenchError> {
    Ok(store.create_run(&NewRun {
        config: serde_json::to_value(config).expect("config serialises"),
        provider: config.provider.as_str().to_owned(),
        is_demo: config.provider == ProviderKind::Mock,
        total_tests: config.matrix.len() as u64,
    })?)
}
