use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant, in milliseconds since the Unix epoch (UTC).
///
/// In JSON it reads and writes RFC 3339 (`"2026-03-01T09:30:00Z"`) and also reads
/// integer milliseconds; in binary formats it is the bare integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The earliest instant an event may carry: 1970-01-01T00:00:00.000Z.
    pub const MIN: Timestamp = Timestamp(0);
    /// The latest: 9999-12-31T23:59:59.999Z, the last instant RFC 3339's
    /// four-digit years can write.
    pub const MAX: Timestamp = Timestamp(253_402_300_799_999);

    pub const fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Parses RFC 3339, e.g. `2026-03-01T09:30:00Z`.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        canonical_utc(text.as_bytes()).map(Timestamp).or_else(|| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| Timestamp(t.timestamp_millis()))
        })
    }

    /// Parses RFC 3339 or a plain date (`2026-03-01`, read as midnight UTC).
    pub fn parse_lenient(text: &str) -> Option<Self> {
        Self::parse_rfc3339(text).or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|dt| Timestamp(dt.and_utc().timestamp_millis()))
        })
    }

    pub fn now() -> Self {
        Timestamp(Utc::now().timestamp_millis())
    }

    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(self.0)
    }

    pub fn saturating_sub_millis(self, millis: i64) -> Self {
        Timestamp(self.0.saturating_sub(millis))
    }

    pub fn saturating_add_millis(self, millis: i64) -> Self {
        Timestamp(self.0.saturating_add(millis))
    }

    /// This instant moved into `MIN ..= MAX`. Validation keeps every event's
    /// instants there; arithmetic on them (a lookback before 1970) may leave it.
    pub fn clamped(self) -> Self {
        Timestamp(self.0.clamp(Self::MIN.0, Self::MAX.0))
    }

    fn clamped_datetime(self) -> DateTime<Utc> {
        // In range by construction: `MIN ..= MAX` are valid chrono instants.
        DateTime::from_timestamp_millis(self.clamped().0).unwrap_or_default()
    }

    /// `YYYY-MM`, the bucket of monthly reports.
    pub fn year_month(self) -> String {
        self.clamped_datetime().format("%Y-%m").to_string()
    }
}

/// RFC 3339 in UTC with milliseconds. An instant outside `MIN ..= MAX` (which no
/// validated event carries) is written as the nearest bound, so everything
/// touchline emits parses as RFC 3339.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            &self
                .clamped_datetime()
                .to_rfc3339_opts(SecondsFormat::Millis, true),
        )
    }
}

/// In JSON: an RFC 3339 instant, a plain date (midnight UTC) or epoch
/// milliseconds, as `Deserialize` reads them.
impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An instant: RFC 3339 (2026-03-01T09:30:00Z), a plain date (2026-03-01, midnight UTC) or epoch milliseconds; 1970-01-01 to 9999-12-31.",
            "anyOf": [
                { "type": "string", "format": "date-time" },
                { "type": "string", "format": "date" },
                { "type": "integer", "minimum": 0, "maximum": 253_402_300_799_999_i64 }
            ]
        })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            serializer.serialize_i64(self.0)
        }
    }
}

/// The milliseconds of `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.fffZ`,
/// the form touchline writes and most sources send, read without a general
/// parser (chrono's took 5% of ingest). Anything else, a leap second
/// included, is `None` and goes to the general parser.
fn canonical_utc(text: &[u8]) -> Option<i64> {
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let mut value = 0i64;
        for &b in text.get(range)? {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(b - b'0');
        }
        Some(value)
    };
    let millis = match text.len() {
        20 => 0,
        24 if text[19] == b'.' => digits(20..23)?,
        _ => return None,
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if *text.last()? != b'Z' || separators.iter().any(|&(i, c)| text[i] != c) {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month)
        || day < 1
        || day > month_days[(month - 1) as usize]
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    // Days from the civil date (H. Hinnant's algorithm), proleptic Gregorian.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1_000 + millis)
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_any(TimestampVisitor)
        } else {
            i64::deserialize(deserializer).map(Timestamp)
        }
    }
}

/// RFC 3339 text or integer milliseconds, read in place (an untagged enum
/// would buffer every value first).
struct TimestampVisitor;

