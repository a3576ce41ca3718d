use serde::{Deserialize, Serialize};
use touchline_core::{CampaignType, Envelope, Event, MinorTotal, Money, Timestamp};

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

    /// What the campaign cost in `currency` from `from` (inclusive) to `to`
    /// (exclusive; `None` is open), in minor units; `None` when unknown. The
    /// one policy every report uses:
    ///
    /// 1. Recorded costs in `currency` count on the date they were incurred.
    /// 2. Without any, a planned cost in `currency` is spread evenly over the
    ///    campaign's run, `starts_at` to `ends_at`, and the period gets the
    ///    part of the run it covers (rounded half away from zero); a campaign
    ///    that never ends counts its planned cost whole at `starts_at`.
    /// 3. Without either, a campaign with a record costs nothing (every lead
    ///    source is a campaign, and a referral is free: R15).
    /// 4. A campaign known only from touches, with no record, has an unknown
    ///    cost.
    ///
    /// E.g. 900.00 EUR planned for 1 to 31 March (30 days): 1 to 11 March
    /// costs 300.00 EUR; all of March 900.00 EUR; April nothing.
    pub fn cost_in(
        &self,
        currency: &str,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Option<MinorTotal> {
        let within = |at: Timestamp| from.is_none_or(|f| at >= f) && to.is_none_or(|t| at < t);
        let mut recorded = self
            .costs
            .iter()
            .filter(|c| c.cost.currency == currency)
            .peekable();
        if recorded.peek().is_some() {
            return Some(
                recorded
                    .filter(|c| within(c.at))
                    .map(|c| MinorTotal::from(c.cost.amount_minor))
                    .sum(),
            );
        }
        if let Some(planned) = self
            .planned_cost
            .as_ref()
            .filter(|p| p.currency == currency)
            && let Some(start) = self.starts_at
        {
            let amount = MinorTotal::from(planned.amount_minor);
            let end = match self.ends_at {
                Some(end) if end > start => end,
                // Never ends (or ends as it starts): all of it at the start.
                _ => return Some(if within(start) { amount } else { 0 }),
            };
            let run = MinorTotal::from(end.as_millis() - start.as_millis());
            let lo = from.map_or(start, |f| f.max(start));
            let hi = to.map_or(end, |t| t.min(end));
            let covered = MinorTotal::from((hi.as_millis() - lo.as_millis()).max(0));
            // amount × covered / run, rounded half away from zero; i128 holds it.
            let scaled = amount * covered;
            let share = (scaled.abs() * 2 + run) / (2 * run) * scaled.signum();
            return Some(share);
        }
        self.campaign_type.is_some().then_some(0)
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
            Event::CampaignUpserted(e) if e.campaign_id == self.campaign_id => {
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
    fn a_planned_cost_is_spread_over_the_campaign_run() {
        // The worked example of `cost_in`: 900.00 EUR over 30 days of March.
        let c = view(&[upserted(Some(MARCH + 30 * DAY), Some(900_00))]);
        let eur = |from: i64, to: i64| c.cost_in("EUR", Some(at(from)), Some(at(to)));
        assert_eq!(eur(MARCH, MARCH + 10 * DAY), Some(300_00));
        assert_eq!(eur(MARCH - 5 * DAY, MARCH + 40 * DAY), Some(900_00));
        assert_eq!(eur(MARCH + 30 * DAY, MARCH + 60 * DAY), Some(0));
        assert_eq!(c.cost_in("EUR", None, None), Some(900_00));
        // One day of 30 is 30.00 EUR; a third of a cent rounds to the nearest.
        assert_eq!(eur(MARCH, MARCH + DAY), Some(30_00));
        assert_eq!(eur(MARCH, MARCH + DAY / 3000), Some(1));
        // A campaign that never ends counts its plan at its start.
        let open = view(&[upserted(None, Some(900_00))]);
        assert_eq!(
            open.cost_in("EUR", Some(at(MARCH)), Some(at(MARCH + DAY))),
            Some(900_00)
        );
        assert_eq!(open.cost_in("EUR", Some(at(MARCH + DAY)), None), Some(0));
    }

    #[test]
    fn recorded_costs_count_when_incurred_and_replace_the_plan() {
        let c = view(&[
            upserted(Some(MARCH + 30 * DAY), Some(900_00)),
            cost("k2", MARCH + 20 * DAY, 250_00),
            cost("k1", MARCH + 2 * DAY, 100_00),
            cost("refund", MARCH + 21 * DAY, -50_00),
        ]);
        assert_eq!(
            c.cost_in("EUR", Some(at(MARCH)), Some(at(MARCH + 10 * DAY))),
            Some(100_00)
        );
        assert_eq!(
            c.cost_in("EUR", Some(at(MARCH + 10 * DAY)), None),
            Some(200_00)
        );
        assert_eq!(c.cost_in("EUR", None, None), Some(300_00));
        let ids: Vec<&str> = c.costs.iter().map(|c| c.event_id.as_str()).collect();
        assert_eq!(ids, ["k1", "k2", "refund"]);
    }

    #[test]
    fn a_free_campaign_costs_zero_and_an_unknown_one_is_unknown() {
        let free = view(&[upserted(None, None)]);
        assert_eq!(free.cost_in("EUR", None, None), Some(0));
        // Known only from its touches: nobody said what it cost.
        let unknown = CampaignView::new("cmp");
        assert_eq!(unknown.cost_in("EUR", None, None), None);
    }
}
