//! Calls made from the trace debugger: a replay of a recorded LLM call with edits, and playground
//! prompts sent to up to four models side by side. Each call is recorded as a span of its own trace
//! (a replay links to the span it replays). Everything is validated, and the provider resolved,
//! before any call is made, so a refused request stores nothing.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{diff, recorded_call, Span, SpanContext, SpanObserver, TraceKind};
use crate::{
    ids,
    llm::{settings::Env, CallKind, ChatRequest, Message, PriceTable, ProviderKind, ProviderSettings, RetryPolicy, Role, SettingsError},
    store::{Store, StoreError},
};

/// At most this many models answer one playground prompt side by side.
pub const MAX_PLAYGROUND_MODELS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("span `{id}` is a `{kind}` span, not an LLM call; only LLM calls can be replayed or shown as sent")]
    NotAnLlmCall { id: String, kind: String },
    #[error("model: unknown model `{0}`; add it to the price table in Settings first")]
    UnknownModel(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LabError {
    pub fn not_an_llm_call(span: &Span) -> LabError {
        LabError::NotAnLlmCall { id: span.id.clone(), kind: span.kind.clone() }
    }
}

impl crate::error::Coded for LabError {
    fn code(&self) -> crate::ErrorCode {
        match self {
            Self::NotAnLlmCall { .. } | Self::UnknownModel(_) | Self::Invalid(_) => crate::ErrorCode::Validation,
            Self::Settings(e) => e.code(),
            Self::Store(e) => e.code(),
        }
    }
}

/// A replay: the recorded span, with whatever is given here changed.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default)]
pub struct ReplayRequest {
    pub span_id: String,
    pub messages: Option<Vec<Message>>,
    pub model: Option<String>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// Defaults to the original's provider when Chipbench knows it, else the default provider.
    pub provider: Option<ProviderKind>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReplayOutcome {
    pub span: Span,
    /// Present when both the original and the replay have a response.
    pub diff: Option<diff::ResponseDiff>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default)]
pub struct PlaygroundRequest {
    /// Continue this playground session (a chat's next turn); a new session when absent.
    pub trace_id: Option<String>,
    /// The conversation: an optional system message, then turns ending with the user's prompt.
    pub messages: Vec<Message>,
    pub models: Vec<String>,
    pub provider: Option<ProviderKind>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
}

/// What a lab call needs around it.
pub struct Lab<'a> {
    pub store: &'a Store,
    pub env: &'a dyn Env,
    pub policy: RetryPolicy,
    pub cancel: CancellationToken,
    pub observer: Option<Arc<dyn SpanObserver>>,
}

