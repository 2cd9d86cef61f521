//! Test support: a fake OpenAI-compatible server (completions, its model list, OpenRouter's key
//! endpoint) that produces, on demand, the faults a real server cannot (429 with Retry-After, 5xx,
//! stalls, malformed bodies, prose-wrapped JSON, 401),
//! and helpers to run the `chipbench` binary; `fixtures` fills a store with synthetic results;
//! `langfuse` is a fake Langfuse public API.

pub mod fixtures;
pub mod langfuse;

use std::{
    collections::VecDeque,
    net::SocketAddr,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

/// What the fake does with one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A valid completion following the response contract.
    Ok,
    /// The valid JSON wrapped in prose and a code fence.
    Prose,
    /// Content that is not JSON at all (a content error, not a transport one).
    Garbage,
    /// 429 with a `Retry-After` header value.
    RateLimited(String),
    Status(u16),
    /// Waits this long before answering (past the client's timeout).
    Stall(Duration),
    /// A 200 whose body is not a completion.
    MalformedBody,
}

#[derive(Default)]
struct Inner {
    /// Replies for the next requests, in order; afterwards `default`.
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Option<Reply>>,
    latency: Mutex<Duration>,
    requests: AtomicU64,
    bodies: Mutex<Vec<Value>>,
    keep_bodies: bool,
}

#[derive(Clone)]
pub struct FakeProvider {
    inner: Arc<Inner>,
    pub addr: SocketAddr,
}

impl FakeProvider {
    /// Starts on a free loopback port, on the current tokio runtime.
    pub async fn start() -> FakeProvider {
        Self::start_with(true).await
    }

    /// Without recording request bodies (for throughput benchmarks).
    pub async fn start_lean() -> FakeProvider {
        Self::start_with(false).await
    }

    async fn start_with(keep_bodies: bool) -> FakeProvider {
        let inner = Arc::new(Inner { keep_bodies, ..Inner::default() });
        let app = Router::new().route("/v1/chat/completions", post(handle)).route("/v1/models", get(models)).route("/v1/key", get(key)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.expect("fake server") });
        FakeProvider { inner, addr }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queue replies for the next requests.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.script.lock().unwrap().extend(replies);
    }

    /// From now on always this reply: drops any queued script (default: `Reply::Ok`).
    pub fn always(&self, reply: Reply) {
        self.inner.script.lock().unwrap().clear();
        *self.inner.default.lock().unwrap() = Some(reply);
    }

    pub fn set_latency(&self, latency: Duration) {
        *self.inner.latency.lock().unwrap() = latency;
    }

    pub fn requests(&self) -> u64 {
        self.inner.requests.load(Ordering::SeqCst)
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.inner.bodies.lock().unwrap().clone()
    }
}

async fn handle(State(inner): State<Arc<Inner>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    if inner.keep_bodies {
        let mut recorded = body.clone();
        recorded["authorization"] = json!(headers.get("authorization").and_then(|v| v.to_str().ok()));
        inner.bodies.lock().unwrap().push(recorded);
    }
    let reply = inner.script.lock().unwrap().pop_front().or_else(|| inner.default.lock().unwrap().clone()).unwrap_or(Reply::Ok);
    let latency = *inner.latency.lock().unwrap();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match reply {
        Reply::Ok => completion(&content_for(&body)),
        Reply::Prose => completion(&format!("Sure! Here is what you asked for:\n```json\n{}\n```\nAnything else?", content_for(&body))),
        Reply::Garbage => completion("I'd rather not answer in JSON today."),
        Reply::RateLimited(after) => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", after)], "slow down").into_response(),
        Reply::Status(code) => (StatusCode::from_u16(code).unwrap(), "fake failure").into_response(),
        Reply::Stall(d) => {
            tokio::time::sleep(d).await;
            completion(&content_for(&body))
        }
        Reply::MalformedBody => (StatusCode::OK, "{\"choices\": [ truncated").into_response(),
    }
}

/// The models it serves, in OpenRouter's shape (prices in dollars per token); a scripted status
/// (a 401, say) answers instead.
async fn models(State(inner): State<Arc<Inner>>) -> Response {
    if let Some(failure) = scripted_failure(&inner) {
        return failure;
    }
    Json(json!({"data": [
        {"id": "openai/gpt-5-mini", "name": "OpenAI: GPT-5 Mini", "pricing": {"prompt": "0.00000025", "completion": "0.000002"}},
        {"id": "fake/chat-1", "name": "Fake: Chat 1", "pricing": {"prompt": "0.0000005", "completion": "0.0000015"}}
    ]}))
    .into_response()
}

/// OpenRouter's `GET /key`: what the key has spent and its limit; a scripted status answers instead.
async fn key(State(inner): State<Arc<Inner>>) -> Response {
    if let Some(failure) = scripted_failure(&inner) {
        return failure;
    }
    Json(json!({"data": {"label": "sk-or-v1-fak...key", "usage": 0.25, "limit": 10, "limit_remaining": 9.75}})).into_response()
}

/// For the GET endpoints: takes the next scripted reply, and answers with it if it is a status.
fn scripted_failure(inner: &Inner) -> Option<Response> {
    match inner.script.lock().unwrap().pop_front() {
        Some(Reply::Status(code)) => Some((StatusCode::from_u16(code).unwrap(), "fake failure").into_response()),
        _ => None,
    }
}

fn completion(content: &str) -> Response {
    Json(json!({
        "id": "fake-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        // OpenRouter's shape: the billed cost in dollars rides along with the token counts.
        "usage": {"prompt_tokens": 200, "completion_tokens": 100, "total_tokens": 300, "cost": 0.0001}
    }))
    .into_response()
}

/// A contract-following answer: 20 distinct chips (4 types, so any constraint is met), a selection
/// or a judge's verdict.
fn content_for(body: &Value) -> String {
    let schema = body.pointer("/response_format/json_schema/name").and_then(Value::as_str).unwrap_or("chips");
    if schema == "selection" {
        return json!({"selected_ids": [0, 2, 4]}).to_string();
    }
    if schema == "grade" {
        return json!({"pass": true, "rationale": "fake judge"}).to_string();
    }
    let prompt = body.pointer("/messages/0/content").and_then(Value::as_str).unwrap_or("");
    let salt = prompt.len() % 97;
    let types = ["situation", "jargon", "role_task", "environment"];
    let chips: Vec<Value> = (0..20).map(|i| json!({"text": format!("chip {salt} number {i}"), "type": types[i % 4]})).collect();
    json!({ "chips": chips }).to_string()
}

/// The `chipbench` binary: `CHIPBENCH_BIN`, else the one built beside this test or benchmark
/// (target/<profile>/chipbench), else the debug build.
pub fn chipbench_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CHIPBENCH_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps");
    let candidates = [profile_dir.join("chipbench"), profile_dir.with_file_name("debug").join("chipbench")];
    candidates.iter().find(|p| p.exists()).cloned().unwrap_or_else(|| {
        panic!("{} is missing: build it first (cargo build -p chipbench)", candidates[0].display())
    })
}

/// A test that needs an outside part (a real server, a display) runs when it is there, fails under
/// CI when it is not (CI must run it), and otherwise says it was skipped.
pub fn available(what: &str, present: bool) -> bool {
    if !present {
        assert!(std::env::var_os("CI").is_none(), "CI must run this test, but {what} is missing");
        eprintln!("skipping: {what} is missing (scripts/test.sh provides it)");
    }
    present
}
