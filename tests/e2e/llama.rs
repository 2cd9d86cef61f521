//! The OpenAI-compatible client against a real llama.cpp server (xllamacpp + SmolLM2-135M), started
//! by scripts/test.sh, which exports CHIPBENCH_LLAMA_URL. Under CI the server is required.

use std::time::Duration;

use chipbench_core::llm::{openai::OpenAiClient, CallKind, ChatRequest, Message, Provider, ProviderKind, RetryPolicy};
use tokio_util::sync::CancellationToken;

fn llama_url() -> Option<String> {
    let url = std::env::var("CHIPBENCH_LLAMA_URL").ok();
    if chipbench_e2e::available("a llama.cpp server (CHIPBENCH_LLAMA_URL)", url.is_some()) {
        url
    } else {
        None
    }
}

#[tokio::test]
async fn the_client_speaks_to_a_real_llama_cpp_server() {
    let Some(url) = llama_url() else { return };
    let provider = Provider::OpenAi(OpenAiClient::new(ProviderKind::Openai, &url, None));
    let req = ChatRequest {
        model: "smollm2".into(),
        messages: vec![Message::user("List three short phrases a nurse uses at work, as JSON.")].into(),
        kind: CallKind::Generation,
        temperature: Some(0.0),
        max_tokens: Some(96),
        seed_key: "llama".into(),
        want: 3,
    };
    let policy = RetryPolicy { attempt_timeout: Duration::from_secs(120), ..RetryPolicy::default() };
    let r = provider.complete(&req, &policy, &CancellationToken::new()).await.expect("a real server answers");
    assert!(!r.text.is_empty(), "a completion came back");
    assert!(r.input_tokens > 10 && r.output_tokens > 0, "usage is reported: {r:?}");
    // llama.cpp turns our response_format json_schema into a grammar: the answer is the contract's
    // object from its first character (a 135M model may still run out of tokens before closing it).
    assert!(r.text.trim_start().starts_with("{") && r.text.contains("\"chips\""), "structured output was applied: {}", r.text);
    let parsed = chipbench_core::chips::parse_chips(&r.text);
    // Its model list: what `--list-models --base-url` and Settings' Check show.
    let settings = chipbench_core::llm::ProviderSettings::resolve(Some(ProviderKind::Openai), Some(url.clone()), &std::collections::HashMap::new()).unwrap();
    let served = chipbench_core::llm::served::served_models(&settings).await.expect("llama.cpp lists its model");
    assert_eq!(served.models.len(), 1, "one model loaded: {served:?}");
    assert!(served.models[0].id.to_lowercase().contains("smollm2") && served.models[0].price.is_none(), "{served:?}");
    eprintln!("llama.cpp answered {} tokens in {} ms; parsed: {:?}", r.output_tokens, r.latency_ms, parsed.as_ref().map(Vec::len));
}
