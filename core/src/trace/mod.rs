//! The trace debugger's domain. Every LLM call becomes a [`Span`] (what was sent, what came back,
//! its retries, tokens, cost and timing); the spans of one test, playground session, replay or
//! imported trace form a trace. [`diff`] compares a replay with its original, [`import`] reads
//! spans written by other tools, [`lab`] runs replays and playground calls.

pub mod diff;
pub mod import;
pub mod lab;
pub mod query;
pub mod sent;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::{
    chips, clock, ids,
    llm::{CallKind, ChatRequest, ChatResponse, FailedAttempt, FailureKind, LlmError, Messages, PriceTable, Provider, ProviderKind, RetryPolicy},
};

/// What a trace is the record of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum TraceKind {
    /// One benchmark test; the trace id is the test's result id.
    Test,
    Playground,
    Replay,
    Import,
}

impl TraceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Playground => "playground",
            Self::Replay => "replay",
            Self::Import => "import",
        }
    }

    pub fn parse(s: &str) -> Option<TraceKind> {
        [Self::Test, Self::Playground, Self::Replay, Self::Import].into_iter().find(|k| k.as_str() == s)
    }
}

/// A call's parameters besides its messages: what a replay may change and sends again. Unset
/// ones are left out of the JSON (a batch's calls set one or none of them; writing five nulls
/// per span showed in issue 5's CPU budget); a missing field reads as unset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CallParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// The structured-output schema's name (`chips`, `selection`), absent for free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<String>,
    /// What seeded the mock provider, and how many chips (or step-1 chips) the call was about:
    /// they let a replay on the mock answer an unchanged request exactly as the original was
    /// answered. Kept for the mock's calls only: real providers never see them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub want: Option<u32>,
}

/// One recorded call (or, for imported spans, one step of another tool's trace).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Span {
    pub id: String,
    pub trace_id: String,
    pub parent_id: Option<String>,
    pub trace_kind: TraceKind,
    pub trace_name: String,
    pub run_id: Option<String>,
    /// generation, selection, fill, chat; an imported span keeps its own type.
    pub kind: String,
    pub name: String,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub ok: bool,
    pub error: Option<String>,
    #[cfg_attr(feature = "specta", specta(type = Option<Vec<crate::llm::Message>>))]
    pub messages: Option<Messages>,
    pub params: Option<CallParams>,
    pub response: Option<String>,
    /// The response read by the response contract (chips or selected ids), or why it could not be;
    /// derived from the response when a span is read from the store (not stored).
    pub parsed: Option<serde_json::Value>,
    pub retries: Vec<FailedAttempt>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// At the price table.
    pub cost_usd: f64,
    pub billed_cost_usd: Option<f64>,
    pub latency_ms: u64,
    pub started_at: String,
    pub ended_at: String,
    pub replay_of: Option<String>,
    /// An imported span's attributes, as its tool wrote them.
    pub attributes: Option<serde_json::Value>,
}

impl Span {
    /// Whether this span is an LLM call that can be sent again.
    pub fn is_llm_call(&self) -> bool {
        self.messages.as_ref().is_some_and(|m| !m.is_empty()) && self.model.is_some()
    }

    /// The call as it was made, to send again (a replay edits it) or to show as sent; None for a
    /// span that is not an LLM call. The mock answers it as it answered the original.
    pub fn recorded_request(&self) -> Option<ChatRequest> {
        if !self.is_llm_call() {
            return None;
        }
        let params = self.params.clone().unwrap_or_default();
        Some(ChatRequest {
            model: self.model.clone()?,
            messages: self.messages.clone()?,
            kind: CallKind::parse(&self.kind).unwrap_or(CallKind::Chat),
            temperature: params.temperature,
            max_tokens: params.max_tokens,
            seed_key: params.seed.unwrap_or_else(|| self.id.clone()),
            want: params.want.map_or(10, |w| w as usize),
        })
    }
}

/// Where a call's span belongs.
#[derive(Debug, Clone)]
pub struct SpanContext {
    pub trace_id: String,
    pub trace_kind: TraceKind,
    pub trace_name: String,
    pub run_id: Option<String>,
    pub provider: String,
    pub replay_of: Option<String>,
}

/// A call in flight, announced before it ends (the window shows it live).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SpanStarted {
    pub id: String,
    pub trace_id: String,
    pub trace_name: String,
    pub kind: String,
    pub model: String,
    pub started_at: String,
}

/// Learns of spans as they happen: a call starting, and spans once stored. The window turns
/// these into events; the CLI has none.
pub trait SpanObserver: Send + Sync {
    fn started(&self, span: &SpanStarted);
    fn stored(&self, spans: &[Span]);
}

/// Records one call: [`Recorder::start`] before it, [`Recorder::finish`] with its outcome.
pub struct Recorder {
    pub id: String,
    started_at: String,
    started: std::time::Instant,
}

