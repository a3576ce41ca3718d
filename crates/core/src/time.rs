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
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| Timestamp(t.timestamp_millis()))
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

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum Repr {
                Millis(i64),
                Text(String),
            }
            match Repr::deserialize(deserializer)? {
                Repr::Millis(ms) => Ok(Timestamp(ms)),
                Repr::Text(text) => Timestamp::parse_lenient(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "invalid timestamp {text:?}: expected RFC 3339 (2026-03-01T09:30:00Z) or epoch milliseconds"
                    ))
                }),
            }
        } else {
            i64::deserialize(deserializer).map(Timestamp)
        }
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
    fn plain_dates_are_midnight_utc() {
        let t = Timestamp::parse_lenient("2024-02-29").expect("valid");
        assert_eq!(t.to_string(), "2024-02-29T00:00:00.000Z");
        assert_eq!(t.year_month(), "2024-02");
    }
}
