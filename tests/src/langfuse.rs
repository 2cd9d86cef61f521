//! A fake Langfuse public API, following its documented shapes: `GET /api/public/sessions`,
//! `/traces` (`fromTimestamp`, `orderBy=timestamp.asc`) and `/observations` (`fromStartTime`),
//! pages of `{data, meta: {page, limit, totalItems, totalPages}}` numbered from 1, Basic auth.
//! It holds generated sessions, traces and observations, and produces faults on demand: a 429
//! with `Retry-After`, or any status, on the Nth request to a list.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};

pub const PUBLIC_KEY: &str = "pk-lf-test";
pub const SECRET_KEY: &str = "sk-lf-test";

#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 with this `Retry-After` (seconds).
    RateLimited(u64),
    Status(u16),
}

#[derive(Default)]
struct Data {
    sessions: Vec<Value>,
    traces: Vec<Value>,
    observations: Vec<Value>,
    /// (list, the list's request number from 1) -> the fault to answer it with.
    faults: HashMap<(String, usize), Fault>,
    requests: Vec<(String, HashMap<String, String>)>,
}

#[derive(Clone)]
pub struct FakeLangfuse {
    data: Arc<Mutex<Data>>,
    pub addr: SocketAddr,
}

impl FakeLangfuse {
    pub async fn start() -> FakeLangfuse {
        let data = Arc::new(Mutex::new(Data::default()));
        let app = Router::new().route("/api/public/{list}", get(list)).with_state(data.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.expect("fake langfuse") });
        FakeLangfuse { data, addr }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds `traces` traces, one a minute from `first_minute` minutes after 2026-11-20 09:00 UTC,
    /// spread over sessions of up to 3 traces and named after 4 agents, each with `per_trace`
    /// observations (a generation first, then spans and events).
    pub fn add(&self, first_minute: u32, traces: u32, per_trace: u32) {
        let mut d = self.data.lock().unwrap();
        let agents = ["Introduction", "Mortal", "Match", "CupidEvaluation"];
        for i in first_minute..first_minute + traces {
            let (session, at) = (format!("session-{}", i / 3), time(i, 0));
            if !d.sessions.iter().any(|s| s["id"] == session.as_str()) {
                d.sessions.push(json!({"id": session, "createdAt": at, "projectId": "p", "environment": "default"}));
            }
            let trace = format!("trace-{i}");
            d.traces.push(json!({
                "id": trace, "timestamp": at, "name": agents[i as usize % 4], "sessionId": session, "userId": format!("user-{}", i % 5),
                "input": [{"role": "user", "content": format!("Question {i}: who suits me?")}], "output": format!("Answer {i}"),
                "latency": 1.2, "totalCost": 0.001, "htmlPath": format!("/trace/{trace}"), "observations": [], "scores": [], "tags": [], "metadata": null,
            }));
            for k in 0..per_trace {
                let (kind, model) = match k % 3 { 0 => ("GENERATION", Some("gpt-4o-mini")), 1 => ("SPAN", None), _ => ("EVENT", None) };
                d.observations.push(json!({
                    "id": format!("obs-{i}-{k}"), "traceId": trace, "type": kind, "name": format!("step {k}"),
                    "startTime": time(i, k * 100), "endTime": time(i, k * 100 + 80), "model": model,
                    "modelParameters": {"temperature": 0.3}, "input": [{"role": "user", "content": format!("step {k} of {i}")}],
                    "output": {"role": "assistant", "content": format!("done {k}")}, "usage": {"input": 20, "output": 5, "total": 25, "unit": "TOKENS"},
                    "level": "DEFAULT", "statusMessage": null, "parentObservationId": null, "calculatedTotalCost": 0.0002,
                }));
            }
        }
    }

    /// Adds one raw observation as given (for odd shapes).
    pub fn add_observation(&self, observation: Value) {
        self.data.lock().unwrap().observations.push(observation);
    }

    /// Answers the `nth` request (from 1) to `list` with `fault`, once.
    pub fn fault(&self, list: &str, nth: usize, fault: Fault) {
        self.data.lock().unwrap().faults.insert((list.to_owned(), nth), fault);
    }

    /// The requests so far: (list, query parameters).
    pub fn requests(&self) -> Vec<(String, HashMap<String, String>)> {
        self.data.lock().unwrap().requests.clone()
    }
}

/// 2026-11-20 09:00 UTC plus `minute` minutes and `ms` milliseconds, as Langfuse writes times.
fn time(minute: u32, ms: u32) -> String {
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-20T09:00:00Z").unwrap().to_utc();
    let t = start + chrono::Duration::minutes(minute.into()) + chrono::Duration::milliseconds(ms.into());
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn list(State(data): State<Arc<Mutex<Data>>>, Path(list): Path<String>, Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    use base64::Engine;
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{PUBLIC_KEY}:{SECRET_KEY}")));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"message": "Invalid credentials"}))).into_response();
    }
    let mut d = data.lock().unwrap();
    d.requests.push((list.clone(), query.clone()));
    let nth = d.requests.iter().filter(|(l, _)| *l == list).count();
    match d.faults.remove(&(list.clone(), nth)) {
        Some(Fault::RateLimited(secs)) => return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", secs.to_string())], "rate limited").into_response(),
        Some(Fault::Status(code)) => return (StatusCode::from_u16(code).unwrap(), "fake failure").into_response(),
        None => {}
    }
    // Times are written in one format, so text order is time order.
    fn after<'a>(field: &'static str, from: Option<&'a String>) -> impl Fn(&&Value) -> bool + 'a {
        move |v| from.is_none_or(|f| v[field].as_str().is_some_and(|t| t >= f.as_str()))
    }
    let items: Vec<&Value> = match list.as_str() {
        "sessions" => d.sessions.iter().collect(),
        "traces" => d.traces.iter().filter(after("timestamp", query.get("fromTimestamp"))).collect(),
        "observations" => d.observations.iter().filter(after("startTime", query.get("fromStartTime"))).collect(),
        _ => return (StatusCode::NOT_FOUND, "no such list").into_response(),
    };
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(50).clamp(1, 100);
    let total = items.len();
    let data: Vec<Value> = items.into_iter().skip((page - 1) * limit).take(limit).cloned().collect();
    Json(json!({"data": data, "meta": {"page": page, "limit": limit, "totalItems": total, "totalPages": total.div_ceil(limit)}})).into_response()
}
