//! Product or topic interest across an account's contacts (R18). The scan
//! reads the touches of the account's contacts into [`InterestTouch`] rows
//! and the names of the campaigns they need; [`interest`] sums them per topic.

use super::*;
use touchline_core::TouchStatus;
use touchline_projection::AccountView;

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

/// One touch of a contact of the account, as the interest report counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InterestTouch {
    pub person_id: String,
    pub campaign_id: String,
    pub topic: String,
    pub asset: String,
    pub responded: bool,
    pub at: Timestamp,
}

/// Campaign names by id, for touches with neither topic nor asset.
pub(crate) type CampaignNames = BTreeMap<String, String>;

impl Queries {
    /// Interest per product or topic across every contact of the account (R18),
    /// most touched first; `None` for an unknown account.
    pub fn account_interest(
        &self,
        account_id: &str,
    ) -> Result<Option<Vec<InterestRow>>, EngineError> {
        let Some(account) = self.stores.get::<AccountView>(account_id)? else {
            return Ok(None);
        };
        let mut touches = Vec::new();
        let mut names = CampaignNames::new();
        for id in &account.contact_ids {
            let Some(person) = self.person(id)?.filter(|p| p.merged_into.is_none()) else {
                continue;
            };
            for t in self.person_touches(&person.person_id)? {
                if t.topic.is_empty() && t.asset.is_empty() && !names.contains_key(&t.campaign_id) {
                    let name = self
                        .campaign(&t.campaign_id)?
                        .map_or_else(|| t.campaign_id.clone(), |c| c.display_name().to_owned());
                    names.insert(t.campaign_id.clone(), name);
                }
                touches.push(InterestTouch {
                    person_id: person.person_id.clone(),
                    campaign_id: t.campaign_id,
                    topic: t.topic,
                    asset: t.asset,
                    responded: t.status == TouchStatus::Responded,
                    at: t.occurred_at,
                });
            }
        }
        Ok(Some(interest(&touches, &names)))
    }
}

/// One row per topic (the touch's topic, else its asset, else its campaign's
/// name in `names`, else its campaign id): touches, responses, distinct people
/// and the last touch; most touched first, then by topic.
pub(crate) fn interest(touches: &[InterestTouch], names: &CampaignNames) -> Vec<InterestRow> {
    let mut rows: BTreeMap<&str, (InterestRow, Vec<&str>)> = BTreeMap::new();
    for t in touches {
        let topic = if !t.topic.is_empty() {
            &t.topic
        } else if !t.asset.is_empty() {
            &t.asset
        } else {
            names.get(&t.campaign_id).unwrap_or(&t.campaign_id)
        };
        let (row, people) = rows.entry(topic).or_insert_with(|| {
            (
                InterestRow {
                    topic: topic.clone(),
                    touches: 0,
                    responses: 0,
                    people: 0,
                    last_at: t.at,
                },
                Vec::new(),
            )
        });
        row.touches += 1;
        row.responses += usize::from(t.responded);
        row.last_at = row.last_at.max(t.at);
        if !people.contains(&t.person_id.as_str()) {
            people.push(&t.person_id);
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
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// `input`: one line a touch, `<person> <campaign> <topic|-> <asset|->
    /// touched|responded <YYYY-MM-DD>`, or a campaign's name, `name <campaign>
    /// <name>`; the rows, one a line.
    fn check(input: &str, expect: Expect) {
        let (mut touches, mut names) = (Vec::new(), CampaignNames::new());
        for line in input.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w[0] == "name" {
                names.insert(w[1].into(), w[2].into());
                continue;
            }
            let text = |t: &str| {
                if t == "-" {
                    String::new()
                } else {
                    t.to_owned()
                }
            };
            touches.push(InterestTouch {
                person_id: w[0].into(),
                campaign_id: w[1].into(),
                topic: text(w[2]),
                asset: text(w[3]),
                responded: w[4] == "responded",
                at: Timestamp::parse_lenient(w[5]).unwrap(),
            });
        }
        let text: Vec<String> = interest(&touches, &names)
            .iter()
            .map(|r| {
                format!(
                    "{} touches={} responses={} people={} last={}",
                    r.topic,
                    r.touches,
                    r.responses,
                    r.people,
                    &r.last_at.to_string()[..10]
                )
            })
            .collect();
        expect.assert_eq(&text.join("\n"));
    }

    #[test]
    fn topic_else_asset_else_campaign_name_most_touched_first() {
        check(
            "
            name webinar Spring-webinar
            p1 webinar pricing - responded 2026-03-02
            p2 webinar pricing brochure touched 2026-03-05
            p1 mailing pricing - touched 2026-01-10
            p1 mailing - brochure responded 2026-02-01
            p2 webinar - - touched 2026-04-01
            p2 webinar - - responded 2026-04-03
            p3 unnamed - - touched 2026-01-01
            ",
            expect![[r#"
                pricing touches=3 responses=1 people=2 last=2026-03-05
                Spring-webinar touches=2 responses=1 people=1 last=2026-04-03
                brochure touches=1 responses=1 people=1 last=2026-02-01
                unnamed touches=1 responses=0 people=1 last=2026-01-01"#]],
        );
    }
}
