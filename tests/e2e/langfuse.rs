//! The Langfuse importer against a fake of Langfuse's public API (`chipbench_e2e::langfuse`):
//! every page, the increment of a second import, rate limits, a failing server, wrong keys.

use std::time::{Duration, Instant};

use chipbench_core::{
    langfuse::{self, Client, ImportStatus, LangfuseError},
    store::{SearchQuery, Store, TraceFilter},
    trace::TraceKind,
};
use chipbench_e2e::langfuse::{Fault, FakeLangfuse, PUBLIC_KEY, SECRET_KEY};
use tokio_util::sync::CancellationToken;

/// A client for the fake without the polite delay and with short backoffs.
fn client(fake: &FakeLangfuse) -> Client {
    let mut c = Client::new(&fake.base_url(), PUBLIC_KEY, SECRET_KEY);
    c.page_delay = Duration::ZERO;
    c.policy.base_delay = Duration::from_millis(10);
    c
}

async fn import(store: &Store, client: &Client) -> Result<langfuse::ImportReport, LangfuseError> {
    langfuse::import(store, client, &CancellationToken::new(), |_| {}).await
}

fn traces_fetched_since(fake: &FakeLangfuse, request: usize) -> Vec<std::collections::HashMap<String, String>> {
    fake.requests().into_iter().skip(request).filter(|(list, _)| list == "traces").map(|(_, q)| q).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_brings_every_page_and_a_second_import_only_what_is_new() {
    let fake = FakeLangfuse::start().await;
    fake.add(0, 250, 3);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("l.db")).unwrap();
    let report = import(&store, &client(&fake)).await.unwrap();
    let c = report.counts;
    assert_eq!((c.sessions, c.traces, c.observations, c.partial), (84, 250, 750, 0), "every page of each list");
    assert!(report.verification.matches(), "{}", report.verification);
    assert_eq!(report.watermark.as_deref(), Some("2026-11-20T13:09:00.000Z"), "the newest trace");

    // Imported traces are traces like any other: listed, opened, searched.
    let listed = store.traces(&TraceFilter { kind: Some(TraceKind::Import), limit: 500, ..Default::default() }).unwrap();
    assert_eq!(listed.len(), 250);
    let t = store.trace(&listed[0].id, None).unwrap();
    assert_eq!(t.spans.len(), 4, "the trace's root span and its 3 observations");
    let generation = t.spans.iter().find(|s| s.kind == "generation").unwrap();
    assert!(generation.is_llm_call() && generation.input_tokens == 20, "a generation can be replayed: {generation:?}");
    store.index_spans(100_000).unwrap();
    let hits = store.search(&SearchQuery { text: "\"Question 7\"".into(), ..Default::default() }).unwrap();
    assert!(hits.hits.iter().any(|h| h.trace_name == "langfuse: CupidEvaluation"), "search finds an imported conversation");

    // New data: the second import asks from the last timestamp and stores only the new rows.
    fake.add(250, 20, 3);
    let before = fake.requests().len();
    let again = import(&store, &client(&fake)).await.unwrap();
    assert_eq!((again.counts.traces, again.counts.observations), (20, 60));
    let asked = traces_fetched_since(&fake, before);
    assert_eq!(asked[0].get("fromTimestamp").map(String::as_str), Some("2026-11-20T13:09:00.000Z"));
    assert_eq!(asked.len(), 2, "one page of 21 traces (the last old one again, and the new), then the verification's total");
    assert!(again.verification.matches(), "{}", again.verification);
    let last = store.langfuse_last_import().unwrap().unwrap();
    assert_eq!((last.status.as_str(), last.counts.traces), ("ok", 20));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_is_waited_out_and_a_failing_page_is_fetched_again_never_twice() {
    let fake = FakeLangfuse::start().await;
    fake.add(0, 120, 2);
    fake.fault("traces", 2, Fault::RateLimited(1));
    fake.fault("observations", 2, Fault::Status(500));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("l.db")).unwrap();
    let started = Instant::now();
    let report = import(&store, &client(&fake)).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    assert_eq!((report.counts.traces, report.counts.observations), (120, 240), "a 429 and a 500 in the middle of paging are retried");

    // A server that keeps failing in the middle of the observations ends the import as an error;
    // the next import fetches those pages again and stores each observation once.
    let other = Store::open(&dir.path().join("m.db")).unwrap();
    let asked = |list: &str| fake.requests().iter().filter(|(l, _)| l == list).count();
    let first_page = asked("observations") + 1;
    for attempt in 1..=6 {
        fake.fault("observations", first_page + attempt, Fault::Status(503)); // page 2, every attempt
    }
    let err = import(&other, &client(&fake)).await.unwrap_err();
    assert!(err.to_string().contains("HTTP 503"), "{err}");
    let failed = other.langfuse_last_import().unwrap().unwrap();
    assert_eq!((failed.status.as_str(), failed.counts.observations), ("error", 100), "the first page was stored");
    assert!(failed.error.unwrap().contains("503"));
    let done = import(&other, &client(&fake)).await.unwrap();
    assert_eq!((done.counts.traces, done.counts.observations), (0, 140), "the rest, and nothing twice");
    assert!(done.verification.matches(), "{}", done.verification);

    // Rate limited to the end: the state says so.
    let third = Store::open(&dir.path().join("n.db")).unwrap();
    let next = asked("sessions");
    for attempt in 1..=6 {
        fake.fault("sessions", next + attempt, Fault::RateLimited(0));
    }
    let err = import(&third, &client(&fake)).await.unwrap_err();
    assert_eq!(err.status(), ImportStatus::RateLimited, "{err}");
    assert_eq!(third.langfuse_last_import().unwrap().unwrap().status, "rate_limited");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_keys_and_an_unreachable_host_import_nothing_and_odd_observations_are_kept() {
    let fake = FakeLangfuse::start().await;
    fake.add(0, 3, 1);
    fake.add_observation(serde_json::json!({"id": "odd-1", "traceId": "trace-1", "type": "AGENT", "name": "planner"}));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("l.db")).unwrap();
    let wrong = Client::new(&fake.base_url(), PUBLIC_KEY, "sk-wrong");
    let err = import(&store, &wrong).await.unwrap_err();
    assert!(matches!(err, LangfuseError::Auth(_)), "{err}");
    assert!(err.to_string().contains("check LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY") && !err.to_string().contains("sk-wrong"), "{err}");
    let mut gone = Client::new("http://127.0.0.1:9", PUBLIC_KEY, SECRET_KEY);
    gone.policy.max_attempts = 2;
    gone.policy.base_delay = Duration::from_millis(10);
    let err = import(&store, &gone).await.unwrap_err();
    assert!(matches!(err, LangfuseError::Unreachable(_)), "{err}");
    assert_eq!(store.langfuse_counts().unwrap(), (0, 0), "nothing imported");

    let report = import(&store, &client(&fake)).await.unwrap();
    assert_eq!((report.counts.observations, report.counts.partial), (4, 1), "an unknown type without a start is kept, counted as partial");
    assert!(report.verification.matches(), "{}", report.verification);
}

