//! One test: the basic or enriched pipeline, normalisation, fill and content errors, exactly as
//! CHIP_BENCHMARK.md says. Content problems become `errors` on a stored result; a call that fails
//! at the transport level after every retry fails the whole test (no result is stored). Every
//! call, failed or not, is a span of the test's trace (trace id = the test's result id).

use std::sync::atomic::{AtomicU64, Ordering};

use tokio_util::sync::CancellationToken;

use super::matrix::{ConstraintType, InputType, TestKey};
use crate::{
    chips::{self, Chip, MIN_CHIPS_PER_TYPE},
    clock,
    ids,
    llm::{CallKind, ChatRequest, LlmError, Message, PriceTable, Provider, RetryPolicy},
    personas::Persona,
    prompts::PromptSet,
    store::{Metrics, NewResult, Outputs},
    trace::{Recorder, Span, SpanContext, SpanObserver, TraceKind},
};

/// What the pipeline needs from the batch around it.
pub struct TestContext<'a> {
    pub provider: &'a Provider,
    pub policy: &'a RetryPolicy,
    pub cancel: &'a CancellationToken,
    pub prices: &'a PriceTable,
    pub prompts: &'a PromptSet,
    pub selector_model: &'a str,
    /// Dollars spent by every call of the batch, in micro-dollars (for the budget).
    pub spent_micro_usd: &'a AtomicU64,
    pub run_id: &'a str,
    pub observer: Option<&'a dyn SpanObserver>,
    pub record_spans: bool,
}

/// Sums latency, tokens and cost over a test's calls, each priced at its own model's price, and
/// keeps each call's span.
struct Meter {
    latency_ms: u64,
    input_tokens: u64,
    output_tokens: u64,
    cost_usd: f64,
    billed_cost_usd: Option<f64>,
    trace: SpanContext,
    spans: Vec<Span>,
    /// The last call's response when spans are not recorded (recorded, it is in its span).
    unrecorded: String,
}

/// A test's outcome and the spans of its calls (also when a call failed for good).
pub struct TestOutcome {
    pub result: Result<NewResult, LlmError>,
    pub spans: Vec<Span>,
}

/// One LLM call of a test.
struct Call<'a> {
    model: &'a str,
    kind: CallKind,
    /// Names the call within the test (seeds the mock): generate, step1, selection, fill.
    step: &'a str,
    prompt: String,
    /// How many chips (or step-1 chips to select from) the call is about.
    want: usize,
}