impl Lab<'_> {
    /// Sends a recorded LLM call again with the request's edits; stores and returns the replay.
    pub async fn replay(&self, req: &ReplayRequest) -> Result<ReplayOutcome, LabError> {
        let original = self.store.span(&req.span_id)?;
        let recorded = original.recorded_request().ok_or_else(|| LabError::not_an_llm_call(&original))?;
        let model = req.model.clone().unwrap_or(recorded.model);
        let prices = self.known_models(std::slice::from_ref(&model))?;
        let messages = req.messages.clone().unwrap_or_else(|| recorded.messages.into_vec());
        check_messages(&messages)?;
        let recorded_provider = original.provider.as_deref().and_then(ProviderKind::parse);
        let provider = ProviderSettings::resolve(req.provider.or(recorded_provider), None, self.env)?.build();
        let chat = ChatRequest {
            model,
            messages: messages.into(),
            temperature: req.temperature.or(recorded.temperature),
            max_tokens: req.max_tokens.or(recorded.max_tokens),
            ..recorded
        };
        let ctx = SpanContext {
            trace_id: ids::new_id(),
            trace_kind: TraceKind::Replay,
            trace_name: format!("replay of {}", original.name),
            run_id: None,
            provider: provider.kind().as_str().to_owned(),
            replay_of: Some(original.id.clone()),
        };
        let (span, _) = recorded_call(&provider, &prices, &ctx, chat, &self.policy, &self.cancel, self.observer.as_deref()).await;
        self.store_spans(std::slice::from_ref(&span))?;
        let diff = original.response.as_deref().zip(span.response.as_deref()).map(|(a, b)| diff::diff(a, b));
        Ok(ReplayOutcome { span, diff })
    }

    /// Sends the conversation to each model at once; returns their spans in the models' order.
    pub async fn playground(&self, req: &PlaygroundRequest) -> Result<Vec<Span>, LabError> {
        match req.models.len() {
            0 => return Err(LabError::Invalid("models: choose at least one model".into())),
            n if n > MAX_PLAYGROUND_MODELS => {
                return Err(LabError::Invalid(format!("models: {n} models chosen; at most {MAX_PLAYGROUND_MODELS} answer side by side")));
            }
            _ => {}
        }
        check_messages(&req.messages)?;
        let prices = self.known_models(&req.models)?;
        let provider = Arc::new(ProviderSettings::resolve(req.provider, None, self.env)?.build());
        let prompt = req.messages.last().map(|m| m.content.as_str()).unwrap_or_default();
        let ctx = SpanContext {
            trace_id: req.trace_id.clone().unwrap_or_else(ids::new_id),
            trace_kind: TraceKind::Playground,
            trace_name: format!("playground: {}", prompt.chars().take(60).collect::<String>()),
            run_id: None,
            provider: provider.kind().as_str().to_owned(),
            replay_of: None,
        };
        let mut calls = JoinSet::new();
        for (i, model) in req.models.iter().enumerate() {
            let chat = ChatRequest {
                model: model.clone(),
                messages: req.messages.clone().into(),
                kind: CallKind::Chat,
                temperature: req.temperature,
                max_tokens: req.max_tokens,
                seed_key: format!("{}/{}", ctx.trace_id, req.messages.len()),
                want: 0,
            };
            let (provider, prices, ctx, policy, cancel, observer) =
                (provider.clone(), prices.clone(), ctx.clone(), self.policy.clone(), self.cancel.clone(), self.observer.clone());
            calls.spawn(async move { (i, recorded_call(&provider, &prices, &ctx, chat, &policy, &cancel, observer.as_deref()).await.0) });
        }
        let mut spans: Vec<(usize, Span)> = calls.join_all().await;
        spans.sort_by_key(|(i, _)| *i);
        let spans: Vec<Span> = spans.into_iter().map(|(_, s)| s).collect();
        self.store_spans(&spans)?;
        Ok(spans)
    }

    fn known_models(&self, models: &[String]) -> Result<PriceTable, LabError> {
        let prices = self.store.price_table()?;
        match models.iter().find(|m| prices.get(m).is_none()) {
            Some(unknown) => Err(LabError::UnknownModel(unknown.clone())),
            None => Ok(prices),
        }
    }

    fn store_spans(&self, spans: &[Span]) -> Result<(), LabError> {
        self.store.insert_spans(spans)?;
        if let Some(o) = &self.observer {
            o.stored(spans);
        }
        Ok(())
    }
}

