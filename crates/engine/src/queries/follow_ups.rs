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
        self.store.for_each(Table::Persons, |_, p: PersonView| {
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
        due.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.person_id.cmp(&b.person_id)));
        Ok(due)
    }

    /// Speed to lead for leads created in `range`: overall, then per owner.
    pub fn speed_to_lead(&self, range: TimeRange) -> Result<Vec<SpeedToLead>, EngineError> {
        let mut groups: BTreeMap<String, (usize, Vec<i64>)> = BTreeMap::new();
        self.store.for_each(Table::Persons, |_, p: PersonView| {
            let Some(created) = p.lead_created_at else {
                return;
            };
            if p.merged_into.is_some() || !range.contains(created) {
                return;
            }
            let speed = p.speed_to_lead_ms();
            for group in ["(all)".to_owned(), p.owner_id.clone()] {
                let entry = groups.entry(group).or_default();
                entry.0 += 1;
                entry.1.extend(speed);
            }
        })?;
        let mut rows: Vec<SpeedToLead> = groups
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
        // "(all)" first, then owners by name.
        rows.sort_by(|a, b| {
            (a.group != "(all)")
                .cmp(&(b.group != "(all)"))
                .then(a.group.cmp(&b.group))
        });
        Ok(rows)
    }
}
