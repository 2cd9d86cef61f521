//! The chip benchmark: [`matrix`] (what to run), [`pipeline`] (one test), [`runner`] (a batch).
//! [`prepare_new`] and [`prepare_resume`] turn a request (or a recorded run) into a claimed run and
//! the runner that executes it, so the CLI and the window start and resume runs the same way.

mod matrix;
mod pipeline;
mod runner;

use std::sync::Arc;

use serde::Deserialize;

pub use matrix::{estimate, Axes, ConstraintType, Estimate, InputType, Matrix, RunConfig, TestKey, DEFAULT_SELECTOR};
pub use pipeline::{run_test, TestContext, TestOutcome};
pub use runner::{BenchError, Counts, Outcome, Progress, Runner, StopCause, GRACE};

use crate::{
    llm::{settings::Env, ProviderKind, ProviderSettings, RetryPolicy},
    personas::{self, Persona},
    store::{NewRun, RunDetail, Store},
};

/// What a user asks for when starting a batch.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BatchRequest {
    /// Empty means every model in the price table.
    pub models: Vec<String>,
    /// Empty means every loaded persona.
    pub persona_ids: Vec<String>,
    pub axes: Axes,
    /// None: OpenRouter when `OPENROUTER_API_KEY` is set, else the mock.
    pub provider: Option<ProviderKind>,
    pub base_url: Option<String>,
    /// None: [`DEFAULT_SELECTOR`].
    pub selector_model: Option<String>,
    pub concurrency: usize,
    pub max_cost_usd: Option<f64>,
}

/// A run ready to execute: created or claimed, with the runner for its provider.
pub struct Prepared {
    pub run: RunDetail,
    pub runner: Runner,
}

/// Validates a request against the price table, the personas and the prompts.
pub fn plan_run(store: &Store, req: &BatchRequest, settings: &ProviderSettings, all_personas: &[Persona]) -> Result<RunConfig, BenchError> {
    let invalid = |m: String| BenchError::Config(m);
    let known: Vec<String> = store.models()?.into_iter().map(|m| m.id).collect();
    let selector = req.selector_model.clone().unwrap_or_else(|| DEFAULT_SELECTOR.into());
    // The selector plays the persona in enriched tests only: a basic batch never calls it.
    let enriched = req.axes.input_types.contains(&InputType::Enriched);
    for (field, model) in req.models.iter().map(|m| ("models", m)).chain(enriched.then_some(("selector", &selector))) {
        if !known.contains(model) {
            return Err(invalid(format!(
                "{field}: unknown model `{model}`; known models: {}; add it to the price table first (Settings, or `chipbench add-model {model}`; `chipbench --list-models --base-url URL` lists a server's ids)",
                known.join(", ")
            )));
        }
    }
    let personas = personas::select(all_personas, &req.persona_ids).map_err(|e| invalid(e.to_string()))?;
    // The benchmark's prompts at their current versions: an edited prompt is used by the next run.
    let set = store.benchmark_prompts()?;
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
        provider: settings.kind,
        base_url: settings.base_url.clone(),
        selector_model: selector,
        prompts: set.ids(),
        concurrency: req.concurrency,
        max_cost_usd: req.max_cost_usd,
    })
}

/// The pre-flight estimate of a request: no network, nothing written.
pub fn estimate_request(store: &Store, req: &BatchRequest, env: &dyn Env, all_personas: &[Persona]) -> Result<(Estimate, RunConfig), BenchError> {
    let settings = ProviderSettings::resolve(req.provider, req.base_url.clone(), env)?;
    let config = plan_run(store, req, &settings, all_personas)?;
    let e = estimate(&config.matrix, &store.price_table()?, &config.selector_model, config.concurrency, &settings);
    Ok((e, config))
}

