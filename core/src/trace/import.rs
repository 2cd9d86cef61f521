//! Import of spans written by another tool in seed 002's span shape (its `POST /v1/spans` body):
//! `span_id`, `trace_id`, `parent_span_id`, `span_type` (`llm_call`, `tool_use`, ...), `name`,
//! `status` (`ok`, `error`, `unset`), `error_message`, `start_time` and `end_time` (Unix seconds),
//! and `attributes` (`llm.model`, `llm.provider`, `llm.prompt`, `llm.completion`,
//! `llm.tokens.input`, `llm.tokens.output`, `llm.cost_usd`, `llm.temperature`, `llm.max_tokens`).
//!
//! A file is a JSON array of spans, an object `{"spans": [...]}`, or JSON Lines (one span per
//! line). Any bad span rejects the whole file, naming its line, so nothing is imported half-way.
//! Ids are derived from the source ids, so importing a file again adds nothing.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{CallParams, Span, TraceKind};
use crate::{clock, ids, llm::Message};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ImportError {
    pub file: String,
    pub message: String,
}

impl crate::error::Coded for ImportError {
    fn code(&self) -> crate::ErrorCode {
        crate::ErrorCode::Validation
    }
}

/// A span as seed 002 writes it (other fields, such as its annotations, are passed over).
#[derive(Debug, Deserialize)]
struct SourceSpan {
    span_id: String,
    trace_id: String,
    #[serde(default)]
    parent_span_id: Option<String>,
    span_type: String,
    name: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
    start_time: f64,
    #[serde(default)]
    end_time: Option<f64>,
    #[serde(default)]
    attributes: Map<String, Value>,
}

/// Reads a file's spans (all of them, or an error naming the first bad line).
pub fn parse(file: &str, text: &str) -> Result<Vec<Span>, ImportError> {
    let fail = |message: String| ImportError { file: file.to_owned(), message };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    // (line number, span) pairs; JSON Lines number each line, a JSON document each span's start.
    let sources: Vec<(usize, Value)> = if trimmed.starts_with('[') || trimmed.starts_with('{') && !is_json_lines(text) {
        let doc: Value = serde_json::from_str(text).map_err(|e| fail(format!("line {}: not valid JSON: {e}", e.line())))?;
        let items = match doc {
            Value::Array(items) => items,
            Value::Object(mut o) => match o.remove("spans") {
                Some(Value::Array(items)) => items,
                Some(_) => return Err(fail("`spans` must be an array of spans".into())),
                // One span alone (a JSON Lines file of one line).
                None => vec![Value::Object(o)],
            },
            other => vec![other],
        };
        let lines = element_lines(text, items.len());
        lines.into_iter().zip(items).collect()
    } else {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let v = serde_json::from_str(line).map_err(|e| fail(format!("line {}: not valid JSON: {e}", i + 1)))?;
            out.push((i + 1, v));
        }
        out
    };
    if sources.is_empty() {
        return Err(fail("no spans in the file".into()));
    }
    let mut spans = Vec::with_capacity(sources.len());
    for (line, value) in sources {
        if !value.is_object() {
            return Err(fail(format!("line {line}: expected a span (a JSON object), found `{value}`")));
        }
        let source: SourceSpan = serde_json::from_value(value).map_err(|e| fail(format!("line {line}: {e}")))?;
        spans.push(convert(source).map_err(|m| fail(format!("line {line}: {m}")))?);
    }
    name_traces(&mut spans);
    Ok(spans)
}

/// A file whose first two non-empty lines each hold a complete JSON value is JSON Lines.
fn is_json_lines(text: &str) -> bool {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().is_some_and(|l| serde_json::from_str::<Value>(l).is_ok());
    first && lines.next().is_some()
}

/// The line on which each top-level element of a JSON array (or of `{"spans": [...]}`) starts,
/// found by scanning for values at depth 1 of the array (strings skipped).
fn element_lines(text: &str, count: usize) -> Vec<usize> {
    let mut lines = Vec::with_capacity(count);
    let (mut line, mut depth, mut array_depth) = (1, 0usize, None);
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' if array_depth.is_none() => {
                depth += 1;
                array_depth = Some(depth);
            }
            '{' | '[' => {
                if Some(depth) == array_depth && c == '{' {
                    lines.push(line);
                }
                depth += 1;
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    lines.resize(count, line);
    lines
}

