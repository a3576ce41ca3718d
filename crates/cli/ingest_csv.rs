//! The CSV exports people already have, read by `touchline ingest` as events.
//! Each kind has a fixed column mapping (header names, any case, any order;
//! other columns are ignored):
//!
//! | kind | required columns | optional columns | each row becomes |
//! |---|---|---|---|
//! | `members` (campaign members) | `person_id`, `campaign_id`, `status` (`sent` or `responded`), `date` | `touch_type` (default `email_sent` for sent, `form_fill` for responded), `asset`, `topic` | a `touch_recorded` at `date` |
//! | `opportunities` | `opportunity_id`, `account_id`, `stage`, `amount`, `currency`, `created_at` | `name`, `primary_contact_id`, `probability_pct`, `expected_close_at`, `closed_at` with `won` (`true`/`false`) | an `opportunity_created` at `created_at`, and an `opportunity_closed` at `closed_at` when given |
//! | `costs` (campaign costs) | `campaign_id`, `date`, `amount`, `currency` | `description` | a `campaign_cost_recorded` at `date` |
//!
//! `amount` is a decimal in currency units with at most two decimals
//! (`1234.50`); a column `amount_minor` (integer minor units) may stand in for
//! it, for currencies with another exponent. Dates are RFC 3339 or plain dates.
//! Event ids derive from the row's content (`csv:<kind>:...`, hashed when
//! long), so ingesting a file again appends nothing.

use std::collections::HashMap;

use touchline_core::{
    CampaignCostRecorded, Envelope, Event, Money, OpportunityClosed, OpportunityCreated, Timestamp,
    TouchRecorded, TouchStatus, TouchType,
};

use crate::ingest::BadRecord;

/// Which export a CSV file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvKind {
    Members,
    Opportunities,
    Costs,
}

impl CsvKind {
    /// The kind a header row says: the first whose required columns it has.
    pub fn detect(headers: &csv::StringRecord) -> Option<CsvKind> {
        [CsvKind::Members, CsvKind::Opportunities, CsvKind::Costs]
            .into_iter()
            .find(|kind| {
                kind.required()
                    .iter()
                    .all(|r| headers.iter().any(|h| h.eq_ignore_ascii_case(r)))
            })
    }

    fn required(self) -> &'static [&'static str] {
        match self {
            CsvKind::Members => &["person_id", "campaign_id", "status", "date"],
            CsvKind::Opportunities => &[
                "opportunity_id",
                "account_id",
                "stage",
                "currency",
                "created_at",
            ],
            CsvKind::Costs => &["campaign_id", "date", "currency"],
        }
    }
}

/// One row's fields by lower-case column name.
struct Row<'r> {
    columns: &'r HashMap<String, usize>,
    record: &'r csv::StringRecord,
}

impl Row<'_> {
    fn get(&self, name: &str) -> &str {
        self.columns
            .get(name)
            .and_then(|&i| self.record.get(i))
            .unwrap_or("")
    }

    fn required(&self, name: &str) -> Result<&str, String> {
        match self.get(name) {
            "" => Err(format!("{name} is empty")),
            value => Ok(value),
        }
    }

    fn time(&self, name: &str) -> Result<Timestamp, String> {
        let text = self.required(name)?;
        Timestamp::parse_lenient(text)
            .ok_or_else(|| format!("{name} {text:?} is not a date (2026-03-01) or RFC 3339 time"))
    }

    fn money(&self) -> Result<Money, String> {
        let currency = self.required("currency")?.to_owned();
        let minor = match self.get("amount_minor") {
            "" => parse_amount(self.required("amount")?)?,
            text => text
                .parse()
                .map_err(|_| format!("amount_minor {text:?} is not a whole number"))?,
        };
        Ok(Money::new(minor, currency))
    }
}

/// `1234.5` or `-12.34` in currency units → minor units (two decimals).
fn parse_amount(text: &str) -> Result<i64, String> {
    let bad = || format!("amount {text:?} is not a decimal with at most two decimals (1234.50)");
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (units, cents) = digits.split_once('.').unwrap_or((digits, ""));
    if units.is_empty() || cents.len() > 2 || !units.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if !cents.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let units: i64 = units.parse().map_err(|_| bad())?;
    let cents: i64 = format!("{cents:0<2}").parse().map_err(|_| bad())?;
    let minor = units
        .checked_mul(100)
        .and_then(|u| u.checked_add(cents))
        .ok_or_else(bad)?;
    Ok(if negative { -minor } else { minor })
}

