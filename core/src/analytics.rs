//! Analytics over time (issue 7): the time ranges a view covers, and the latency buckets behind
//! its percentiles. The daily aggregates themselves live in the store (`store::analytics`).

use chrono::{Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The days a view covers, both ends included (UTC dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RangeError(pub String);

impl crate::error::Coded for RangeError {
    fn code(&self) -> crate::ErrorCode {
        crate::ErrorCode::Validation
    }
}

impl DayRange {
    /// `24h`, `7d`, `30d`, `all`, or `FROM..TO` (dates, `YYYY-MM-DD`). `24h` covers yesterday and
    /// today, since aggregates are daily.
    pub fn parse(s: &str, today: NaiveDate) -> Result<DayRange, RangeError> {
        let back = |days: i64| Ok(DayRange { from: today - Duration::days(days), to: today });
        match s.trim() {
            "24h" => back(1),
            "7d" => back(6),
            "30d" => back(29),
            "all" => Ok(DayRange::all()),
            custom => {
                let (from, to) = custom.split_once("..").ok_or_else(|| RangeError(format!("range: `{custom}` is not 24h, 7d, 30d, all or FROM..TO")))?;
                let date = |d: &str| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| RangeError(format!("range: `{d}` is not a date (YYYY-MM-DD)")));
                let (from, to) = (date(from)?, date(to)?);
                if to < from {
                    return Err(RangeError(format!("range: the end {to} is before the start {from}")));
                }
                Ok(DayRange { from, to })
            }
        }
    }

    /// Every day a record can have (dates written with four-digit years).
    pub fn all() -> DayRange {
        DayRange { from: NaiveDate::from_ymd_opt(1, 1, 1).expect("a date"), to: NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date") }
    }

    /// The range's ends as stored days are written (`YYYY-MM-DD`).
    pub fn bounds(&self) -> (String, String) {
        (self.from.format("%Y-%m-%d").to_string(), self.to.format("%Y-%m-%d").to_string())
    }

    pub fn today() -> NaiveDate {
        Utc::now().date_naive()
    }
}

/// The latency bucket of a call: floor(4 * log2(1 + ms)), buckets about 19% wide.
pub fn latency_bucket(ms: u64) -> i64 {
    (4.0 * (1.0 + ms as f64).log2()).floor() as i64
}

/// The largest latency in a bucket (what a percentile in it reports).
pub fn bucket_ceiling(bucket: i64) -> f64 {
    (2f64.powf((bucket + 1) as f64 / 4.0) - 1.0).max(0.0)
}

/// The `q` quantile (0..1) of a distribution given as (bucket, calls) in bucket order: the
/// ceiling of the bucket where the cumulative count first reaches q of the calls.
pub fn quantile(buckets: &[(i64, u64)], q: f64) -> Option<f64> {
    let total: u64 = buckets.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    buckets.iter().find(|(_, n)| {
        seen += n;
        seen >= rank
    })
    .map(|(b, _)| bucket_ceiling(*b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_days_and_an_end_before_the_start_is_refused() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(DayRange::parse("24h", today).unwrap(), DayRange { from: d("2026-11-21"), to: today });
        assert_eq!(DayRange::parse("7d", today).unwrap().from, d("2026-11-16"));
        assert_eq!(DayRange::parse(" 2026-11-01..2026-11-03 ", today).unwrap(), DayRange { from: d("2026-11-01"), to: d("2026-11-03") });
        assert_eq!(DayRange::parse("2026-11-03..2026-11-01", today).unwrap_err().0, "range: the end 2026-11-01 is before the start 2026-11-03");
        assert_eq!(DayRange::parse("2026-13-01..2026-11-01", today).unwrap_err().0, "range: `2026-13-01` is not a date (YYYY-MM-DD)");
        assert!(DayRange::parse("week", today).unwrap_err().0.contains("`week` is not 24h, 7d, 30d, all or FROM..TO"));
    }

    #[test]
    fn percentiles_come_from_bucket_ceilings_within_a_bucket_of_the_truth() {
        let latencies: Vec<u64> = (1..=1000).map(|i| i * 3).collect();
        let mut buckets: std::collections::BTreeMap<i64, u64> = Default::default();
        for &ms in &latencies {
            *buckets.entry(latency_bucket(ms)).or_default() += 1;
        }
        let buckets: Vec<(i64, u64)> = buckets.into_iter().collect();
        for (q, exact) in [(0.5, 1500.0), (0.95, 2850.0)] {
            let got = quantile(&buckets, q).unwrap();
            assert!(got >= exact && got <= exact * 1.19 + 1.0, "q{q}: {got} vs {exact}");
        }
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(latency_bucket(0), 0);
        assert!(bucket_ceiling(latency_bucket(40)) >= 40.0);
    }
}
