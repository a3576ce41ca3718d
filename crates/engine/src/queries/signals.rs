//! Red/yellow/green indicators on open deals (R18). The scan reads each open
//! deal with the touches of its contacts and of its account's contacts into
//! [`SignalDeal`] rows; [`signals`] tallies them per tactic and offer and
//! colours each by [`indicator_colour`].

use super::*;
use touchline_core::{CampaignType, TouchStatus};
use touchline_projection::AccountView;

const DAY_MS: i64 = 86_400_000;

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

/// An open deal with the touches of its people, as the indicators read it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SignalDeal {
    pub opportunity_id: String,
    pub name: String,
    pub account_id: String,
    pub stage: String,
    pub owner_id: String,
    pub touches: Vec<SignalTouch>,
}

/// A touch of one of a deal's people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignalTouch {
    /// The type of the touch's campaign; `None` for a campaign not described.
    pub campaign_type: Option<CampaignType>,
    pub topic: String,
    pub responded: bool,
    pub at: Timestamp,
}

impl Queries {
    /// Red/yellow/green per tactic and per offer on every open deal (R18), from
    /// the touches of its contacts and of every contact of its account.
    pub fn opportunity_signals(
        &self,
        at: Timestamp,
    ) -> Result<Vec<OpportunitySignals>, EngineError> {
        let mut open = Vec::new();
        self.stores.for_each(|_, o: OpportunityView| {
            if o.closed.is_none() && o.created_at.is_some() {
                open.push(o);
            }
        })?;
        let mut campaign_types: BTreeMap<String, Option<CampaignType>> = BTreeMap::new();
        let mut deals = Vec::with_capacity(open.len());
        for o in open {
            let mut ids = o.contact_ids.clone();
            if let Some(account) = self.stores.get::<AccountView>(&o.account_id)? {
                ids.extend(account.contact_ids);
            }
            ids.sort_unstable();
            ids.dedup();
            let mut touches = Vec::new();
            for id in &ids {
                let Some(person) = self.person(id)? else {
                    continue;
                };
                let rows = self.person_touches(&person.person_id)?;
                for t in rows.into_iter().filter(|t| t.occurred_at <= at) {
                    if !campaign_types.contains_key(&t.campaign_id) {
                        let campaign_type =
                            self.campaign(&t.campaign_id)?.and_then(|c| c.campaign_type);
                        campaign_types.insert(t.campaign_id.clone(), campaign_type);
                    }
                    touches.push(SignalTouch {
                        campaign_type: campaign_types.get(&t.campaign_id).copied().flatten(),
                        topic: t.topic,
                        responded: t.status == TouchStatus::Responded,
                        at: t.occurred_at,
                    });
                }
            }
            deals.push(SignalDeal {
                opportunity_id: o.opportunity_id,
                name: o.name,
                account_id: o.account_id,
                stage: o.stage,
                owner_id: o.owner_id,
                touches,
            });
        }
        Ok(signals(deals, at))
    }
}