/// Validates a request, creates its run (status running) and the runner for its provider.
pub fn prepare_new(store: &Store, req: &BatchRequest, env: &dyn Env, all_personas: &[Persona]) -> Result<Prepared, BenchError> {
    let settings = ProviderSettings::resolve(req.provider, req.base_url.clone(), env)?;
    let config = plan_run(store, req, &settings, all_personas)?;
    let run = store.create_run(&NewRun {
        config: serde_json::to_value(&config).expect("config serialises"),
        provider: config.provider.as_str().to_owned(),
        is_demo: config.provider == ProviderKind::Mock,
        total_tests: config.matrix.len() as u64,
    })?;
    Ok(Prepared { run, runner: runner(store, &settings) })
}

/// Claims a run to continue it (the given one, or this installation's latest unfinished run),
/// exactly as recorded. The provider is resolved first, so a missing key changes nothing.
pub fn prepare_resume(store: &Store, run_id: Option<&str>, env: &dyn Env) -> Result<Prepared, BenchError> {
    let run = match run_id {
        Some(id) => store.run(id)?,
        None => store.latest_unfinished_run()?.ok_or(BenchError::NothingToResume)?,
    };
    let config = RunConfig::of(&run)?;
    let settings = ProviderSettings::resolve(Some(config.provider), config.base_url, env)?;
    let run = store.claim_run(&run.summary.id)?;
    Ok(Prepared { run, runner: runner(store, &settings) })
}

