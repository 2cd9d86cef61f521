//! Datasets for the prompt lab: rows of named text values read from CSV, a JSON array of
//! objects, or JSON Lines, one row at a time (a 100 MB file is never held in memory), and the
//! check that a prompt's `{{placeholders}}` are all columns.
//!
//! Every problem is an error naming where it is (line, column, item) before anything is stored;
//! the caller stores rows only after the whole file has read cleanly.

use std::io::{BufRead, BufReader, Read};

use serde::{
    de::{IgnoredAny, MapAccess, SeqAccess, Visitor},
    Deserializer, Serialize,
};

use crate::{Coded, ErrorCode};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatasetError {
    #[error("dataset: the file has no header row")]
    NoHeader,
    #[error("dataset: column {column} has an empty header")]
    EmptyHeader { column: usize },
    #[error("dataset: header `{name}` appears twice (columns {first} and {second})")]
    DuplicateHeader { name: String, first: usize, second: usize },
    #[error("dataset: line {line} has {found} fields where the header has {expected}")]
    Ragged { line: u64, found: usize, expected: usize },
    #[error("dataset: line {line} is not valid UTF-8; save the file as UTF-8")]
    InvalidUtf8 { line: u64 },
    #[error("dataset: {location} is not a JSON object ({found}); a dataset is an array of objects or one object per line")]
    NotAnObject { location: String, found: String },
    #[error("dataset: {location} has field `{field}`, which the first row lacks; every row needs the first row's fields")]
    UnknownField { location: String, field: String },
    #[error("dataset: {location}: {reason}")]
    Malformed { location: String, reason: String },
    #[error("dataset: reading the file failed: {0}")]
    Io(String),
    #[error("file: {0}")]
    File(String),
}

impl Coded for DatasetError {
    fn code(&self) -> ErrorCode {
        match self {
            DatasetError::Io(_) => ErrorCode::Storage,
            _ => ErrorCode::Validation,
        }
    }
}

/// How a file's rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    /// One array of objects.
    Json,
    /// One object per line.
    JsonLines,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::JsonLines => "json_lines",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        [Format::Csv, Format::Json, Format::JsonLines].into_iter().find(|f| f.as_str() == s)
    }

    /// By the file name's extension; `None` for anything else.
    pub fn of_file_name(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

/// One row's values, in header order.
pub type Row = Vec<String>;

/// Reads a dataset, calling `on_header` once with the column names and `on_row` for each row in
/// order; stops at the first problem. Only the current row is held in memory.
pub fn read(input: impl Read, format: Format, on_header: impl FnOnce(&[String]), on_row: impl FnMut(Row)) -> Result<(), DatasetError> {
    match format {
        Format::Csv => read_csv(input, on_header, on_row),
        Format::Json => read_json_array(input, on_header, on_row),
        Format::JsonLines => read_json_lines(input, on_header, on_row),
    }
}

/// Opens a dataset file; its format comes from its extension.
pub fn open(path: &std::path::Path) -> Result<(Format, std::fs::File), DatasetError> {
    let name = path.display();
    let format = Format::of_file_name(&name.to_string()).ok_or_else(|| DatasetError::File(format!("`{name}` is not .csv, .json, .jsonl or .ndjson")))?;
    let file = std::fs::File::open(path).map_err(|e| DatasetError::File(format!("cannot open `{name}`: {e}")))?;
    Ok((format, file))
}

/// A file's header, row count and first rows: what the import dialog shows before storing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Summary {
    pub format: Format,
    pub headers: Vec<String>,
    pub row_count: u64,
    pub preview: Vec<Row>,
}

/// Reads the whole file (streaming) and keeps the first `preview_rows` rows.
pub fn summarize(input: impl Read, format: Format, preview_rows: usize) -> Result<Summary, DatasetError> {
    let mut headers = Vec::new();
    let (mut row_count, mut preview) = (0, Vec::new());
    read(input, format, |h| headers = h.to_vec(), |row| {
        row_count += 1;
        if preview.len() < preview_rows {
            preview.push(row);
        }
    })?;
    Ok(Summary { format, headers, row_count, preview })
}

/// Each `{{name}}` of a template: its byte range and its name (trimmed).
fn slots(template: &str) -> impl Iterator<Item = (std::ops::Range<usize>, &str)> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let open = pos + template[pos..].find("{{")?;
        let close = open + 2 + template[open + 2..].find("}}")?;
        pos = close + 2;
        Some((open..close + 2, template[open + 2..close].trim()))
    })
}

