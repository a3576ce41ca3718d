//! The event vocabulary. It mirrors `proto/touchline/v1/events.proto` one to one;
//! the JSON form of an event is the serde form of these types.
//!
//! Most payloads derive `Default` (empty ids and text, `None`, zero amounts) so
//! that code building events, the test fixtures above all, can name only the
//! fields it means (`LeadCreated { person_id, ..Default::default() }`). It is
//! not a decoding fallback: `#[serde(default)]` stays on single optional
//! fields, never on a type, so JSON missing a required field is still refused
//! (`touchline-proto`'s `required_fields` test). Enums get a default only where
//! one variant is neutral: [`CampaignType::Other`] (claims nothing about the
//! campaign) and [`OwnerKind::Internal`]. [`TouchRecorded`] and
//! [`FollowUpLogged`] have none, because no touch type or status and no
//! contact method is neutral. [`Money`]'s default, zero in no currency, only
//! lets the payloads holding an amount derive theirs; validation refuses it.
//! (These notes are here and in plain comments, not on the types: the JSON
//! Schema is made from the types' doc comments.)

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// One event with its metadata. `event_id` is the idempotency key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Envelope {
    pub event_id: String,
    pub occurred_at: Timestamp,
    pub recorded_at: Timestamp,
    #[serde(default)]
    pub source_system: String,
    #[serde(rename = "payload")]
    pub event: Event,
}

/// An amount in minor units (cents) of an ISO 4217 currency.
// `Default` (zero in no currency, which validation refuses) exists so that the
// payloads holding an amount can derive `Default`; it is never a value an
// event may carry. A plain comment, not a doc comment: the JSON Schema is made
// from the doc comments, and this is none of a producer's business.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

/// A sum of amounts in minor units. Each amount is bounded by validation
/// ([`MAX_AMOUNT_MINOR`](crate::MAX_AMOUNT_MINOR)), but a total over many can
/// pass `i64::MAX`; in `i128` no total can wrap.
pub type MinorTotal = i128;

/// A total of amounts in one currency: [`Money`]'s shape with a wide amount.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MoneyTotal {
    pub amount_minor: MinorTotal,
    pub currency: String,
}

impl MoneyTotal {
    /// Adds `money` to the total of its currency in `totals`.
    pub fn add_to(totals: &mut Vec<MoneyTotal>, money: &Money) {
        let amount = MinorTotal::from(money.amount_minor);
        match totals.iter_mut().find(|t| t.currency == money.currency) {
            Some(total) => total.amount_minor += amount,
            None => totals.push(MoneyTotal {
                amount_minor: amount,
                currency: money.currency.clone(),
            }),
        }
    }
}

