//! The one gate every event passes before it reaches the log.
//!
//! Every limit here is part of the contract and listed in the README's table of
//! limits; an event beyond one is refused with the field and the limit named,
//! and the ingest loop dead-letters it.

use crate::{Envelope, Event, Money, Timestamp};

/// Longest accepted identifier, in bytes. Keys stay short and bounded.
pub const MAX_ID_LEN: usize = 256;

/// Longest accepted short text (names, channel, medium, asset, topic, stage,
/// role, e-mail, phone...), in bytes. Control characters are refused.
pub const MAX_TEXT_LEN: usize = 1024;

/// Longest accepted free text (descriptions, outcomes, reasons), in bytes.
/// Line breaks and tabs are allowed, other control characters are not.
pub const MAX_NOTE_LEN: usize = 4096;

/// Largest accepted magnitude of an amount, in minor units: 10^15, i.e. ten
/// trillion of a two-decimal currency. Sums of up to 9,223 such amounts fit an
/// `i64`; reports add in `i128`, so no total can wrap.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;

/// Why an event was refused. The text is what a dead-letter header carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidEvent {
    /// Dotted path of the offending field, e.g. `payload.amount.currency`.
    pub field: String,
    pub problem: String,
}

impl InvalidEvent {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        InvalidEvent {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

type Check = Result<(), InvalidEvent>;

fn id(field: &str, value: &str) -> Check {
    if value.is_empty() {
        return Err(InvalidEvent::new(field, "is required"));
    }
    optional_id(field, value)
}

fn optional_id(field: &str, value: &str) -> Check {
    bounded(field, value, MAX_ID_LEN, false)
}

fn text(field: &str, value: &str) -> Check {
    bounded(field, value, MAX_TEXT_LEN, false)
}

fn note(field: &str, value: &str) -> Check {
    bounded(field, value, MAX_NOTE_LEN, true)
}

fn bounded(field: &str, value: &str, limit: usize, multiline: bool) -> Check {
    if value.len() > limit {
        return Err(InvalidEvent::new(
            field,
            format!("is {} bytes long; the limit is {limit}", value.len()),
        ));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(InvalidEvent::new(field, "contains control characters"));
    }
    Ok(())
}

fn instant(field: &str, value: Timestamp) -> Check {
    if !(Timestamp::MIN..=Timestamp::MAX).contains(&value) {
        return Err(InvalidEvent::new(
            field,
            format!(
                "{} ms is outside the accepted range {} ..= {}",
                value.as_millis(),
                Timestamp::MIN,
                Timestamp::MAX
            ),
        ));
    }
    Ok(())
}

fn optional_instant(field: &str, value: Option<Timestamp>) -> Check {
    value.map_or(Ok(()), |t| instant(field, t))
}

fn money(field: &str, value: &Money, allow_negative: bool) -> Check {
    let code = value.currency.as_bytes();
    if code.len() != 3 || !code.iter().all(u8::is_ascii_uppercase) {
        return Err(InvalidEvent::new(
            format!("{field}.currency"),
            format!(
                "{:?} is not an ISO 4217 code (three upper-case letters)",
                value.currency
            ),
        ));
    }
    if !allow_negative && value.amount_minor < 0 {
        return Err(InvalidEvent::new(
            format!("{field}.amount_minor"),
            format!("{} is negative", value.amount_minor),
        ));
    }
    if value.amount_minor.unsigned_abs() > MAX_AMOUNT_MINOR.unsigned_abs() {
        return Err(InvalidEvent::new(
            format!("{field}.amount_minor"),
            format!(
                "{} is beyond the accepted magnitude {MAX_AMOUNT_MINOR}",
                value.amount_minor
            ),
        ));
    }
    Ok(())
}

fn probability(field: &str, pct: u32) -> Check {
    if pct > 100 {
        return Err(InvalidEvent::new(field, format!("{pct} is above 100")));
    }
    Ok(())
}

impl Envelope {
    /// Checks everything later stages rely on: required ids present and bounded,
    /// timestamps set, currencies well-formed, amounts and probabilities in range.
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        id("event_id", &self.event_id)?;
        if self.event_id.starts_with(crate::DERIVED_EVENT_PREFIX) {
            return Err(InvalidEvent::new(
                "event_id",
                format!(
                    "starts with {:?}, which is reserved for events touchline derives itself",
                    crate::DERIVED_EVENT_PREFIX
                ),
            ));
        }
        optional_id("source_system", &self.source_system)?;
        if self.occurred_at.as_millis() <= 0 {
            return Err(InvalidEvent::new(
                "occurred_at",
                "is required (epoch milliseconds > 0)",
            ));
        }
        instant("occurred_at", self.occurred_at)?;
        instant("recorded_at", self.recorded_at)?;
        match &self.event {
            Event::CampaignUpserted(e) => {
                id("payload.campaign_id", &e.campaign_id)?;
                optional_id("payload.parent_campaign_id", &e.parent_campaign_id)?;
                if e.parent_campaign_id == e.campaign_id {
                    return Err(InvalidEvent::new(
                        "payload.parent_campaign_id",
                        "a campaign cannot be its own parent",
                    ));
                }
                text("payload.name", &e.name)?;
                text("payload.channel", &e.channel)?;
                text("payload.medium", &e.medium)?;
                text("payload.source", &e.source)?;
                text("payload.ad_code", &e.ad_code)?;
                instant("payload.starts_at", e.starts_at)?;
                optional_instant("payload.ends_at", e.ends_at)?;
                if let Some(ends_at) = e.ends_at
                    && ends_at < e.starts_at
                {
                    return Err(InvalidEvent::new("payload.ends_at", "is before starts_at"));
                }
                if let Some(cost) = &e.planned_cost {
                    money("payload.planned_cost", cost, false)?;
                }
            }
            Event::CampaignCostRecorded(e) => {
                id("payload.campaign_id", &e.campaign_id)?;
                // Negative costs are refunds and credits from the vendor.
                money("payload.cost", &e.cost, true)?;
                note("payload.description", &e.description)?;
            }
            Event::LeadCreated(e) => {
                id("payload.person_id", &e.person_id)?;
                optional_id("payload.account_id", &e.account_id)?;
                optional_id("payload.owner_id", &e.owner_id)?;
                text("payload.email", &e.email)?;
                text("payload.phone", &e.phone)?;
                text("payload.first_name", &e.first_name)?;
                text("payload.last_name", &e.last_name)?;
                text("payload.company", &e.company)?;
                if let Some(source) = &e.source {
                    optional_id("payload.source.campaign_id", &source.campaign_id)?;
                    text("payload.source.ad_code", &source.ad_code)?;
                    text("payload.source.medium", &source.medium)?;
                    text("payload.source.source", &source.source)?;
                }
            }
            Event::LeadUpdated(e) => {
                id("payload.person_id", &e.person_id)?;
                if let Some(owner) = &e.owner_id {
                    optional_id("payload.owner_id", owner)?;
                }
            }
            Event::LeadConverted(e) => {
                id("payload.person_id", &e.person_id)?;
                id("payload.account_id", &e.account_id)?;
                optional_id("payload.opportunity_id", &e.opportunity_id)?;
            }
            Event::FollowUpLogged(e) => {
                id("payload.person_id", &e.person_id)?;
                optional_id("payload.owner_id", &e.owner_id)?;
                note("payload.outcome", &e.outcome)?;
                optional_instant("payload.next_due_at", e.next_due_at)?;
            }
            Event::LeadRouted(e) => {
                id("payload.person_id", &e.person_id)?;
                id("payload.owner_id", &e.owner_id)?;
                text("payload.rule", &e.rule)?;
                note("payload.reason", &e.reason)?;
            }
            Event::TouchRecorded(e) => {
                id("payload.person_id", &e.person_id)?;
                id("payload.campaign_id", &e.campaign_id)?;
                text("payload.asset", &e.asset)?;
                text("payload.topic", &e.topic)?;
                if let Some(provenance) = &e.provenance {
                    text("payload.provenance.source", &provenance.source)?;
                    if provenance.is_synthesized() && provenance.source.is_empty() {
                        return Err(InvalidEvent::new(
                            "payload.provenance.source",
                            "is required for a synthesized touch (say what it was made from)",
                        ));
                    }
                }
            }
            Event::OpportunityCreated(e) => {
                id("payload.opportunity_id", &e.opportunity_id)?;
                id("payload.account_id", &e.account_id)?;
                optional_id("payload.primary_contact_id", &e.primary_contact_id)?;
                optional_id("payload.owner_id", &e.owner_id)?;
                optional_id("payload.partner_id", &e.partner_id)?;
                text("payload.name", &e.name)?;
                text("payload.stage", &e.stage)?;
                money("payload.amount", &e.amount, false)?;
                probability("payload.probability_pct", e.probability_pct)?;
                optional_instant("payload.expected_close_at", e.expected_close_at)?;
            }
            Event::OpportunityUpdated(e) => {
                id("payload.opportunity_id", &e.opportunity_id)?;
                if let Some(stage) = &e.stage {
                    text("payload.stage", stage)?;
                }
                if let Some(amount) = &e.amount {
                    money("payload.amount", amount, false)?;
                }
                if let Some(pct) = e.probability_pct {
                    probability("payload.probability_pct", pct)?;
                }
                optional_instant("payload.expected_close_at", e.expected_close_at)?;
            }
            Event::OpportunityContactRoleAdded(e) => {
                id("payload.opportunity_id", &e.opportunity_id)?;
                id("payload.person_id", &e.person_id)?;
                text("payload.role", &e.role)?;
            }
            Event::OpportunityClosed(e) => {
                id("payload.opportunity_id", &e.opportunity_id)?;
                optional_id("payload.partner_id", &e.partner_id)?;
                money("payload.amount", &e.amount, false)?;
            }
            Event::AccountUpserted(e) => {
                id("payload.account_id", &e.account_id)?;
                optional_id("payload.owner_id", &e.owner_id)?;
                optional_id("payload.parent_account_id", &e.parent_account_id)?;
                text("payload.name", &e.name)?;
                text("payload.industry", &e.industry)?;
            }
            Event::TransactionRecorded(e) => {
                id("payload.transaction_id", &e.transaction_id)?;
                id("payload.account_id", &e.account_id)?;
                optional_id("payload.opportunity_id", &e.opportunity_id)?;
                // Negative amounts are refunds and credit notes.
                money("payload.amount", &e.amount, true)?;
                note("payload.description", &e.description)?;
            }
            Event::PersonsMerged(e) => {
                id("payload.surviving_person_id", &e.surviving_person_id)?;
                id("payload.merged_person_id", &e.merged_person_id)?;
                if e.surviving_person_id == e.merged_person_id {
                    return Err(InvalidEvent::new(
                        "payload.merged_person_id",
                        "a person cannot be merged into itself",
                    ));
                }
                note("payload.reason", &e.reason)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_AMOUNT_MINOR, MAX_NOTE_LEN, MAX_TEXT_LEN};
    use crate::*;

    fn opportunity(currency: &str, pct: u32) -> Envelope {
        Envelope {
            event_id: "e1".into(),
            occurred_at: Timestamp::from_millis(1),
            recorded_at: Timestamp::from_millis(1),
            source_system: "crm".into(),
            event: Event::OpportunityCreated(OpportunityCreated {
                opportunity_id: "o1".into(),
                account_id: "a1".into(),
                name: String::new(),
                stage: "prospecting".into(),
                amount: Money::new(100, currency),
                probability_pct: pct,
                expected_close_at: None,
                primary_contact_id: String::new(),
                owner_id: String::new(),
                partner_id: String::new(),
            }),
        }
    }

    #[test]
    fn the_partition_key_is_the_subject() {
        let mut envelope = opportunity("EUR", 10);
        assert_eq!(
            envelope.partition_key(),
            "o1",
            "an opportunity event: the deal"
        );
        envelope.event = Event::PersonsMerged(PersonsMerged {
            surviving_person_id: "p-keep".into(),
            merged_person_id: "p-gone".into(),
            reason: String::new(),
        });
        assert_eq!(envelope.partition_key(), "p-keep", "a merge: the survivor");
        envelope.event = Event::TransactionRecorded(TransactionRecorded {
            transaction_id: "t1".into(),
            account_id: "a1".into(),
            opportunity_id: "o1".into(),
            amount: Money::new(1, "EUR"),
            description: String::new(),
        });
        assert_eq!(envelope.partition_key(), "a1", "a transaction: the account");
    }

    #[test]
    fn reasons_name_the_field() {
        assert_eq!(opportunity("EUR", 10).validate(), Ok(()));
        assert_eq!(
            opportunity("eur", 10)
                .validate()
                .expect_err("bad currency")
                .to_string(),
            "payload.amount.currency: \"eur\" is not an ISO 4217 code (three upper-case letters)"
        );
        assert_eq!(
            opportunity("EUR", 101)
                .validate()
                .expect_err("bad probability")
                .to_string(),
            "payload.probability_pct: 101 is above 100"
        );
        let mut no_id = opportunity("EUR", 10);
        no_id.event_id.clear();
        assert_eq!(
            no_id.validate().expect_err("no id").to_string(),
            "event_id: is required"
        );
    }

    fn touch(asset: &str) -> Envelope {
        Envelope {
            event_id: "e1".into(),
            occurred_at: Timestamp::from_millis(1),
            recorded_at: Timestamp::from_millis(1),
            source_system: String::new(),
            event: Event::TouchRecorded(TouchRecorded {
                person_id: "p1".into(),
                campaign_id: "c1".into(),
                touch_type: TouchType::EmailOpen,
                status: TouchStatus::Responded,
                asset: asset.into(),
                topic: String::new(),
                provenance: None,
            }),
        }
    }

    #[test]
    fn a_synthesized_touch_names_its_source_within_the_text_bound() {
        let with = |provenance: TouchProvenance| {
            let mut e = touch("");
            if let Event::TouchRecorded(t) = &mut e.event {
                t.provenance = Some(provenance);
            }
            e
        };
        assert_eq!(
            with(TouchProvenance::synthesized("legacy lead_source field")).validate(),
            Ok(())
        );
        assert_eq!(
            refusal(&with(TouchProvenance::synthesized(""))),
            "payload.provenance.source: is required for a synthesized touch (say what it was made from)"
        );
        assert_eq!(
            refusal(&with(TouchProvenance::synthesized(
                "x".repeat(MAX_TEXT_LEN + 1)
            ))),
            "payload.provenance.source: is 1025 bytes long; the limit is 1024"
        );
        assert_eq!(
            refusal(&with(TouchProvenance::synthesized("a\nb"))),
            "payload.provenance.source: contains control characters"
        );
        // A recorded touch may leave its source empty.
        assert_eq!(with(TouchProvenance::default()).validate(), Ok(()));
    }

    fn refusal(envelope: &Envelope) -> String {
        envelope.validate().expect_err("refused").to_string()
    }

    #[test]
    fn amounts_are_bounded_both_ways() {
        let mut at_limit = opportunity("EUR", 10);
        if let Event::OpportunityCreated(e) = &mut at_limit.event {
            e.amount.amount_minor = MAX_AMOUNT_MINOR;
        }
        assert_eq!(at_limit.validate(), Ok(()));
        let mut beyond = opportunity("EUR", 10);
        if let Event::OpportunityCreated(e) = &mut beyond.event {
            e.amount.amount_minor = i64::MAX;
        }
        assert_eq!(
            refusal(&beyond),
            "payload.amount.amount_minor: 9223372036854775807 is beyond the accepted magnitude 1000000000000000"
        );
        let refund = |amount_minor| Envelope {
            event: Event::TransactionRecorded(TransactionRecorded {
                transaction_id: "t1".into(),
                account_id: "a1".into(),
                opportunity_id: String::new(),
                amount: Money::new(amount_minor, "EUR"),
                description: String::new(),
            }),
            ..opportunity("EUR", 10)
        };
        assert_eq!(refund(-MAX_AMOUNT_MINOR).validate(), Ok(()));
        assert!(refusal(&refund(i64::MIN)).contains("beyond the accepted magnitude"));
    }

    #[test]
    fn instants_are_bounded_to_four_digit_years() {
        let mut late = opportunity("EUR", 10);
        late.occurred_at = Timestamp::from_millis(i64::MAX);
        assert_eq!(
            refusal(&late),
            "occurred_at: 9223372036854775807 ms is outside the accepted range 1970-01-01T00:00:00.000Z ..= 9999-12-31T23:59:59.999Z"
        );
        let mut last = opportunity("EUR", 10);
        last.occurred_at = Timestamp::MAX;
        last.recorded_at = Timestamp::MAX;
        assert_eq!(last.validate(), Ok(()));
        let mut close = opportunity("EUR", 10);
        if let Event::OpportunityCreated(e) = &mut close.event {
            e.expected_close_at = Some(Timestamp::from_millis(i64::MIN));
        }
        assert!(refusal(&close).starts_with("payload.expected_close_at: "));
    }

    #[test]
    fn free_text_is_bounded() {
        assert_eq!(touch(&"a".repeat(MAX_TEXT_LEN)).validate(), Ok(()));
        assert_eq!(
            refusal(&touch(&"a".repeat(900_000))),
            "payload.asset: is 900000 bytes long; the limit is 1024"
        );
        assert_eq!(
            refusal(&touch("white\u{7}paper")),
            "payload.asset: contains control characters"
        );
        let merge = |reason: &str| Envelope {
            event: Event::PersonsMerged(PersonsMerged {
                surviving_person_id: "p1".into(),
                merged_person_id: "p2".into(),
                reason: reason.into(),
            }),
            ..touch("")
        };
        // Notes may span lines, but stay bounded.
        assert_eq!(merge("same e-mail\nsame phone").validate(), Ok(()));
        assert_eq!(
            refusal(&merge(&"r".repeat(MAX_NOTE_LEN + 1))),
            "payload.reason: is 4097 bytes long; the limit is 4096"
        );
    }
}