/// The `{{name}}` placeholders of a template, each once, in order of first use (names trimmed).
pub fn placeholders(template: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (_, name) in slots(template) {
        if !name.is_empty() && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

/// The template with each `{{name}}` replaced by `value(name)`; one it has no value for stays as
/// written. Values are inserted as they are (a value's own `{{...}}` is not expanded).
pub fn render<'v>(template: &str, value: impl Fn(&str) -> Option<&'v str>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut copied = 0;
    for (range, name) in slots(template) {
        if let Some(v) = value(name) {
            out.push_str(&template[copied..range.start]);
            out.push_str(v);
            copied = range.end;
        }
    }
    out.push_str(&template[copied..]);
    out
}

/// Placeholder names as a prompt writes them: `{{a}}, {{b}}`.
pub fn quote_placeholders(names: &[String]) -> String {
    names.iter().map(|n| format!("{{{{{n}}}}}")).collect::<Vec<_>>().join(", ")
}

/// The template's placeholders that are not columns of the dataset, in order of first use.
pub fn missing_columns(template: &str, headers: &[String]) -> Vec<String> {
    placeholders(template).into_iter().filter(|p| !headers.contains(p)).collect()
}

fn check_headers(headers: &[String]) -> Result<(), DatasetError> {
    if headers.is_empty() {
        return Err(DatasetError::NoHeader);
    }
    for (i, name) in headers.iter().enumerate() {
        if name.trim().is_empty() {
            return Err(DatasetError::EmptyHeader { column: i + 1 });
        }
        if let Some(first) = headers[..i].iter().position(|h| h == name) {
            return Err(DatasetError::DuplicateHeader { name: name.clone(), first: first + 1, second: i + 1 });
        }
    }
    Ok(())
}

fn read_csv(input: impl Read, on_header: impl FnOnce(&[String]), mut on_row: impl FnMut(Row)) -> Result<(), DatasetError> {
    // The csv crate strips a UTF-8 byte order mark, handles quotes and newlines inside them, and
    // reports ragged rows with their line (flexible = false).
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(input);
    let headers: Vec<String> = reader.headers().map_err(csv_error)?.iter().map(|h| h.trim().to_owned()).collect();
    if headers.len() == 1 && headers[0].is_empty() {
        return Err(DatasetError::NoHeader);
    }
    check_headers(&headers)?;
    on_header(&headers);
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_error)? {
        on_row(record.iter().map(str::to_owned).collect());
    }
    Ok(())
}

fn csv_error(e: csv::Error) -> DatasetError {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::UnequalLengths { pos, expected_len, len } => {
            DatasetError::Ragged { line: pos.map_or(line, |p| p.line()), found: len as usize, expected: expected_len as usize }
        }
        csv::ErrorKind::Utf8 { pos, .. } => DatasetError::InvalidUtf8 { line: pos.map_or(line, |p| p.line()) },
        csv::ErrorKind::Io(e) => DatasetError::Io(e.to_string()),
        other => DatasetError::Malformed { location: format!("line {line}"), reason: format!("{other:?}") },
    }
}

/// Turns JSON objects into rows: the first object's fields are the header.
struct Rows<H, F> {
    headers: Option<Vec<String>>,
    on_header: Option<H>,
    on_row: F,
}

impl<H: FnOnce(&[String]), F: FnMut(Row)> Rows<H, F> {
    fn take(&mut self, location: impl Fn() -> String, item: Item) -> Result<(), DatasetError> {
        let fields = match item {
            Item::Object(fields) => fields,
            Item::Other(found) => return Err(DatasetError::NotAnObject { location: location(), found: found.into() }),
        };
        let headers = match &self.headers {
            Some(h) => h,
            None => {
                let h: Vec<String> = fields.iter().map(|(k, _)| k.clone()).collect();
                check_headers(&h)?;
                (self.on_header.take().expect("the header is announced once"))(&h);
                self.headers.insert(h)
            }
        };
        let mut row = vec![String::new(); headers.len()];
        for (field, value) in fields {
            let Some(i) = headers.iter().position(|h| *h == field) else {
                return Err(DatasetError::UnknownField { location: location(), field });
            };
            row[i] = cell(value);
        }
        (self.on_row)(row);
        Ok(())
    }

    fn finish(self) -> Result<(), DatasetError> {
        self.headers.map(|_| ()).ok_or(DatasetError::NoHeader)
    }
}