fn runner(store: &Store, settings: &ProviderSettings) -> Runner {
    Runner { store: store.clone(), provider: Arc::new(settings.build()), policy: RetryPolicy::default(), observer: None, record_spans: true }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::settings::Env;
    use tokio_util::sync::CancellationToken;

    struct Instant;
    impl Env for Instant {
        fn var(&self, name: &str) -> Option<String> {
            (name == "CHIPBENCH_MOCK_LATENCY_SCALE").then(|| "0".into())
        }
    }

    #[derive(Default)]
    struct Observed {
        started: std::sync::Mutex<Vec<String>>,
        stored: std::sync::Mutex<Vec<String>>,
    }
    impl crate::trace::SpanObserver for Observed {
        fn started(&self, span: &crate::trace::SpanStarted) {
            self.started.lock().unwrap().push(span.id.clone());
        }
        fn stored(&self, spans: &[crate::trace::Span]) {
            self.stored.lock().unwrap().extend(spans.iter().map(|s| s.id.clone()));
        }
    }

    fn request(models: &[&str]) -> BatchRequest {
        BatchRequest {
            models: models.iter().map(|m| m.to_string()).collect(),
            persona_ids: vec!["teacher".into()],
            axes: Axes::default(),
            provider: None,
            base_url: None,
            selector_model: None,
            concurrency: 4,
            max_cost_usd: None,
        }
    }

    #[tokio::test]
    async fn a_prepared_run_executes_and_a_finished_run_cannot_be_resumed() {
        let store = Store::open_in_memory().unwrap();
        let p = prepare_new(&store, &request(&["openai/gpt-5-mini"]), &Instant, &personas::built_in()).unwrap();
        assert!(p.run.summary.is_demo, "no key: the mock, and a demo run");
        let observed = Arc::new(Observed::default());
        let runner = Runner { observer: Some(observed.clone()), ..p.runner };
        let outcome = runner.execute(&p.run, CancellationToken::new(), |_| {}).await.unwrap();
        assert_eq!((outcome.stored, outcome.total), (24, 24));
        assert!(matches!(prepare_resume(&store, None, &Instant), Err(BenchError::NothingToResume)));

        // Every call is a span of its test's trace, stored with the result, and observed live.
        let traces = store.traces(&crate::store::TraceFilter { run_id: Some(outcome.run_id.clone()), limit: 100, ..Default::default() }).unwrap();
        assert_eq!(traces.len(), 24, "one trace per test");
        let page = store.results(&crate::store::ResultFilter { run_id: Some(outcome.run_id.clone()), limit: 100, ..Default::default() }).unwrap();
        let spans: u64 = traces.iter().map(|t| t.span_count).sum();
        for r in &page.results {
            let t = store.trace(&r.id, None).unwrap();
            assert!((t.trace.cost_usd - r.cost_usd).abs() < 1e-9, "a test's trace costs what its result does");
            let kinds: Vec<&str> = t.spans.iter().map(|s| s.kind.as_str()).collect();
            assert!(!kinds.is_empty() && kinds.iter().all(|k| ["generation", "selection", "fill"].contains(k)), "{kinds:?}");
        }
        let started = observed.started.lock().unwrap().len() as u64;
        let stored = observed.stored.lock().unwrap().len() as u64;
        assert_eq!((started, stored), (spans, spans), "each span announced when it starts and when stored");
        let err = prepare_resume(&store, Some(&outcome.run_id), &Instant).err().unwrap();
        assert!(err.to_string().contains("already completed"), "{err}");
    }

    #[tokio::test]
    async fn an_edited_benchmark_prompt_is_used_by_the_next_run_which_records_its_version() {
        let store = Store::open_in_memory().unwrap();
        let before = prepare_new(&store, &request(&["openai/gpt-5-mini"]), &Instant, &personas::built_in()).unwrap();
        store.finish_run(&before.run.summary.id, crate::store::RunStatus::Interrupted, None).unwrap();
        let text = "Write {{chip_count}} chips for someone in {{sector}} aiming to be {{desired_role}}.{{constraint}}{{signals}} JSON only: {\"chips\": []}";
        let edited = store.save_prompt("generation_terse", text).unwrap();
        let p = prepare_new(&store, &request(&["openai/gpt-5-mini"]), &Instant, &personas::built_in()).unwrap();
        let config = RunConfig::of(&p.run).unwrap();
        assert_eq!(config.prompts["generation_terse"], edited.prompt.id, "the run records the version it uses");
        assert_eq!(RunConfig::of(&before.run).unwrap().prompts["generation_terse"], crate::prompts::built_in()[0].id, "earlier runs keep theirs");
        let outcome = p.runner.execute(&p.run, CancellationToken::new(), |_| {}).await.unwrap();
        let page = store.results(&crate::store::ResultFilter { run_id: Some(outcome.run_id), limit: 100, ..Default::default() }).unwrap();
        let terse = page.results.iter().find(|r| r.style == "terse").unwrap();
        let sent = &store.trace(&terse.id, None).unwrap().spans[0].messages.clone().unwrap()[0].content;
        assert!(sent.starts_with("Write ") && sent.contains("aiming to be"), "the edited text was sent: {sent}");
    }

    #[test]
    fn plans_are_validated_before_anything_is_written() {
        let store = Store::open_in_memory().unwrap();
        let all = personas::built_in();
        let cases: [(BatchRequest, &str); 6] = [
            (request(&["nope/model"]), "unknown model `nope/model`"),
            (request(&["nope/model"]), "add it to the price table first (Settings, or `chipbench add-model nope/model`"),
            (BatchRequest { selector_model: Some("nope/selector".into()), ..request(&[]) }, "selector: unknown model `nope/selector`"),
            (BatchRequest { concurrency: 0, ..request(&[]) }, "concurrency: 0 must be at least 1"),
            (BatchRequest { max_cost_usd: Some(-1.0), ..request(&[]) }, "max cost: -1 must be a positive number of dollars"),
            (BatchRequest { axes: Axes { chip_counts: vec![], ..Axes::default() }, ..request(&[]) }, "the matrix is empty"),
        ];
        for (req, message) in cases {
            let err = prepare_new(&store, &req, &Instant, &all).err().expect("refused");
            assert!(err.to_string().contains(message), "{err}");
        }
        assert_eq!(store.run_count().unwrap(), 0);
        let (e, _) = estimate_request(&store, &request(&[]), &Instant, &all).unwrap();
        assert_eq!(e.tests, 10 * 24, "every model when none is named");
        assert_eq!(e.minutes, 0.0, "the instant mock takes no time");
        let basic = BatchRequest { selector_model: Some("nope/selector".into()), axes: Axes { input_types: vec![InputType::Basic], ..Axes::default() }, ..request(&[]) };
        assert!(estimate_request(&store, &basic, &Instant, &all).is_ok(), "a basic batch never calls the selector, so any will do");
    }
}
