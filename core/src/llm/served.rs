//! What an endpoint serves: `GET {base}/models` of OpenRouter or an OpenAI-compatible server
//! (llama.cpp, Ollama, vLLM). Checks the URL before a batch and gives the exact model ids (and,
//! from OpenRouter, the prices) to put in the price table. OpenRouter lists its models to anyone,
//! so its key is checked by `GET {base}/key`, which also tells what the key has spent; other
//! servers check a key only where they guard their model list.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::{openai::OpenAiClient, FailureKind, LlmError, Price, Provider, ProviderKind, ProviderSettings};

/// Long enough for OpenRouter's list of several hundred models on a slow line.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A model an endpoint serves.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ServedModel {
    pub id: String,
    /// Its display name, when the endpoint gives one (OpenRouter does).
    pub name: Option<String>,
    /// Dollars per million tokens, when the endpoint gives a fixed price (OpenRouter does).
    pub price: Option<Price>,
}

/// What an OpenRouter key has spent, in dollars, and its limit (None: none set).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct KeyCredit {
    pub usage_usd: f64,
    pub limit_usd: Option<f64>,
}

/// An endpoint's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ServedModels {
    pub url: String,
    pub latency_ms: u64,
    /// By id.
    pub models: Vec<ServedModel>,
    /// OpenRouter's: the key was accepted.
    pub credit: Option<KeyCredit>,
}

/// Asks the provider's endpoint which models it serves. The mock has no endpoint.
pub async fn served_models(settings: &ProviderSettings) -> Result<ServedModels, LlmError> {
    let Provider::OpenAi(client) = settings.build() else {
        return Err(LlmError::new(
            FailureKind::Rejected,
            "the mock provider is offline and answers any model of the price table: there is no endpoint to check",
        ));
    };
    let started = Instant::now();
    let (url, body) = fetch(&client, settings.kind, "models").await?;
    let models = parse_model_list(&url, &body)?;
    let latency_ms = started.elapsed().as_millis() as u64;
    let credit = match settings.kind {
        ProviderKind::Openrouter => {
            let (key_url, body) = fetch(&client, settings.kind, "key").await?;
            Some(parse_credit(&key_url, &body)?)
        }
        _ => None,
    };
    Ok(ServedModels { url, latency_ms, models, credit })
}

/// `GET {base}/{path}`: its URL and body; refused credentials say which key to check.
async fn fetch(client: &OpenAiClient, kind: ProviderKind, path: &str) -> Result<(String, String), LlmError> {
    let url = format!("{}/{path}", client.base_url());
    match client.get(path, TIMEOUT).await {
        Ok(body) => Ok((url, body)),
        Err(e) if e.kind == FailureKind::Auth => {
            Err(LlmError { message: format!("{url} refused the credentials ({}): check the {} API key", e.message, kind.as_str()), ..e })
        }
        Err(e) => Err(e),
    }
}

/// A 2xx answer that is not what `url` should say (`expected`), with how it starts.
fn not_understood(url: &str, expected: &str, body: &str) -> LlmError {
    let start: String = body.chars().take(200).collect();
    LlmError::new(FailureKind::Rejected, format!("{url} did not {expected}: {start}"))
}

/// Reads OpenRouter's `{"data": {"usage": 0.1, "limit": 5 | null, …}}`.
pub fn parse_credit(url: &str, body: &str) -> Result<KeyCredit, LlmError> {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    let usage_usd = v.pointer("/data/usage").and_then(Value::as_f64).ok_or_else(|| not_understood(url, "say what the key has spent (`data.usage`)", body))?;
    Ok(KeyCredit { usage_usd, limit_usd: v.pointer("/data/limit").and_then(Value::as_f64) })
}

/// Reads `{"data": [{"id", "name"?, "pricing"?: {"prompt", "completion"}}]}`; OpenRouter's
/// prices are dollars per token as decimal strings, and negative for models routed at call time.
pub fn parse_model_list(url: &str, body: &str) -> Result<Vec<ServedModel>, LlmError> {
    let not_a_list = || not_understood(url, "answer with a model list (`data`: [{\"id\": …}])", body);
    let v: Value = serde_json::from_str(body).map_err(|_| not_a_list())?;
    let data = v.get("data").and_then(Value::as_array).ok_or_else(not_a_list)?;
    let mut models: Vec<ServedModel> = data
        .iter()
        .filter_map(|m| {
            let id = m.get("id")?.as_str()?.to_owned();
            let name = m.get("name").and_then(Value::as_str).map(str::to_owned);
            Some(ServedModel { id, name, price: price(m.get("pricing")) })
        })
        .collect();
    if models.is_empty() && !data.is_empty() {
        return Err(not_a_list());
    }
    models.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(models)
}