impl Money {
    pub fn new(amount_minor: i64, currency: impl Into<String>) -> Self {
        Money {
            amount_minor,
            currency: currency.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    CampaignUpserted(CampaignUpserted),
    CampaignCostRecorded(CampaignCostRecorded),
    LeadCreated(LeadCreated),
    LeadUpdated(LeadUpdated),
    LeadConverted(LeadConverted),
    FollowUpLogged(FollowUpLogged),
    TouchRecorded(TouchRecorded),
    OpportunityCreated(OpportunityCreated),
    OpportunityUpdated(OpportunityUpdated),
    OpportunityContactRoleAdded(OpportunityContactRoleAdded),
    OpportunityClosed(OpportunityClosed),
    AccountUpserted(AccountUpserted),
    TransactionRecorded(TransactionRecorded),
    PersonsMerged(PersonsMerged),
    LeadRouted(LeadRouted),
}

// `Other` is the default (see the module's doc): the one type that claims
// nothing about the campaign. Decoding never falls back to it: the field is
// required on the wire.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CampaignType {
    Email,
    Webinar,
    Advertisement,
    TradeShow,
    DirectMail,
    Content,
    Website,
    Partner,
    Referral,
    InboundCall,
    Support,
    #[default]
    Other,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CampaignUpserted {
    pub campaign_id: String,
    pub name: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub medium: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub ad_code: String,
    pub campaign_type: CampaignType,
    #[serde(default)]
    pub parent_campaign_id: String,
    pub starts_at: Timestamp,
    /// `None`: the campaign never ends (R15).
    #[serde(default)]
    pub ends_at: Option<Timestamp>,
    /// Zero: the campaign costs nothing (R15: a referral, an inbound call).
    /// `None`: nothing is planned, and until a cost is recorded the
    /// campaign's cost is unknown (its ROI too), not zero.
    #[serde(default)]
    pub planned_cost: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CampaignCostRecorded {
    pub campaign_id: String,
    pub cost: Money,
    #[serde(default)]
    pub description: String,
}

/// The marketing effort behind a lead at first contact (R1).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadSource {
    pub campaign_id: String,
    #[serde(default)]
    pub ad_code: String,
    #[serde(default)]
    pub medium: String,
    #[serde(default)]
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadCreated {
    pub person_id: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub source: Option<LeadSource>,
    #[serde(default)]
    pub owner_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    New,
    Working,
    Nurturing,
    Qualified,
    Unqualified,
}

/// Need, budget and authority (R23); `None` is unknown.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Qualification {
    #[serde(default)]
    pub need: Option<bool>,
    #[serde(default)]
    pub budget: Option<bool>,
    #[serde(default)]
    pub authority: Option<bool>,
}

/// Only the fields that are `Some` change.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadUpdated {
    pub person_id: String,
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub status: Option<LeadStatus>,
    #[serde(default)]
    pub qualification: Option<Qualification>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadConverted {
    pub person_id: String,
    pub account_id: String,
    #[serde(default)]
    pub opportunity_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactMethod {
    Call,
    Visit,
    Email,
    Letter,
}

// No `Default`: no contact method is neutral, so none is assumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FollowUpLogged {
    pub person_id: String,
    pub method: ContactMethod,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub next_due_at: Option<Timestamp>,
    #[serde(default)]
    pub owner_id: String,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TouchType {
    EmailSent,
    EmailOpen,
    EmailClick,
    FormFill,
    WebVisit,
    AdClick,
    WebinarRegistered,
    WebinarAttended,
    Event,
    Call,
    Meeting,
    LiteratureSent,
    LiteratureResponded,
    Referral,
    SupportCase,
}

impl TouchType {
    pub const ALL: [TouchType; 15] = [
        TouchType::EmailSent,
        TouchType::EmailOpen,
        TouchType::EmailClick,
        TouchType::FormFill,
        TouchType::WebVisit,
        TouchType::AdClick,
        TouchType::WebinarRegistered,
        TouchType::WebinarAttended,
        TouchType::Event,
        TouchType::Call,
        TouchType::Meeting,
        TouchType::LiteratureSent,
        TouchType::LiteratureResponded,
        TouchType::Referral,
        TouchType::SupportCase,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TouchStatus {
    Sent,
    Responded,
}

/// A campaign member: a person taking part in a campaign, at the envelope's
/// `occurred_at` (the date of participation).
// No `Default`: no touch type or status is neutral (each one changes which
// reports and models count the touch), so none is assumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TouchRecorded {
    pub person_id: String,
    pub campaign_id: String,
    pub touch_type: TouchType,
    pub status: TouchStatus,
    #[serde(default)]
    pub asset: String,
    /// The product or topic the touch was about (account interest, R18).
    #[serde(default)]
    pub topic: String,
    /// Where the touch comes from. Absent: a recorded touch, as every touch
    /// was before provenance existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<TouchProvenance>,
}

impl TouchRecorded {
    /// The touch's provenance, absent meaning recorded.
    pub fn provenance(&self) -> TouchProvenance {
        self.provenance.clone().unwrap_or_default()
    }
}

/// Where a touch comes from: recorded as it happened, or synthesized afterwards
/// from other data (a backfill from a legacy lead-source field, R16).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct TouchProvenance {
    pub origin: TouchOrigin,
    /// What a synthesized touch was made from, e.g. `legacy lead_source field`;
    /// required for a synthesized touch, at most 1,024 bytes of one line. A
    /// recorded touch may name its source system's record too.
    #[serde(default)]
    pub source: String,
}

impl TouchProvenance {
    /// A touch made from other data: `source` says what from.
    pub fn synthesized(source: impl Into<String>) -> Self {
        TouchProvenance {
            origin: TouchOrigin::Synthesized,
            source: source.into(),
        }
    }

    pub fn is_synthesized(&self) -> bool {
        self.origin == TouchOrigin::Synthesized
    }
}

// `Recorded` is the default: a touch that says nothing of its provenance is
// what every producer sent before provenance existed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TouchOrigin {
    /// Recorded by a source system when it happened.
    #[default]
    Recorded,
    /// Made afterwards from other data, such as a legacy per-lead source field.
    Synthesized,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OpportunityCreated {
    pub opportunity_id: String,
    pub account_id: String,
    #[serde(default)]
    pub name: String,
    pub stage: String,
    pub amount: Money,
    #[serde(default)]
    pub probability_pct: u32,
    #[serde(default)]
    pub expected_close_at: Option<Timestamp>,
    #[serde(default)]
    pub primary_contact_id: String,
    #[serde(default)]
    pub owner_id: String,
    #[serde(default)]
    pub partner_id: String,
}

/// Only the fields that are `Some` change.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OpportunityUpdated {
    pub opportunity_id: String,
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default)]
    pub amount: Option<Money>,
    #[serde(default)]
    pub probability_pct: Option<u32>,
    #[serde(default)]
    pub expected_close_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OpportunityContactRoleAdded {
    pub opportunity_id: String,
    pub person_id: String,
    #[serde(default)]
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OpportunityClosed {
    pub opportunity_id: String,
    pub won: bool,
    pub amount: Money,
    #[serde(default)]
    pub partner_id: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountUpserted {
    pub account_id: String,
    pub name: String,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub owner_id: String,
    #[serde(default)]
    pub parent_account_id: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TransactionRecorded {
    pub transaction_id: String,
    pub account_id: String,
    #[serde(default)]
    pub opportunity_id: String,
    pub amount: Money,
    #[serde(default)]
    pub description: String,
}

/// Who owns a lead: someone in the company, or an external partner (R20).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OwnerKind {
    #[default]
    Internal,
    Partner,
}

/// A lead given to an owner: by a routing rule when it arrived without one, or
/// re-routed by hand (e.g. because its follow-up is overdue) (R20).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadRouted {
    pub person_id: String,
    pub owner_id: String,
    #[serde(default)]
    pub owner_kind: OwnerKind,
    /// The routing rule that chose the owner; empty when routed by hand.
    #[serde(default)]
    pub rule: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PersonsMerged {
    pub surviving_person_id: String,
    pub merged_person_id: String,
    #[serde(default)]
    pub reason: String,
}

/// The kind of entity a stream follows.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    Person,
    Account,
    Opportunity,
    Campaign,
}

impl StreamKind {
    pub const ALL: [StreamKind; 4] = [
        StreamKind::Person,
        StreamKind::Account,
        StreamKind::Opportunity,
        StreamKind::Campaign,
    ];

    /// One byte per kind, for storage keys. Never reuse a tag.
    pub const fn tag(self) -> u8 {
        match self {
            StreamKind::Person => b'p',
            StreamKind::Account => b'a',
            StreamKind::Opportunity => b'o',
            StreamKind::Campaign => b'c',
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StreamKind::Person => "person",
            StreamKind::Account => "account",
            StreamKind::Opportunity => "opportunity",
            StreamKind::Campaign => "campaign",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        StreamKind::ALL.into_iter().find(|k| k.name() == text)
    }
}

/// A stream an event belongs to: all events of one person, account, opportunity
/// or campaign, in log order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamRef<'a> {
    pub kind: StreamKind,
    pub id: &'a str,
}

impl Envelope {
    /// The partition key of the contract: the event's subject, the first of
    /// its streams (the person of a touch or lead event, the opportunity of an
    /// opportunity event, the account of a transaction or account event, the
    /// campaign of a campaign event, the survivor of a merge); the event id for
    /// an event with none. Every producer of touchline's own keys by it, with
    /// the Java client's partitioner, so a subject's events keep their order on
    /// one partition whichever client wrote them.
    pub fn partition_key(&self) -> &str {
        self.event.streams().next().map_or(&self.event_id, |s| s.id)
    }
}

impl Event {
    /// The snake_case name used in JSON, metrics and reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::CampaignUpserted(_) => "campaign_upserted",
            Event::CampaignCostRecorded(_) => "campaign_cost_recorded",
            Event::LeadCreated(_) => "lead_created",
            Event::LeadUpdated(_) => "lead_updated",
            Event::LeadConverted(_) => "lead_converted",
            Event::FollowUpLogged(_) => "follow_up_logged",
            Event::TouchRecorded(_) => "touch_recorded",
            Event::OpportunityCreated(_) => "opportunity_created",
            Event::OpportunityUpdated(_) => "opportunity_updated",
            Event::OpportunityContactRoleAdded(_) => "opportunity_contact_role_added",
            Event::OpportunityClosed(_) => "opportunity_closed",
            Event::AccountUpserted(_) => "account_upserted",
            Event::TransactionRecorded(_) => "transaction_recorded",
            Event::PersonsMerged(_) => "persons_merged",
            Event::LeadRouted(_) => "lead_routed",
        }
    }

