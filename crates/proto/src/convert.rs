//! Mapping between the prost types and the domain types, both ways.

use touchline_core as core;
use touchline_core::Timestamp;

use crate::DecodeError;
use crate::v1::{self, envelope::Payload};

fn contract(field: &'static str, problem: impl Into<String>) -> DecodeError {
    DecodeError::Contract {
        field,
        problem: problem.into(),
    }
}

fn required<T>(field: &'static str, value: Option<T>) -> Result<T, DecodeError> {
    value.ok_or_else(|| contract(field, "is required"))
}

fn money_in(m: v1::Money) -> core::Money {
    core::Money {
        amount_minor: m.amount_minor,
        currency: m.currency,
    }
}

fn money_out(m: &core::Money) -> v1::Money {
    v1::Money {
        amount_minor: m.amount_minor,
        currency: m.currency.clone(),
    }
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn enum_value<T: TryFrom<i32>>(field: &'static str, raw: i32) -> Result<T, DecodeError> {
    T::try_from(raw).map_err(|_| contract(field, format!("unknown enum value {raw}")))
}

macro_rules! enum_map {
    ($fn_in:ident, $fn_out:ident, $proto:ty, $domain:ty, $field:literal, { $($p:ident => $d:ident),+ $(,)? }) => {
        fn $fn_in(raw: i32) -> Result<$domain, DecodeError> {
            match enum_value::<$proto>($field, raw)? {
                $(<$proto>::$p => Ok(<$domain>::$d),)+
                #[allow(unreachable_patterns)]
                _ => Err(contract($field, "is required (UNSPECIFIED is not a value)")),
            }
        }
        fn $fn_out(value: $domain) -> i32 {
            match value {
                $(<$domain>::$d => <$proto>::$p as i32,)+
            }
        }
    };
}

enum_map!(campaign_type_in, campaign_type_out, v1::CampaignType, core::CampaignType, "payload.type", {
    Email => Email, Webinar => Webinar, Advertisement => Advertisement, TradeShow => TradeShow,
    DirectMail => DirectMail, Content => Content, Website => Website, Partner => Partner,
    Referral => Referral, InboundCall => InboundCall, Support => Support, Other => Other,
});

enum_map!(lead_status_in, lead_status_out, v1::LeadStatus, core::LeadStatus, "payload.status", {
    New => New, Working => Working, Nurturing => Nurturing, Qualified => Qualified, Unqualified => Unqualified,
});

enum_map!(contact_method_in, contact_method_out, v1::ContactMethod, core::ContactMethod, "payload.method", {
    Call => Call, Visit => Visit, Email => Email, Letter => Letter,
});

enum_map!(touch_type_in, touch_type_out, v1::TouchType, core::TouchType, "payload.touch_type", {
    EmailSent => EmailSent, EmailOpen => EmailOpen, EmailClick => EmailClick, FormFill => FormFill,
    WebVisit => WebVisit, AdClick => AdClick, WebinarRegistered => WebinarRegistered,
    WebinarAttended => WebinarAttended, Event => Event, Call => Call, Meeting => Meeting,
    LiteratureSent => LiteratureSent, LiteratureResponded => LiteratureResponded,
    Referral => Referral, SupportCase => SupportCase,
});

enum_map!(touch_status_in, touch_status_out, v1::TouchStatus, core::TouchStatus, "payload.status", {
    Sent => Sent, Responded => Responded,
});

enum_map!(touch_origin_in, touch_origin_out, v1::TouchOrigin, core::TouchOrigin, "payload.provenance.origin", {
    Recorded => Recorded, Synthesized => Synthesized,
});

fn provenance_in(p: v1::TouchProvenance) -> Result<core::TouchProvenance, DecodeError> {
    Ok(core::TouchProvenance {
        origin: touch_origin_in(p.origin)?,
        source: p.source,
    })
}

fn provenance_out(p: &core::TouchProvenance) -> v1::TouchProvenance {
    v1::TouchProvenance {
        origin: touch_origin_out(p.origin),
        source: p.source.clone(),
    }
}

/// Reads a JSON event as its protobuf form would be read, where the two could
/// differ, so that both decoders give the same event and the log (protobuf) gives
/// back what was accepted. `OpportunityCreated.expected_close_at_ms` is not
/// `optional` in the schema: 0 there is "no date", so a JSON close date at the
/// epoch (`0`, `"1970-01-01T00:00:00Z"`) is no date as well.
pub(crate) fn as_protobuf_carries_it(envelope: &mut core::Envelope) {
    if let core::Event::OpportunityCreated(e) = &mut envelope.event
        && e.expected_close_at == Some(ts(0))
    {
        e.expected_close_at = None;
    }
}

pub(crate) fn envelope_from_proto(p: v1::Envelope) -> Result<core::Envelope, DecodeError> {
    use core::Event as E;
    let payload = required("payload", p.payload)?;
    let event = match payload {
        Payload::CampaignUpserted(e) => E::CampaignUpserted(core::CampaignUpserted {
            campaign_id: e.campaign_id,
            name: e.name,
            channel: e.channel,
            medium: e.medium,
            source: e.source,
            ad_code: e.ad_code,
            campaign_type: campaign_type_in(e.r#type)?,
            parent_campaign_id: e.parent_campaign_id,
            starts_at: ts(e.starts_at_ms),
            ends_at: e.ends_at_ms.map(ts),
            planned_cost: e.planned_cost.map(money_in),
        }),
        Payload::CampaignCostRecorded(e) => E::CampaignCostRecorded(core::CampaignCostRecorded {
            campaign_id: e.campaign_id,
            cost: money_in(required("payload.cost", e.cost)?),
            description: e.description,
        }),
        Payload::LeadCreated(e) => E::LeadCreated(core::LeadCreated {
            person_id: e.person_id,
            email: e.email,
            phone: e.phone,
            first_name: e.first_name,
            last_name: e.last_name,
            company: e.company,
            account_id: e.account_id,
            source: e.source.map(|s| core::LeadSource {
                campaign_id: s.campaign_id,
                ad_code: s.ad_code,
                medium: s.medium,
                source: s.source,
            }),
            owner_id: e.owner_id,
        }),
        Payload::LeadUpdated(e) => E::LeadUpdated(core::LeadUpdated {
            person_id: e.person_id,
            owner_id: e.owner_id,
            // Absent is "no change" here, so UNSPECIFIED maps to None.
            status: match e.status {
                0 => None,
                raw => Some(lead_status_in(raw)?),
            },
            qualification: e.qualification.map(|q| core::Qualification {
                need: q.need,
                budget: q.budget,
                authority: q.authority,
            }),
        }),
        Payload::LeadConverted(e) => E::LeadConverted(core::LeadConverted {
            person_id: e.person_id,
            account_id: e.account_id,
            opportunity_id: e.opportunity_id,
        }),
        Payload::FollowUpLogged(e) => E::FollowUpLogged(core::FollowUpLogged {
            person_id: e.person_id,
            method: contact_method_in(e.method)?,
            outcome: e.outcome,
            next_due_at: e.next_due_at_ms.map(ts),
            owner_id: e.owner_id,
        }),
        Payload::TouchRecorded(e) => E::TouchRecorded(core::TouchRecorded {
            person_id: e.person_id,
            campaign_id: e.campaign_id,
            touch_type: touch_type_in(e.touch_type)?,
            status: touch_status_in(e.status)?,
            asset: e.asset,
            topic: e.topic,
            provenance: e.provenance.map(provenance_in).transpose()?,
        }),
        Payload::LeadRouted(e) => E::LeadRouted(core::LeadRouted {
            person_id: e.person_id,
            owner_id: e.owner_id,
            owner_kind: match enum_value::<v1::OwnerKind>("payload.owner_kind", e.owner_kind)? {
                v1::OwnerKind::Partner => core::OwnerKind::Partner,
                v1::OwnerKind::Internal | v1::OwnerKind::Unspecified => core::OwnerKind::Internal,
            },
            rule: e.rule,
            reason: e.reason,
        }),
        Payload::OpportunityCreated(e) => E::OpportunityCreated(core::OpportunityCreated {
            opportunity_id: e.opportunity_id,
            account_id: e.account_id,
            name: e.name,
            stage: e.stage,
            amount: money_in(required("payload.amount", e.amount)?),
            probability_pct: e.probability_pct,
            expected_close_at: (e.expected_close_at_ms != 0).then(|| ts(e.expected_close_at_ms)),
            primary_contact_id: e.primary_contact_id,
            owner_id: e.owner_id,
            partner_id: e.partner_id,
        }),
        Payload::OpportunityUpdated(e) => E::OpportunityUpdated(core::OpportunityUpdated {
            opportunity_id: e.opportunity_id,
            stage: e.stage,
            amount: e.amount.map(money_in),
            probability_pct: e.probability_pct,
            expected_close_at: e.expected_close_at_ms.map(ts),
        }),
        Payload::OpportunityContactRoleAdded(e) => {
            E::OpportunityContactRoleAdded(core::OpportunityContactRoleAdded {
                opportunity_id: e.opportunity_id,
                person_id: e.person_id,
                role: e.role,
            })
        }
        Payload::OpportunityClosed(e) => E::OpportunityClosed(core::OpportunityClosed {
            opportunity_id: e.opportunity_id,
            won: e.won,
            amount: money_in(required("payload.amount", e.amount)?),
            partner_id: e.partner_id,
        }),
        Payload::AccountUpserted(e) => E::AccountUpserted(core::AccountUpserted {
            account_id: e.account_id,
            name: e.name,
            industry: e.industry,
            owner_id: e.owner_id,
            parent_account_id: e.parent_account_id,
        }),
        Payload::TransactionRecorded(e) => E::TransactionRecorded(core::TransactionRecorded {
            transaction_id: e.transaction_id,
            account_id: e.account_id,
            opportunity_id: e.opportunity_id,
            amount: money_in(required("payload.amount", e.amount)?),
            description: e.description,
        }),
        Payload::PersonsMerged(e) => E::PersonsMerged(core::PersonsMerged {
            surviving_person_id: e.surviving_person_id,
            merged_person_id: e.merged_person_id,
            reason: e.reason,
        }),
    };
    Ok(core::Envelope {
        event_id: p.event_id,
        occurred_at: ts(p.occurred_at_ms),
        recorded_at: ts(p.recorded_at_ms),
        source_system: p.source_system,
        event,
    })
}

pub(crate) fn envelope_to_proto(e: &core::Envelope) -> v1::Envelope {
    use core::Event as E;
    let payload = match &e.event {
        E::CampaignUpserted(e) => Payload::CampaignUpserted(v1::CampaignUpserted {
            campaign_id: e.campaign_id.clone(),
            name: e.name.clone(),
            channel: e.channel.clone(),
            medium: e.medium.clone(),
            source: e.source.clone(),
            ad_code: e.ad_code.clone(),
            r#type: campaign_type_out(e.campaign_type),
            parent_campaign_id: e.parent_campaign_id.clone(),
            starts_at_ms: e.starts_at.as_millis(),
            ends_at_ms: e.ends_at.map(Timestamp::as_millis),
            planned_cost: e.planned_cost.as_ref().map(money_out),
        }),
        E::CampaignCostRecorded(e) => Payload::CampaignCostRecorded(v1::CampaignCostRecorded {
            campaign_id: e.campaign_id.clone(),
            cost: Some(money_out(&e.cost)),
            description: e.description.clone(),
        }),
        E::LeadCreated(e) => Payload::LeadCreated(v1::LeadCreated {
            person_id: e.person_id.clone(),
            email: e.email.clone(),
            phone: e.phone.clone(),
            first_name: e.first_name.clone(),
            last_name: e.last_name.clone(),
            company: e.company.clone(),
            account_id: e.account_id.clone(),
            source: e.source.as_ref().map(|s| v1::LeadSource {
                campaign_id: s.campaign_id.clone(),
                ad_code: s.ad_code.clone(),
                medium: s.medium.clone(),
                source: s.source.clone(),
            }),
            owner_id: e.owner_id.clone(),
        }),
        E::LeadUpdated(e) => Payload::LeadUpdated(v1::LeadUpdated {
            person_id: e.person_id.clone(),
            owner_id: e.owner_id.clone(),
            status: e.status.map_or(0, lead_status_out),
            qualification: e.qualification.map(|q| v1::Qualification {
                need: q.need,
                budget: q.budget,
                authority: q.authority,
            }),
        }),
        E::LeadConverted(e) => Payload::LeadConverted(v1::LeadConverted {
            person_id: e.person_id.clone(),
            account_id: e.account_id.clone(),
            opportunity_id: e.opportunity_id.clone(),
        }),
        E::FollowUpLogged(e) => Payload::FollowUpLogged(v1::FollowUpLogged {
            person_id: e.person_id.clone(),
            method: contact_method_out(e.method),
            outcome: e.outcome.clone(),
            next_due_at_ms: e.next_due_at.map(Timestamp::as_millis),
            owner_id: e.owner_id.clone(),
        }),
        E::TouchRecorded(e) => Payload::TouchRecorded(v1::TouchRecorded {
            person_id: e.person_id.clone(),
            campaign_id: e.campaign_id.clone(),
            touch_type: touch_type_out(e.touch_type),
            status: touch_status_out(e.status),
            asset: e.asset.clone(),
            topic: e.topic.clone(),
            provenance: e.provenance.as_ref().map(provenance_out),
        }),
        E::LeadRouted(e) => Payload::LeadRouted(v1::LeadRouted {
            person_id: e.person_id.clone(),
            owner_id: e.owner_id.clone(),
            owner_kind: match e.owner_kind {
                core::OwnerKind::Internal => v1::OwnerKind::Internal,
                core::OwnerKind::Partner => v1::OwnerKind::Partner,
            } as i32,
            rule: e.rule.clone(),
            reason: e.reason.clone(),
        }),
        E::OpportunityCreated(e) => Payload::OpportunityCreated(v1::OpportunityCreated {
            opportunity_id: e.opportunity_id.clone(),
            account_id: e.account_id.clone(),
            name: e.name.clone(),
            stage: e.stage.clone(),
            amount: Some(money_out(&e.amount)),
            probability_pct: e.probability_pct,
            expected_close_at_ms: e.expected_close_at.map_or(0, Timestamp::as_millis),
            primary_contact_id: e.primary_contact_id.clone(),
            owner_id: e.owner_id.clone(),
            partner_id: e.partner_id.clone(),
        }),
        E::OpportunityUpdated(e) => Payload::OpportunityUpdated(v1::OpportunityUpdated {
            opportunity_id: e.opportunity_id.clone(),
            stage: e.stage.clone(),
            amount: e.amount.as_ref().map(money_out),
            probability_pct: e.probability_pct,
            expected_close_at_ms: e.expected_close_at.map(Timestamp::as_millis),
        }),
        E::OpportunityContactRoleAdded(e) => {
            Payload::OpportunityContactRoleAdded(v1::OpportunityContactRoleAdded {
                opportunity_id: e.opportunity_id.clone(),
                person_id: e.person_id.clone(),
                role: e.role.clone(),
            })
        }
        E::OpportunityClosed(e) => Payload::OpportunityClosed(v1::OpportunityClosed {
            opportunity_id: e.opportunity_id.clone(),
            won: e.won,
            amount: Some(money_out(&e.amount)),
            partner_id: e.partner_id.clone(),
        }),
        E::AccountUpserted(e) => Payload::AccountUpserted(v1::AccountUpserted {
            account_id: e.account_id.clone(),
            name: e.name.clone(),
            industry: e.industry.clone(),
            owner_id: e.owner_id.clone(),
            parent_account_id: e.parent_account_id.clone(),
        }),
        E::TransactionRecorded(e) => Payload::TransactionRecorded(v1::TransactionRecorded {
            transaction_id: e.transaction_id.clone(),
            account_id: e.account_id.clone(),
            opportunity_id: e.opportunity_id.clone(),
            amount: Some(money_out(&e.amount)),
            description: e.description.clone(),
        }),
        E::PersonsMerged(e) => Payload::PersonsMerged(v1::PersonsMerged {
            surviving_person_id: e.surviving_person_id.clone(),
            merged_person_id: e.merged_person_id.clone(),
            reason: e.reason.clone(),
        }),
    };
    v1::Envelope {
        event_id: e.event_id.clone(),
        occurred_at_ms: e.occurred_at.as_millis(),
        recorded_at_ms: e.recorded_at.as_millis(),
        source_system: e.source_system.clone(),
        payload: Some(payload),
    }
}