/// Each deal's touches at or before `at` tallied per tactic (the campaign
/// type, `unknown` without one) and per offer (a non-empty topic), by kind
/// and name, each coloured by [`indicator_colour`] at `at`; deals by id.
pub(crate) fn signals(deals: Vec<SignalDeal>, at: Timestamp) -> Vec<OpportunitySignals> {
    let mut out: Vec<OpportunitySignals> = deals
        .into_iter()
        .map(|deal| {
            // (kind, name) -> (touches, responses, last touch, last response)
            type Tally = (usize, usize, Timestamp, Option<Timestamp>);
            let mut tallies: BTreeMap<(&'static str, String), Tally> = BTreeMap::new();
            for t in deal.touches.iter().filter(|t| t.at <= at) {
                let mut keys = vec![("tactic", tactic_name(t.campaign_type))];
                if !t.topic.is_empty() {
                    keys.push(("offer", t.topic.clone()));
                }
                for key in keys {
                    let tally = tallies.entry(key).or_insert((0, 0, t.at, None));
                    tally.0 += 1;
                    tally.2 = tally.2.max(t.at);
                    if t.responded {
                        tally.1 += 1;
                        tally.3 = Some(tally.3.map_or(t.at, |r| r.max(t.at)));
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
            OpportunitySignals {
                opportunity_id: deal.opportunity_id,
                name: deal.name,
                account_id: deal.account_id,
                stage: deal.stage,
                owner_id: deal.owner_id,
                indicators,
            }
        })
        .collect();
    out.sort_by(|a, b| a.opportunity_id.cmp(&b.opportunity_id));
    out
}

/// A tactic's name: the campaign type as the API spells it, `unknown` without one.
fn tactic_name(campaign_type: Option<CampaignType>) -> String {
    campaign_type.map_or_else(
        || "unknown".to_owned(),
        |ty| {
            serde_json::to_value(ty)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        },
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// `input`: a deal a line, `deal <id>`, followed by its touches, `<campaign
    /// type|-> <topic|-> touched|responded <YYYY-MM-DD>`; the indicators at
    /// 2026-06-30, one a line under their deal.
    fn check(input: &str, expect: Expect) {
        let mut deals: Vec<SignalDeal> = Vec::new();
        for line in input.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w[0] == "deal" {
                deals.push(SignalDeal {
                    opportunity_id: w[1].into(),
                    name: w[1].into(),
                    account_id: "acc".into(),
                    stage: "proposal".into(),
                    owner_id: "rep".into(),
                    touches: Vec::new(),
                });
                continue;
            }
            deals.last_mut().unwrap().touches.push(SignalTouch {
                campaign_type: (w[0] != "-")
                    .then(|| serde_json::from_value(serde_json::json!(w[0])).unwrap()),
                topic: if w[1] == "-" {
                    String::new()
                } else {
                    w[1].into()
                },
                responded: w[2] == "responded",
                at: Timestamp::parse_lenient(w[3]).unwrap(),
            });
        }
        let day = |t: Timestamp| t.to_string()[..10].to_owned();
        let mut text = Vec::new();
        for deal in signals(deals, Timestamp::parse_lenient("2026-06-30").unwrap()) {
            text.push(deal.opportunity_id);
            text.extend(deal.indicators.iter().map(|i| {
                format!(
                    "  {} {} touches={} responses={} last_touch={} last_response={} {}",
                    i.kind,
                    i.name,
                    i.touches,
                    i.responses,
                    day(i.last_touch_at),
                    i.last_response_at.map_or_else(|| "-".to_owned(), day),
                    i.colour
                )
            }));
        }
        expect.assert_eq(&text.join("\n"));
    }

    #[test]
    fn tactics_and_offers_coloured_by_the_age_of_their_last_response_and_touch() {
        check(
            "
            deal opp-2
            webinar pricing responded 2026-06-10
            webinar - touched 2026-06-20
            email pricing responded 2026-04-15
            trade_show - responded 2026-02-01
            trade_show - touched 2026-06-15
            direct_mail - responded 2026-01-01
            - security touched 2026-03-01
            email - responded 2026-07-02
            deal opp-1
            ",
            expect![[r#"
                opp-1
                opp-2
                  offer pricing touches=2 responses=2 last_touch=2026-06-10 last_response=2026-06-10 green
                  offer security touches=1 responses=0 last_touch=2026-03-01 last_response=- red
                  tactic direct_mail touches=1 responses=1 last_touch=2026-01-01 last_response=2026-01-01 red
                  tactic email touches=1 responses=1 last_touch=2026-04-15 last_response=2026-04-15 yellow
                  tactic trade_show touches=2 responses=1 last_touch=2026-06-15 last_response=2026-02-01 yellow
                  tactic unknown touches=1 responses=0 last_touch=2026-03-01 last_response=- red
                  tactic webinar touches=2 responses=1 last_touch=2026-06-20 last_response=2026-06-10 green"#]],
        );
    }

    #[test]
    fn the_colour_boundaries_are_30_and_90_days_inclusive() {
        let at = Timestamp::from_millis(1_000 * DAY_MS);
        let days_before = |d: i64| Timestamp::from_millis((1_000 - d) * DAY_MS);
        let colours: Vec<&str> = [
            (0, Some(30)),
            (0, Some(31)),
            (0, Some(90)),
            (30, Some(91)),
            (31, Some(91)),
            (30, None),
            (31, None),
        ]
        .into_iter()
        .map(|(touch, response)| {
            indicator_colour(at, days_before(touch), response.map(days_before))
        })
        .collect();
        assert_eq!(
            colours,
            [
                "green", "yellow", "yellow", "yellow", "red", "yellow", "red"
            ]
        );
    }
}