fn price(pricing: Option<&Value>) -> Option<Price> {
    let per_million = |field: &str| {
        let per_token: f64 = pricing?.get(field)?.as_str()?.parse().ok()?;
        // Rounded to a millionth of a dollar: 0.0000003 * 1e6 would read 0.30000000000000004.
        (per_token >= 0.0).then(|| (per_token * 1e12).round() / 1e6)
    };
    Some(Price { input: per_million("prompt")?, output: per_million("completion")? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ProviderKind;

    const URL: &str = "http://127.0.0.1:8080/v1/models";

    #[test]
    fn reads_ids_names_and_openrouters_prices() {
        let body = r#"{"data": [
            {"id": "openai/gpt-5-mini", "name": "OpenAI: GPT-5 Mini", "pricing": {"prompt": "0.00000025", "completion": "0.000002"}},
            {"id": "openrouter/auto", "name": "Auto Router", "pricing": {"prompt": "-1", "completion": "-1"}},
            {"id": "anthropic/claude-haiku-4.5", "pricing": {"prompt": "0.000001", "completion": "0.000005", "image": "0"}}
        ]}"#;
        let models = parse_model_list(URL, body).unwrap();
        assert_eq!(models.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["anthropic/claude-haiku-4.5", "openai/gpt-5-mini", "openrouter/auto"]);
        assert_eq!(models[0].price, Some(Price { input: 1.0, output: 5.0 }));
        assert_eq!(models[1].price, Some(Price { input: 0.25, output: 2.0 }), "dollars per million, without float noise");
        assert_eq!(models[1].name.as_deref(), Some("OpenAI: GPT-5 Mini"));
        assert_eq!(models[2].price, None, "a router's price is known only per call");
    }

    #[test]
    fn reads_a_local_servers_list_without_prices() {
        let body = r#"{"object": "list", "data": [{"id": "qwen2.5-0.5b-instruct-q4_k_m.gguf", "object": "model", "owned_by": "llamacpp", "meta": {"n_params": 494032768}}]}"#;
        let models = parse_model_list(URL, body).unwrap();
        assert_eq!(models, [ServedModel { id: "qwen2.5-0.5b-instruct-q4_k_m.gguf".into(), name: None, price: None }]);
        assert!(parse_model_list(URL, r#"{"data": []}"#).unwrap().is_empty(), "a server with no model loaded");
    }

    #[test]
    fn anything_else_is_named_with_the_url_and_what_came() {
        for body in ["<html>Not Found</html>", r#"{"models": ["a"]}"#, r#"{"data": [{"name": "no id"}]}"#] {
            let e = parse_model_list(URL, body).unwrap_err();
            assert_eq!(e.kind, FailureKind::Rejected);
            assert!(e.message.starts_with(&format!("{URL} did not answer with a model list")) && e.message.contains(&body[..8]), "{}", e.message);
        }
    }

    #[test]
    fn reads_what_an_openrouter_key_has_spent() {
        let body = r#"{"data": {"label": "sk-or-v1-116...0ce", "limit": 5, "usage": 0.1015644762, "limit_remaining": 4.8984355238, "is_free_tier": false}}"#;
        assert_eq!(parse_credit(URL, body).unwrap(), KeyCredit { usage_usd: 0.1015644762, limit_usd: Some(5.0) });
        assert_eq!(parse_credit(URL, r#"{"data": {"usage": 0, "limit": null}}"#).unwrap().limit_usd, None, "no limit set");
        let e = parse_credit(URL, "<html>").unwrap_err();
        assert!(e.message.contains("did not say what the key has spent") && e.message.ends_with("<html>"), "{}", e.message);
    }

    #[tokio::test]
    async fn the_mock_has_no_endpoint_to_check() {
        let settings = ProviderSettings::resolve(Some(ProviderKind::Mock), None, &std::collections::HashMap::new()).unwrap();
        let e = served_models(&settings).await.unwrap_err();
        assert!(e.message.contains("no endpoint to check"), "{}", e.message);
    }
}
