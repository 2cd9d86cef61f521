//! The search box's language, translated into an FTS5 query that cannot be a syntax error:
//! words (all must match), `"quoted phrases"`, `prefix*`, and `OR` between two terms. Any other
//! punctuation is part of a word (`C++`, `don't`, `e-mail`) and is matched as the tokenizer splits
//! it, because every term is passed to FTS5 as a quoted string.

/// Why a search query cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("query: the quote opened at character {0} is never closed; close it or remove it")]
    UnclosedQuote(usize),
    #[error("query: `{0}` has nothing to search for; type a word")]
    Empty(String),
    #[error("query: OR needs a term on both sides")]
    DanglingOr,
}

/// Translates the search box's text into an FTS5 MATCH expression.
pub fn fts_query(input: &str) -> Result<String, QueryError> {
    let mut terms: Vec<String> = Vec::new();
    let mut pending_or = false;
    let mut rest = input.char_indices().peekable();
    while let Some(&(at, c)) = rest.peek() {
        if c.is_whitespace() {
            rest.next();
            continue;
        }
        let term = if c == '"' {
            rest.next();
            let mut phrase = String::new();
            loop {
                match rest.next() {
                    Some((_, '"')) => break,
                    Some((_, ch)) => phrase.push(ch),
                    None => return Err(QueryError::UnclosedQuote(input[..at].chars().count() + 1)),
                }
            }
            let prefix = rest.next_if(|&(_, ch)| ch == '*').is_some();
            quoted(&phrase, prefix)
        } else {
            let mut word = String::new();
            while let Some((_, ch)) = rest.next_if(|&(_, ch)| !ch.is_whitespace() && ch != '"') {
                word.push(ch);
            }
            if word == "OR" {
                if terms.is_empty() || pending_or {
                    return Err(QueryError::DanglingOr);
                }
                pending_or = true;
                continue;
            }
            match word.strip_suffix('*') {
                Some(stem) if has_word(stem) => quoted(stem, true),
                _ => quoted(&word, false),
            }
        };
        // A term with nothing the tokenizer keeps (`-`, `""`) would match nothing: skip it.
        let Some(term) = term else { continue };
        if pending_or {
            let left = terms.pop().expect("OR follows a term");
            terms.push(format!("({left} OR {term})"));
            pending_or = false;
        } else {
            terms.push(term);
        }
    }
    if pending_or {
        return Err(QueryError::DanglingOr);
    }
    if terms.is_empty() {
        return Err(QueryError::Empty(input.trim().to_owned()));
    }
    Ok(terms.join(" AND "))
}

fn has_word(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

/// An FTS5 string (double quotes doubled inside), optionally a prefix; None without a word.
fn quoted(text: &str, prefix: bool) -> Option<String> {
    has_word(text).then(|| format!("\"{}\"{}", text.replace('"', "\"\""), if prefix { "*" } else { "" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_phrases_prefixes_and_or() {
        assert_eq!(fts_query("budget review").unwrap(), r#""budget" AND "review""#);
        assert_eq!(fts_query(r#""quarterly review" KPI"#).unwrap(), r#""quarterly review" AND "KPI""#);
        assert_eq!(fts_query("road*").unwrap(), r#""road"*"#);
        assert_eq!(fts_query(r#""night sh"*"#).unwrap(), r#""night sh"*"#);
        assert_eq!(fts_query("audit OR budget cut").unwrap(), r#"("audit" OR "budget") AND "cut""#);
    }

    #[test]
    fn punctuation_is_part_of_a_term_never_syntax() {
        assert_eq!(fts_query("C++ don't").unwrap(), r#""C++" AND "don't""#);
        assert_eq!(fts_query("NEAR( AND: ^start col:x").unwrap(), r#""NEAR(" AND "AND:" AND "^start" AND "col:x""#);
        assert_eq!(fts_query(r#"o"brien""#).unwrap(), r#""o" AND "brien""#, "a quote inside a word opens a phrase");
        assert_eq!(fts_query(r#"o"brien"#).unwrap_err(), QueryError::UnclosedQuote(2));
        assert_eq!(fts_query("- * word").unwrap(), r#""word""#, "terms without a word are dropped");
    }

    #[test]
    fn bad_queries_get_a_message_that_says_what_to_do() {
        assert_eq!(fts_query(r#"budget "quarterly review"#).unwrap_err(), QueryError::UnclosedQuote(8));
        assert!(fts_query(r#"budget "quarterly review"#).unwrap_err().to_string().contains("character 8"));
        assert_eq!(fts_query("  ").unwrap_err(), QueryError::Empty(String::new()));
        assert_eq!(fts_query(r#""" ***"#).unwrap_err(), QueryError::Empty(r#""" ***"#.into()));
        assert_eq!(fts_query("OR budget").unwrap_err(), QueryError::DanglingOr);
        assert_eq!(fts_query("budget OR").unwrap_err(), QueryError::DanglingOr);
    }
}