/// A row's event id from its content, within the id bound.
fn row_id(kind: &str, parts: &[&str]) -> String {
    touchline_core::bounded_id(format!("csv:{kind}:{}", parts.join(":")))
}

fn envelope(event_id: String, at: Timestamp, event: Event) -> Envelope {
    Envelope {
        event_id,
        occurred_at: at,
        recorded_at: Timestamp::now().max(at),
        source_system: "touchline.ingest.csv".into(),
        event,
    }
}

fn member(row: &Row<'_>) -> Result<Vec<Envelope>, String> {
    let person = row.required("person_id")?;
    let campaign = row.required("campaign_id")?;
    let status = match row.required("status")?.to_ascii_lowercase().as_str() {
        "sent" => TouchStatus::Sent,
        "responded" => TouchStatus::Responded,
        other => return Err(format!("status {other:?} is not sent or responded")),
    };
    let at = row.time("date")?;
    let touch_type =
        match row.get("touch_type") {
            "" if status == TouchStatus::Sent => TouchType::EmailSent,
            "" => TouchType::FormFill,
            text => serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(
                |_| format!("touch_type {text:?} is not a touch type (e.g. webinar_attended)"),
            )?,
        };
    let id = row_id(
        "member",
        &[
            campaign,
            person,
            &format!("{status:?}"),
            &at.as_millis().to_string(),
        ],
    );
    Ok(vec![envelope(
        id,
        at,
        Event::TouchRecorded(TouchRecorded {
            person_id: person.to_owned(),
            campaign_id: campaign.to_owned(),
            touch_type,
            status,
            asset: row.get("asset").to_owned(),
            topic: row.get("topic").to_owned(),
            provenance: None,
        }),
    )])
}

fn opportunity(row: &Row<'_>) -> Result<Vec<Envelope>, String> {
    let id = row.required("opportunity_id")?;
    let amount = row.money()?;
    let created_at = row.time("created_at")?;
    let probability_pct = match row.get("probability_pct") {
        "" => 0,
        text => text
            .parse()
            .map_err(|_| format!("probability_pct {text:?} is not a whole number"))?,
    };
    let expected_close_at = match row.get("expected_close_at") {
        "" => None,
        _ => Some(row.time("expected_close_at")?),
    };
    let mut events = vec![envelope(
        row_id("opportunity", &[id, "created"]),
        created_at,
        Event::OpportunityCreated(OpportunityCreated {
            opportunity_id: id.to_owned(),
            account_id: row.required("account_id")?.to_owned(),
            name: row.get("name").to_owned(),
            stage: row.required("stage")?.to_owned(),
            amount: amount.clone(),
            probability_pct,
            expected_close_at,
            primary_contact_id: row.get("primary_contact_id").to_owned(),
            owner_id: String::new(),
            partner_id: String::new(),
        }),
    )];
    if !row.get("closed_at").is_empty() {
        let won = match row.required("won")?.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => true,
            "false" | "no" | "0" => false,
            other => return Err(format!("won {other:?} is not true or false")),
        };
        let closed_at = row.time("closed_at")?;
        events.push(envelope(
            row_id("opportunity", &[id, "closed"]),
            closed_at,
            Event::OpportunityClosed(OpportunityClosed {
                opportunity_id: id.to_owned(),
                won,
                amount,
                partner_id: String::new(),
            }),
        ));
    }
    Ok(events)
}

fn cost(row: &Row<'_>) -> Result<Vec<Envelope>, String> {
    let campaign = row.required("campaign_id")?;
    let at = row.time("date")?;
    let cost = row.money()?;
    let description = row.get("description");
    let id = row_id(
        "cost",
        &[
            campaign,
            &at.as_millis().to_string(),
            &cost.amount_minor.to_string(),
            &cost.currency,
            description,
        ],
    );
    Ok(vec![envelope(
        id,
        at,
        Event::CampaignCostRecorded(CampaignCostRecorded {
            campaign_id: campaign.to_owned(),
            cost,
            description: description.to_owned(),
        }),
    )])
}

