//! Every field of an envelope, named and classified, for invariants and edits.

use touchline_core::{Envelope, Event, Timestamp};

/// The bound class of a string field (issue 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Identifiers: at most 256 bytes, no control characters.
    Id,
    /// Names, codes and labels: at most 1024 bytes.
    Short,
    /// Free text (descriptions, outcomes, reasons): at most 4096 bytes.
    Long,
    /// ISO 4217, validated as three upper-case letters.
    Currency,
}

impl Kind {
    pub fn max_len(self) -> usize {
        match self {
            Kind::Id => 256,
            Kind::Short => 1024,
            Kind::Long => 4096,
            Kind::Currency => 3,
        }
    }
}

/// One field of an envelope, named as `InvalidEvent::field` names it.
#[derive(Debug)]
pub enum Field<'a> {
    Str {
        name: &'static str,
        kind: Kind,
        value: &'a mut String,
    },
    Time {
        name: &'static str,
        value: &'a mut Timestamp,
    },
    Amount {
        name: &'static str,
        /// Whether validation allows it below zero (refunds, credit notes).
        signed: bool,
        value: &'a mut i64,
    },
    Percent {
        name: &'static str,
        value: &'a mut u32,
    },
}

/// Calls `f` with every string, timestamp, amount and probability of an
/// envelope (optional ones when present). The structs are destructured without
/// `..`, so a field added to the vocabulary does not compile until it is
/// classified here.
pub fn visit(envelope: &mut Envelope, f: &mut dyn FnMut(Field<'_>)) {
    use Kind::*;
    macro_rules! s {
        ($name:literal, $kind:expr, $value:expr) => {
            f(Field::Str {
                name: $name,
                kind: $kind,
                value: $value,
            })
        };
    }
    macro_rules! t {
        ($name:literal, $value:expr) => {
            f(Field::Time {
                name: $name,
                value: $value,
            })
        };
    }
    macro_rules! money {
        ($name:literal, $currency:literal, $signed:expr, $m:expr) => {{
            let touchline_core::Money {
                amount_minor,
                currency,
            } = $m;
            f(Field::Amount {
                name: $name,
                signed: $signed,
                value: amount_minor,
            });
            s!($currency, Currency, currency);
        }};
    }
    let Envelope {
        event_id,
        occurred_at,
        recorded_at,
        source_system,
        event,
    } = envelope;
    s!("event_id", Id, event_id);
    t!("occurred_at", occurred_at);
    t!("recorded_at", recorded_at);
    s!("source_system", Id, source_system);
    match event {
        Event::CampaignUpserted(touchline_core::CampaignUpserted {
            campaign_id,
            name,
            channel,
            medium,
            source,
            ad_code,
            campaign_type: _,
            parent_campaign_id,
            starts_at,
            ends_at,
            planned_cost,
        }) => {
            s!("payload.campaign_id", Id, campaign_id);
            s!("payload.name", Short, name);
            s!("payload.channel", Short, channel);
            s!("payload.medium", Short, medium);
            s!("payload.source", Short, source);
            s!("payload.ad_code", Short, ad_code);
            s!("payload.parent_campaign_id", Id, parent_campaign_id);
            t!("payload.starts_at", starts_at);
            if let Some(ends_at) = ends_at {
                t!("payload.ends_at", ends_at);
            }
            if let Some(cost) = planned_cost {
                money!(
                    "payload.planned_cost.amount_minor",
                    "payload.planned_cost.currency",
                    false,
                    cost
                );
            }
        }
        Event::CampaignCostRecorded(touchline_core::CampaignCostRecorded {
            campaign_id,
            cost,
            description,
        }) => {
            s!("payload.campaign_id", Id, campaign_id);
            money!(
                "payload.cost.amount_minor",
                "payload.cost.currency",
                true,
                cost
            );
            s!("payload.description", Long, description);
        }
        Event::LeadCreated(touchline_core::LeadCreated {
            person_id,
            email,
            phone,
            first_name,
            last_name,
            company,
            account_id,
            source,
            owner_id,
        }) => {
            s!("payload.person_id", Id, person_id);
            s!("payload.email", Short, email);
            s!("payload.phone", Short, phone);
            s!("payload.first_name", Short, first_name);
            s!("payload.last_name", Short, last_name);
            s!("payload.company", Short, company);
            s!("payload.account_id", Id, account_id);
            if let Some(touchline_core::LeadSource {
                campaign_id,
                ad_code,
                medium,
                source,
            }) = source
            {
                s!("payload.source.campaign_id", Id, campaign_id);
                s!("payload.source.ad_code", Short, ad_code);
                s!("payload.source.medium", Short, medium);
                s!("payload.source.source", Short, source);
            }
            s!("payload.owner_id", Id, owner_id);
        }
        Event::LeadUpdated(touchline_core::LeadUpdated {
            person_id,
            owner_id,
            status: _,
            qualification: _,
        }) => {
            s!("payload.person_id", Id, person_id);
            if let Some(owner_id) = owner_id {
                s!("payload.owner_id", Id, owner_id);
            }
        }
        Event::LeadConverted(touchline_core::LeadConverted {
            person_id,
            account_id,
            opportunity_id,
        }) => {
            s!("payload.person_id", Id, person_id);
            s!("payload.account_id", Id, account_id);
            s!("payload.opportunity_id", Id, opportunity_id);
        }
        Event::FollowUpLogged(touchline_core::FollowUpLogged {
            person_id,
            method: _,
            outcome,
            next_due_at,
            owner_id,
        }) => {
            s!("payload.person_id", Id, person_id);
            s!("payload.outcome", Long, outcome);
            if let Some(next_due_at) = next_due_at {
                t!("payload.next_due_at", next_due_at);
            }
            s!("payload.owner_id", Id, owner_id);
        }
        Event::TouchRecorded(touchline_core::TouchRecorded {
            person_id,
            campaign_id,
            touch_type: _,
            status: _,
            asset,
            topic,
            provenance,
        }) => {
            s!("payload.person_id", Id, person_id);
            s!("payload.campaign_id", Id, campaign_id);
            s!("payload.asset", Short, asset);
            s!("payload.topic", Short, topic);
            if let Some(touchline_core::TouchProvenance { origin: _, source }) = provenance {
                s!("payload.provenance.source", Short, source);
            }
        }
        Event::OpportunityCreated(touchline_core::OpportunityCreated {
            opportunity_id,
            account_id,
            name,
            stage,
            amount,
            probability_pct,
            expected_close_at,
            primary_contact_id,
            owner_id,
            partner_id,
        }) => {
            s!("payload.opportunity_id", Id, opportunity_id);
            s!("payload.account_id", Id, account_id);
            s!("payload.name", Short, name);
            s!("payload.stage", Short, stage);
            money!(
                "payload.amount.amount_minor",
                "payload.amount.currency",
                false,
                amount
            );
            f(Field::Percent {
                name: "payload.probability_pct",
                value: probability_pct,
            });
            if let Some(expected_close_at) = expected_close_at {
                t!("payload.expected_close_at", expected_close_at);
            }
            s!("payload.primary_contact_id", Id, primary_contact_id);
            s!("payload.owner_id", Id, owner_id);
            s!("payload.partner_id", Id, partner_id);
        }
        Event::OpportunityUpdated(touchline_core::OpportunityUpdated {
            opportunity_id,
            stage,
            amount,
            probability_pct,
            expected_close_at,
        }) => {
            s!("payload.opportunity_id", Id, opportunity_id);
            if let Some(stage) = stage {
                s!("payload.stage", Short, stage);
            }
            if let Some(amount) = amount {
                money!(
                    "payload.amount.amount_minor",
                    "payload.amount.currency",
                    false,
                    amount
                );
            }
            if let Some(probability_pct) = probability_pct {
                f(Field::Percent {
                    name: "payload.probability_pct",
                    value: probability_pct,
                });
            }
            if let Some(expected_close_at) = expected_close_at {
                t!("payload.expected_close_at", expected_close_at);
            }
        }
        Event::OpportunityContactRoleAdded(touchline_core::OpportunityContactRoleAdded {
            opportunity_id,
            person_id,
            role,
        }) => {
            s!("payload.opportunity_id", Id, opportunity_id);
            s!("payload.person_id", Id, person_id);
            s!("payload.role", Short, role);
        }
        Event::OpportunityClosed(touchline_core::OpportunityClosed {
            opportunity_id,
            won: _,
            amount,
            partner_id,
        }) => {
            s!("payload.opportunity_id", Id, opportunity_id);
            money!(
                "payload.amount.amount_minor",
                "payload.amount.currency",
                false,
                amount
            );
            s!("payload.partner_id", Id, partner_id);
        }
        Event::AccountUpserted(touchline_core::AccountUpserted {
            account_id,
            name,
            industry,
            owner_id,
            parent_account_id,
        }) => {
            s!("payload.account_id", Id, account_id);
            s!("payload.name", Short, name);
            s!("payload.industry", Short, industry);
            s!("payload.owner_id", Id, owner_id);
            s!("payload.parent_account_id", Id, parent_account_id);
        }
        Event::TransactionRecorded(touchline_core::TransactionRecorded {
            transaction_id,
            account_id,
            opportunity_id,
            amount,
            description,
        }) => {
            s!("payload.transaction_id", Id, transaction_id);
            s!("payload.account_id", Id, account_id);
            s!("payload.opportunity_id", Id, opportunity_id);
            money!(
                "payload.amount.amount_minor",
                "payload.amount.currency",
                true,
                amount
            );
            s!("payload.description", Long, description);
        }
        Event::PersonsMerged(touchline_core::PersonsMerged {
            surviving_person_id,
            merged_person_id,
            reason,
        }) => {
            s!("payload.surviving_person_id", Id, surviving_person_id);
            s!("payload.merged_person_id", Id, merged_person_id);
            s!("payload.reason", Long, reason);
        }
        Event::LeadRouted(touchline_core::LeadRouted {
            person_id,
            owner_id,
            owner_kind: _,
            rule,
            reason,
        }) => {
            s!("payload.person_id", Id, person_id);
            s!("payload.owner_id", Id, owner_id);
            s!("payload.rule", Short, rule);
            s!("payload.reason", Long, reason);
        }
    }
}

/// Every timestamp of an envelope that is set, with its name.
pub fn timestamps(envelope: &Envelope) -> Vec<(&'static str, Timestamp)> {
    let mut out = Vec::new();
    visit(&mut envelope.clone(), &mut |field| {
        if let Field::Time { name, value } = field {
            out.push((name, *value));
        }
    });
    out
}
