//! Langfuse traces and observations as Chipbench spans. A trace becomes a root span (kind
//! `trace`: its input as messages, its output as the response) under which its observations hang
//! (kind `generation`, `span`, `event`, or an unknown type as Langfuse wrote it). Ids derive from
//! Langfuse's, so importing the same data again adds nothing. An observation missing a field, or
//! of an unknown type, is kept with what is known and counted as partial.

use serde_json::{json, Map, Value};

use crate::{
    clock, ids,
    llm::{Message, Role},
    trace::{CallParams, Span, TraceKind},
};

/// Observation types Langfuse documents; others are kept and counted as partial.
const KNOWN_TYPES: [&str; 3] = ["GENERATION", "SPAN", "EVENT"];
/// The root span's id part under its trace (observation ids are Langfuse's, never this).
const ROOT: &str = "langfuse-trace";

/// The id of an imported trace's root span (its input and output), by the Langfuse trace id.
pub fn root_span_id(source_trace_id: &str) -> String {
    ids::langfuse_id(source_trace_id, Some(ROOT))
}

/// What the per-agent view and conversations need of an imported trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    pub id: String,
    pub source_id: String,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub name: Option<String>,
    pub timestamp: String,
}

fn text<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

fn number(o: &Map<String, Value>, key: &str) -> Option<f64> {
    o.get(key).and_then(Value::as_f64)
}

/// Langfuse's RFC 3339 time in Chipbench's format.
fn time(value: Option<&str>) -> Option<String> {
    value.and_then(clock::parse).map(clock::format)
}

/// A trace: its row and its root span. None when it has no id or timestamp (nothing to key it by).
pub fn trace(v: &Value) -> Option<(TraceRow, Span)> {
    let o = v.as_object()?;
    let source_id = text(o, "id")?.to_owned();
    let started_at = time(text(o, "timestamp"))?;
    let name = text(o, "name").map(str::to_owned);
    let latency_ms = number(o, "latency").map_or(0, |secs| (secs * 1000.0).round() as u64);
    let ended_at = clock::parse(&started_at).map_or_else(|| started_at.clone(), |t| clock::format(t + chrono::Duration::milliseconds(latency_ms as i64)));
    let row = TraceRow {
        id: ids::langfuse_id(&source_id, None),
        source_id: source_id.clone(),
        session_id: text(o, "sessionId").map(str::to_owned),
        user_id: text(o, "userId").map(str::to_owned),
        name: name.clone(),
        timestamp: started_at.clone(),
    };
    let mut attributes = json!({"source": "langfuse", "trace_id": source_id});
    for (key, field) in [("sessionId", "session_id"), ("userId", "user_id"), ("metadata", "metadata"), ("tags", "tags")] {
        if let Some(value) = o.get(key).filter(|v| !v.is_null()) {
            attributes[field] = value.clone();
        }
    }
    let (messages, input) = messages_of(o.get("input"));
    if let Some(input) = input {
        attributes["input"] = input;
    }
    let span = Span {
        id: root_span_id(&source_id),
        trace_id: row.id.clone(),
        parent_id: None,
        trace_kind: TraceKind::Import,
        trace_name: trace_name(name.as_deref()),
        run_id: None,
        kind: "trace".into(),
        name: name.unwrap_or_else(|| "trace".into()),
        provider: Some("langfuse".into()),
        model: None,
        ok: true,
        error: None,
        messages: messages.map(Into::into),
        params: None,
        response: response_of(o.get("output")),
        parsed: None,
        retries: Vec::new(),
        input_tokens: 0,
        output_tokens: 0,
        cost_usd: 0.0,
        billed_cost_usd: None,
        latency_ms,
        started_at,
        ended_at,
        replay_of: None,
        attributes: Some(attributes),
    };
    Some((row, span))
}

fn trace_name(name: Option<&str>) -> String {
    format!("langfuse: {}", name.unwrap_or("trace"))
}

