//! One attempt of an OpenAI-compatible chat completion (`POST {base}/chat/completions`):
//! OpenRouter, llama.cpp's server, Ollama, vLLM. Classifies every failure for the retry loop.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use super::{ChatRequest, ChatResponse, FailureKind, LlmError, ProviderKind};

pub const OPENROUTER_BASE_URL: &str = "https://openrouter.ai/api/v1";
/// The header OpenRouter attributes a request to an application by.
pub const OPENROUTER_TITLE: (&str, &str) = ("X-Title", "Chipbench");

/// `M`: the messages as the JSON they already are when sent, as a list when shown indented.
#[derive(Serialize)]
struct Body<'r, M> {
    model: &'r str,
    messages: M,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    /// OpenRouter reports the billed cost only when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Value>,
}

pub struct OpenAiClient {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    kind: ProviderKind,
}

impl std::fmt::Debug for OpenAiClient {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiClient").field("base_url", &self.base_url).field("kind", &self.kind).finish()
    }
}

impl OpenAiClient {
    pub fn new(kind: ProviderKind, base_url: &str, api_key: Option<String>) -> OpenAiClient {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(256)
            .build()
            .expect("a TLS backend is compiled in");
        OpenAiClient { http, base_url: base_url.trim_end_matches('/').to_owned(), api_key, kind }
    }

    pub fn kind(&self) -> ProviderKind {
        self.kind
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub async fn attempt(&self, req: &ChatRequest, timeout: Duration) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let http = self.http.post(format!("{}/chat/completions", self.base_url)).json(&body(self.kind, req, req.messages.json()));
        let text = crate::http::exchange(self.identified(http), timeout, &self.base_url).await?;
        let mut parsed = parse_completion(&text)?;
        parsed.latency_ms = started.elapsed().as_millis() as u64;
        Ok(parsed)
    }

    /// The body of `GET {base}/{path}` (`models`, OpenRouter's `key`: [`super::served`] reads them).
    pub async fn get(&self, path: &str, timeout: Duration) -> Result<String, LlmError> {
        let http = self.http.get(format!("{}/{path}", self.base_url));
        crate::http::exchange(self.identified(http), timeout, &self.base_url).await
    }

    /// A request with the key, and for OpenRouter the application's name.
    fn identified(&self, mut http: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Some(key) = &self.api_key {
            http = http.bearer_auth(key);
        }
        if self.kind == ProviderKind::Openrouter {
            http = http.header(OPENROUTER_TITLE.0, OPENROUTER_TITLE.1);
        }
        http
    }
}

/// The request body. Typed, so the messages can go in as the JSON they already are.
fn body<M: Serialize>(kind: ProviderKind, req: &ChatRequest, messages: M) -> Body<'_, M> {
    Body {
        model: &req.model,
        messages,
        response_format: req.kind.schema_name().map(|name| {
            json!({"type": "json_schema", "json_schema": {"name": name, "strict": true, "schema": req.kind.schema()}})
        }),
        temperature: req.temperature,
        max_tokens: req.max_tokens,
        usage: (kind == ProviderKind::Openrouter).then(|| json!({"include": true})),
    }
}

/// The body [`OpenAiClient::attempt`] sends for `req` to a provider of this kind, indented
/// throughout (the messages' ready JSON would be copied as it is, on one line).
pub fn request_json(kind: ProviderKind, req: &ChatRequest) -> String {
    serde_json::to_string_pretty(&body(kind, req, &*req.messages)).expect("a request body serialises")
}

/// Reads content, token usage and the billed cost from a chat-completion body. A body that is not
/// a completion (a proxy's error page, a truncated stream) is a retryable server failure.
pub fn parse_completion(body: &str) -> Result<ChatResponse, LlmError> {
    let malformed = |why: &str| LlmError::new(FailureKind::Server, format!("malformed completion body ({why}): {}", body.chars().take(200).collect::<String>()));
    let v: Value = serde_json::from_str(body).map_err(|_| malformed("not JSON"))?;
    if let Some(err) = v.get("error") {
        return Err(LlmError::new(FailureKind::Server, format!("provider error in body: {err}")));
    }
    let text = v
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("no choices[0].message.content"))?
        .to_owned();
    let usage = |name: &str| v.pointer(&format!("/usage/{name}")).and_then(Value::as_u64).unwrap_or(0);
    Ok(ChatResponse {
        text,
        input_tokens: usage("prompt_tokens"),
        output_tokens: usage("completion_tokens"),
        billed_cost_usd: v.pointer("/usage/cost").and_then(Value::as_f64),
        latency_ms: 0,
        attempts: 1,
        retries: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_body_yields_text_usage_and_billed_cost() {
        let body = r#"{"choices":[{"message":{"role":"assistant","content":"{\"chips\":[]}"}}],
                       "usage":{"prompt_tokens":120,"completion_tokens":30,"cost":0.00042}}"#;
        let r = parse_completion(body).unwrap();
        assert_eq!((r.text.as_str(), r.input_tokens, r.output_tokens, r.billed_cost_usd), ("{\"chips\":[]}", 120, 30, Some(0.00042)));
        let no_cost = parse_completion(r#"{"choices":[{"message":{"content":"x"}}]}"#).unwrap();
        assert_eq!((no_cost.input_tokens, no_cost.billed_cost_usd), (0, None));
    }

    #[test]
    fn malformed_bodies_are_retryable_server_failures() {
        for body in ["<html>bad gateway</html>", r#"{"choices": []}"#, r#"{"error": {"message": "overloaded"}}"#] {
            let err = parse_completion(body).unwrap_err();
            assert_eq!(err.kind, FailureKind::Server, "{body}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let c = OpenAiClient::new(ProviderKind::Openrouter, OPENROUTER_BASE_URL, Some("sk-or-secret".into()));
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn request_body_asks_for_structured_output() {
        let c = OpenAiClient::new(ProviderKind::Openrouter, "http://x/", None);
        let req = ChatRequest {
            model: "m".into(),
            messages: vec![super::super::Message::user("hi \"there\"")].into(),
            kind: super::super::CallKind::Selection,
            temperature: None,
            max_tokens: None,
            seed_key: "k".into(),
            want: 0,
        };
        let body: Value = serde_json::from_str(&request_json(c.kind(), &req)).unwrap();
        let shown = request_json(c.kind(), &ChatRequest { temperature: Some(0.1), ..req.clone() });
        assert!(shown.starts_with("{\n  \"model\": \"m\",\n  \"messages\": [\n    {\n      \"role\": \"user\""), "in the order sent, indented: {shown}");
        assert!(shown.contains("\"temperature\": 0.1,"), "as sent, not as a widened f64: {shown}");
        assert_eq!(body["messages"], json!([{"role": "user", "content": "hi \"there\""}]));
        assert_eq!(body["response_format"]["json_schema"]["name"], "selection");
        assert!(body.get("temperature").is_none(), "unset parameters are left out");
        assert_eq!(body["usage"]["include"], true, "OpenRouter reports billed cost only when asked");
        assert!(body.get("seed_key").is_none());
        assert_eq!(c.base_url(), "http://x");
    }
}
