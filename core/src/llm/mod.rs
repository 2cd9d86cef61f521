//! Chat-completion providers behind one [`Provider`]: OpenRouter and any OpenAI-compatible server
//! ([`openai`]), and the offline, deterministic [`mock`]. Every call goes through [`retry`]:
//! timeouts, bounded retries with backoff and jitter, `Retry-After`, cancellation.

pub mod mock;
pub mod openai;
pub mod retry;
pub mod served;
pub mod settings;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use retry::{FailedAttempt, RetryPolicy};
pub use settings::{ProviderSettings, SettingsError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Message {
        Message { role: Role::User, content: content.into() }
    }
}

/// A call's messages and, once made, their JSON: the request body embeds it, and storing the
/// call's span reuses it, where escaping every prompt a second time was a sixth of what recording
/// a span cost a batch (issue 5's CPU budget). The list cannot change after it is made, so the
/// JSON always matches it.
#[derive(Debug, Clone, Default)]
pub struct Messages {
    list: Vec<Message>,
    json: std::sync::OnceLock<Box<serde_json::value::RawValue>>,
}

impl Messages {
    /// The messages as a JSON array, made on first use.
    pub fn json(&self) -> &serde_json::value::RawValue {
        self.json.get_or_init(|| serde_json::value::to_raw_value(&self.list).expect("messages serialise"))
    }

    pub fn into_vec(self) -> Vec<Message> {
        self.list
    }
}

impl From<Vec<Message>> for Messages {
    fn from(list: Vec<Message>) -> Messages {
        Messages { list, json: Default::default() }
    }
}

impl std::ops::Deref for Messages {
    type Target = [Message];
    fn deref(&self) -> &[Message] {
        &self.list
    }
}

impl PartialEq for Messages {
    fn eq(&self, other: &Messages) -> bool {
        self.list == other.list
    }
}

impl Serialize for Messages {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.list.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Messages {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Messages, D::Error> {
        Vec::deserialize(d).map(Messages::from)
    }
}

/// What a call is for; names the structured-output schema (the response contract), if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Generation,
    Selection,
    Fill,
    /// Free text (the playground, a grid cell): no response format.
    Chat,
    /// A grader prompt's verdict on an output (LLM as judge): `{pass, rationale}`.
    Grade,
}

impl CallKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generation => "generation",
            Self::Selection => "selection",
            Self::Fill => "fill",
            Self::Chat => "chat",
            Self::Grade => "grade",
        }
    }

    pub fn parse(s: &str) -> Option<CallKind> {
        [Self::Generation, Self::Selection, Self::Fill, Self::Chat, Self::Grade].into_iter().find(|k| k.as_str() == s)
    }

    /// The structured-output schema's name, for calls that answer the response contract.
    pub fn schema_name(self) -> Option<&'static str> {
        match self {
            Self::Generation | Self::Fill => Some("chips"),
            Self::Selection => Some("selection"),
            Self::Grade => Some("grade"),
            Self::Chat => None,
        }
    }

    pub fn schema(self) -> serde_json::Value {
        match self {
            Self::Chat => serde_json::Value::Null,
            Self::Generation | Self::Fill => serde_json::json!({
                "type": "object",
                "properties": {"chips": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string"},
                        "type": {"type": "string", "enum": ["situation", "jargon", "role_task", "environment"]}
                    },
                    "required": ["text", "type"], "additionalProperties": false
                }}},
                "required": ["chips"], "additionalProperties": false
            }),
            Self::Selection => serde_json::json!({
                "type": "object",
                "properties": {"selected_ids": {"type": "array", "items": {"type": "integer"}}},
                "required": ["selected_ids"], "additionalProperties": false
            }),
            Self::Grade => serde_json::json!({
                "type": "object",
                "properties": {"pass": {"type": "boolean"}, "rationale": {"type": "string"}},
                "required": ["pass", "rationale"], "additionalProperties": false
            }),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Messages,
    pub kind: CallKind,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// Identifies the call within the batch (test key and step). Not sent to real providers;
    /// the mock seeds its generator with it so a result never depends on scheduling order.
    pub seed_key: String,
    /// How many chips (or selections) the caller asked for; a hint for the mock only.
    pub want: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub text: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The provider's billed cost in dollars, when it reports one (OpenRouter does).
    pub billed_cost_usd: Option<f64>,
    pub latency_ms: u64,
    /// Attempts made, including the successful one.
    pub attempts: u32,
    /// The attempts that failed before it.
    pub retries: Vec<FailedAttempt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Connection refused, reset, DNS: retried.
    Connect,
    /// No complete answer within the timeout: retried.
    Timeout,
    /// 429: retried, honouring Retry-After.
    RateLimited,
    /// 5xx or a malformed HTTP body: retried.
    Server,
    /// 401/403: the key is wrong; never retried, stops the run.
    Auth,
    /// Any other 4xx (unknown model, bad request): not retried.
    Rejected,
    Cancelled,
}

