//! A recorded LLM call as it went over the wire: the chat-completion body the client sends (made
//! by the client's own code), the endpoint as set now, and a curl command that sends it again.
//! The key is never in it: the command reads it from the environment variable it names.

use serde::Serialize;

use super::{lab::LabError, Span};
use crate::llm::{
    openai::{request_json, OPENROUTER_BASE_URL, OPENROUTER_TITLE},
    settings::Env,
    ProviderKind,
};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SentRequest {
    /// Where it is posted; None for the offline mock, or for an OpenAI-compatible server whose
    /// base URL is not set now.
    pub url: Option<String>,
    /// The request body, indented (for the mock: what an OpenAI-compatible server would get).
    pub body: String,
    /// A shell command that posts the body again, when there is a URL.
    pub curl: Option<String>,
}

/// `span` as sent, with the endpoint and key variable of its provider as `env` sets them now.
pub fn sent_request(span: &Span, env: &dyn Env) -> Result<SentRequest, LabError> {
    let req = span.recorded_request().ok_or_else(|| LabError::not_an_llm_call(span))?;
    // An imported call's provider is not Chipbench's: its body is shown in the common shape.
    let kind = span.provider.as_deref().and_then(ProviderKind::parse).unwrap_or(ProviderKind::Openai);
    let body = request_json(kind, &req);
    let (base, key_variable, headers) = match kind {
        ProviderKind::Openrouter => {
            let base = env.var("OPENROUTER_BASE_URL").unwrap_or_else(|| OPENROUTER_BASE_URL.into());
            (Some(base), Some("OPENROUTER_API_KEY"), vec![format!("{}: {}", OPENROUTER_TITLE.0, OPENROUTER_TITLE.1)])
        }
        // The client sends a key only when one is set.
        ProviderKind::Openai => (env.var("OPENAI_BASE_URL"), env.var("OPENAI_API_KEY").map(|_| "OPENAI_API_KEY"), vec![]),
        ProviderKind::Mock => (None, None, vec![]),
    };
    let url = base.map(|b| format!("{}/chat/completions", b.trim_end_matches('/')));
    let curl = url.as_deref().map(|u| curl(u, key_variable, &headers, &body));
    Ok(SentRequest { url, body, curl })
}

/// `curl` posting `body` from a here-document (quoted, so the shell expands nothing in it; the
/// indented JSON has no line that ends it).
fn curl(url: &str, key_variable: Option<&str>, headers: &[String], body: &str) -> String {
    // Only a NUL byte cannot be quoted, and neither a URL from the environment nor these headers hold one.
    let quote = |s: &str| shlex::try_quote(s).expect("no NUL byte").into_owned();
    let headers = std::iter::once(quote("Content-Type: application/json"))
        .chain(key_variable.map(|var| format!("\"Authorization: Bearer ${var}\"")))
        .chain(headers.iter().map(|h| quote(h)))
        .map(|h| format!("-H {h}"));
    let parts: Vec<String> = std::iter::once(format!("curl {}", quote(url))).chain(headers).chain(["--data-binary @- <<'JSON'".to_owned()]).collect();
    format!("{}\n{body}\nJSON", parts.join(" \\\n  "))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::{llm::Message, store::traces::tests::span, trace::CallParams};

    fn chips_call(provider: &str) -> Span {
        let mut s = span("t", "s-1", "Generate 10 chips", "{}");
        s.provider = Some(provider.into());
        s.params = Some(CallParams { temperature: Some(0.5), response_format: Some("chips".into()), ..CallParams::default() });
        s
    }

    #[test]
    fn an_openrouter_call_is_shown_with_its_endpoint_and_a_curl_that_names_the_key_variable() {
        let env = HashMap::from([("OPENROUTER_API_KEY", "sk-or-secret")]);
        let sent = sent_request(&chips_call("openrouter"), &env).unwrap();
        assert_eq!(sent.url.as_deref(), Some("https://openrouter.ai/api/v1/chat/completions"));
        let body: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
        assert_eq!(body["messages"][0]["content"], "Generate 10 chips");
        assert_eq!((body["temperature"].as_f64(), &body["usage"]["include"]), (Some(0.5), &serde_json::json!(true)));
        let curl = sent.curl.unwrap();
        assert!(curl.starts_with("curl https://openrouter.ai/api/v1/chat/completions \\\n  -H 'Content-Type: application/json'"), "{curl}");
        assert!(curl.contains("Bearer $OPENROUTER_API_KEY") && curl.contains("X-Title: Chipbench"), "{curl}");
        assert!(!curl.contains("sk-or-secret") && !sent.body.contains("sk-or-secret"), "the key itself is never shown");
        assert!(curl.ends_with(&format!("<<'JSON'\n{}\nJSON", sent.body)), "{curl}");
    }

    #[test]
    fn an_openai_compatible_call_needs_its_base_url_set_and_a_mock_call_has_no_endpoint() {
        let unset = sent_request(&chips_call("openai"), &HashMap::new()).unwrap();
        assert_eq!((unset.url, unset.curl), (None, None));
        let env = HashMap::from([("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1/")]);
        let local = sent_request(&chips_call("openai"), &env).unwrap();
        assert_eq!(local.url.as_deref(), Some("http://127.0.0.1:8080/v1/chat/completions"));
        assert!(!local.curl.unwrap().contains("Authorization"), "no key set, none sent");
        let mock = sent_request(&chips_call("mock"), &env).unwrap();
        assert_eq!((mock.url, mock.curl), (None, None));
        assert!(mock.body.contains("\"model\""), "the body an OpenAI-compatible server would get");
    }

    #[test]
    fn a_span_that_is_not_an_llm_call_has_no_request() {
        let mut tool = span("t", "s-2", "p", "r");
        tool.kind = "tool_use".into();
        tool.model = None;
        let err = sent_request(&tool, &HashMap::new()).unwrap_err();
        assert!(err.to_string().contains("`tool_use` span, not an LLM call"), "{err}");
        tool.model = Some("m".into());
        tool.messages = Some(Vec::<Message>::new().into());
        assert!(sent_request(&tool, &HashMap::new()).is_err(), "no messages, no call");
    }
}
