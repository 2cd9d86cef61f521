//! Rule-based graders for the prompt lab and how well a grader agrees with people: a cell's
//! output passes or fails against an expected value from the dataset, and grader verdicts are
//! compared with human grades (agreement rate and Cohen's kappa). Pass rates are reported on
//! their own, never blended with 1-5 ratings.

use serde::Serialize;

use crate::{
    dataset::{self, DatasetError, Format},
    Coded, ErrorCode,
};

/// How an output is checked against the expected value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// The output equals the expected text, ignoring surrounding whitespace.
    Exact,
    /// The output contains the expected text, ignoring case.
    Contains,
    /// The output matches the expected value read as a regular expression.
    Regex,
    /// The output is valid JSON (the expected value is not used).
    ValidJson,
    /// Output and expected value are JSON objects whose named fields are equal.
    JsonFields(Vec<String>),
}

impl Rule {
    /// Parses `exact`, `contains`, `regex`, `json`, or `json_fields:a,b`.
    pub fn parse(s: &str) -> Result<Rule, GradeError> {
        match s.split_once(':') {
            Some(("json_fields", fields)) => {
                let fields: Vec<String> = fields.split(',').map(|f| f.trim().to_owned()).filter(|f| !f.is_empty()).collect();
                if fields.is_empty() {
                    return Err(GradeError::BadRule(s.to_owned()));
                }
                Ok(Rule::JsonFields(fields))
            }
            None if s == "exact" => Ok(Rule::Exact),
            None if s == "contains" => Ok(Rule::Contains),
            None if s == "regex" => Ok(Rule::Regex),
            None if s == "json" => Ok(Rule::ValidJson),
            _ => Err(GradeError::BadRule(s.to_owned())),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GradeError {
    #[error("rule: `{0}` is not a rule (exact, contains, regex, json, json_fields:a,b)")]
    BadRule(String),
    #[error("expected: `{pattern}` is not a regular expression: {reason}")]
    BadPattern { pattern: String, reason: String },
    #[error("column `{0}` is not in the dataset")]
    MissingColumn(String),
    #[error("row {row}: `{value}` is not a grade (pass, fail, or empty for none)")]
    BadHumanGrade { row: u64, value: String },
    #[error(transparent)]
    Dataset(#[from] DatasetError),
}

impl Coded for GradeError {
    fn code(&self) -> ErrorCode {
        match self {
            GradeError::Dataset(e) => e.code(),
            _ => ErrorCode::Validation,
        }
    }
}

/// A grader's decision and why, shown beside the cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub pass: bool,
    pub reason: String,
}

impl Verdict {
    fn new(pass: bool, reason: impl Into<String>) -> Verdict {
        Verdict { pass, reason: reason.into() }
    }
}

/// Grades one output. A bad pattern is an error (the grader is wrong, not the output).
pub fn grade(rule: &Rule, output: &str, expected: &str) -> Result<Verdict, GradeError> {
    Ok(match rule {
        Rule::Exact => {
            let pass = output.trim() == expected.trim();
            Verdict::new(pass, if pass { "equals the expected text" } else { "differs from the expected text" })
        }
        Rule::Contains => {
            let pass = output.to_lowercase().contains(&expected.to_lowercase());
            Verdict::new(pass, if pass { "contains the expected text" } else { "does not contain the expected text" })
        }
        Rule::Regex => {
            let re = regex::Regex::new(expected).map_err(|e| GradeError::BadPattern { pattern: expected.to_owned(), reason: e.to_string() })?;
            let pass = re.is_match(output);
            Verdict::new(pass, if pass { "matches the pattern" } else { "does not match the pattern" })
        }
        Rule::ValidJson => match serde_json::from_str::<serde::de::IgnoredAny>(output.trim()) {
            Ok(_) => Verdict::new(true, "is valid JSON"),
            Err(e) => Verdict::new(false, format!("is not valid JSON: {e}")),
        },
        Rule::JsonFields(fields) => json_fields(fields, output, expected),
    })
}

/// Reads a grader prompt's answer (LLM as judge): `{"pass": bool, "rationale": "..."}`, also
/// inside prose or a code fence.
pub fn parse_judgement(text: &str) -> Result<Verdict, String> {
    let obj = crate::chips::extract_object(text, "pass")
        .ok_or_else(|| format!("unparseable verdict: no JSON object with \"pass\" in {} characters", text.len()))?;
    let pass = obj["pass"].as_bool().ok_or_else(|| format!("schema violation: \"pass\" is {}, not true or false", obj["pass"]))?;
    let rationale = obj.get("rationale").and_then(serde_json::Value::as_str).unwrap_or_default();
    Ok(Verdict::new(pass, rationale))
}

fn json_fields(fields: &[String], output: &str, expected: &str) -> Verdict {
    let object = |text: &str| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text.trim()).ok();
    let (Some(got), Some(want)) = (object(output), object(expected)) else {
        return Verdict::new(false, "output or expected value is not a JSON object");
    };
    match fields.iter().find(|f| got.get(*f) != want.get(*f)) {
        Some(f) => Verdict::new(false, format!("field `{f}` differs")),
        None => Verdict::new(true, format!("fields {} match", fields.join(", "))),
    }
}

/// How often a grader agrees with people on the same cells.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Agreement {
    pub pairs: u64,
    /// Share of cells where grader and person agree.
    pub rate: f64,
    /// Cohen's kappa: agreement beyond what chance would give; `None` when chance agreement is
    /// total (both always said the same one thing), where kappa is undefined.
    pub kappa: Option<f64>,
}

/// Agreement over (grader passed, person passed) pairs; `None` without pairs.
pub fn agreement(pairs: impl IntoIterator<Item = (bool, bool)>) -> Option<Agreement> {
    let (mut n, mut same, mut grader_pass, mut human_pass) = (0u64, 0u64, 0u64, 0u64);
    for (g, h) in pairs {
        n += 1;
        same += u64::from(g == h);
        grader_pass += u64::from(g);
        human_pass += u64::from(h);
    }
    if n == 0 {
        return None;
    }
    let share = |k: u64| k as f64 / n as f64;
    let observed = share(same);
    let chance = share(grader_pass) * share(human_pass) + (1.0 - share(grader_pass)) * (1.0 - share(human_pass));
    let kappa = (chance < 1.0).then(|| (observed - chance) / (1.0 - chance));
    Some(Agreement { pairs: n, rate: observed, kappa })
}

/// Which columns of a dataset hold what a grader reads.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    pub output: &'a str,
    /// Absent for rules that need no expected value (valid JSON).
    pub expected: Option<&'a str>,
    /// A person's grade per row: pass, fail, or empty.
    pub human: Option<&'a str>,
}