    /// Every stream this event belongs to; empty ids are skipped.
    pub fn streams(&self) -> impl Iterator<Item = StreamRef<'_>> {
        use StreamKind::*;
        let refs: [(StreamKind, &str); 3] = match self {
            Event::CampaignUpserted(e) => {
                [(Campaign, &e.campaign_id), (Campaign, ""), (Campaign, "")]
            }
            Event::CampaignCostRecorded(e) => {
                [(Campaign, &e.campaign_id), (Campaign, ""), (Campaign, "")]
            }
            Event::LeadCreated(e) => [
                (Person, &e.person_id),
                (Account, &e.account_id),
                (Campaign, e.source.as_ref().map_or("", |s| &s.campaign_id)),
            ],
            Event::LeadUpdated(e) => [(Person, &e.person_id), (Person, ""), (Person, "")],
            Event::LeadConverted(e) => [
                (Person, &e.person_id),
                (Account, &e.account_id),
                (Opportunity, &e.opportunity_id),
            ],
            Event::FollowUpLogged(e) => [(Person, &e.person_id), (Person, ""), (Person, "")],
            Event::LeadRouted(e) => [(Person, &e.person_id), (Person, ""), (Person, "")],
            Event::TouchRecorded(e) => [
                (Person, &e.person_id),
                (Campaign, &e.campaign_id),
                (Person, ""),
            ],
            Event::OpportunityCreated(e) => [
                (Opportunity, &e.opportunity_id),
                (Account, &e.account_id),
                (Person, &e.primary_contact_id),
            ],
            Event::OpportunityUpdated(e) => {
                [(Opportunity, &e.opportunity_id), (Person, ""), (Person, "")]
            }
            Event::OpportunityContactRoleAdded(e) => [
                (Opportunity, &e.opportunity_id),
                (Person, &e.person_id),
                (Person, ""),
            ],
            Event::OpportunityClosed(e) => {
                [(Opportunity, &e.opportunity_id), (Person, ""), (Person, "")]
            }
            Event::AccountUpserted(e) => [(Account, &e.account_id), (Person, ""), (Person, "")],
            Event::TransactionRecorded(e) => [
                (Account, &e.account_id),
                (Opportunity, &e.opportunity_id),
                (Person, ""),
            ],
            Event::PersonsMerged(e) => [
                (Person, &e.surviving_person_id),
                (Person, &e.merged_person_id),
                (Person, ""),
            ],
        };
        refs.into_iter()
            .filter(|(_, id)| !id.is_empty())
            .map(|(kind, id)| StreamRef { kind, id })
    }
}