impl TestContext<'_> {
    /// Makes one call and returns its response text, which lives in the call's span (the text
    /// moves there, not copied: a copy per call showed in a batch's profile) or in the meter.
    async fn call<'m>(&self, meter: &'m mut Meter, key: &TestKey, call: Call<'_>) -> Result<&'m str, LlmError> {
        let Call { model, kind, step, prompt, want } = call;
        let req = ChatRequest {
            model: model.to_owned(),
            messages: vec![Message::user(prompt)].into(),
            kind,
            temperature: None,
            max_tokens: None,
            seed_key: format!("{key}/{step}"),
            want,
        };
        let recorder = self.record_spans.then(|| Recorder::start(&meter.trace, &req, self.observer));
        let outcome = self.provider.complete(&req, self.policy, self.cancel).await;
        let cost = outcome.as_ref().map_or(0.0, |r| self.prices.cost(model, r.input_tokens, r.output_tokens));
        if let Ok(resp) = &outcome {
            self.spent_micro_usd.fetch_add((cost * 1e6).round() as u64, Ordering::Relaxed);
            meter.latency_ms += resp.latency_ms;
            meter.input_tokens += resp.input_tokens;
            meter.output_tokens += resp.output_tokens;
            meter.cost_usd += cost;
            if let Some(billed) = resp.billed_cost_usd {
                meter.billed_cost_usd = Some(meter.billed_cost_usd.unwrap_or(0.0) + billed);
            }
        }
        let Some(recorder) = recorder else {
            meter.unrecorded = outcome?.text;
            return Ok(&meter.unrecorded);
        };
        let failed = outcome.as_ref().err().cloned();
        meter.spans.push(recorder.finish(&meter.trace, req, outcome, cost));
        match failed {
            Some(e) => Err(e),
            None => Ok(meter.spans.last().and_then(|s| s.response.as_deref()).unwrap_or_default()),
        }
    }

    /// A generation call; returns the normalised chips and whether the output parsed.
    async fn generate(&self, meter: &mut Meter, key: &TestKey, persona: &Persona, step: &str, signals: &[Chip], errors: &mut Vec<String>) -> Result<(chips::Normalised, bool), LlmError> {
        let prompt = self.prompts.generation(&key.style).expect("styles are validated before a run starts");
        let constraint = match key.constraint_type {
            ConstraintType::WithConstraint => self.prompts.get("constraint_clause").render(&[("min_per_type", &MIN_CHIPS_PER_TYPE.to_string())]),
            ConstraintType::NoConstraint => String::new(),
        };
        let signals = if signals.is_empty() {
            String::new()
        } else {
            self.prompts.get("signals_clause").render(&[("selected", &bullets(signals))])
        };
        let chip_count = key.chip_count.to_string();
        let text = prompt.render(&[
            ("chip_count", &chip_count),
            ("sector", &persona.sector),
            ("desired_role", &persona.desired_role),
            ("constraint", &constraint),
            ("signals", &signals),
        ]);
        let out = self.call(meter, key, Call { model: &key.model, kind: CallKind::Generation, step, prompt: text, want: key.chip_count as usize }).await?;
        Ok(match chips::parse_chips(out) {
            Ok(raw) => (chips::normalise(&raw, &[], key.chip_count as usize), true),
            Err(e) => {
                errors.push(e);
                (chips::Normalised::default(), false)
            }
        })
    }

    async fn select(&self, meter: &mut Meter, key: &TestKey, persona: &Persona, step1: &[Chip], errors: &mut Vec<String>) -> Result<Vec<Chip>, LlmError> {
        let numbered: String = step1.iter().enumerate().map(|(i, c)| format!("{i}. {} ({})\n", c.text, c.kind.as_str())).collect();
        let text = self.prompts.get("selection").render(&[("persona", &profile(persona)), ("chips", &numbered)]);
        let out = self.call(meter, key, Call { model: self.selector_model, kind: CallKind::Selection, step: "selection", prompt: text, want: step1.len() }).await?;
        Ok(match chips::parse_selection(out) {
            Ok(ids) => chips::select(step1, &ids, errors),
            Err(e) => {
                errors.push(format!("selection: {e}"));
                Vec::new()
            }
        })
    }

    async fn fill(&self, meter: &mut Meter, key: &TestKey, persona: &Persona, existing: &[Chip], plan: &chips::FillPlan, errors: &mut Vec<String>) -> Result<Vec<Chip>, LlmError> {
        let types = if plan.short_types.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = plan.short_types.iter().map(|(t, n)| format!("{n} {}", t.as_str())).collect();
            format!(" Among them include at least: {}.", list.join(", "))
        };
        let text = self.prompts.get("fill").render(&[
            ("sector", &persona.sector),
            ("desired_role", &persona.desired_role),
            ("count", &plan.count.to_string()),
            ("types", &types),
            ("existing", &bullets(existing)),
        ]);
        let out = self.call(meter, key, Call { model: &key.model, kind: CallKind::Fill, step: "fill", prompt: text, want: plan.count }).await?;
        Ok(match chips::parse_chips(out) {
            Ok(raw) => {
                let n = chips::normalise(&raw, existing, plan.count);
                let mut fill_errors = Vec::new();
                n.errors(&mut fill_errors);
                errors.extend(fill_errors.into_iter().map(|e| format!("fill: {e}")));
                n.chips
            }
            Err(e) => {
                errors.push(format!("fill: {e}"));
                Vec::new()
            }
        })
    }
}

fn bullets(chips: &[Chip]) -> String {
    chips.iter().map(|c| format!("- {} ({})\n", c.text, c.kind.as_str())).collect()
}

fn profile(p: &Persona) -> String {
    format!(
        "Name: {}\nSector: {}\nDesired role: {}\nSeniority: {}\nBackground: {}\nGoals: {}",
        p.name, p.sector, p.desired_role, p.seniority, p.background, p.goals
    )
}

