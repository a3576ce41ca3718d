use super::*;

/// A lead whose next follow-up is due (R11), with what the last contact gave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DueFollowUp {
    pub person_id: String,
    pub name: String,
    pub company: String,
    pub owner_id: String,
    pub due_at: Timestamp,
    /// How long past due at the asked instant; 0 when due exactly then.
    pub overdue_ms: i64,
    pub follow_ups: usize,
    pub last_method: Option<touchline_core::ContactMethod>,
    pub last_outcome: Option<String>,
}

/// Time from lead creation to the first follow-up (R21).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedToLead {
    /// Owner, or `(all)`.
    pub group: String,
    pub leads: usize,
    /// Leads with a follow-up at or after their creation.
    pub followed_up: usize,
    pub median_minutes: Option<f64>,
    pub mean_minutes: Option<f64>,
}

impl Queries {
    /// Leads whose next follow-up is due at or before `at`, most overdue first,
    /// optionally for one owner.
    pub fn follow_ups_due(
        &self,
        at: Timestamp,
        owner: Option<&str>,
    ) -> Result<Vec<DueFollowUp>, EngineError> {
        let mut due = Vec::new();
        self.stores.for_each(|_, p: PersonView| {
            if p.merged_into.is_some() || owner.is_some_and(|o| o != p.owner_id) {
                return;
            }
            let Some(due_at) = p.next_follow_up_due().filter(|d| *d <= at) else {
                return;
            };
            let last = p.follow_ups.last();
            due.push(DueFollowUp {
                name: p.display_name(),
                company: p.company.clone(),
                owner_id: p.owner_id.clone(),
                due_at,
                overdue_ms: at.as_millis() - due_at.as_millis(),
                follow_ups: p.follow_ups.len(),
                last_method: last.map(|f| f.method),
                last_outcome: last.map(|f| f.outcome.clone()),
                person_id: p.person_id,
            });
        })?;
        Ok(most_overdue_first(due))
    }

    /// Speed to lead for leads created in `range`: overall, then per owner.
    pub fn speed_to_lead(&self, range: TimeRange) -> Result<Vec<SpeedToLead>, EngineError> {
        let mut speeds = SpeedsByOwner::default();
        self.stores.for_each(|_, p: PersonView| {
            let Some(created) = p.lead_created_at else {
                return;
            };
            if p.merged_into.is_some() || !range.contains(created) {
                return;
            }
            let speed_ms = p.speed_to_lead_ms();
            speeds.extend([LeadSpeed {
                owner_id: p.owner_id,
                speed_ms,
            }]);
        })?;
        Ok(speeds.into_rows())
    }
}

/// Due follow-ups by due time, then person id: the most overdue first.
pub(crate) fn most_overdue_first(mut due: Vec<DueFollowUp>) -> Vec<DueFollowUp> {
    due.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.person_id.cmp(&b.person_id)));
    due
}

/// A lead as speed to lead counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeadSpeed {
    pub owner_id: String,
    /// Lead creation to the first follow-up at or after it; `None` without one.
    pub speed_ms: Option<i64>,
}

/// Speeds per owner and over all leads (`(all)`): the aggregation of
/// [`Queries::speed_to_lead`], fed one lead at a time.
#[derive(Debug, Default)]
pub(crate) struct SpeedsByOwner {
    /// group → (leads, speeds of those followed up)
    groups: BTreeMap<String, (usize, Vec<i64>)>,
}

impl Extend<LeadSpeed> for SpeedsByOwner {
    fn extend<I: IntoIterator<Item = LeadSpeed>>(&mut self, leads: I) {
        for lead in leads {
            for group in ["(all)".to_owned(), lead.owner_id] {
                let entry = self.groups.entry(group).or_default();
                entry.0 += 1;
                entry.1.extend(lead.speed_ms);
            }
        }
    }
}

impl SpeedsByOwner {
    /// `(all)` first, then owners by name; median and mean in minutes.
    pub fn into_rows(self) -> Vec<SpeedToLead> {
        let mut rows: Vec<SpeedToLead> = self
            .groups
            .into_iter()
            .map(|(group, (leads, mut speeds))| {
                speeds.sort_unstable();
                let minutes = |ms: f64| ms / 60_000.0;
                let median = (!speeds.is_empty()).then(|| {
                    let mid = speeds.len() / 2;
                    if speeds.len() % 2 == 0 {
                        minutes((speeds[mid - 1] + speeds[mid]) as f64 / 2.0)
                    } else {
                        minutes(speeds[mid] as f64)
                    }
                });
                let mean = (!speeds.is_empty()).then(|| {
                    minutes(speeds.iter().map(|s| *s as f64).sum::<f64>() / speeds.len() as f64)
                });
                SpeedToLead {
                    group,
                    leads,
                    followed_up: speeds.len(),
                    median_minutes: median,
                    mean_minutes: mean,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            (a.group != "(all)")
                .cmp(&(b.group != "(all)"))
                .then(a.group.cmp(&b.group))
        });
        rows
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// `input`: one lead a line, `<owner> <minutes to first follow-up | ->`;
    /// the rows, one a line.
    fn check(input: &str, expect: Expect) {
        let mut speeds = SpeedsByOwner::default();
        speeds.extend(
            input
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|line| {
                    let (owner, minutes) = line.split_once(' ').unwrap();
                    LeadSpeed {
                        owner_id: owner.into(),
                        speed_ms: minutes.parse::<i64>().ok().map(|m| m * 60_000),
                    }
                }),
        );
        let text: Vec<String> = speeds
            .into_rows()
            .iter()
            .map(|r| {
                format!(
                    "{} leads={} followed_up={} median={:?} mean={:?}",
                    r.group, r.leads, r.followed_up, r.median_minutes, r.mean_minutes
                )
            })
            .collect();
        expect.assert_eq(&text.join("\n"));
    }

    #[test]
    fn median_and_mean_per_owner_and_over_all() {
        check(
            "
            rep-b 30
            rep-a 10
            rep-a 5
            rep-a -
            rep-b 90
            rep-a 60
            ",
            expect![[r#"
                (all) leads=6 followed_up=5 median=Some(30.0) mean=Some(39.0)
                rep-a leads=4 followed_up=3 median=Some(10.0) mean=Some(25.0)
                rep-b leads=2 followed_up=2 median=Some(60.0) mean=Some(60.0)"#]],
        );
    }

    #[test]
    fn an_owner_who_followed_up_nobody_has_no_median() {
        check(
            "rep-a -",
            expect![[r#"
            (all) leads=1 followed_up=0 median=None mean=None
            rep-a leads=1 followed_up=0 median=None mean=None"#]],
        );
    }
}