fn seconds_to_time(field: &str, secs: f64) -> Result<String, String> {
    chrono::DateTime::from_timestamp_millis((secs * 1000.0).round() as i64)
        .filter(|_| secs.is_finite() && secs >= 0.0)
        .map(clock::format)
        .ok_or_else(|| format!("{field}: {secs} is not a time in Unix seconds"))
}

fn convert(s: SourceSpan) -> Result<Span, String> {
    let started_at = seconds_to_time("start_time", s.start_time)?;
    let ended_at = match s.end_time {
        Some(end) if end < s.start_time => return Err(format!("end_time: {end} is before start_time {}", s.start_time)),
        Some(end) => seconds_to_time("end_time", end)?,
        None => started_at.clone(),
    };
    let ok = match s.status.as_deref() {
        None | Some("ok" | "unset") => true,
        Some("error") => false,
        Some(other) => return Err(format!("status: `{other}` is not one of ok, error, unset")),
    };
    let a = &s.attributes;
    let text = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_owned);
    let number = |k: &str| a.get(k).and_then(Value::as_f64);
    let messages = match a.get("llm.prompt") {
        None | Some(Value::Null) => None,
        Some(p) => Some(messages_of(p).map_err(|m| format!("attributes.llm.prompt: {m}"))?),
    };
    let params = messages.as_ref().map(|_| CallParams {
        temperature: number("llm.temperature").map(|t| t as f32),
        max_tokens: number("llm.max_tokens").map(|t| t as u32),
        ..CallParams::default()
    });
    let mut attributes = s.attributes.clone();
    attributes.insert("source.trace_id".into(), Value::String(s.trace_id.clone()));
    attributes.insert("source.span_id".into(), Value::String(s.span_id.clone()));
    let latency_ms = s.end_time.map_or(0, |end| ((end - s.start_time) * 1000.0).round() as u64);
    Ok(Span {
        id: ids::imported_id(&s.trace_id, Some(&s.span_id)),
        trace_id: ids::imported_id(&s.trace_id, None),
        parent_id: s.parent_span_id.as_deref().map(|p| ids::imported_id(&s.trace_id, Some(p))),
        trace_kind: TraceKind::Import,
        trace_name: s.name.clone(),
        run_id: None,
        kind: s.span_type,
        name: s.name,
        provider: text("llm.provider"),
        model: text("llm.model"),
        ok,
        error: s.error_message.or_else(|| (!ok).then(|| "error (no message)".to_owned())),
        messages: messages.map(Into::into),
        params,
        response: text("llm.completion"),
        parsed: None,
        retries: Vec::new(),
        input_tokens: number("llm.tokens.input").map_or(0, |t| t as u64),
        output_tokens: number("llm.tokens.output").map_or(0, |t| t as u64),
        cost_usd: number("llm.cost_usd").unwrap_or(0.0),
        billed_cost_usd: None,
        latency_ms,
        started_at,
        ended_at,
        replay_of: None,
        attributes: Some(Value::Object(attributes)),
    })
}

/// `llm.prompt` is a JSON string of `[{role, content}]` (or that array itself); other text is
/// one user message.
fn messages_of(prompt: &Value) -> Result<Vec<Message>, String> {
    let parsed: Value = match prompt {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Array(_)) => v,
            _ => return Ok(vec![Message::user(s.clone())]),
        },
        v => v.clone(),
    };
    serde_json::from_value(parsed).map_err(|e| format!("expected messages with a role (system, user, assistant) and content: {e}"))
}

