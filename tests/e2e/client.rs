//! The OpenAI-compatible client and retry policy against the fake provider's faults.

use std::time::{Duration, Instant};

use chipbench_core::{
    llm::{openai::OpenAiClient, CallKind, ChatRequest, FailureKind, Message, PriceTable, Provider, ProviderKind, RetryPolicy},
    trace::{recorded_call, sent::sent_request, SpanContext, TraceKind},
};
use chipbench_e2e::{FakeProvider, Reply};
use tokio_util::sync::CancellationToken;

fn request() -> ChatRequest {
    ChatRequest {
        model: "test/model".into(),
        messages: vec![Message::user("Generate 10 chips for a nurse")].into(),
        kind: CallKind::Generation,
        temperature: None,
        max_tokens: None,
        seed_key: "k".into(),
        want: 10,
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy { base_delay: Duration::from_millis(10), max_delay: Duration::from_millis(50), attempt_timeout: Duration::from_millis(800), ..RetryPolicy::default() }
}

fn provider(fake: &FakeProvider, key: Option<&str>) -> Provider {
    Provider::OpenAi(OpenAiClient::new(ProviderKind::Openai, &fake.base_url(), key.map(str::to_owned)))
}

#[tokio::test]
async fn a_healthy_call_returns_content_and_usage_and_sends_the_key() {
    let fake = FakeProvider::start().await;
    let r = provider(&fake, Some("sk-test")).complete(&request(), &policy(), &CancellationToken::new()).await.unwrap();
    assert!(chipbench_core::chips::parse_chips(&r.text).is_ok());
    assert_eq!((r.input_tokens, r.output_tokens, r.attempts), (200, 100, 1));
    let body = &fake.bodies()[0];
    assert_eq!(body["response_format"]["json_schema"]["name"], "chips");
    assert_eq!(body["authorization"], "Bearer sk-test");
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_servers_wait_in_seconds_and_dates() {
    let fake = FakeProvider::start().await;
    let date = httpdate_in(4);
    fake.script([Reply::RateLimited("1".into()), Reply::RateLimited(date)]);
    let started = Instant::now();
    let r = provider(&fake, None).complete(&request(), &policy(), &CancellationToken::new()).await.unwrap();
    assert_eq!(r.attempts, 3);
    // What a span records: each refused attempt, why, and the wait the server asked for.
    let retries: Vec<_> = r.retries.iter().map(|a| (a.attempt, a.kind, a.message.starts_with("HTTP 429"))).collect();
    assert_eq!(retries, vec![(1, FailureKind::RateLimited, true), (2, FailureKind::RateLimited, true)]);
    assert_eq!(r.retries[0].wait_ms, 1000, "Retry-After: 1");
    assert!((2000..=4000).contains(&r.retries[1].wait_ms), "until the date: {}", r.retries[1].wait_ms);
    // 1 s as asked in seconds, then until the date: at least 4 s from the start less the date's
    // truncation to whole seconds. A backoff alone would take milliseconds.
    assert!(started.elapsed() >= Duration::from_millis(2900), "Retry-After was honoured: {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(6), "and not exceeded: {:?}", started.elapsed());
}

fn httpdate_in(secs: u64) -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(secs))
}

#[tokio::test]
async fn server_errors_stalls_and_malformed_bodies_are_retried() {
    let fake = FakeProvider::start().await;
    fake.script([Reply::Status(500), Reply::Status(503), Reply::Stall(Duration::from_secs(3)), Reply::MalformedBody]);
    let r = provider(&fake, None).complete(&request(), &policy(), &CancellationToken::new()).await.unwrap();
    assert_eq!(r.attempts, 5, "four transient failures, then success");
    let kinds: Vec<_> = r.retries.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, vec![FailureKind::Server, FailureKind::Server, FailureKind::Timeout, FailureKind::Server], "each failure's reason is kept");
}

#[tokio::test]
async fn attempts_are_bounded() {
    let fake = FakeProvider::start().await;
    fake.always(Reply::Status(502));
    let err = provider(&fake, None).complete(&request(), &policy(), &CancellationToken::new()).await.unwrap_err();
    assert_eq!((err.kind, err.attempts, fake.requests()), (FailureKind::Server, 5, 5));
}

#[tokio::test]
async fn a_refused_key_fails_at_once() {
    let fake = FakeProvider::start().await;
    fake.always(Reply::Status(401));
    let err = provider(&fake, Some("wrong")).complete(&request(), &policy(), &CancellationToken::new()).await.unwrap_err();
    assert_eq!((err.kind, fake.requests()), (FailureKind::Auth, 1), "401 is never retried");
    assert!(!err.message.contains("wrong"), "the key never appears in errors");
}

#[tokio::test]
async fn prose_wrapped_json_is_extracted_and_garbage_is_content_not_transport() {
    let fake = FakeProvider::start().await;
    fake.script([Reply::Prose, Reply::Garbage]);
    let p = provider(&fake, None);
    let prose = p.complete(&request(), &policy(), &CancellationToken::new()).await.unwrap();
    assert_eq!(chipbench_core::chips::parse_chips(&prose.text).unwrap().len(), 20);
    let garbage = p.complete(&request(), &policy(), &CancellationToken::new()).await.unwrap();
    assert!(chipbench_core::chips::parse_chips(&garbage.text).unwrap_err().starts_with("unparseable output"));
}

#[tokio::test]
async fn cancellation_stops_a_stalled_call_quickly() {
    let fake = FakeProvider::start().await;
    fake.always(Reply::Stall(Duration::from_secs(30)));
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        c.cancel();
    });
    let slow = RetryPolicy { attempt_timeout: Duration::from_secs(60), ..policy() };
    let started = Instant::now();
    let err = provider(&fake, None).complete(&request(), &slow, &cancel).await.unwrap_err();
    assert_eq!(err.kind, FailureKind::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A recorded call shown "as sent" is the body the server received, and its curl command, run by
/// a shell with the key in the named variable, sends that body and key again.
#[tokio::test]
async fn a_recorded_call_as_sent_is_what_the_server_received_and_its_curl_sends_it_again() {
    let fake = FakeProvider::start().await;
    let ctx = SpanContext {
        trace_id: "t".into(),
        trace_kind: TraceKind::Playground,
        trace_name: "t".into(),
        run_id: None,
        provider: "openai".into(),
        replay_of: None,
    };
    let req = ChatRequest { temperature: Some(0.25), max_tokens: Some(300), ..request() };
    let never = CancellationToken::new();
    let (span, _) = recorded_call(&provider(&fake, Some("sk-test")), &PriceTable::default(), &ctx, req, &policy(), &never, None).await;
    let base: &'static str = Box::leak(fake.base_url().into_boxed_str());
    let env = std::collections::HashMap::from([("OPENAI_BASE_URL", base), ("OPENAI_API_KEY", "sk-test")]);
    let sent = sent_request(&span, &env).unwrap();
    let mut received = fake.bodies()[0].clone();
    assert_eq!(received.as_object_mut().unwrap().remove("authorization"), Some("Bearer sk-test".into()));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&sent.body).unwrap(), received, "the body as the client sent it");

    let curl = sent.curl.unwrap();
    assert!(!curl.contains("sk-test"), "the key is named, not shown: {curl}");
    let out = tokio::process::Command::new("bash").args(["-c", &curl]).env("OPENAI_API_KEY", "sk-test").output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("chat.completion"), "the server answered the curl");
    let again = &fake.bodies()[1];
    assert_eq!((again, &again["authorization"]), (&fake.bodies()[0], &serde_json::json!("Bearer sk-test")), "the same body and key again");
}
