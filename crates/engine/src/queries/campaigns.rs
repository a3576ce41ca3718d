use super::*;

/// What a campaign cost and what it is credited with under one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignPerformance {
    pub campaign_id: String,
    pub campaign_name: String,
    pub channel: String,
    pub currency: String,
    /// The cost in the range under [`PeriodCost`]'s policy: costs recorded
    /// in it, else the planned cost spread over the run; `None` when unknown
    /// (nothing recorded or planned in the currency, or no record at all),
    /// and then ROI, ROAS and cost per lead and sale are `"unknown"`. A known
    /// zero gives ROI and ROAS `"undefined"` and costs per lead and sale 0.
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

/// A campaign as the performance report reads it: its labels, its counts and
/// its cost in the report's period and currency.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CampaignRow {
    pub campaign_id: String,
    pub name: String,
    pub channel: String,
    /// Under [`PeriodCost`]'s policy; `None` when unknown.
    pub cost_minor: Option<MinorTotal>,
    pub members: u64,
    pub responders: u64,
    pub leads_sourced: u64,
}

impl CampaignRow {
    pub fn of(view: &CampaignView, currency: &str, range: TimeRange) -> Self {
        CampaignRow {
            campaign_id: view.campaign_id.clone(),
            name: view.display_name().to_owned(),
            channel: view.channel.clone(),
            cost_minor: PeriodCost::of(view, currency).in_period(range),
            members: view.members,
            responders: view.responders,
            leads_sourced: view.leads_sourced,
        }
    }
}

/// What is known of a campaign's cost in one currency: the pure input of
/// the one cost policy every report uses ([`PeriodCost::in_period`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PeriodCost {
    /// Recorded costs (`CampaignCostRecorded`) in the currency: when each was
    /// incurred (its `occurred_at`) and the amount; a recorded 0 counts.
    pub recorded: Vec<(Timestamp, i64)>,
    /// The planned cost in the currency (a planned 0 counts), with the run it
    /// is spread over: `starts_at` and `ends_at` (`None`: never ends).
    pub planned: Option<(i64, Timestamp, Option<Timestamp>)>,
}

impl PeriodCost {
    pub fn of(view: &CampaignView, currency: &str) -> PeriodCost {
        PeriodCost {
            recorded: view
                .costs
                .iter()
                .filter(|c| c.cost.currency == currency)
                .map(|c| (c.at, c.cost.amount_minor))
                .collect(),
            planned: view
                .planned_cost
                .as_ref()
                .filter(|p| p.currency == currency)
                .zip(view.starts_at)
                .map(|(p, start)| (p.amount_minor, start, view.ends_at)),
        }
    }

