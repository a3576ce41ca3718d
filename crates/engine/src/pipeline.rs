//! The defined pipeline (R5) the forecast weights open deals by
//! ([`crate::queries`] has the forecast), and reports over accounts, open
//! deals and the follow-up process that need more than one view: account
//! interest and red/yellow/green indicators on open deals (R18), and overdue
//! leads (R20).
//!
//! Each is a pure function of the views it reads, computed at query time, so it
//! follows every event as soon as its batch is committed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use touchline_core::{OwnerKind, Timestamp, TouchStatus};
use touchline_projection::{
    AccountView, CampaignView, OpportunityView, PersonKind, PersonView, RoutingRules,
};
use touchline_store::Table;

use crate::{EngineError, Queries};

const DAY_MS: i64 = 86_400_000;

/// The defined pipeline (R5): each stage's win probability. An open deal in a
/// stage listed here is weighted by the stage's probability; a deal in a stage
/// not listed, by its own `probability_pct`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    pub stages: Vec<StageProbability>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageProbability {
    pub stage: String,
    pub probability_pct: u32,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        let stages = [
            ("prospecting", 10),
            ("qualification", 20),
            ("discovery", 30),
            ("proposal", 60),
            ("negotiation", 80),
        ]
        .into_iter()
        .map(|(stage, probability_pct)| StageProbability {
            stage: stage.to_owned(),
            probability_pct,
        })
        .collect();
        PipelineConfig { stages }
    }
}

impl PipelineConfig {
    pub fn validate(&self) -> Result<(), String> {
        for s in &self.stages {
            if s.probability_pct > 100 {
                return Err(format!(
                    "stage {:?}: probability_pct {} is above 100",
                    s.stage, s.probability_pct
                ));
            }
        }
        Ok(())
    }

    /// The probability an open deal in `stage` whose own is `own_pct` is
    /// weighted by: the stage's (any case), else its own, at most 100.
    pub fn stage_probability_pct(&self, stage: &str, own_pct: u32) -> u32 {
        self.stages
            .iter()
            .find(|s| s.stage.eq_ignore_ascii_case(stage))
            .map_or(own_pct, |s| s.probability_pct)
            .min(100)
    }
}

/// Product or topic interest across an account's contacts (R18).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterestRow {
    /// The touch's topic, else its asset, else its campaign's name.
    pub topic: String,
    pub touches: usize,
    pub responses: usize,
    /// Distinct contacts with a touch on it.
    pub people: usize,
    pub last_at: Timestamp,
}

/// Engagement with one tactic (campaign type) or offer (topic) on an open deal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    /// `tactic` or `offer`.
    pub kind: &'static str,
    pub name: String,
    pub touches: usize,
    pub responses: usize,
    pub last_touch_at: Timestamp,
    pub last_response_at: Option<Timestamp>,
    /// `green`, `yellow` or `red` (rule in [`indicator_colour`]).
    pub colour: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpportunitySignals {
    pub opportunity_id: String,
    pub name: String,
    pub account_id: String,
    pub stage: String,
    pub owner_id: String,
    pub indicators: Vec<Indicator>,
}

/// A lead whose follow-up is overdue (R20): it may be re-routed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverdueLead {
    pub person_id: String,
    pub name: String,
    pub company: String,
    pub owner_id: String,
    pub owner_kind: OwnerKind,
    /// The routing rule that gave the current owner, if one did.
    pub rule: String,
    pub lead_created_at: Timestamp,
    /// When follow-up was due: the last follow-up's next date; or, when no
    /// follow-up happened since the lead was created or last routed, that
    /// moment plus the first-follow-up deadline.
    pub due_at: Timestamp,
    pub overdue_ms: i64,
    /// `no_first_follow_up`, `not_followed_up_since_routing` or `follow_up_due`.
    pub reason: &'static str,
    pub follow_ups: usize,
    pub last_outcome: Option<String>,
    /// How often the lead was routed so far.
    pub times_routed: usize,
}

