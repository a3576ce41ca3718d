use serde::{Deserialize, Serialize};
use touchline_core::{CampaignType, Envelope, Event, Money, Timestamp};

use crate::stamp::{Stamp, newer};

/// One recorded cost of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatedCost {
    /// When the cost was incurred: the cost event's `occurred_at`.
    pub at: Timestamp,
    pub event_id: String,
    pub cost: Money,
}

/// A campaign and its running counts. Every lead source is a campaign (R15), so a
/// campaign can be known from touches before its `CampaignUpserted` arrives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignView {
    pub campaign_id: String,
    pub name: String,
    pub channel: String,
    pub medium: String,
    pub source: String,
    pub ad_code: String,
    pub campaign_type: Option<CampaignType>,
    pub parent_campaign_id: String,
    pub starts_at: Option<Timestamp>,
    /// `None`: never ends.
    pub ends_at: Option<Timestamp>,
    pub planned_cost: Option<Money>,
    /// The `CampaignUpserted` the description above is from: the latest (by
    /// time, then event id), in whatever order they arrive.
    pub upserted: Option<Stamp>,
    /// Recorded costs, per currency.
    pub actual_cost: Vec<touchline_core::MoneyTotal>,
    /// Every recorded cost with the date it was incurred (`occurred_at`), in
    /// time order: what a period's cost is made of.
    pub costs: Vec<DatedCost>,
    pub touches: u64,
    pub responses: u64,
    /// Distinct people with a touch in the campaign (merged duplicates once).
    pub members: u64,
    /// Distinct people with a responded touch in the campaign.
    pub responders: u64,
    /// Leads whose own source is this campaign (one per person; the engine keeps
    /// it as sources change and duplicates merge).
    pub leads_sourced: u64,
    pub last_seq: u64,
}

impl CampaignView {
    pub fn new(campaign_id: &str) -> Self {
        CampaignView {
            campaign_id: campaign_id.to_owned(),
            name: String::new(),
            channel: String::new(),
            medium: String::new(),
            source: String::new(),
            ad_code: String::new(),
            campaign_type: None,
            parent_campaign_id: String::new(),
            starts_at: None,
            ends_at: None,
            planned_cost: None,
            upserted: None,
            actual_cost: Vec::new(),
            costs: Vec::new(),
            touches: 0,
            responses: 0,
            members: 0,
            responders: 0,
            leads_sourced: 0,
            last_seq: 0,
        }
    }

    /// Share of members who responded; `None` without members.
    pub fn response_rate(&self) -> Option<f64> {
        (self.members > 0).then(|| self.responders as f64 / self.members as f64)
    }

    /// The name to show: the campaign's own, else its id.
    pub fn display_name(&self) -> &str {
        if self.name.is_empty() {
            &self.campaign_id
        } else {
            &self.name
        }
    }

    /// Adds the counters another shard folded for the same campaign. A
    /// campaign's metadata and costs come from its own events, which every
    /// shard folds, so they are already the same on both and stay as they are;
    /// its touches, members, responders and sourced leads come from the
    /// groups each shard holds, and add up.
    pub fn add_counters(&mut self, other: &CampaignView) {
        self.touches += other.touches;
        self.responses += other.responses;
        self.members += other.members;
        self.responders += other.responders;
        self.leads_sourced += other.leads_sourced;
        self.last_seq = self.last_seq.max(other.last_seq);
    }

    pub fn apply(&mut self, seq: u64, envelope: &Envelope) {
        match &envelope.event {
            Event::CampaignUpserted(e)
                if e.campaign_id == self.campaign_id && newer(&mut self.upserted, envelope) =>
            {
                e.name.clone_into(&mut self.name);
                e.channel.clone_into(&mut self.channel);
                e.medium.clone_into(&mut self.medium);
                e.source.clone_into(&mut self.source);
                e.ad_code.clone_into(&mut self.ad_code);
                self.campaign_type = Some(e.campaign_type);
                e.parent_campaign_id
                    .clone_into(&mut self.parent_campaign_id);
                self.starts_at = Some(e.starts_at);
                self.ends_at = e.ends_at;
                self.planned_cost.clone_from(&e.planned_cost);
            }
            Event::CampaignCostRecorded(e) if e.campaign_id == self.campaign_id => {
                touchline_core::MoneyTotal::add_to(&mut self.actual_cost, &e.cost);
                let cost = DatedCost {
                    at: envelope.occurred_at,
                    event_id: envelope.event_id.clone(),
                    cost: e.cost.clone(),
                };
                let key = (cost.at, cost.event_id.as_str());
                let at = self
                    .costs
                    .partition_point(|c| (c.at, c.event_id.as_str()) < key);
                self.costs.insert(at, cost);
            }
            Event::TouchRecorded(e) if e.campaign_id == self.campaign_id => {
                self.touches += 1;
                if e.status == touchline_core::TouchStatus::Responded {
                    self.responses += 1;
                }
            }

            _ => return,
        }
        self.last_seq = self.last_seq.max(seq);
    }
}

#[cfg(test)]
mod tests {
    use touchline_core::CampaignUpserted;

    use super::*;

    const DAY: i64 = 86_400_000;
    /// 2026-03-01T00:00:00Z.
    const MARCH: i64 = 1_772_323_200_000;

    use touchline_fixtures::{at, envelope, eur};

    /// The spring webinar from March on, ending and planned as given.
    fn upserted(ends_at: Option<i64>, planned: Option<i64>) -> Envelope {
        envelope(
            "c",
            MARCH,
            CampaignUpserted {
                name: "Spring webinar".into(),
                channel: "webinar".into(),
                campaign_type: CampaignType::Webinar,
                ends_at: ends_at.map(at),
                planned_cost: planned.map(eur),
                ..touchline_fixtures::campaign("cmp", MARCH)
            },
        )
    }

    fn cost(id: &str, ms: i64, amount: i64) -> Envelope {
        envelope(id, ms, touchline_fixtures::cost("cmp", amount))
    }

    fn view(events: &[Envelope]) -> CampaignView {
        let mut view = CampaignView::new("cmp");
        for (seq, e) in events.iter().enumerate() {
            view.apply(seq as u64, e);
        }
        view
    }

    #[test]
    fn recorded_costs_are_kept_in_time_order_with_their_dates() {
        // What a period's cost is made of (the policy is the engine's
        // `PeriodCost`).
        let c = view(&[
            upserted(Some(MARCH + 30 * DAY), Some(900_00)),
            cost("k2", MARCH + 20 * DAY, 250_00),
            cost("k1", MARCH + 2 * DAY, 100_00),
            cost("refund", MARCH + 21 * DAY, -50_00),
        ]);
        let ids: Vec<&str> = c.costs.iter().map(|c| c.event_id.as_str()).collect();
        assert_eq!(ids, ["k1", "k2", "refund"]);
        let dates: Vec<i64> = c.costs.iter().map(|c| c.at.as_millis()).collect();
        assert_eq!(dates, [MARCH + 2 * DAY, MARCH + 20 * DAY, MARCH + 21 * DAY]);
        assert_eq!(c.planned_cost, Some(Money::new(900_00, "EUR")));
    }
}