    /// The cost of `range` (`from` inclusive, `to` exclusive, either open),
    /// in minor units; `None` when unknown. The rule:
    ///
    /// 1. A campaign with recorded costs in the currency has a known cost in
    ///    every period: the sum of those dated in it, 0 in a period none
    ///    falls in (the record says what was spent, and nothing was then).
    /// 2. Without any, a planned cost in the currency is spread evenly over
    ///    the run, and the period gets the part of the run it covers
    ///    (rounded half away from zero; 0 outside the run); a campaign that
    ///    never ends counts it whole at `starts_at`.
    /// 3. Without either, nothing says what it cost: unknown, whether or not
    ///    the campaign has a record. A free campaign (a referral, R15) says
    ///    so with a planned or recorded cost of 0, and is a known zero.
    ///
    /// E.g. a fair with 100.00 EUR recorded on 2 March and 250.00 EUR on 20
    /// March (and 900.00 EUR planned, which the records replace): March costs
    /// 350.00 EUR, 1–11 March 100.00 EUR, April 0 (ROI undefined, cost per
    /// sale 0), all time 350.00 EUR. A webinar with only 900.00 EUR planned
    /// for 1–31 March (30 days): 1–11 March 300.00 EUR, April 0. A referral
    /// with nothing recorded or planned: unknown in every period and all
    /// time (ROI, ROAS and costs per lead and sale unknown).
    pub fn in_period(&self, range: TimeRange) -> Option<MinorTotal> {
        let within =
            |at: Timestamp| range.from.is_none_or(|f| at >= f) && range.to.is_none_or(|t| at < t);
        if !self.recorded.is_empty() {
            return Some(
                self.recorded
                    .iter()
                    .filter(|(at, _)| within(*at))
                    .map(|(_, amount)| MinorTotal::from(*amount))
                    .sum(),
            );
        }
        let (amount, start, end) = self.planned?;
        let amount = MinorTotal::from(amount);
        let end = match end {
            Some(end) if end > start => end,
            // Never ends (or ends as it starts): all of it at the start.
            _ => return Some(if within(start) { amount } else { 0 }),
        };
        let run = MinorTotal::from(end.as_millis() - start.as_millis());
        let lo = range.from.map_or(start, |f| f.max(start));
        let hi = range.to.map_or(end, |t| t.min(end));
        let covered = MinorTotal::from((hi.as_millis() - lo.as_millis()).max(0));
        // amount × covered / run, rounded half away from zero; i128 holds it.
        let scaled = amount * covered;
        Some((scaled.abs() * 2 + run) / (2 * run) * scaled.signum())
    }
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
        let credited = CreditedCampaigns {
            leads: self.campaign_credits_in(model, ConversionKind::LeadCreated, range)?,
            won: self.campaign_credits_in(model, ConversionKind::OpportunityWon, range)?,
            booked: self.booked_by_campaign(model, range, currency)?,
        };
        let mut campaigns = Vec::new();
        self.stores.for_each(|_, view: CampaignView| {
            campaigns.push(CampaignRow::of(&view, currency, range));
        })?;
        Ok(performance(campaigns, &credited, currency))
    }

    /// Conversions of `kind` that `model` credited to `(no touch)`, by reason.
    pub fn unattributed(
        &self,
        model: Model,
        kind: ConversionKind,
        range: TimeRange,
    ) -> Result<Vec<UnattributedRow>, EngineError> {
        self.unattributed_counting(model, kind, range, None)
    }

    /// [`Queries::unattributed`], the credits counting synthesized touches as
    /// `choice` says (`crate::synthesized`).
    pub fn unattributed_counting(
        &self,
        model: Model,
        kind: ConversionKind,
        range: TimeRange,
        choice: Option<touchline_attribution::SynthesizedTouches>,
    ) -> Result<Vec<UnattributedRow>, EngineError> {
        let mut rows = Vec::new();
        self.for_each_conversion_counting(kind, range, choice, |view| {
            if let Some(reason) = view.result(model).and_then(|r| r.attribution.unattributed) {
                tally_unattributed(&mut rows, reason, &view.conversion.id);
            }
        })?;
        Ok(rows)
    }
}

/// What the campaigns were credited with in the report's period, under its model.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CreditedCampaigns {
    /// Lead-created credit per campaign.
    pub leads: Vec<CampaignCredit>,
    /// Opportunity-won credit per campaign and currency.
    pub won: Vec<CampaignCredit>,
    /// Cash booked per campaign ([`Queries::booked_by_campaign`]).
    pub booked: BTreeMap<String, MinorTotal>,
}