/// Green: a response within 30 days of `at`. Yellow: a response within 90
/// days, or touches within 30 days that got none yet. Red: nothing of that.
pub fn indicator_colour(
    at: Timestamp,
    last_touch_at: Timestamp,
    last_response_at: Option<Timestamp>,
) -> &'static str {
    let age = |t: Timestamp| at.as_millis() - t.as_millis();
    match last_response_at {
        Some(r) if age(r) <= 30 * DAY_MS => "green",
        Some(r) if age(r) <= 90 * DAY_MS => "yellow",
        _ if age(last_touch_at) <= 30 * DAY_MS => "yellow",
        _ => "red",
    }
}

impl Queries {
    fn account_people(&self, account: &AccountView) -> Result<Vec<PersonView>, EngineError> {
        let mut people = Vec::new();
        for id in &account.contact_ids {
            if let Some(p) = self.person(id)?
                && p.merged_into.is_none()
            {
                people.push(p);
            }
        }
        Ok(people)
    }

    /// Interest per product or topic across every contact of the account (R18),
    /// most touched first; `None` for an unknown account.
    pub fn account_interest(
        &self,
        account_id: &str,
    ) -> Result<Option<Vec<InterestRow>>, EngineError> {
        let Some(account) = self
            .store()
            .get::<AccountView>(Table::Accounts, account_id)?
        else {
            return Ok(None);
        };
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        let mut rows: BTreeMap<String, (InterestRow, Vec<String>)> = BTreeMap::new();
        for person in self.account_people(&account)? {
            for t in &person.touches {
                let topic = if !t.topic.is_empty() {
                    t.topic.clone()
                } else if !t.asset.is_empty() {
                    t.asset.clone()
                } else {
                    if !names.contains_key(&t.campaign_id) {
                        let name = self
                            .campaign(&t.campaign_id)?
                            .map_or_else(|| t.campaign_id.clone(), |c| c.display_name().to_owned());
                        names.insert(t.campaign_id.clone(), name);
                    }
                    names.get(&t.campaign_id).cloned().unwrap_or_default()
                };
                let (row, people) = rows.entry(topic.clone()).or_insert_with(|| {
                    (
                        InterestRow {
                            topic,
                            touches: 0,
                            responses: 0,
                            people: 0,
                            last_at: t.occurred_at,
                        },
                        Vec::new(),
                    )
                });
                row.touches += 1;
                row.responses += usize::from(t.status == TouchStatus::Responded);
                row.last_at = row.last_at.max(t.occurred_at);
                if !people.contains(&person.person_id) {
                    people.push(person.person_id.clone());
                }
            }
        }
        let mut out: Vec<InterestRow> = rows
            .into_values()
            .map(|(mut row, people)| {
                row.people = people.len();
                row
            })
            .collect();
        out.sort_by(|a, b| b.touches.cmp(&a.touches).then(a.topic.cmp(&b.topic)));
        Ok(Some(out))
    }