/// A JSON value as a cell: strings as they are, null as empty, anything else as compact JSON.
fn cell(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One JSON value of a dataset file: an object's fields in the file's order (the first object's
/// order is the header's), or what else it was.
enum Item {
    Object(Vec<(String, serde_json::Value)>),
    Other(&'static str),
}

impl<'de> serde::Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Item, D::Error> {
        d.deserialize_any(ItemVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        let mut fields = Vec::new();
        while let Some(entry) = map.next_entry()? {
            fields.push(entry);
        }
        Ok(Item::Object(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Item::Other("an array"))
    }

    fn visit_unit<E>(self) -> Result<Item, E> {
        Ok(Item::Other("null"))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Item, E> {
        Ok(Item::Other("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Item, E> {
        Ok(Item::Other("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Item, E> {
        Ok(Item::Other("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Item, E> {
        Ok(Item::Other("a number"))
    }

    fn visit_str<E>(self, _: &str) -> Result<Item, E> {
        Ok(Item::Other("a string"))
    }
}

fn read_json_lines(input: impl Read, on_header: impl FnOnce(&[String]), on_row: impl FnMut(Row)) -> Result<(), DatasetError> {
    let mut rows = Rows { headers: None, on_header: Some(on_header), on_row };
    let mut reader = BufReader::new(input);
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(|e| DatasetError::Io(e.to_string()))? == 0 {
            break;
        }
        line += 1;
        let text = std::str::from_utf8(&buf).map_err(|_| DatasetError::InvalidUtf8 { line })?;
        let text = if line == 1 { text.trim_start_matches('\u{feff}') } else { text };
        if text.trim().is_empty() {
            continue;
        }
        let value = serde_json::from_str(text).map_err(|e| DatasetError::Malformed { location: format!("line {line}"), reason: e.to_string() })?;
        rows.take(|| format!("line {line}"), value)?;
    }
    rows.finish()
}

fn read_json_array(input: impl Read, on_header: impl FnOnce(&[String]), on_row: impl FnMut(Row)) -> Result<(), DatasetError> {
    let mut input = BufReader::new(input);
    skip_bom(&mut input)?;
    let mut rows = Rows { headers: None, on_header: Some(on_header), on_row };
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_reader(input);
    let parsed = de.deserialize_any(ArrayVisitor { rows: &mut rows, failure: &mut failure }).and_then(|()| de.end());
    if let Some(f) = failure {
        return Err(f);
    }
    parsed.map_err(|e| {
        if e.is_io() {
            DatasetError::Io(e.to_string())
        } else if e.to_string().contains("UTF-8") {
            DatasetError::InvalidUtf8 { line: e.line() as u64 }
        } else {
            DatasetError::Malformed { location: format!("line {}", e.line()), reason: e.to_string() }
        }
    })?;
    rows.finish()
}

fn skip_bom(input: &mut impl BufRead) -> Result<(), DatasetError> {
    let start = input.fill_buf().map_err(|e| DatasetError::Io(e.to_string()))?;
    if start.starts_with(b"\xEF\xBB\xBF") {
        input.consume(3);
    }
    Ok(())
}

/// Visits a top-level array one element at a time, so the array is never built in memory. A
/// row's own problem is kept in `failure` (serde's error type cannot carry it).
struct ArrayVisitor<'r, H, F> {
    rows: &'r mut Rows<H, F>,
    failure: &'r mut Option<DatasetError>,
}

impl<'de, H: FnOnce(&[String]), F: FnMut(Row)> Visitor<'de> for ArrayVisitor<'_, H, F> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut item = 0u64;
        while let Some(value) = seq.next_element::<Item>()? {
            item += 1;
            if let Err(e) = self.rows.take(|| format!("item {item}"), value) {
                *self.failure = Some(e);
                return Err(serde::de::Error::custom("row rejected"));
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        *self.failure = Some(DatasetError::NotAnObject { location: "the file".into(), found: "one object, not an array".into() });
        Err(serde::de::Error::custom("not an array"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8], format: Format) -> Result<(Vec<String>, Vec<Row>), DatasetError> {
        let mut headers = Vec::new();
        let mut rows = Vec::new();
        read(text, format, |h| headers = h.to_vec(), |r| rows.push(r))?;
        Ok((headers, rows))
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn csv_with_bom_quotes_and_embedded_newlines() {
        let text = "\u{feff}question,expected\n\"Say \"\"hi\"\", twice\",\"line one\nline two\"\nplain,\n".as_bytes();
        let (headers, rows) = all(text, Format::Csv).unwrap();
        assert_eq!(headers, strings(&["question", "expected"]), "the BOM is not part of the first header");
        assert_eq!(rows, vec![strings(&["Say \"hi\", twice", "line one\nline two"]), strings(&["plain", ""])]);
    }

    #[test]
    fn a_ragged_csv_row_names_its_line() {
        // The quoted newline makes the third record start on line 4.
        let text = b"a,b\n1,\"x\ny\"\n3,4,5\n";
        assert_eq!(all(text, Format::Csv).unwrap_err(), DatasetError::Ragged { line: 4, found: 3, expected: 2 });
    }

    #[test]
    fn bad_headers_and_bytes_are_named() {
        assert_eq!(all(b"a,,c\n1,2,3\n", Format::Csv).unwrap_err(), DatasetError::EmptyHeader { column: 2 });
        assert_eq!(all(b"a,b,a\n", Format::Csv).unwrap_err(), DatasetError::DuplicateHeader { name: "a".into(), first: 1, second: 3 });
        assert_eq!(all(b"", Format::Csv).unwrap_err(), DatasetError::NoHeader);
        assert_eq!(all(b"a,b\n1,2\n\xff\xfe,3\n", Format::Csv).unwrap_err(), DatasetError::InvalidUtf8 { line: 3 });
        let message = DatasetError::DuplicateHeader { name: "a".into(), first: 1, second: 3 }.to_string();
        assert!(message.contains("`a`") && message.contains("columns 1 and 3"), "{message}");
    }

    #[test]
    fn a_json_array_of_objects_becomes_rows_in_the_first_objects_field_order() {
        let text = br#"[{"q": "two?", "n": 2, "tags": ["a"], "none": null}, {"n": 3.5, "q": "x"}]"#;
        let (headers, rows) = all(text, Format::Json).unwrap();
        assert_eq!(headers, strings(&["q", "n", "tags", "none"]));
        assert_eq!(rows, vec![strings(&["two?", "2", "[\"a\"]", ""]), strings(&["x", "3.5", "", ""])]);
    }

    #[test]
    fn json_that_is_not_an_array_of_objects_is_refused_with_where() {
        let not_object = all(br#"[{"a": 1}, 7]"#, Format::Json).unwrap_err();
        assert_eq!(not_object, DatasetError::NotAnObject { location: "item 2".into(), found: "a number".into() });
        assert!(matches!(all(br#"{"a": 1}"#, Format::Json).unwrap_err(), DatasetError::NotAnObject { .. }));
        assert!(matches!(all(br#""text""#, Format::Json).unwrap_err(), DatasetError::Malformed { .. }));
        let extra = all(br#"[{"a": 1}, {"a": 2, "b": 3}]"#, Format::Json).unwrap_err();
        assert_eq!(extra, DatasetError::UnknownField { location: "item 2".into(), field: "b".into() });
        assert!(matches!(all(b"[{\"a\": 1},\n{\"a\": ", Format::Json).unwrap_err(), DatasetError::Malformed { location, .. } if location == "line 2"));
        assert_eq!(all(b"[]", Format::Json).unwrap_err(), DatasetError::NoHeader);
    }

    #[test]
    fn json_lines_name_the_bad_line_and_skip_blank_ones() {
        let (headers, rows) = all(b"\xEF\xBB\xBF{\"a\": \"1\"}\n\n{\"a\": \"2\"}\n", Format::JsonLines).unwrap();
        assert_eq!((headers, rows), (strings(&["a"]), vec![strings(&["1"]), strings(&["2"])]));
        assert!(matches!(all(b"{\"a\": 1}\n{\"a\": \n", Format::JsonLines).unwrap_err(), DatasetError::Malformed { location, .. } if location == "line 2"));
        assert_eq!(all(b"{\"a\": 1}\n[1]\n", Format::JsonLines).unwrap_err(), DatasetError::NotAnObject { location: "line 2".into(), found: "an array".into() });
        assert_eq!(all(b"{\"a\": 1}\n{\"a\": \"\xff\"}\n", Format::JsonLines).unwrap_err(), DatasetError::InvalidUtf8 { line: 2 });
    }

    #[test]
    fn summary_counts_every_row_and_keeps_the_first() {
        let text = "n\n1\n2\n3\n4\n";
        let s = summarize(text.as_bytes(), Format::Csv, 2).unwrap();
        assert_eq!((s.headers, s.row_count, s.preview), (strings(&["n"]), 4, vec![strings(&["1"]), strings(&["2"])]));
    }

    #[test]
    fn placeholders_are_found_once_each_and_checked_against_columns() {
        let template = "Answer {{ question }} for {{persona}}; again: {{question}}. Not {{}} nor {{open";
        assert_eq!(placeholders(template), strings(&["question", "persona"]));
        assert_eq!(missing_columns(template, &strings(&["question", "expected"])), strings(&["persona"]));
        assert!(missing_columns("no placeholders", &[]).is_empty());
    }

    #[test]
    fn render_fills_known_placeholders_and_leaves_the_rest() {
        let value = |name: &str| match name {
            "question" => Some("What is {{persona}}?"),
            "persona" => Some("a nurse"),
            _ => None,
        };
        let out = render("Q: {{ question }} / {{persona}} / {{unknown}} / {{open", value);
        assert_eq!(out, "Q: What is {{persona}}? / a nurse / {{unknown}} / {{open", "a value's braces are not expanded");
        assert_eq!(render("", value), "");
    }

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(Format::of_file_name("rows.CSV"), Some(Format::Csv));
        assert_eq!(Format::of_file_name("a.b.jsonl"), Some(Format::JsonLines));
        assert_eq!(Format::of_file_name("data.json"), Some(Format::Json));
        assert_eq!(Format::of_file_name("notes.txt"), None);
        assert_eq!(Format::of_file_name("README"), None);
    }
}