/// A file graded row by row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileGrades {
    pub graded: u64,
    pub passed: u64,
    /// Over the rows a person graded; `None` when none did or no column was named.
    pub agreement: Option<Agreement>,
}

/// Grades every row of a dataset file (read as a stream) whose columns already hold outputs:
/// outputs from elsewhere, or a check of a grader against people's grades before a run uses it.
pub fn grade_file(input: impl std::io::Read, format: Format, rule: &Rule, columns: Columns) -> Result<FileGrades, GradeError> {
    let headers = std::cell::OnceCell::new();
    let place = |headers: &[String]| -> Result<(usize, Option<usize>, Option<usize>), GradeError> {
        let find = |name: &str| headers.iter().position(|h| h == name).ok_or_else(|| GradeError::MissingColumn(name.to_owned()));
        Ok((find(columns.output)?, columns.expected.map(find).transpose()?, columns.human.map(find).transpose()?))
    };
    let mut at = None;
    let mut failure = None;
    let (mut graded, mut passed, mut pairs) = (0u64, 0u64, Vec::new());
    dataset::read(input, format, |h| {
        let _ = headers.set(h.to_vec());
    }, |row| {
        if failure.is_some() {
            return;
        }
        let (output, expected, human) = match at {
            Some(a) => a,
            None => match place(headers.get().expect("the header comes first")) {
                Ok(a) => *at.insert(a),
                Err(e) => return failure = Some(e),
            },
        };
        graded += 1;
        let verdict = match grade(rule, &row[output], expected.map_or("", |i| row[i].as_str())) {
            Ok(v) => v,
            Err(e) => return failure = Some(e),
        };
        passed += u64::from(verdict.pass);
        if let Some(value) = human.map(|i| &row[i]) {
            match human_grade(value) {
                Some(Ok(person)) => pairs.push((verdict.pass, person)),
                Some(Err(())) => failure = Some(GradeError::BadHumanGrade { row: graded, value: value.clone() }),
                None => {}
            }
        }
    })?;
    if at.is_none() && failure.is_none() {
        // A file without rows: its columns are still checked.
        place(headers.get().map_or(&[][..], Vec::as_slice))?;
    }
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(FileGrades { graded, passed, agreement: agreement(pairs) })
}