/// An observation as a span under its trace, and whether it was partial. `trace_names` gives
/// the names of traces known here (by Langfuse id).
pub fn observation(v: &Value, trace_names: &dyn Fn(&str) -> Option<String>) -> (Span, bool) {
    let empty = Map::new();
    let o = v.as_object().unwrap_or(&empty);
    let mut missing: Vec<&str> = Vec::new();
    let mut field = |key: &'static str| {
        let value = text(o, key);
        if value.is_none() {
            missing.push(key);
        }
        value
    };
    let (id, trace, kind, start) = (field("id"), field("traceId"), field("type"), field("startTime"));
    let id = id.map_or_else(|| ids::imported_id("langfuse-observation", Some(&v.to_string())), str::to_owned);
    let trace = trace.unwrap_or("unknown").to_owned();
    let unknown_type = kind.is_some_and(|k| !KNOWN_TYPES.contains(&k));
    let kind = kind.map_or_else(|| "observation".to_owned(), str::to_lowercase);
    let started_at = time(start).unwrap_or_else(|| clock::EPOCH.to_owned());
    let ended_at = time(text(o, "endTime")).unwrap_or_else(|| started_at.clone());
    let latency_ms = clock::parse(&ended_at).zip(clock::parse(&started_at)).map_or(0, |(e, s)| (e - s).num_milliseconds().max(0) as u64);
    let ok = text(o, "level") != Some("ERROR");
    let usage = |keys: &[&str]| {
        keys.iter().find_map(|k| o.get("usageDetails").or_else(|| o.get("usage")).and_then(|u| u.get(*k)).and_then(Value::as_f64)).map_or(0, |n| n as u64)
    };
    let (messages, input) = messages_of(o.get("input"));
    let mut attributes = json!({"source": "langfuse", "trace_id": trace, "observation_id": id});
    if let Some(input) = input {
        attributes["input"] = input;
    }
    if let Some(metadata) = o.get("metadata").filter(|m| !m.is_null()) {
        attributes["metadata"] = metadata.clone();
    }
    if unknown_type || !missing.is_empty() {
        attributes["partial"] = json!({"missing": missing, "unknown_type": unknown_type});
    }
    let parameters = o.get("modelParameters");
    let parameter = |k: &str| parameters.and_then(|p| p.get(k)).and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()));
    let span = Span {
        id: ids::langfuse_id(&trace, Some(&id)),
        trace_id: ids::langfuse_id(&trace, None),
        parent_id: Some(ids::langfuse_id(&trace, Some(text(o, "parentObservationId").unwrap_or(ROOT)))),
        trace_kind: TraceKind::Import,
        trace_name: trace_name(trace_names(&trace).as_deref()),
        run_id: None,
        name: text(o, "name").map_or_else(|| kind.clone(), str::to_owned),
        kind,
        provider: Some("langfuse".into()),
        model: text(o, "model").map(str::to_owned),
        ok,
        error: (!ok).then(|| text(o, "statusMessage").unwrap_or("error (no message)").to_owned()),
        params: messages.as_ref().map(|_| CallParams {
            temperature: parameter("temperature").map(|t| t as f32),
            max_tokens: parameter("max_tokens").or_else(|| parameter("maxTokens")).map(|t| t as u32),
            ..CallParams::default()
        }),
        messages: messages.map(Into::into),
        response: response_of(o.get("output")),
        parsed: None,
        retries: Vec::new(),
        input_tokens: usage(&["input", "promptTokens"]),
        output_tokens: usage(&["output", "completionTokens"]),
        cost_usd: number(o, "calculatedTotalCost").or_else(|| number(o, "totalCost")).unwrap_or(0.0),
        billed_cost_usd: None,
        latency_ms,
        started_at,
        ended_at,
        replay_of: None,
        attributes: Some(attributes),
    };
    (span, unknown_type || !missing.is_empty())
}

/// Chat messages from an input: `[{role, content}]`, `{messages: [...]}`, or a string (one user
/// message). Anything else is no messages, and the input itself is returned to keep.
fn messages_of(input: Option<&Value>) -> (Option<Vec<Message>>, Option<Value>) {
    let Some(input) = input.filter(|v| !v.is_null()) else { return (None, None) };
    if let Some(s) = input.as_str() {
        return (Some(vec![Message::user(s)]), None);
    }
    let list = input.get("messages").unwrap_or(input);
    let read = |m: &Value| {
        let role = match m.get("role")?.as_str()? {
            "system" | "developer" => Role::System,
            "user" | "human" => Role::User,
            "assistant" | "ai" => Role::Assistant,
            _ => return None,
        };
        Some(Message { role, content: content_text(m.get("content")?)? })
    };
    match list.as_array().map(|items| items.iter().map(read).collect::<Option<Vec<_>>>()) {
        Some(Some(messages)) if !messages.is_empty() => (Some(messages), None),
        _ => (None, Some(input.clone())),
    }
}