    /// Red/yellow/green per tactic and per offer on every open deal (R18), from
    /// the touches of its contacts and of every contact of its account.
    pub fn opportunity_signals(
        &self,
        at: Timestamp,
    ) -> Result<Vec<OpportunitySignals>, EngineError> {
        let mut open = Vec::new();
        self.store()
            .for_each(Table::Opportunities, |_, o: OpportunityView| {
                if o.closed.is_none() && o.created_at.is_some() {
                    open.push(o);
                }
            })?;
        let mut campaigns: BTreeMap<String, Option<CampaignView>> = BTreeMap::new();
        let mut out = Vec::with_capacity(open.len());
        for o in open {
            let mut ids = o.contact_ids.clone();
            if let Some(account) = self
                .store()
                .get::<AccountView>(Table::Accounts, &o.account_id)?
            {
                ids.extend(account.contact_ids);
            }
            ids.sort_unstable();
            ids.dedup();
            // (kind, name) -> (touches, responses, last touch, last response)
            type Tally = (usize, usize, Timestamp, Option<Timestamp>);
            let mut tallies: BTreeMap<(&'static str, String), Tally> = BTreeMap::new();
            for id in &ids {
                let Some(person) = self.person(id)? else {
                    continue;
                };
                for t in person.touches.iter().filter(|t| t.occurred_at <= at) {
                    if !campaigns.contains_key(&t.campaign_id) {
                        campaigns.insert(t.campaign_id.clone(), self.campaign(&t.campaign_id)?);
                    }
                    let tactic = campaigns
                        .get(&t.campaign_id)
                        .and_then(|c| c.as_ref())
                        .and_then(|c| c.campaign_type)
                        .map_or_else(
                            || "unknown".to_owned(),
                            |ty| {
                                serde_json::to_value(ty)
                                    .ok()
                                    .and_then(|v| v.as_str().map(str::to_owned))
                                    .unwrap_or_default()
                            },
                        );
                    let mut keys = vec![("tactic", tactic)];
                    if !t.topic.is_empty() {
                        keys.push(("offer", t.topic.clone()));
                    }
                    for key in keys {
                        let tally = tallies.entry(key).or_insert((0, 0, t.occurred_at, None));
                        tally.0 += 1;
                        tally.2 = tally.2.max(t.occurred_at);
                        if t.status == TouchStatus::Responded {
                            tally.1 += 1;
                            tally.3 = Some(tally.3.map_or(t.occurred_at, |r| r.max(t.occurred_at)));
                        }
                    }
                }
            }
            let indicators = tallies
                .into_iter()
                .map(
                    |((kind, name), (touches, responses, last_touch_at, last_response_at))| {
                        Indicator {
                            kind,
                            name,
                            touches,
                            responses,
                            last_touch_at,
                            last_response_at,
                            colour: indicator_colour(at, last_touch_at, last_response_at),
                        }
                    },
                )
                .collect();
            out.push(OpportunitySignals {
                opportunity_id: o.opportunity_id,
                name: o.name,
                account_id: o.account_id,
                stage: o.stage,
                owner_id: o.owner_id,
                indicators,
            });
        }
        out.sort_by(|a, b| a.opportunity_id.cmp(&b.opportunity_id));
        Ok(out)
    }

    /// Open leads whose follow-up is overdue at `at` (R20), most overdue first,
    /// optionally for one owner.
    pub fn overdue_leads(
        &self,
        at: Timestamp,
        rules: &RoutingRules,
        owner: Option<&str>,
    ) -> Result<Vec<OverdueLead>, EngineError> {
        let deadline = rules.first_follow_up_within_ms();
        let mut out = Vec::new();
        self.store().for_each(Table::Persons, |_, p: PersonView| {
            let open = p.kind == PersonKind::Lead
                && p.merged_into.is_none()
                && p.converted.is_none()
                && !matches!(
                    p.status,
                    Some(touchline_core::LeadStatus::Unqualified)
                        | Some(touchline_core::LeadStatus::Qualified)
                );
            let Some(created) = p.lead_created_at else {
                return;
            };
            if !open || owner.is_some_and(|o| o != p.owner_id) {
                return;
            }
            // A lead routed after its last contact gets a fresh deadline from
            // the routing: its new owner has not had the chance to call yet.
            let routed_at = p.routing.last().map(|r| r.at);
            let (due_at, reason) = match (p.follow_ups.last(), routed_at) {
                (Some(last), Some(routed)) if routed > last.at => (
                    routed.saturating_add_millis(deadline),
                    "not_followed_up_since_routing",
                ),
                (Some(last), _) => match last.next_due_at {
                    Some(due) => (due, "follow_up_due"),
                    None => return,
                },
                // Backfilled history nobody took on is not anyone's overdue lead.
                (None, None) if p.arrived_as_history() => return,
                (None, routed) => match routed.filter(|r| *r > created) {
                    Some(routed) => (
                        routed.saturating_add_millis(deadline),
                        "not_followed_up_since_routing",
                    ),
                    None => (
                        created.saturating_add_millis(deadline),
                        "no_first_follow_up",
                    ),
                },
            };
            if due_at >= at {
                return;
            }
            out.push(OverdueLead {
                name: p.display_name(),
                company: p.company.clone(),
                owner_id: p.owner_id.clone(),
                owner_kind: p.owner_kind,
                rule: p.routing.last().map(|r| r.rule.clone()).unwrap_or_default(),
                lead_created_at: created,
                due_at,
                overdue_ms: at.as_millis() - due_at.as_millis(),
                reason,
                follow_ups: p.follow_ups.len(),
                last_outcome: p.follow_ups.last().map(|f| f.outcome.clone()),
                times_routed: p.routing.len(),
                person_id: p.person_id,
            });
        })?;
        out.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.person_id.cmp(&b.person_id)));
        Ok(out)
    }
}