#[tokio::test(flavor = "multi_thread")]
async fn imported_traces_group_by_agent_and_a_session_reads_as_a_conversation() {
    let fake = FakeLangfuse::start().await;
    fake.add(0, 10, 1);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("l.db")).unwrap();
    import(&store, &client(&fake)).await.unwrap();
    let agents = store.langfuse_agents().unwrap();
    let summary: Vec<(&str, u64)> = agents.iter().map(|a| (a.name.as_str(), a.traces)).collect();
    assert_eq!(summary, [("Introduction", 3), ("Mortal", 3), ("CupidEvaluation", 2), ("Match", 2)], "by name, the busiest first");
    assert!(agents.iter().all(|a| a.error_rate == 0.0 && a.cost_usd > 0.0 && a.mean_latency_ms.is_some()));
    let traces = store.langfuse_agent_traces("Mortal", 10).unwrap();
    assert_eq!(traces.len(), 3);
    assert!(traces[0].timestamp > traces[1].timestamp, "newest first");

    // Mortal's trace-5 is in session-1 with trace-3 and trace-4: the conversation is all three, in order.
    let trace_5 = traces.iter().find(|t| t.session_id.as_deref() == Some("session-1")).unwrap();
    let turns = store.langfuse_conversation(&trace_5.trace_id, "ana").unwrap();
    let said: Vec<(&str, Option<&str>)> = turns.iter().map(|t| (t.messages[0].content.as_str(), t.response.as_deref())).collect();
    assert_eq!(said, [("Question 3: who suits me?", Some("Answer 3")), ("Question 4: who suits me?", Some("Answer 4")), ("Question 5: who suits me?", Some("Answer 5"))]);
    store.rate(chipbench_core::store::TARGET_SPAN, &turns[1].span_id, "ana", 4).unwrap();
    assert_eq!(store.langfuse_conversation(&trace_5.trace_id, "ana").unwrap()[1].my_rating, Some(4), "a response is rated like any answer");
    assert!(store.langfuse_conversation("nope", "ana").unwrap_err().to_string().contains("imported trace `nope` not found"));

    // A deleted trace leaves its agent's figures and its conversation.
    store.delete_traces(std::slice::from_ref(&trace_5.trace_id)).unwrap();
    let mortal = store.langfuse_agents().unwrap().into_iter().find(|a| a.name == "Mortal").map(|a| a.traces);
    assert_eq!((mortal, store.langfuse_agent_traces("Mortal", 10).unwrap().len()), (Some(2), 2));
    assert_eq!(store.langfuse_conversation(&turns[0].trace_id, "ana").unwrap().len(), 2);
}