/// One performance row per campaign, by credited revenue descending, then
/// campaign id. Leads count in any currency; sales and revenue only in
/// `currency`, the currency of the cost.
pub(crate) fn performance(
    campaigns: Vec<CampaignRow>,
    credited: &CreditedCampaigns,
    currency: &str,
) -> Vec<CampaignPerformance> {
    let mut rows: Vec<CampaignPerformance> = campaigns
        .into_iter()
        .map(|campaign| {
            let lead_credit = credit_total(
                credited
                    .leads
                    .iter()
                    .filter(|c| c.campaign_id == campaign.campaign_id)
                    .fold(0.0, |total, c| total + c.conversions),
            );
            let (sales, revenue_minor) = credited
                .won
                .iter()
                .filter(|c| {
                    c.campaign_id == campaign.campaign_id && c.currency.as_deref() == Some(currency)
                })
                .fold((0.0, 0 as MinorTotal), |(s, r), c| {
                    (s + c.conversions, r + c.value_minor)
                });
            let sales = credit_total(sales);
            let cost_minor = campaign.cost_minor;
            let cost = cost_minor.map(|c| c as f64 / 100.0);
            let revenue = revenue_minor as f64 / 100.0;
            CampaignPerformance {
                booked_minor: credited
                    .booked
                    .get(&campaign.campaign_id)
                    .copied()
                    .unwrap_or(0),
                campaign_name: campaign.name,
                channel: campaign.channel,
                campaign_id: campaign.campaign_id,
                currency: currency.to_owned(),
                cost_minor,
                members: campaign.members,
                responders: campaign.responders,
                response_rate: Ratio::of(campaign.responders as f64, campaign.members as f64),
                leads_sourced: campaign.leads_sourced,
                leads: lead_credit,
                sales,
                revenue_minor,
                roi: cost.map_or(Ratio::UNKNOWN, |cost| Ratio::of(revenue - cost, cost)),
                roas: cost.map_or(Ratio::UNKNOWN, |cost| Ratio::of(revenue, cost)),
                cost_per_lead_minor: MinorRatio::of(cost_minor, lead_credit),
                cost_per_sale_minor: MinorRatio::of(cost_minor, sales),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.revenue_minor
            .cmp(&a.revenue_minor)
            .then(a.campaign_id.cmp(&b.campaign_id))
    });
    rows
}

/// Counts one unattributed conversion under its reason, in order of first
/// appearance, keeping the first five ids as examples.
pub(crate) fn tally_unattributed(
    rows: &mut Vec<UnattributedRow>,
    reason: touchline_attribution::Unattributed,
    conversion_id: &str,
) {
    match rows.iter_mut().find(|r| r.reason == reason) {
        Some(row) => {
            row.conversions += 1;
            if row.examples.len() < 5 {
                row.examples.push(conversion_id.to_owned());
            }
        }
        None => rows.push(UnattributedRow {
            reason,
            conversions: 1,
            examples: vec![conversion_id.to_owned()],
        }),
    }
}

/// A transaction on a deal with the deal's credits: what cash booked is split by.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Booking {
    pub amount_minor: i64,
    /// Campaign id and weight; none when the deal has no credit set.
    pub credits: Vec<(String, f64)>,
}