impl serde::de::Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RFC 3339 (2026-03-01T09:30:00Z) or epoch milliseconds")
    }

    fn visit_i64<E: serde::de::Error>(self, millis: i64) -> Result<Timestamp, E> {
        Ok(Timestamp(millis))
    }

    fn visit_u64<E: serde::de::Error>(self, millis: u64) -> Result<Timestamp, E> {
        i64::try_from(millis).map(Timestamp).map_err(|_| {
            E::custom(format!(
                "invalid timestamp {millis}: beyond epoch milliseconds"
            ))
        })
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
        Timestamp::parse_lenient(text).ok_or_else(|| {
            E::custom(format!(
                "invalid timestamp {text:?}: expected RFC 3339 (2026-03-01T09:30:00Z) or epoch milliseconds"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_uses_rfc3339() {
        let t = Timestamp::parse_rfc3339("2026-03-01T09:30:00Z").expect("valid");
        let json = serde_json::to_string(&t).expect("serialize");
        assert_eq!(json, "\"2026-03-01T09:30:00.000Z\"");
        let back: Timestamp = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, t);
        let from_millis: Timestamp =
            serde_json::from_str(&t.as_millis().to_string()).expect("millis");
        assert_eq!(from_millis, t);
    }

    #[test]
    fn bad_text_names_the_expected_formats() {
        let err = serde_json::from_str::<Timestamp>("\"yesterday\"").expect_err("invalid");
        assert!(err.to_string().contains("RFC 3339"), "{err}");
    }

    #[test]
    fn everything_displayed_is_rfc3339() {
        assert_eq!(Timestamp::MIN.to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59.999Z");
        for millis in [i64::MIN, -1, 0, 253_402_300_800_000, i64::MAX] {
            let text = Timestamp::from_millis(millis).to_string();
            let back = Timestamp::parse_rfc3339(&text).expect("RFC 3339");
            assert_eq!(back, Timestamp::from_millis(millis).clamped(), "{text}");
        }
        assert_eq!(Timestamp::from_millis(i64::MAX).year_month(), "9999-12");
    }

    #[test]
    fn the_canonical_form_reads_as_the_general_parser_reads_it() {
        let general = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.timestamp_millis())
        };
        // Every day of four years (a leap year and a century among them) at
        // a few times, with and without milliseconds.
        for start in [
            0i64,
            946_684_800_000,
            4_102_444_800_000,
            Timestamp::MAX.0 + 1 - 1_461 * 86_400_000,
        ] {
            for day in 0..1_461 {
                for ms_of_day in [0, 1, 59_999, 45_296_789, 86_399_999] {
                    let millis = start + day * 86_400_000 + ms_of_day;
                    let text = Timestamp(millis).to_string();
                    assert_eq!(canonical_utc(text.as_bytes()), Some(millis), "{text}");
                    let seconds = format!("{}Z", &text[..19]);
                    assert_eq!(
                        canonical_utc(seconds.as_bytes()),
                        general(&seconds),
                        "{seconds}"
                    );
                }
            }
        }
        // Not canonical: left to the general parser, which still reads what
        // RFC 3339 allows.
        for text in [
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2026-01-01t00:00:00Z",
            "2026-01-01T00:00:00+01:00",
            "2026-01-01T00:00:00.5Z",
            "2026-01-01T00:00:00.123456Z",
            "2026-01-01 00:00:00Z",
            "+026-01-01T00:00:00Z",
            "2026-01-01T00:00:0xZ",
        ] {
            assert_eq!(canonical_utc(text.as_bytes()), None, "{text}");
            assert_eq!(
                Timestamp::parse_rfc3339(text).map(Timestamp::as_millis),
                general(text),
                "{text}"
            );
        }
    }

    #[test]
    fn millis_beyond_i64_are_refused() {
        let err = serde_json::from_str::<Timestamp>("9223372036854775808").expect_err("too big");
        assert!(err.to_string().contains("epoch milliseconds"), "{err}");
    }

    #[test]
    fn plain_dates_are_midnight_utc() {
        let t = Timestamp::parse_lenient("2024-02-29").expect("valid");
        assert_eq!(t.to_string(), "2024-02-29T00:00:00.000Z");
        assert_eq!(t.year_month(), "2024-02");
    }
}