impl FailureKind {
    pub fn retryable(self) -> bool {
        matches!(self, Self::Connect | Self::Timeout | Self::RateLimited | Self::Server)
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct LlmError {
    pub kind: FailureKind,
    pub message: String,
    /// How long the server asked us to wait (429/503 `Retry-After`).
    pub retry_after: Option<std::time::Duration>,
    pub attempts: u32,
    /// The attempts that failed before the last one (which is this error).
    pub retries: Vec<FailedAttempt>,
}

impl LlmError {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> LlmError {
        LlmError { kind, message: message.into(), retry_after: None, attempts: 1, retries: Vec::new() }
    }
}

impl crate::error::Coded for LlmError {
    fn code(&self) -> crate::ErrorCode {
        crate::ErrorCode::Provider
    }
}

/// Which provider a run uses; recorded in the run's config (never with a key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Openrouter,
    Openai,
    Mock,
}

impl ProviderKind {
    pub fn parse(s: &str) -> Option<ProviderKind> {
        match s {
            "openrouter" => Some(Self::Openrouter),
            "openai" => Some(Self::Openai),
            "mock" => Some(Self::Mock),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Openrouter => "openrouter",
            Self::Openai => "openai",
            Self::Mock => "mock",
        }
    }
}

pub enum Provider {
    OpenAi(openai::OpenAiClient),
    Mock(mock::MockProvider),
}

impl Provider {
    pub fn kind(&self) -> ProviderKind {
        match self {
            Self::OpenAi(c) => c.kind(),
            Self::Mock(_) => ProviderKind::Mock,
        }
    }

    /// One call with retries. Never returns before `cancel` fires for longer than one poll.
    pub async fn complete(
        &self,
        req: &ChatRequest,
        policy: &RetryPolicy,
        cancel: &CancellationToken,
    ) -> Result<ChatResponse, LlmError> {
        let (resp, retries) = retry::with_retries(policy, cancel, |attempt| async move {
            match self {
                Self::OpenAi(c) => c.attempt(req, policy.attempt_timeout).await.map(|r| ChatResponse { attempts: attempt, ..r }),
                Self::Mock(m) => m.attempt(req, attempt).await,
            }
        })
        .await?;
        Ok(ChatResponse { retries, ..resp })
    }
}

/// A model's price in dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

impl Price {
    pub fn cost(self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.input + output_tokens as f64 * self.output) / 1e6
    }
}

/// Prices by model id, read from the store's `models` table.
#[derive(Debug, Clone, Default)]
pub struct PriceTable(pub HashMap<String, Price>);

impl PriceTable {
    pub fn get(&self, model: &str) -> Option<Price> {
        self.0.get(model).copied()
    }

    pub fn cost(&self, model: &str, input_tokens: u64, output_tokens: u64) -> f64 {
        self.get(model).map_or(0.0, |p| p.cost(input_tokens, output_tokens))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_json_is_the_list_as_json_and_round_trips() {
        let list = vec![Message { role: Role::System, content: "Answer in JSON.".into() }, Message::user("say \"hi\"\nthen stop")];
        let messages = Messages::from(list.clone());
        assert_eq!(messages.json().get(), serde_json::to_string(&list).unwrap());
        let back: Messages = serde_json::from_str(messages.json().get()).unwrap();
        assert_eq!((back == messages, &*back), (true, list.as_slice()), "equal by their list, whether or not the JSON was made");
        assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&list).unwrap(), "serialised as the plain list");
    }

    #[test]
    fn cost_uses_dollars_per_million_tokens() {
        let p = Price { input: 1.0, output: 5.0 };
        assert!((p.cost(1_000, 200) - 0.002).abs() < 1e-12);
        let table = PriceTable([("m".to_string(), p)].into());
        assert_eq!(table.cost("unknown", 10, 10), 0.0);
    }

    #[test]
    fn only_transient_failures_are_retried() {
        use FailureKind::*;
        let retried: Vec<_> =
            [Connect, Timeout, RateLimited, Server, Auth, Rejected, Cancelled].into_iter().filter(|k| k.retryable()).collect();
        assert_eq!(retried, vec![Connect, Timeout, RateLimited, Server]);
    }
}
