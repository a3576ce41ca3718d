//! Literature fulfilment per asset (R8). The scan reads literature touches
//! into [`Mailing`] rows and won deals into [`WonDeal`] rows; [`literature`]
//! counts who got and answered each asset and which wins it came before.

use super::*;
use touchline_core::TouchType;
use touchline_projection::TouchEntry;

/// Literature fulfilment per asset (R8).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiteratureRow {
    pub asset: String,
    /// People the material was sent to.
    pub sent_to: usize,
    /// Of those, people who responded to it.
    pub responded: usize,
    pub response_rate: Ratio,
    /// Won deals where a contact had been sent the material before the close.
    pub preceded_wins: usize,
    /// Their closed amounts, in minor units, summed as recorded (one currency
    /// is assumed; the campaign report splits by currency).
    pub preceded_revenue_minor: MinorTotal,
}

/// One literature touch of a person who was not merged away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mailing {
    pub person_id: String,
    pub asset: String,
    /// `true`: the person responded to the material; `false`: it was sent.
    pub responded: bool,
    pub at: Timestamp,
}

/// A won deal as the literature report reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WonDeal {
    pub contact_ids: Vec<String>,
    pub closed_at: Timestamp,
    pub amount_minor: i64,
}

impl Queries {
    /// What material was sent to whom, how they responded, and which material
    /// came before purchases.
    pub fn literature(&self) -> Result<Vec<LiteratureRow>, EngineError> {
        let mut mailings = Vec::new();
        self.stores.for_each_person_with_touches(
            |_, p: PersonView, touches: Vec<TouchEntry>| {
                if p.merged_into.is_some() {
                    return;
                }
                for t in &touches {
                    let responded = match t.touch_type {
                        TouchType::LiteratureSent => false,
                        TouchType::LiteratureResponded => true,
                        _ => continue,
                    };
                    mailings.push(Mailing {
                        person_id: p.person_id.clone(),
                        asset: t.asset.clone(),
                        responded,
                        at: t.occurred_at,
                    });
                }
            },
        )?;
        let mut wins = Vec::new();
        self.stores.for_each(|_, o: OpportunityView| {
            if let Some(closed) = o.closed.as_ref().filter(|c| c.won) {
                wins.push(WonDeal {
                    closed_at: closed.closed_at,
                    amount_minor: closed.amount.amount_minor,
                    contact_ids: o.contact_ids,
                });
            }
        })?;
        Ok(literature(&mailings, &wins))
    }
}

/// One row per asset, by asset: the people it was sent to; those of them who
/// responded to it; and the won deals with a contact it was sent to at or
/// before the close, each counted once per asset, with their amounts.
pub(crate) fn literature(mailings: &[Mailing], wins: &[WonDeal]) -> Vec<LiteratureRow> {
    use hashbrown::{HashMap, HashSet};
    // asset → (sent to, responded)
    let mut per_asset: BTreeMap<&str, (HashSet<&str>, HashSet<&str>)> = BTreeMap::new();
    // person → (asset, sent at)
    let mut sent: HashMap<&str, Vec<(&str, Timestamp)>> = HashMap::new();
    for m in mailings {
        let (sent_to, responded) = per_asset.entry(&m.asset).or_default();
        if m.responded {
            responded.insert(&m.person_id);
        } else {
            sent_to.insert(&m.person_id);
            sent.entry(&m.person_id).or_default().push((&m.asset, m.at));
        }
    }
    let mut preceded: HashMap<&str, (usize, MinorTotal)> = HashMap::new();
    for win in wins {
        let mut assets: Vec<&str> = win
            .contact_ids
            .iter()
            .filter_map(|c| sent.get(c.as_str()))
            .flatten()
            .filter(|(_, at)| *at <= win.closed_at)
            .map(|(asset, _)| *asset)
            .collect();
        assets.sort_unstable();
        assets.dedup();
        for asset in assets {
            let entry = preceded.entry(asset).or_default();
            entry.0 += 1;
            entry.1 += MinorTotal::from(win.amount_minor);
        }
    }
    per_asset
        .into_iter()
        .map(|(asset, (sent_to, responded))| {
            let (preceded_wins, preceded_revenue_minor) =
                preceded.get(asset).copied().unwrap_or_default();
            let responded_of_sent = responded.iter().filter(|p| sent_to.contains(*p)).count();
            LiteratureRow {
                asset: asset.to_owned(),
                sent_to: sent_to.len(),
                responded: responded_of_sent,
                response_rate: Ratio::of(responded_of_sent as f64, sent_to.len() as f64),
                preceded_wins,
                preceded_revenue_minor,
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// `input`: one line a mailing, `<person> sent|responded <asset>
    /// <YYYY-MM-DD>`, or a won deal, `won <YYYY-MM-DD> <amount minor>
    /// <contact>...`; the rows, one a line.
    fn check(input: &str, expect: Expect) {
        let (mut mailings, mut wins) = (Vec::new(), Vec::new());
        for line in input.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let w: Vec<&str> = line.split_whitespace().collect();
            let day = |text: &str| Timestamp::parse_lenient(text).unwrap();
            if w[0] == "won" {
                wins.push(WonDeal {
                    closed_at: day(w[1]),
                    amount_minor: w[2].parse().unwrap(),
                    contact_ids: w[3..].iter().map(|c| (*c).to_owned()).collect(),
                });
            } else {
                mailings.push(Mailing {
                    person_id: w[0].into(),
                    responded: w[1] == "responded",
                    asset: w[2].into(),
                    at: day(w[3]),
                });
            }
        }
        let text: Vec<String> = literature(&mailings, &wins)
            .iter()
            .map(|r| {
                format!(
                    "{} sent_to={} responded={} rate={} wins={} revenue={}",
                    r.asset,
                    r.sent_to,
                    r.responded,
                    r.response_rate,
                    r.preceded_wins,
                    r.preceded_revenue_minor
                )
            })
            .collect();
        expect.assert_eq(&text.join("\n"));
    }

    #[test]
    fn responses_count_among_recipients_and_wins_after_the_sending() {
        check(
            "
            p1 sent brochure 2026-01-01
            p2 sent brochure 2026-01-02
            p2 sent brochure 2026-01-05
            p1 responded brochure 2026-01-03
            p3 responded brochure 2026-01-03
            p2 sent whitepaper 2026-03-01
            won 2026-02-01 5000 p1 p2
            won 2026-04-01 700 p2
            won 2026-01-01 90 p4
            ",
            expect![[r#"
                brochure sent_to=2 responded=1 rate=0.50 wins=2 revenue=5700
                whitepaper sent_to=1 responded=0 rate=0.00 wins=1 revenue=700"#]],
        );
    }

    #[test]
    fn an_asset_only_answered_has_no_rate_and_a_win_before_the_sending_does_not_count() {
        check(
            "
            p1 responded catalogue 2026-01-03
            p2 sent price-list 2026-05-01
            won 2026-04-30 100 p2
            ",
            expect![[r#"
                catalogue sent_to=0 responded=0 rate=undefined wins=0 revenue=0
                price-list sent_to=1 responded=0 rate=0.00 wins=0 revenue=0"#]],
        );
    }
}
