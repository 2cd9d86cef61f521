//! Timestamps: RFC 3339 UTC with milliseconds, so they sort as text.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn now() -> String {
    format(Utc::now())
}

pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// Seeded rows carry this time so every installation agrees on them.
pub const EPOCH: &str = "1970-01-01T00:00:00.000Z";

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_sort_as_text_and_round_trip() {
        let a = super::now();
        assert_eq!(a.len(), "2026-01-01T00:00:00.000Z".len(), "fixed width keeps text order = time order");
        assert_eq!(super::format(super::parse(&a).unwrap()), a);
        assert!(super::EPOCH < a.as_str());
    }
}