/// A message's content: a string, or the text parts of a content list.
fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => Some(parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n")),
        _ => None,
    }
}

/// An output as text: a string, a message's content, or else its JSON.
fn response_of(output: Option<&Value>) -> Option<String> {
    let output = output.filter(|v| !v.is_null())?;
    Some(match output {
        Value::String(s) => s.clone(),
        other => other.get("content").and_then(content_text).unwrap_or_else(|| other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_is_a_root_span_with_its_conversation() {
        let v = json!({"id": "t-1", "timestamp": "2026-11-20T10:00:00.000Z", "name": "Match", "sessionId": "s-1", "userId": "u-9",
            "input": [{"role": "system", "content": "Be Cupid."}, {"role": "user", "content": "Find me a match"}],
            "output": {"role": "assistant", "content": "Meet Ada."}, "latency": 1.5, "tags": ["prod"]});
        let (row, span) = trace(&v).unwrap();
        assert_eq!((row.source_id.as_str(), row.session_id.as_deref(), row.name.as_deref()), ("t-1", Some("s-1"), Some("Match")));
        assert_eq!(span.trace_id, row.id);
        assert_eq!(span.messages.as_ref().unwrap()[1], Message::user("Find me a match"));
        assert_eq!(span.response.as_deref(), Some("Meet Ada."));
        assert_eq!((span.latency_ms, span.ended_at.as_str()), (1500, "2026-11-20T10:00:01.500Z"));
        assert_eq!(span.trace_name, "langfuse: Match");
        assert!(trace(&json!({"name": "no id"})).is_none());
    }

    #[test]
    fn observations_keep_what_is_known_and_say_what_was_missing() {
        let names = |id: &str| (id == "t-1").then(|| "Match".to_owned());
        let generation = json!({"id": "o-1", "traceId": "t-1", "type": "GENERATION", "name": "llm", "startTime": "2026-11-20T10:00:00.100Z",
            "endTime": "2026-11-20T10:00:00.900Z", "model": "gpt-4o", "modelParameters": {"temperature": 0.2, "max_tokens": "300"},
            "input": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}], "output": "Hello", "usage": {"input": 12, "output": 3},
            "calculatedTotalCost": 0.0004, "parentObservationId": null});
        let (span, partial) = observation(&generation, &names);
        assert!(!partial);
        assert_eq!((span.kind.as_str(), span.model.as_deref(), span.latency_ms), ("generation", Some("gpt-4o"), 800));
        assert_eq!((span.input_tokens, span.output_tokens, span.cost_usd), (12, 3, 0.0004));
        assert_eq!(span.params.as_ref().unwrap().max_tokens, Some(300));
        assert_eq!(span.parent_id, Some(ids::langfuse_id("t-1", Some(ROOT))), "under the trace's root span");
        assert_eq!((span.trace_name.as_str(), span.messages.unwrap()[0].content.as_str()), ("langfuse: Match", "Hi"));

        let odd = json!({"id": "o-2", "traceId": "t-2", "type": "AGENT", "level": "ERROR", "statusMessage": "tool failed", "input": {"query": 1}});
        let (span, partial) = observation(&odd, &names);
        assert!(partial, "an unknown type and no startTime");
        assert_eq!((span.kind.as_str(), span.ok, span.error.as_deref()), ("agent", false, Some("tool failed")));
        let attributes = span.attributes.unwrap();
        assert_eq!(attributes["partial"], json!({"missing": ["startTime"], "unknown_type": true}));
        assert_eq!(attributes["input"], json!({"query": 1}), "an input that is not messages is kept");
        let (again, _) = observation(&odd, &names);
        assert_eq!(again.id, span.id, "the same observation has the same id");
    }
}