impl Recorder {
    /// Starts recording a call; `observer` hears of it at once.
    pub fn start(ctx: &SpanContext, req: &ChatRequest, observer: Option<&dyn SpanObserver>) -> Recorder {
        let rec = Recorder { id: ids::new_id(), started_at: clock::now(), started: std::time::Instant::now() };
        if let Some(o) = observer {
            o.started(&SpanStarted {
                id: rec.id.clone(),
                trace_id: ctx.trace_id.clone(),
                trace_name: ctx.trace_name.clone(),
                kind: req.kind.as_str().to_owned(),
                model: req.model.clone(),
                started_at: rec.started_at.clone(),
            });
        }
        rec
    }

    /// The finished span (the request's messages and the response's text move into it);
    /// `cost_usd` is the call's cost at the price table.
    pub fn finish(self, ctx: &SpanContext, req: ChatRequest, outcome: Result<ChatResponse, LlmError>, cost_usd: f64) -> Span {
        let mock = ctx.provider == ProviderKind::Mock.as_str();
        let params = CallParams {
            temperature: req.temperature,
            max_tokens: req.max_tokens,
            response_format: req.kind.schema_name().map(str::to_owned),
            seed: mock.then_some(req.seed_key),
            want: mock.then_some(req.want as u32),
        };
        let mut span = Span {
            id: self.id,
            trace_id: ctx.trace_id.clone(),
            parent_id: None,
            trace_kind: ctx.trace_kind,
            trace_name: ctx.trace_name.clone(),
            run_id: ctx.run_id.clone(),
            kind: req.kind.as_str().to_owned(),
            // Not format!: its machinery cost about 0.5 µs a span in a profile (issue 5's CPU budget).
            name: [req.kind.as_str(), " ", &req.model].concat(),
            provider: Some(ctx.provider.clone()),
            model: Some(req.model),
            ok: outcome.is_ok(),
            error: None,
            messages: Some(req.messages),
            params: Some(params),
            response: None,
            parsed: None,
            retries: Vec::new(),
            input_tokens: 0,
            output_tokens: 0,
            cost_usd,
            billed_cost_usd: None,
            latency_ms: self.started.elapsed().as_millis() as u64,
            started_at: self.started_at,
            ended_at: clock::now(),
            replay_of: ctx.replay_of.clone(),
            attributes: None,
        };
        match outcome {
            Ok(resp) => {
                span.response = Some(resp.text);
                span.retries = resp.retries;
                span.input_tokens = resp.input_tokens;
                span.output_tokens = resp.output_tokens;
                span.billed_cost_usd = resp.billed_cost_usd;
            }
            Err(e) => {
                span.error = Some(format!("{} after {} attempt(s)", e.message, e.attempts));
                span.retries = e.retries;
            }
        }
        span
    }
}

/// One call, recorded: a failure is a span with its error (and the failure's kind), not an `Err`.
pub async fn recorded_call(
    provider: &Provider,
    prices: &PriceTable,
    ctx: &SpanContext,
    req: ChatRequest,
    policy: &RetryPolicy,
    cancel: &CancellationToken,
    observer: Option<&dyn SpanObserver>,
) -> (Span, Option<FailureKind>) {
    let recorder = Recorder::start(ctx, &req, observer);
    let outcome = provider.complete(&req, policy, cancel).await;
    let cost = outcome.as_ref().map_or(0.0, |r| prices.cost(&req.model, r.input_tokens, r.output_tokens));
    let failure = outcome.as_ref().err().map(|e| e.kind);
    (recorder.finish(ctx, req, outcome, cost), failure)
}

