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

/// A change's `updated_at`: now, or 1 ms after the row's previous `updated_at` when the clock
/// reads earlier (it stepped back), so a later edit always wins last-writer-wins sync.
pub fn after(previous: Option<&str>) -> String {
    let now = Utc::now();
    match previous.and_then(parse).map(|p| p + chrono::Duration::milliseconds(1)) {
        Some(next) if next > now => format(next),
        _ => format(now),
    }
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

    #[test]
    fn a_change_is_never_older_than_the_previous_one() {
        let future = "2999-01-01T00:00:00.000Z";
        assert_eq!(super::after(Some(future)), "2999-01-01T00:00:00.001Z", "the clock stepped back: 1 ms later");
        assert!(super::after(Some("2001-01-01T00:00:00.000Z")).as_str() > "2026", "otherwise now");
        assert!(super::after(None).as_str() > "2026");
    }
}