/// Reads one CSV export, handing each event, or the reason its row is bad, to
/// `sink`. Every event is validated as ingest validates any.
pub fn read(
    reader: impl std::io::Read,
    kind: Option<CsvKind>,
    mut sink: impl FnMut(Result<Envelope, BadRecord>) -> anyhow::Result<()>,
) -> anyhow::Result<CsvKind> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(reader);
    let headers = csv.headers()?.clone();
    let kind = match kind.or_else(|| CsvKind::detect(&headers)) {
        Some(kind) => kind,
        None => anyhow::bail!(
            "the header row ({}) is none of the CSV kinds: members needs person_id, campaign_id, status, date; opportunities needs opportunity_id, account_id, stage, amount, currency, created_at; costs needs campaign_id, date, amount, currency",
            headers.iter().collect::<Vec<_>>().join(", ")
        ),
    };
    for name in kind.required() {
        anyhow::ensure!(
            headers.iter().any(|h| h.eq_ignore_ascii_case(name)),
            "the header row has no {name} column"
        );
    }
    let columns: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.to_ascii_lowercase(), i))
        .collect();
    for record in csv.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                sink(Err(BadRecord {
                    position: format!("line {line}"),
                    reason: e.to_string(),
                }))?;
                continue;
            }
        };
        let position = format!("line {}", record.position().map_or(0, csv::Position::line));
        let row = Row {
            columns: &columns,
            record: &record,
        };
        let events = match kind {
            CsvKind::Members => member(&row),
            CsvKind::Opportunities => opportunity(&row),
            CsvKind::Costs => cost(&row),
        };
        match events {
            Ok(events) => {
                for event in events {
                    let checked = event.validate().map(|()| event).map_err(|e| BadRecord {
                        position: position.clone(),
                        reason: format!("invalid: {e}"),
                    });
                    sink(checked)?;
                }
            }
            Err(reason) => sink(Err(BadRecord { position, reason }))?,
        }
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(text: &str) -> Vec<Result<Envelope, BadRecord>> {
        let mut out = Vec::new();
        read(text.as_bytes(), None, |r| {
            out.push(r);
            Ok(())
        })
        .expect("read");
        out
    }

    #[test]
    fn amounts_are_read_to_the_cent() {
        assert_eq!(parse_amount("1234.5"), Ok(1_234_50));
        assert_eq!(parse_amount("-0.07"), Ok(-7));
        assert_eq!(parse_amount("12"), Ok(12_00));
        assert!(parse_amount("1.234").is_err());
        assert!(parse_amount("1,5").is_err());
        assert!(parse_amount("").is_err());
    }

    #[test]
    fn each_kind_is_told_by_its_header_and_mapped_row_by_row() {
        let members = events(
            "Person_ID,Campaign_ID,Status,Date,Asset\np-1,cmp-1,Responded,2026-03-01,/pricing\np-2,cmp-1,maybe,2026-03-01,\n",
        );
        let touch = members[0].as_ref().expect("a touch");
        assert!(matches!(&touch.event, Event::TouchRecorded(t)
            if t.status == TouchStatus::Responded && t.touch_type == TouchType::FormFill && t.asset == "/pricing"));
        let bad = members[1].as_ref().expect_err("bad status");
        assert_eq!(bad.position, "line 3");
        assert_eq!(bad.reason, "status \"maybe\" is not sent or responded");

        let opportunities = events(
            "opportunity_id,account_id,stage,amount,currency,created_at,closed_at,won\nopp-1,acc-1,closed_won,12500.00,EUR,2026-03-01,2026-04-01,true\n",
        );
        assert_eq!(opportunities.len(), 2, "created and closed");
        let closed = opportunities[1].as_ref().expect("closed");
        assert!(
            matches!(&closed.event, Event::OpportunityClosed(c) if c.won && c.amount.amount_minor == 12_500_00)
        );

        let costs = events("campaign_id,date,amount,currency\ncmp-1,2026-03-02,-50.25,EUR\n");
        let refund = costs[0].as_ref().expect("a cost");
        assert!(
            matches!(&refund.event, Event::CampaignCostRecorded(c) if c.cost.amount_minor == -50_25)
        );
        // The same row gives the same id: a re-run is a duplicate.
        let again = events("campaign_id,date,amount,currency\ncmp-1,2026-03-02,-50.25,EUR\n");
        assert_eq!(again[0].as_ref().expect("a cost").event_id, refund.event_id);
    }
}
