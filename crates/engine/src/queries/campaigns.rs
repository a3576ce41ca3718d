use super::*;

/// What a campaign cost and what it is credited with under one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignPerformance {
    pub campaign_id: String,
    pub campaign_name: String,
    pub channel: String,
    pub currency: String,
    /// The cost in the range under [`CampaignView::cost_in`]'s policy: costs
    /// recorded in it, else the planned cost spread over the run; `None` when
    /// unknown (a campaign with no record), and then ROI, ROAS and cost per
    /// lead and sale are `"unknown"`.
    pub cost_minor: Option<MinorTotal>,
    /// Distinct people touched by the campaign.
    pub members: u64,
    /// Distinct people who responded.
    pub responders: u64,
    /// responders / members.
    pub response_rate: Ratio,
    /// Leads whose source at creation is this campaign.
    pub leads_sourced: u64,
    /// Leads credited (lead_created, sum of weights).
    pub leads: f64,
    /// Won deals credited (opportunity_won, sum of weights).
    pub sales: f64,
    /// Revenue credited (opportunity_won), in `currency`.
    pub revenue_minor: MinorTotal,
    /// Cash booked by accounting (R3): each transaction on a deal, in `currency`
    /// and in the range, split by the deal's credits under the model (its won
    /// conversion, else its creation).
    pub booked_minor: MinorTotal,
    /// (revenue − cost) / cost.
    pub roi: Ratio,
    /// revenue / cost.
    pub roas: Ratio,
    /// cost / leads, in minor units of `currency`.
    pub cost_per_lead_minor: MinorRatio,
    /// cost / sales, in minor units of `currency`.
    pub cost_per_sale_minor: MinorRatio,
}

/// Why conversions went unattributed, counted, with a few examples each.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnattributedRow {
    pub reason: touchline_attribution::Unattributed,
    pub conversions: u64,
    pub examples: Vec<String>,
}

impl Queries {
    /// Cost, credited leads, sales and revenue, ROI, ROAS, cost per lead and per
    /// sale for every campaign, under `model`: conversions in `range` and the
    /// cost of `range` ([`CampaignView::cost_in`]), so a period means the same
    /// on both sides of every ratio. Only costs and revenue in `currency` count.
    pub fn campaign_performance(
        &self,
        model: Model,
        range: TimeRange,
        currency: &str,
    ) -> Result<Vec<CampaignPerformance>, EngineError> {
        let leads = self.campaign_credits_in(model, ConversionKind::LeadCreated, range)?;
        let won = self.campaign_credits_in(model, ConversionKind::OpportunityWon, range)?;
        let booked = self.booked_by_campaign(model, range, currency)?;
        let mut rows = Vec::new();
        for campaign in self.campaigns()? {
            let cost_minor = campaign.cost_in(currency, range.from, range.to);
            let lead_credit = credit_total(
                leads
                    .iter()
                    .filter(|c| c.campaign_id == campaign.campaign_id)
                    .fold(0.0, |total, c| total + c.conversions),
            );
            let (sales, revenue_minor) = won
                .iter()
                .filter(|c| {
                    c.campaign_id == campaign.campaign_id && c.currency.as_deref() == Some(currency)
                })
                .fold((0.0, 0 as MinorTotal), |(s, r), c| {
                    (s + c.conversions, r + c.value_minor)
                });
            let sales = credit_total(sales);
            let cost = cost_minor.map(|c| c as f64 / 100.0);
            let revenue = revenue_minor as f64 / 100.0;
            rows.push(CampaignPerformance {
                campaign_name: campaign.display_name().to_owned(),
                channel: campaign.channel.clone(),
                campaign_id: campaign.campaign_id.clone(),
                currency: currency.to_owned(),
                cost_minor,
                members: campaign.members,
                responders: campaign.responders,
                response_rate: Ratio::of(campaign.responders as f64, campaign.members as f64),
                leads_sourced: campaign.leads_sourced,
                leads: lead_credit,
                sales,
                revenue_minor,
                booked_minor: booked.get(&campaign.campaign_id).copied().unwrap_or(0),
                roi: cost.map_or(Ratio::UNKNOWN, |cost| Ratio::of(revenue - cost, cost)),
                roas: cost.map_or(Ratio::UNKNOWN, |cost| Ratio::of(revenue, cost)),
                cost_per_lead_minor: MinorRatio::of(cost_minor, lead_credit),
                cost_per_sale_minor: MinorRatio::of(cost_minor, sales),
            });
        }
        rows.sort_by(|a, b| {
            b.revenue_minor
                .cmp(&a.revenue_minor)
                .then(a.campaign_id.cmp(&b.campaign_id))
        });
        Ok(rows)
    }

    /// Conversions of `kind` that `model` credited to `(no touch)`, by reason.
    pub fn unattributed(
        &self,
        model: Model,
        kind: ConversionKind,
        range: TimeRange,
    ) -> Result<Vec<UnattributedRow>, EngineError> {
        let mut rows: Vec<UnattributedRow> = Vec::new();
        self.for_each_conversion(kind, range, |view| {
            let Some(reason) = view.result(model).and_then(|r| r.attribution.unattributed) else {
                return;
            };
            match rows.iter_mut().find(|r| r.reason == reason) {
                Some(row) => {
                    row.conversions += 1;
                    if row.examples.len() < 5 {
                        row.examples.push(view.conversion.id.clone());
                    }
                }
                None => rows.push(UnattributedRow {
                    reason,
                    conversions: 1,
                    examples: vec![view.conversion.id.clone()],
                }),
            }
        })?;
        Ok(rows)
    }
}