/// Every span of a trace carries the trace's name: its root span's (the first root when there are
/// several), else its first span's.
fn name_traces(spans: &mut [Span]) {
    let mut names: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for s in spans.iter().filter(|s| s.parent_id.is_none()) {
        names.entry(s.trace_id.clone()).or_insert_with(|| s.name.clone());
    }
    for s in spans.iter() {
        names.entry(s.trace_id.clone()).or_insert_with(|| s.name.clone());
    }
    for s in spans.iter_mut() {
        s.trace_name = format!("import: {}", names[&s.trace_id]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LLM: &str = r#"{"span_id":"s1","trace_id":"t1","parent_span_id":null,"span_type":"llm_call","name":"openai.chat.completions","status":"ok","error_message":null,"start_time":1739800000.123,"end_time":1739800002.456,"attributes":{"llm.provider":"openai","llm.model":"gpt-4o","llm.prompt":"[{\"role\":\"user\",\"content\":\"What is 2+2?\"}]","llm.completion":"4","llm.tokens.input":14,"llm.tokens.output":1,"llm.cost_usd":0.000075}}"#;
    const TOOL: &str = r#"{"span_id":"s2","trace_id":"t1","parent_span_id":"s1","span_type":"tool_use","name":"calculator","status":"error","error_message":"division by zero","start_time":1739800001,"end_time":1739800001.5,"attributes":{"tool.name":"calc"}}"#;

    #[test]
    fn json_lines_become_spans_of_one_trace() {
        let spans = parse("a.jsonl", &format!("{LLM}\n\n{TOOL}\n")).unwrap();
        let [llm, tool] = spans.as_slice() else { panic!() };
        assert_eq!((llm.kind.as_str(), llm.model.as_deref(), llm.response.as_deref()), ("llm_call", Some("gpt-4o"), Some("4")));
        assert_eq!(llm.messages.as_ref().unwrap()[0].content, "What is 2+2?");
        assert!(llm.is_llm_call() && !tool.is_llm_call());
        assert_eq!((llm.input_tokens, llm.output_tokens, llm.cost_usd, llm.latency_ms), (14, 1, 0.000075, 2333));
        assert_eq!(llm.started_at, "2025-02-17T13:46:40.123Z");
        assert_eq!(tool.parent_id.as_deref(), Some(llm.id.as_str()), "parents keep pointing at their span");
        assert_eq!((tool.ok, tool.error.as_deref()), (false, Some("division by zero")));
        assert_eq!(llm.trace_id, tool.trace_id);
        assert!(spans.iter().all(|s| s.trace_name == "import: openai.chat.completions"), "named after the root span");
        assert_eq!(tool.attributes.as_ref().unwrap()["source.span_id"], "s2");
    }

    #[test]
    fn json_arrays_and_span_objects_are_read_alike() {
        let array = parse("a.json", &format!("[\n{LLM},\n{TOOL}\n]")).unwrap();
        let object = parse("b.json", &format!("{{\"spans\": [{LLM}, {TOOL}]}}")).unwrap();
        let lines = parse("c.jsonl", &format!("{LLM}\n{TOOL}")).unwrap();
        assert_eq!(array, object);
        assert_eq!(array, lines);
        assert_eq!(parse("d.json", &format!("\u{feff}[{LLM}]")).unwrap().len(), 1, "a BOM is skipped");
    }

    #[test]
    fn a_bad_line_rejects_the_file_and_names_the_line() {
        let err = parse("x.jsonl", &format!("{LLM}\n{TOOL}\n{{\"span_id\": \"s3\", oops}}\n")).unwrap_err();
        assert!(err.to_string().starts_with("x.jsonl: line 3: not valid JSON"), "{err}");
        let missing = TOOL.replace(r#""name":"calculator","#, "");
        let err = parse("x.jsonl", &format!("{LLM}\n{missing}")).unwrap_err();
        assert_eq!(err.message, "line 2: missing field `name`");
        let err = parse("x.json", &format!("[\n{LLM},\n{}\n]", TOOL.replace(r#""status":"error""#, r#""status":"broken""#))).unwrap_err();
        assert_eq!(err.message, "line 3: status: `broken` is not one of ok, error, unset");
        let backwards = LLM.replace("1739800002.456", "1739790000");
        assert!(parse("x.jsonl", &backwards).unwrap_err().message.contains("end_time: 1739790000 is before start_time"));
        assert_eq!(parse("x.json", "{\"traces\": []}").unwrap_err().message, "line 1: missing field `span_id`");
        assert_eq!(parse("x.json", "42").unwrap_err().message, "line 1: expected a span (a JSON object), found `42`");
        assert_eq!(parse("x.json", "[1]").unwrap_err().message, "line 1: expected a span (a JSON object), found `1`");
        assert_eq!(parse("x.json", "  \n").unwrap_err().message, "no spans in the file");
    }
}