/// The response read by its contract: `{"chips": [...]}`, `{"selected_ids": [...]}`, a judge's
/// `{"pass", "rationale"}`, or
/// `{"error": why}` when it does not parse. Free text has none.
pub fn parsed_output(kind: CallKind, text: &str) -> Option<serde_json::Value> {
    let value = match kind {
        CallKind::Generation | CallKind::Fill => chips::parse_chips(text).map(|c| serde_json::json!({ "chips": c })),
        CallKind::Selection => chips::parse_selection(text).map(|ids| serde_json::json!({ "selected_ids": ids })),
        CallKind::Grade => crate::grade::parse_judgement(text).map(|v| serde_json::json!({ "pass": v.pass, "rationale": v.reason })),
        CallKind::Chat => return None,
    };
    Some(value.unwrap_or_else(|e| serde_json::json!({ "error": e })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{FailureKind, Message, Role};

    fn ctx() -> SpanContext {
        SpanContext {
            trace_id: "t".into(),
            trace_kind: TraceKind::Test,
            trace_name: "m / tech_pm".into(),
            run_id: Some("r".into()),
            provider: "mock".into(),
            replay_of: None,
        }
    }

    fn req() -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: vec![Message { role: Role::User, content: "Generate chips".into() }].into(),
            kind: CallKind::Generation,
            temperature: Some(0.2),
            max_tokens: None,
            seed_key: "key/generate".into(),
            want: 2,
        }
    }

    fn retry(n: u32, kind: FailureKind) -> FailedAttempt {
        FailedAttempt { attempt: n, kind, message: format!("failure {n}"), started_ms: 0, ended_ms: 5, wait_ms: 100 }
    }

    #[derive(Default)]
    struct Heard(std::sync::Mutex<Vec<SpanStarted>>);
    impl SpanObserver for Heard {
        fn started(&self, span: &SpanStarted) {
            self.0.lock().unwrap().push(span.clone());
        }
        fn stored(&self, _: &[Span]) {}
    }

    #[test]
    fn a_successful_call_keeps_request_response_and_retries() {
        let heard = Heard::default();
        let rec = Recorder::start(&ctx(), &req(), Some(&heard));
        let started = heard.0.lock().unwrap()[0].clone();
        assert_eq!((started.id.as_str(), started.kind.as_str(), started.model.as_str()), (rec.id.as_str(), "generation", "m"));
        let resp = ChatResponse {
            text: r#"{"chips":[{"text":"budget review","type":"situation"}]}"#.into(),
            input_tokens: 40,
            output_tokens: 12,
            billed_cost_usd: Some(0.002),
            latency_ms: 30,
            attempts: 3,
            retries: vec![retry(1, FailureKind::RateLimited), retry(2, FailureKind::Server)],
        };
        let span = rec.finish(&ctx(), req(), Ok(resp), 0.001);
        assert!(span.ok && span.error.is_none() && span.is_llm_call());
        assert_eq!((span.name.as_str(), span.response.as_deref()), ("generation m", Some(r#"{"chips":[{"text":"budget review","type":"situation"}]}"#)));
        assert_eq!((span.input_tokens, span.output_tokens, span.cost_usd, span.billed_cost_usd), (40, 12, 0.001, Some(0.002)));
        assert_eq!(span.retries.iter().map(|r| r.kind).collect::<Vec<_>>(), vec![FailureKind::RateLimited, FailureKind::Server]);
        let params = span.params.unwrap();
        assert_eq!((params.temperature, params.response_format.as_deref(), params.seed.as_deref()), (Some(0.2), Some("chips"), Some("key/generate")));
        assert!(span.started_at <= span.ended_at);
        assert_eq!((span.trace_id.as_str(), span.run_id.as_deref()), ("t", Some("r")));
    }

    #[test]
    fn only_the_mocks_calls_keep_what_seeded_the_mock() {
        let real = SpanContext { provider: "openrouter".into(), ..ctx() };
        let params = Recorder::start(&real, &req(), None).finish(&real, req(), Err(LlmError::new(FailureKind::Server, "HTTP 503")), 0.0).params.unwrap();
        assert_eq!(params, CallParams { temperature: Some(0.2), response_format: Some("chips".into()), ..Default::default() });
        let params = Recorder::start(&ctx(), &req(), None).finish(&ctx(), req(), Err(LlmError::new(FailureKind::Server, "HTTP 503")), 0.0).params.unwrap();
        assert_eq!((params.seed.as_deref(), params.want), (Some("key/generate"), Some(2)));
    }

    #[test]
    fn call_params_leave_out_what_is_unset_and_read_either_shape() {
        let params = CallParams { response_format: Some("chips".into()), ..Default::default() };
        assert_eq!(serde_json::to_string(&params).unwrap(), r#"{"response_format":"chips"}"#);
        let written_with_nulls = r#"{"temperature":null,"max_tokens":null,"response_format":"chips","seed":null,"want":null}"#;
        assert_eq!(serde_json::from_str::<CallParams>(written_with_nulls).unwrap(), params);
        assert_eq!(serde_json::from_str::<CallParams>("{}").unwrap(), CallParams::default());
    }

    #[test]
    fn a_failed_call_keeps_the_error_and_every_attempt() {
        let rec = Recorder::start(&ctx(), &req(), None);
        let err = LlmError { attempts: 3, retries: vec![retry(1, FailureKind::Server), retry(2, FailureKind::Server)], ..LlmError::new(FailureKind::Server, "HTTP 503") };
        let span = rec.finish(&ctx(), req(), Err(err), 0.0);
        assert!(!span.ok);
        assert_eq!(span.error.as_deref(), Some("HTTP 503 after 3 attempt(s)"));
        assert_eq!(span.retries.len(), 2);
        assert!(span.response.is_none() && span.parsed.is_none());
    }

    #[test]
    fn unparsable_output_is_recorded_as_such() {
        let parsed = parsed_output(CallKind::Generation, "sorry, no list").unwrap();
        assert!(parsed["error"].as_str().is_some(), "{parsed}");
        assert_eq!(parsed_output(CallKind::Selection, r#"{"selected_ids":[2,0]}"#).unwrap()["selected_ids"], serde_json::json!([2, 0]));
        assert_eq!(parsed_output(CallKind::Chat, "hello"), None);
    }
}
