use serde::{Deserialize, Serialize};
use touchline_core::{CampaignType, Envelope, Event, Money, Timestamp};

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