/// The conversation must end with a user prompt that says something.
fn check_messages(messages: &[Message]) -> Result<(), LabError> {
    match messages.last() {
        Some(m) if m.role == Role::User && !m.content.trim().is_empty() => Ok(()),
        Some(m) if m.role == Role::User => Err(LabError::Invalid("prompt: the user message is empty".into())),
        Some(_) => Err(LabError::Invalid("messages: the last message must be the user's prompt".into())),
        None => Err(LabError::Invalid("prompt: the user message is empty".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{store::tests::temp_store, trace::diff::Change};
    use std::collections::HashMap;

    fn instant() -> HashMap<&'static str, &'static str> {
        [("CHIPBENCH_MOCK_LATENCY_SCALE", "0")].into()
    }

    fn lab<'a>(store: &'a Store, env: &'a dyn Env) -> Lab<'a> {
        Lab { store, env, policy: RetryPolicy::default(), cancel: CancellationToken::new(), observer: None }
    }

    /// A recorded generation call of a mock run, as the pipeline stores it.
    async fn recorded(store: &Store) -> Span {
        let env = instant();
        let spans = lab(store, &env).playground(&PlaygroundRequest { messages: vec![Message::user("hello")], models: vec!["openai/gpt-5-mini".into()], ..Default::default() }).await.unwrap();
        let mut span = spans[0].clone();
        span.id = ids::new_id();
        span.trace_id = ids::new_id();
        span.kind = "generation".into();
        span.messages = Some(vec![Message::user("Generate 6 chips for a person in Healthcare who wants to become Charge Nurse")].into());
        span.params = Some(crate::trace::CallParams { response_format: Some("chips".into()), seed: Some("key/generate".into()), ..Default::default() });
        span.response = Some(r#"{"chips":[]}"#.into());
        store.insert_spans(std::slice::from_ref(&span)).unwrap();
        span
    }

    #[tokio::test]
    async fn a_replay_with_an_edited_prompt_is_stored_linked_and_diffed() {
        let (_d, store) = temp_store();
        let env = instant();
        let original = recorded(&store).await;
        let unchanged = lab(&store, &env).replay(&ReplayRequest { span_id: original.id.clone(), ..Default::default() }).await.unwrap();
        let edited = ReplayRequest {
            span_id: original.id.clone(),
            messages: Some(vec![Message::user("Generate 6 chips for a person in Aviation who wants to become Dispatcher")]),
            ..Default::default()
        };
        let a = lab(&store, &env).replay(&edited).await.unwrap();
        let b = lab(&store, &env).replay(&edited).await.unwrap();
        assert_eq!(a.span.response, b.span.response, "the mock answers the same request the same way");
        assert_ne!(a.span.response, unchanged.span.response, "the edit changed the answer");
        assert_eq!(a.span.replay_of.as_deref(), Some(original.id.as_str()));
        assert_eq!(a.span.trace_kind, TraceKind::Replay);
        let diff = a.diff.unwrap();
        assert!(diff.text.iter().any(|p| p.change == Change::Added), "the text diff shows what is new");
        assert!(diff.chips.unwrap().iter().all(|c| c.change == Change::Added), "the original had no chips");
        let replays = store.trace(&original.trace_id, None).unwrap().replays;
        assert_eq!(replays.len(), 3, "every replay is linked to the original");
    }

    #[tokio::test]
    async fn bad_replays_and_playground_calls_store_nothing() {
        let (_d, store) = temp_store();
        let env = instant();
        let original = recorded(&store).await;
        let mut tool = original.clone();
        tool.id = ids::new_id();
        tool.kind = "tool_use".into();
        tool.messages = None;
        store.insert_spans(std::slice::from_ref(&tool)).unwrap();
        let before = store.traces(&Default::default()).unwrap().len();

        let err = lab(&store, &env).replay(&ReplayRequest { span_id: tool.id.clone(), ..Default::default() }).await.unwrap_err();
        assert!(err.to_string().contains("`tool_use` span, not an LLM call"), "{err}");
        let err = lab(&store, &env).replay(&ReplayRequest { span_id: original.id.clone(), model: Some("nope/x".into()), ..Default::default() }).await.unwrap_err();
        assert_eq!(err.to_string(), "model: unknown model `nope/x`; add it to the price table in Settings first");
        let err = lab(&store, &env).replay(&ReplayRequest { span_id: "missing".into(), ..Default::default() }).await.unwrap_err();
        assert!(err.to_string().contains("span `missing` not found"), "{err}");

        let ask = |models: Vec<&str>, provider| PlaygroundRequest {
            messages: vec![Message { role: Role::System, content: "Be brief.".into() }, Message::user("What is a KPI?")],
            models: models.into_iter().map(String::from).collect(),
            provider,
            ..Default::default()
        };
        let err = lab(&store, &env).playground(&ask(vec!["openai/gpt-5-mini"], Some(ProviderKind::Openrouter))).await.unwrap_err();
        assert!(err.to_string().contains("OPENROUTER_API_KEY is not set"), "no key for the provider: {err}");
        let five = vec!["openai/gpt-5-mini"; 5];
        let err = lab(&store, &env).playground(&ask(five, None)).await.unwrap_err();
        assert!(err.to_string().contains("5 models chosen; at most 4"), "{err}");
        let err = lab(&store, &env).playground(&PlaygroundRequest { messages: vec![Message::user("  ")], ..ask(vec!["openai/gpt-5-mini"], None) }).await.unwrap_err();
        assert!(err.to_string().contains("prompt: the user message is empty"), "{err}");
        assert_eq!(store.traces(&Default::default()).unwrap().len(), before, "nothing stored");
    }

    #[tokio::test]
    async fn a_playground_prompt_goes_to_each_model_in_one_session() {
        let (_d, store) = temp_store();
        let env = instant();
        let models = vec!["openai/gpt-5-mini".to_string(), "anthropic/claude-haiku-4.5".to_string()];
        let req = PlaygroundRequest { messages: vec![Message::user("Explain throughput budgets")], models: models.clone(), ..Default::default() };
        let first = lab(&store, &env).playground(&req).await.unwrap();
        assert_eq!(first.iter().map(|s| s.model.clone().unwrap()).collect::<Vec<_>>(), models, "in the models' order");
        assert!(first.iter().all(|s| s.ok && s.kind == "chat" && s.response.as_deref().unwrap().contains("mock reply")));
        let trace_id = first[0].trace_id.clone();
        let mut turn = req.messages.clone();
        turn.extend([Message { role: Role::Assistant, content: first[0].response.clone().unwrap() }, Message::user("And latency?")]);
        lab(&store, &env).playground(&PlaygroundRequest { trace_id: Some(trace_id.clone()), messages: turn, models: vec![models[0].clone()], ..Default::default() }).await.unwrap();
        let t = store.trace(&trace_id, None).unwrap();
        assert_eq!((t.trace.kind, t.spans.len()), (TraceKind::Playground, 3), "the chat's next turn joins its session");
    }
}
