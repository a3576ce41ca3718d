//! The one gate every event passes before it reaches the log.

use crate::{Envelope, Event, Money};

/// Longest accepted identifier, in bytes. Keys stay short and bounded.
pub const MAX_ID_LEN: usize = 256;

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
    if value.len() > MAX_ID_LEN {
        return Err(InvalidEvent::new(
            field,
            format!("is {} bytes long; the limit is {MAX_ID_LEN}", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(InvalidEvent::new(field, "contains control characters"));
    }
    Ok(())
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
        if self.recorded_at.as_millis() < 0 {
            return Err(InvalidEvent::new("recorded_at", "is before 1970"));
        }
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
            }
            Event::LeadCreated(e) => {
                id("payload.person_id", &e.person_id)?;
                optional_id("payload.account_id", &e.account_id)?;
                if let Some(source) = &e.source {
                    optional_id("payload.source.campaign_id", &source.campaign_id)?;
                }
            }
            Event::LeadUpdated(e) => id("payload.person_id", &e.person_id)?,
            Event::LeadConverted(e) => {
                id("payload.person_id", &e.person_id)?;
                id("payload.account_id", &e.account_id)?;
                optional_id("payload.opportunity_id", &e.opportunity_id)?;
            }
            Event::FollowUpLogged(e) => id("payload.person_id", &e.person_id)?,
            Event::LeadRouted(e) => {
                id("payload.person_id", &e.person_id)?;
                id("payload.owner_id", &e.owner_id)?;
            }
            Event::TouchRecorded(e) => {
                id("payload.person_id", &e.person_id)?;
                id("payload.campaign_id", &e.campaign_id)?;
            }
            Event::OpportunityCreated(e) => {
                id("payload.opportunity_id", &e.opportunity_id)?;
                id("payload.account_id", &e.account_id)?;
                optional_id("payload.primary_contact_id", &e.primary_contact_id)?;
                money("payload.amount", &e.amount, false)?;
                probability("payload.probability_pct", e.probability_pct)?;
            }
            Event::OpportunityUpdated(e) => {
                id("payload.opportunity_id", &e.opportunity_id)?;
                if let Some(amount) = &e.amount {
                    money("payload.amount", amount, false)?;
                }
                if let Some(pct) = e.probability_pct {
                    probability("payload.probability_pct", pct)?;
                }
            }
            Event::OpportunityContactRoleAdded(e) => {
                id("payload.opportunity_id", &e.opportunity_id)?;
                id("payload.person_id", &e.person_id)?;
            }
            Event::OpportunityClosed(e) => {
                id("payload.opportunity_id", &e.opportunity_id)?;
                money("payload.amount", &e.amount, false)?;
            }
            Event::AccountUpserted(e) => id("payload.account_id", &e.account_id)?,
            Event::TransactionRecorded(e) => {
                id("payload.transaction_id", &e.transaction_id)?;
                id("payload.account_id", &e.account_id)?;
                // Negative amounts are refunds and credit notes.
                money("payload.amount", &e.amount, true)?;
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
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
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
}