/// A person's grade as written in a file: `None` when blank (not graded).
fn human_grade(value: &str) -> Option<Result<bool, ()>> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" => None,
        "pass" | "true" | "1" | "yes" => Some(Ok(true)),
        "fail" | "false" | "0" | "no" => Some(Ok(false)),
        _ => Some(Err(())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passes(rule: &Rule, output: &str, expected: &str) -> bool {
        grade(rule, output, expected).unwrap().pass
    }

    #[test]
    fn text_rules() {
        assert!(passes(&Rule::Exact, " Paris\n", "Paris"));
        assert!(!passes(&Rule::Exact, "paris", "Paris"), "exact is case-sensitive");
        assert!(passes(&Rule::Contains, "The capital is PARIS.", "paris"));
        assert!(!passes(&Rule::Contains, "Lyon", "Paris"));
        assert!(passes(&Rule::Regex, "order #4512 shipped", r"#\d{4}\b"));
        assert!(!passes(&Rule::Regex, "order #45 shipped", r"#\d{4}\b"));
        let err = grade(&Rule::Regex, "x", "(unclosed").unwrap_err();
        assert!(matches!(&err, GradeError::BadPattern { pattern, .. } if pattern == "(unclosed"), "{err}");
    }

    #[test]
    fn json_rules() {
        assert!(passes(&Rule::ValidJson, " {\"a\": [1, 2]} ", ""));
        let bad = grade(&Rule::ValidJson, "{\"a\": ", "").unwrap();
        assert!(!bad.pass && bad.reason.starts_with("is not valid JSON"), "{bad:?}");
        let fields = Rule::JsonFields(vec!["city".into(), "zip".into()]);
        assert!(passes(&fields, r#"{"city": "Oslo", "zip": "0150", "extra": 1}"#, r#"{"zip": "0150", "city": "Oslo"}"#));
        let differs = grade(&fields, r#"{"city": "Oslo", "zip": 150}"#, r#"{"city": "Oslo", "zip": "0150"}"#).unwrap();
        assert_eq!(differs, Verdict::new(false, "field `zip` differs"), "a number is not the string");
        assert!(!passes(&fields, "[1]", r#"{"city": "Oslo"}"#));
    }

    #[test]
    fn a_file_is_graded_and_compared_with_peoples_grades() {
        let csv = "question,answer,expected,human\nq1,Paris,paris,pass\nq2,Lyon,paris,pass\nq3,Nice,paris,fail\nq4,paris!,paris,\n";
        let columns = Columns { output: "answer", expected: Some("expected"), human: Some("human") };
        let g = grade_file(csv.as_bytes(), Format::Csv, &Rule::Contains, columns).unwrap();
        assert_eq!((g.graded, g.passed), (4, 2));
        // Graded by a person: q1 (pass, pass), q2 (fail, pass), q3 (fail, fail): 2 of 3 agree;
        // chance = 1/3 * 2/3 + 2/3 * 1/3 = 4/9, kappa = (2/3 - 4/9) / (5/9) = 0.4.
        let a = g.agreement.unwrap();
        assert_eq!(a.pairs, 3);
        assert!((a.rate - 2.0 / 3.0).abs() < 1e-12 && (a.kappa.unwrap() - 0.4).abs() < 1e-12, "{a:?}");

        let missing = Columns { output: "answer", expected: Some("gold"), human: None };
        assert_eq!(grade_file(csv.as_bytes(), Format::Csv, &Rule::Exact, missing).unwrap_err(), GradeError::MissingColumn("gold".into()));
        let bad = "answer,expected,human\nx,x,maybe\n";
        assert_eq!(grade_file(bad.as_bytes(), Format::Csv, &Rule::Exact, columns).unwrap_err(), GradeError::BadHumanGrade { row: 1, value: "maybe".into() });
    }

    #[test]
    fn rules_parse_by_name() {
        assert_eq!(Rule::parse("json_fields: a, b").unwrap(), Rule::JsonFields(vec!["a".into(), "b".into()]));
        assert_eq!(Rule::parse("contains").unwrap(), Rule::Contains);
        assert_eq!(Rule::parse("json_fields:").unwrap_err(), GradeError::BadRule("json_fields:".into()));
        assert!(Rule::parse("fuzzy").unwrap_err().to_string().contains("`fuzzy` is not a rule"));
    }

    #[test]
    fn agreement_and_kappa_match_hand_computed_values() {
        // 50 cells: both pass 20, grader only 5, person only 10, both fail 15.
        // observed = 35/50 = 0.7; chance = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = 0.2 / 0.5 = 0.4.
        let pairs = [(true, true); 20].into_iter().chain([(true, false); 5]).chain([(false, true); 10]).chain([(false, false); 15]);
        let a = agreement(pairs).unwrap();
        assert_eq!(a.pairs, 50);
        assert!((a.rate - 0.7).abs() < 1e-12 && (a.kappa.unwrap() - 0.4).abs() < 1e-12, "{a:?}");
        // Perfect disagreement on a balanced set: kappa -1.
        let opposite = agreement([(true, false), (false, true)]).unwrap();
        assert_eq!((opposite.rate, opposite.kappa), (0.0, Some(-1.0)));
        // Everyone always says pass: agreement 1, kappa undefined.
        assert_eq!(agreement([(true, true); 3]).unwrap().kappa, None);
        assert_eq!(agreement([]), None);
    }
}