/// Runs one test. An `Err` result means a call failed for good (or was cancelled): store no
/// result (its spans still say what happened).
pub async fn run_test(ctx: &TestContext<'_>, key: &TestKey, persona: &Persona) -> TestOutcome {
    let mut meter = Meter {
        latency_ms: 0,
        input_tokens: 0,
        output_tokens: 0,
        cost_usd: 0.0,
        billed_cost_usd: None,
        trace: SpanContext {
            trace_id: ids::result_id(key, ctx.run_id),
            trace_kind: TraceKind::Test,
            trace_name: key.to_string(),
            run_id: Some(ctx.run_id.to_owned()),
            provider: ctx.provider.kind().as_str().to_owned(),
            replay_of: None,
        },
        spans: Vec::new(),
        unrecorded: String::new(),
    };
    let result = test_result(ctx, &mut meter, key, persona).await;
    TestOutcome { result, spans: meter.spans }
}

async fn test_result(ctx: &TestContext<'_>, meter: &mut Meter, key: &TestKey, persona: &Persona) -> Result<NewResult, LlmError> {
    let mut errors = Vec::new();
    let (mut step1_chips, mut selected_chips) = (None, None);
    let (generated, parsed) = match key.input_type {
        InputType::Basic => ctx.generate(meter, key, persona, "generate", &[], &mut errors).await?,
        InputType::Enriched => {
            let mut step1_errors = Vec::new();
            let (step1, _) = ctx.generate(meter, key, persona, "step1", &[], &mut step1_errors).await?;
            step1.errors(&mut step1_errors);
            errors.extend(step1_errors.into_iter().map(|e| format!("step1: {e}")));
            let selected = if step1.chips.is_empty() {
                Vec::new()
            } else {
                ctx.select(meter, key, persona, &step1.chips, &mut errors).await?
            };
            let out = ctx.generate(meter, key, persona, "generate", &selected, &mut errors).await?;
            step1_chips = Some(step1.chips);
            selected_chips = Some(selected);
            out
        }
    };
    generated.errors(&mut errors);
    let chip_count = key.chip_count as usize;
    let constrained = key.constraint_type == ConstraintType::WithConstraint;
    let mut final_chips = generated.chips.clone();
    let mut fill_chips = None;
    if let Some(plan) = chips::fill_plan(&final_chips, chip_count, constrained) {
        let fill = ctx.fill(meter, key, persona, &final_chips, &plan, &mut errors).await?;
        final_chips = chips::merge_fill(final_chips, fill.clone(), chip_count, constrained);
        fill_chips = Some(fill);
    }
    chips::final_errors(&final_chips, chip_count, constrained, &mut errors);
    let metrics = Metrics {
        parsed,
        count_met: final_chips.len() == chip_count,
        constraint_met: !constrained || chips::constraint_met(&final_chips),
        duplicates_removed: generated.duplicates as u32,
        fill_used: fill_chips.is_some(),
        overlong_dropped: generated.overlong as u32,
        unknown_type_dropped: generated.unknown_type as u32,
    };
    Ok(NewResult {
        key: key.clone(),
        outputs: Outputs {
            sector: persona.sector.clone(),
            desired_role: persona.desired_role.clone(),
            final_chips,
            step1_chips,
            selected_chips,
            fill_chips,
            errors,
            input_tokens: meter.input_tokens,
            output_tokens: meter.output_tokens,
            billed_cost_usd: meter.billed_cost_usd,
            metrics,
        },
        latency_ms: meter.latency_ms,
        cost_usd: meter.cost_usd,
        created_at: clock::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{
        mock::{MockConfig, MockProvider},
        Price,
    };

    fn key(input_type: InputType, constraint_type: ConstraintType) -> TestKey {
        TestKey { model: "m".into(), persona_id: "tech_pm".into(), style: "guided".into(), constraint_type, input_type, chip_count: 10 }
    }

    /// A context on `provider` whose parts live for the test (leaked: a test process is short).
    fn context<'a>(provider: &'a Provider, policy: &'a RetryPolicy) -> TestContext<'a> {
        let prices = PriceTable([("m".to_string(), Price { input: 1.0, output: 2.0 }), ("sel".to_string(), Price { input: 10.0, output: 10.0 })].into());
        TestContext {
            provider,
            policy,
            cancel: Box::leak(Box::new(CancellationToken::new())),
            prices: Box::leak(Box::new(prices)),
            prompts: Box::leak(Box::new(PromptSet(crate::prompts::built_in()))),
            selector_model: "sel",
            spent_micro_usd: Box::leak(Box::new(AtomicU64::new(0))),
            run_id: "run",
            observer: None,
            record_spans: true,
        }
    }

    async fn run(k: &TestKey) -> NewResult {
        let provider = Provider::Mock(MockProvider::new(MockConfig { latency_scale: 0.0, fault_rate: 0.0 }));
        let policy = RetryPolicy::default();
        let ctx = context(&provider, &policy);
        let spent = ctx.spent_micro_usd;
        let persona = crate::personas::built_in().remove(0);
        let outcome = run_test(&ctx, k, &persona).await;
        let r = outcome.result.unwrap();
        assert!(outcome.spans.iter().all(|s| s.ok && s.trace_id == ids::result_id(k, "run")), "one trace per test");
        let span_cost: f64 = outcome.spans.iter().map(|s| s.cost_usd).sum();
        assert!((span_cost - r.cost_usd).abs() < 1e-12, "the spans' costs add up to the result's");
        assert_eq!(outcome.spans.iter().map(|s| s.input_tokens).sum::<u64>(), r.outputs.input_tokens);
        assert!((spent.load(Ordering::Relaxed) as f64 / 1e6 - r.cost_usd).abs() < 1e-5, "the budget meter sees every call");
        r
    }

    #[tokio::test]
    async fn basic_tests_have_no_pipeline_steps() {
        let r = run(&key(InputType::Basic, ConstraintType::NoConstraint)).await;
        let o = &r.outputs;
        assert!(o.step1_chips.is_none() && o.selected_chips.is_none());
        assert!(o.final_chips.len() <= 10);
        assert_eq!(o.metrics.count_met, o.final_chips.len() == 10);
    }

    #[tokio::test]
    async fn enriched_tests_record_every_step_and_price_the_selector_separately() {
        let r = run(&key(InputType::Enriched, ConstraintType::WithConstraint)).await;
        let o = &r.outputs;
        let step1 = o.step1_chips.as_ref().expect("enriched keeps step-1 chips");
        let selected = o.selected_chips.as_ref().unwrap();
        assert!(selected.iter().all(|c| step1.contains(c)), "selected chips come from step 1");
        // The selector is priced at 10/10 per million: its call alone costs more than m's tokens at 1/2 would.
        let at_model_price = (o.input_tokens as f64 * 1.0 + o.output_tokens as f64 * 2.0) / 1e6;
        assert!(r.cost_usd > at_model_price, "selector call priced at the selector's price");
        assert_eq!(o.metrics.constraint_met, chips::constraint_met(&o.final_chips));
    }

    #[tokio::test]
    async fn an_enriched_test_is_a_trace_of_its_calls_in_order() {
        let provider = Provider::Mock(MockProvider::new(MockConfig { latency_scale: 0.0, fault_rate: 0.0 }));
        let k = key(InputType::Enriched, ConstraintType::NoConstraint);
        let outcome = run_test(&context(&provider, &RetryPolicy::default()), &k, &crate::personas::built_in().remove(0)).await;
        let kinds: Vec<_> = outcome.spans.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(&kinds[..3], ["generation", "selection", "generation"], "{kinds:?}");
        assert_eq!(outcome.spans[1].model.as_deref(), Some("sel"), "the selection span names the selector");
        assert!(outcome.spans.windows(2).all(|w| w[0].ended_at <= w[1].started_at), "calls run one after another");
    }

    #[tokio::test]
    async fn a_call_that_fails_for_good_leaves_a_span_with_its_retries() {
        let provider = Provider::Mock(MockProvider::new(MockConfig { latency_scale: 0.0, fault_rate: 1.0 }));
        let policy = RetryPolicy { max_attempts: 3, base_delay: std::time::Duration::from_millis(1), ..RetryPolicy::default() };
        let outcome = run_test(&context(&provider, &policy), &key(InputType::Basic, ConstraintType::NoConstraint), &crate::personas::built_in().remove(0)).await;
        assert!(outcome.result.is_err(), "no result");
        let [span] = outcome.spans.as_slice() else { panic!("one span: {:?}", outcome.spans) };
        assert!(!span.ok);
        assert_eq!(span.error.as_deref(), Some("mock: simulated HTTP 503 after 3 attempt(s)"));
        assert_eq!(span.retries.iter().map(|r| r.attempt).collect::<Vec<_>>(), vec![1, 2], "the two retried attempts");
        assert_eq!(span.cost_usd, 0.0);
    }

    #[tokio::test]
    async fn results_are_deterministic_per_key() {
        let k = key(InputType::Enriched, ConstraintType::NoConstraint);
        let (a, b) = (run(&k).await, run(&k).await);
        assert_eq!(a.outputs, b.outputs);
    }
}