/// Cash booked per campaign: each transaction apportioned by its deal's
/// weights (to the minor unit, summing to the amount), all of it to
/// `(no touch)` for a deal without credits.
pub(crate) fn book(bookings: impl IntoIterator<Item = Booking>) -> BTreeMap<String, MinorTotal> {
    let mut booked: BTreeMap<String, MinorTotal> = BTreeMap::new();
    for booking in bookings {
        if booking.credits.is_empty() {
            *booked.entry(NO_TOUCH.to_owned()).or_default() +=
                MinorTotal::from(booking.amount_minor);
            continue;
        }
        let weights: Vec<f64> = booking.credits.iter().map(|(_, w)| *w).collect();
        let parts = touchline_attribution::apportion(booking.amount_minor, &weights);
        for ((campaign_id, _), part) in booking.credits.into_iter().zip(parts) {
            *booked.entry(campaign_id).or_default() += MinorTotal::from(part);
        }
    }
    booked
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// `input`: one line per campaign, `<id> cost=<minor|unknown> members=<n>
    /// responders=<n>`, then credit lines, `lead <id> <weight>`, `won <id>
    /// <currency> <weight> <value minor>`, `booked <id> <minor>`. The answer
    /// for EUR, one line per row.
    fn check(input: &str, expect: Expect) {
        let (mut campaigns, mut credited) = (Vec::new(), CreditedCampaigns::default());
        let credit = |id: &str, currency: Option<&str>, weight: &str, value: &str| CampaignCredit {
            campaign_id: id.into(),
            campaign_name: id.into(),
            channel: String::new(),
            conversions: weight.parse().unwrap(),
            value_minor: value.parse().unwrap(),
            currency: currency.map(str::to_owned),
        };
        for line in input.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let field = |name: &str| {
                words
                    .iter()
                    .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
                    .unwrap()
            };
            match words[0] {
                "lead" => credited.leads.push(credit(words[1], None, words[2], "0")),
                "won" => credited
                    .won
                    .push(credit(words[1], Some(words[2]), words[3], words[4])),
                "booked" => {
                    credited
                        .booked
                        .insert(words[1].into(), words[2].parse().unwrap());
                }
                id => campaigns.push(CampaignRow {
                    campaign_id: id.into(),
                    name: id.into(),
                    channel: String::new(),
                    cost_minor: field("cost").parse().ok(),
                    members: field("members").parse().unwrap(),
                    responders: field("responders").parse().unwrap(),
                    leads_sourced: 0,
                }),
            }
        }
        let rows = performance(campaigns, &credited, "EUR");
        let text: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{} cost={} leads={} sales={} revenue={} booked={} roi={} roas={} \
                     per_lead={} per_sale={} response_rate={}",
                    r.campaign_id,
                    json(&r.cost_minor),
                    r.leads,
                    r.sales,
                    r.revenue_minor,
                    r.booked_minor,
                    json(&r.roi),
                    json(&r.roas),
                    json(&r.cost_per_lead_minor),
                    json(&r.cost_per_sale_minor),
                    json(&r.response_rate),
                )
            })
            .collect();
        expect.assert_eq(&text.join("\n"));
    }

    /// A value as its JSON says it: what the API and CSV show.
    fn json(value: &impl Serialize) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn roi_roas_and_costs_per_lead_and_sale() {
        check(
            "
            webinar cost=100000 members=40 responders=10
            referral cost=0 members=5 responders=5
            touches-only cost=unknown members=3 responders=0
            lead webinar 2.5
            lead webinar 1.5
            lead referral 1
            lead touches-only 0.5
            won webinar EUR 1.5 300000
            won webinar USD 1 999999
            won referral EUR 1 50000
            booked webinar 120000
            ",
            expect![[r#"
                webinar cost=100000 leads=4 sales=1.5 revenue=300000 booked=120000 roi=2.0 roas=3.0 per_lead=25000 per_sale=66667 response_rate=0.25
                referral cost=0 leads=1 sales=1 revenue=50000 booked=0 roi="undefined" roas="undefined" per_lead=0 per_sale=0 response_rate=1.0
                touches-only cost=null leads=0.5 sales=0 revenue=0 booked=0 roi="unknown" roas="unknown" per_lead="unknown" per_sale="unknown" response_rate=0.0"#]],
        );
    }

    #[test]
    fn a_campaign_without_credit_or_members_has_undefined_ratios() {
        check(
            "quiet cost=5000 members=0 responders=0",
            expect![[
                r#"quiet cost=5000 leads=0 sales=0 revenue=0 booked=0 roi=-1.0 roas=0.0 per_lead="undefined" per_sale="undefined" response_rate="undefined""#
            ]],
        );
    }

    #[test]
    fn a_period_gets_its_share_of_a_planned_cost() {
        // 900.00 EUR planned over 30 days of March; the first ten days of it.
        const DAY: i64 = 86_400_000;
        let march = touchline_core::Timestamp::from_millis(1_772_323_200_000);
        let mut view = CampaignView::new("fair");
        view.campaign_type = Some(touchline_core::CampaignType::TradeShow);
        view.planned_cost = Some(touchline_core::Money::new(900_00, "EUR"));
        view.starts_at = Some(march);
        view.ends_at = Some(march.saturating_add_millis(30 * DAY));
        let period = TimeRange {
            from: Some(march),
            to: Some(march.saturating_add_millis(10 * DAY)),
        };
        let credited = CreditedCampaigns {
            leads: vec![],
            won: vec![CampaignCredit {
                campaign_id: "fair".into(),
                campaign_name: "fair".into(),
                channel: String::new(),
                conversions: 1.0,
                value_minor: 600_00,
                currency: Some("EUR".into()),
            }],
            booked: BTreeMap::new(),
        };
        let rows = performance(
            vec![CampaignRow::of(&view, "EUR", period)],
            &credited,
            "EUR",
        );
        assert_eq!(rows[0].cost_minor, Some(300_00));
        assert_eq!(rows[0].roi, Ratio::Value(1.0));
        assert_eq!(rows[0].cost_per_sale_minor, MinorRatio::Value(300_00));
    }

    /// The cost of each period of March and April 2026 and of all time, for
    /// one campaign's costs (`recorded` as (day of March, minor)), as JSON
    /// says it: a number, or `null` (unknown).
    fn periods(cost: &PeriodCost) -> String {
        const DAY: i64 = 86_400_000;
        let march = Timestamp::from_millis(1_772_323_200_000);
        let day = |d: i64| march.saturating_add_millis((d - 1) * DAY);
        [
            ("1-11 March", Some(day(1)), Some(day(11))),
            ("March", Some(day(1)), Some(day(32))),
            ("April", Some(day(32)), Some(day(62))),
            ("all time", None, None),
        ]
        .iter()
        .map(|(name, from, to)| {
            let range = TimeRange {
                from: *from,
                to: *to,
            };
            format!("{name}: {}", json(&cost.in_period(range)))
        })
        .collect::<Vec<_>>()
        .join(", ")
    }

    #[test]
    fn a_periods_cost_is_known_from_records_or_a_plan_and_unknown_without_either() {
        const DAY: i64 = 86_400_000;
        let march = Timestamp::from_millis(1_772_323_200_000);
        let day = |d: i64| march.saturating_add_millis((d - 1) * DAY);
        let planned = |amount: i64, end: Option<i64>| Some((amount, day(1), end.map(day)));
        let cases = [
            // The README's worked example: records replace the plan, and a
            // period none falls in costs a known 0.
            (
                "recorded",
                PeriodCost {
                    recorded: vec![(day(2), 100_00), (day(20), 250_00)],
                    planned: planned(900_00, Some(31)),
                },
            ),
            (
                "planned",
                PeriodCost {
                    recorded: vec![],
                    planned: planned(900_00, Some(31)),
                },
            ),
            (
                "never ends",
                PeriodCost {
                    recorded: vec![],
                    planned: planned(900_00, None),
                },
            ),
            (
                "recorded 0",
                PeriodCost {
                    recorded: vec![(day(5), 0)],
                    planned: None,
                },
            ),
            (
                "planned 0",
                PeriodCost {
                    recorded: vec![],
                    planned: planned(0, None),
                },
            ),
            ("nothing said", PeriodCost::default()),
        ];
        let text: Vec<String> = cases
            .iter()
            .map(|(name, cost)| format!("{name}: {}", periods(cost)))
            .collect();
        expect![[r#"
            recorded: 1-11 March: 10000, March: 35000, April: 0, all time: 35000
            planned: 1-11 March: 30000, March: 90000, April: 0, all time: 90000
            never ends: 1-11 March: 90000, March: 90000, April: 0, all time: 90000
            recorded 0: 1-11 March: 0, March: 0, April: 0, all time: 0
            planned 0: 1-11 March: 0, March: 0, April: 0, all time: 0
            nothing said: 1-11 March: null, March: null, April: null, all time: null"#]]
        .assert_eq(&text.join("\n"));
    }

    #[test]
    fn a_campaign_with_a_record_but_no_cost_has_an_unknown_cost() {
        // A record says what the campaign is, not what it cost: unknown, and
        // so are ROI, ROAS and the costs per lead and sale. A free referral
        // says it costs nothing with a planned 0, and then ROI is undefined.
        let mut referral = CampaignView::new("referral");
        referral.campaign_type = Some(touchline_core::CampaignType::Referral);
        referral.starts_at = Some(Timestamp::from_millis(0));
        let mut free = referral.clone();
        free.campaign_id = "free".into();
        free.planned_cost = Some(touchline_core::Money::new(0, "EUR"));
        let mut dollars = referral.clone();
        dollars.campaign_id = "dollars".into();
        dollars.planned_cost = Some(touchline_core::Money::new(500_00, "USD"));
        let range = TimeRange::default();
        let rows = performance(
            [referral, free, dollars]
                .iter()
                .map(|view| CampaignRow::of(view, "EUR", range))
                .collect(),
            &CreditedCampaigns {
                leads: vec![],
                won: vec![CampaignCredit {
                    campaign_id: "free".into(),
                    campaign_name: "free".into(),
                    channel: String::new(),
                    conversions: 1.0,
                    value_minor: 600_00,
                    currency: Some("EUR".into()),
                }],
                booked: BTreeMap::new(),
            },
            "EUR",
        );
        let text: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{} cost={} roi={} per_sale={}",
                    r.campaign_id,
                    json(&r.cost_minor),
                    json(&r.roi),
                    json(&r.cost_per_sale_minor)
                )
            })
            .collect();
        expect![[r#"
            free cost=0 roi="undefined" per_sale=0
            dollars cost=null roi="unknown" per_sale="unknown"
            referral cost=null roi="unknown" per_sale="unknown""#]]
        .assert_eq(&text.join("\n"));
    }

    #[test]
    fn booked_cash_is_apportioned_by_the_deals_weights() {
        let rows = book([
            Booking {
                amount_minor: 1_000,
                credits: vec![("a".into(), 1.0 / 3.0), ("b".into(), 2.0 / 3.0)],
            },
            Booking {
                amount_minor: 7,
                credits: vec![],
            },
            Booking {
                amount_minor: 1,
                credits: vec![("a".into(), 0.5), ("b".into(), 0.5)],
            },
        ]);
        expect![[r#"
            {
                "(no touch)": 7,
                "a": 334,
                "b": 667,
            }
        "#]]
        .assert_debug_eq(&rows);
    }
}
