//! Timestamps: RFC 3339 UTC with milliseconds, so they sort as text.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

pub fn now() -> String {
    format(Utc::now())
}

/// `2026-01-01T00:00:00.000Z`. Written digit by digit: chrono's general formatter took about
/// 800 instructions a timestamp, and a batch stamps every call twice (issue 5's CPU budget).
/// Years outside 0-9999 and leap seconds, which never come from a clock here, take chrono's.
pub fn format(t: DateTime<Utc>) -> String {
    let (date, time) = (t.date_naive(), t.time());
    if !(0..=9999).contains(&date.year()) || time.nanosecond() >= 1_000_000_000 {
        return t.to_rfc3339_opts(SecondsFormat::Millis, true);
    }
    let mut out = *b"0000-00-00T00:00:00.000Z";
    let fields = [
        (0..4, date.year() as u32),
        (5..7, date.month()),
        (8..10, date.day()),
        (11..13, time.hour()),
        (14..16, time.minute()),
        (17..19, time.second()),
        (20..23, time.nanosecond() / 1_000_000),
    ];
    for (digits, mut value) in fields {
        for d in out[digits].iter_mut().rev() {
            *d = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    String::from_utf8(out.to_vec()).expect("ASCII digits")
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
    fn timestamps_are_written_as_chrono_writes_them() {
        use chrono::{SecondsFormat, TimeZone, Utc};
        let times = [
            Utc.with_ymd_and_hms(2026, 12, 6, 17, 5, 9).unwrap() + chrono::Duration::milliseconds(7),
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(999, 9, 30, 23, 59, 59).unwrap() + chrono::Duration::nanoseconds(999_999_999),
            Utc.with_ymd_and_hms(12026, 1, 1, 0, 0, 0).unwrap(),
            // A leap second.
            Utc.from_utc_datetime(&chrono::NaiveDate::from_ymd_opt(2016, 12, 31).unwrap().and_hms_milli_opt(23, 59, 59, 1_500).unwrap()),
            Utc::now(),
        ];
        for t in times {
            assert_eq!(super::format(t), t.to_rfc3339_opts(SecondsFormat::Millis, true));
        }
    }

    #[test]
    fn a_change_is_never_older_than_the_previous_one() {
        let future = "2999-01-01T00:00:00.000Z";
        assert_eq!(super::after(Some(future)), "2999-01-01T00:00:00.001Z", "the clock stepped back: 1 ms later");
        assert!(super::after(Some("2001-01-01T00:00:00.000Z")).as_str() > "2026", "otherwise now");
        assert!(super::after(None).as_str() > "2026");
    }
}
