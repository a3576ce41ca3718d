//! Leads whose follow-up is overdue (R20). The scan reads open leads into
//! [`OpenLead`] rows; [`overdue`] says whether and since when each one's
//! follow-up is overdue, and [`most_overdue_first`] orders them.

use super::*;
use touchline_core::{LeadStatus, OwnerKind};
use touchline_projection::{PersonKind, RoutingRules};

/// A lead whose follow-up is overdue (R20): it may be re-routed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverdueLead {
    pub person_id: String,
    pub name: String,
    pub company: String,
    pub owner_id: String,
    pub owner_kind: OwnerKind,
    /// The routing rule that gave the current owner, if one did.
    pub rule: String,
    pub lead_created_at: Timestamp,
    /// When follow-up was due: the last follow-up's next date; or, when no
    /// follow-up happened since the lead was created or last routed, that
    /// moment plus the first-follow-up deadline.
    pub due_at: Timestamp,
    pub overdue_ms: i64,
    /// `no_first_follow_up`, `not_followed_up_since_routing` or `follow_up_due`.
    pub reason: &'static str,
    pub follow_ups: usize,
    pub last_outcome: Option<String>,
    /// How often the lead was routed so far.
    pub times_routed: usize,
}

/// An open lead (not merged, converted, qualified or disqualified) as the
/// overdue report reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpenLead {
    pub person_id: String,
    pub name: String,
    pub company: String,
    pub owner_id: String,
    pub owner_kind: OwnerKind,
    pub created_at: Timestamp,
    /// Its creation was recorded long after it happened: backfilled history.
    pub arrived_as_history: bool,
    /// When the lead was last routed and by which rule (empty: by hand).
    pub last_routed: Option<(Timestamp, String)>,
    pub times_routed: usize,
    pub follow_ups: usize,
    pub last_follow_up: Option<LastFollowUp>,
}

/// The latest follow-up of a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LastFollowUp {
    pub at: Timestamp,
    pub next_due_at: Option<Timestamp>,
    pub outcome: String,
}

impl Queries {
    /// Open leads whose follow-up is overdue at `at` (R20), most overdue first,
    /// optionally for one owner.
    pub fn overdue_leads(
        &self,
        at: Timestamp,
        rules: &RoutingRules,
        owner: Option<&str>,
    ) -> Result<Vec<OverdueLead>, EngineError> {
        let deadline_ms = rules.first_follow_up_within_ms();
        let mut out = Vec::new();
        self.stores.for_each(|_, p: PersonView| {
            let open = p.kind == PersonKind::Lead
                && p.merged_into.is_none()
                && p.converted.is_none()
                && !matches!(
                    p.status,
                    Some(LeadStatus::Unqualified) | Some(LeadStatus::Qualified)
                );
            let Some(created_at) = p.lead_created_at else {
                return;
            };
            if !open || owner.is_some_and(|o| o != p.owner_id) {
                return;
            }
            let lead = OpenLead {
                name: p.display_name(),
                arrived_as_history: p.arrived_as_history(),
                created_at,
                last_routed: p.routing.last().map(|r| (r.at, r.rule.clone())),
                times_routed: p.routing.len(),
                follow_ups: p.follow_ups.len(),
                last_follow_up: p.follow_ups.last().map(|f| LastFollowUp {
                    at: f.at,
                    next_due_at: f.next_due_at,
                    outcome: f.outcome.clone(),
                }),
                person_id: p.person_id,
                company: p.company,
                owner_id: p.owner_id,
                owner_kind: p.owner_kind,
            };
            out.extend(overdue(lead, at, deadline_ms));
        })?;
        Ok(most_overdue_first(out))
    }
}

/// `lead` if its follow-up is overdue at `at`, with when it was due and why.
/// Due: `deadline_ms` after its last routing when no follow-up came since;
/// else its last follow-up's next date (none: nothing due); else, with no
/// follow-up and no routing after it, `deadline_ms` after its creation.
/// Backfilled history nobody took on is not anyone's overdue lead.
pub(crate) fn overdue(lead: OpenLead, at: Timestamp, deadline_ms: i64) -> Option<OverdueLead> {
    let routed_at = lead.last_routed.as_ref().map(|(at, _)| *at);
    // A lead routed after its last contact gets a fresh deadline from the
    // routing: its new owner has not had the chance to call yet.
    let (due_at, reason) = match (&lead.last_follow_up, routed_at) {
        (Some(last), Some(routed)) if routed > last.at => (
            routed.saturating_add_millis(deadline_ms),
            "not_followed_up_since_routing",
        ),
        (Some(last), _) => (last.next_due_at?, "follow_up_due"),
        (None, None) if lead.arrived_as_history => return None,
        (None, routed) => match routed.filter(|r| *r > lead.created_at) {
            Some(routed) => (
                routed.saturating_add_millis(deadline_ms),
                "not_followed_up_since_routing",
            ),
            None => (
                lead.created_at.saturating_add_millis(deadline_ms),
                "no_first_follow_up",
            ),
        },
    };
    if due_at >= at {
        return None;
    }
    Some(OverdueLead {
        person_id: lead.person_id,
        name: lead.name,
        company: lead.company,
        owner_id: lead.owner_id,
        owner_kind: lead.owner_kind,
        rule: lead.last_routed.map(|(_, rule)| rule).unwrap_or_default(),
        lead_created_at: lead.created_at,
        due_at,
        overdue_ms: at.as_millis() - due_at.as_millis(),
        reason,
        follow_ups: lead.follow_ups,
        last_outcome: lead.last_follow_up.map(|f| f.outcome),
        times_routed: lead.times_routed,
    })
}

/// Overdue leads by due time, then person id: the most overdue first.
pub(crate) fn most_overdue_first(mut leads: Vec<OverdueLead>) -> Vec<OverdueLead> {
    leads.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.person_id.cmp(&b.person_id)));
    leads
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    const HOUR_MS: i64 = 3_600_000;

    /// `input`: one lead a line, `<person> created=<hour> [history]
    /// [routed=<hour>:<rule>] [followed=<hour>:<next due hour|->:<outcome>]`,
    /// hours from the epoch; the overdue leads at hour 100 with a 24-hour
    /// first-follow-up deadline, most overdue first.
    fn check(input: &str, expect: Expect) {
        let hour = |h: &str| Timestamp::from_millis(h.parse::<i64>().unwrap() * HOUR_MS);
        let mut leads = Vec::new();
        for line in input.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let mut words = line.split_whitespace();
            let mut lead = OpenLead {
                person_id: words.next().unwrap().into(),
                name: String::new(),
                company: String::new(),
                owner_id: "rep".into(),
                owner_kind: OwnerKind::default(),
                created_at: Timestamp::from_millis(0),
                arrived_as_history: false,
                last_routed: None,
                times_routed: 0,
                follow_ups: 0,
                last_follow_up: None,
            };
            for word in words {
                let (key, value) = word.split_once('=').unwrap_or((word, ""));
                let parts: Vec<&str> = value.split(':').collect();
                match key {
                    "created" => lead.created_at = hour(value),
                    "history" => lead.arrived_as_history = true,
                    "routed" => {
                        lead.last_routed = Some((hour(parts[0]), parts[1].into()));
                        lead.times_routed += 1;
                    }
                    "followed" => {
                        lead.follow_ups += 1;
                        lead.last_follow_up = Some(LastFollowUp {
                            at: hour(parts[0]),
                            next_due_at: (parts[1] != "-").then(|| hour(parts[1])),
                            outcome: parts[2].into(),
                        });
                    }
                    _ => panic!("unknown word {word:?}"),
                }
            }
            leads.push(lead);
        }
        let at = Timestamp::from_millis(100 * HOUR_MS);
        let overdue: Vec<OverdueLead> = leads
            .into_iter()
            .filter_map(|lead| overdue(lead, at, 24 * HOUR_MS))
            .collect();
        let text: Vec<String> = most_overdue_first(overdue)
            .iter()
            .map(|l| {
                format!(
                    "{} due_hour={} overdue_hours={} {} rule={:?} last_outcome={:?}",
                    l.person_id,
                    l.due_at.as_millis() / HOUR_MS,
                    l.overdue_ms / HOUR_MS,
                    l.reason,
                    l.rule,
                    l.last_outcome
                )
            })
            .collect();
        expect.assert_eq(&text.join("\n"));
    }

    #[test]
    fn due_from_creation_routing_or_the_next_date_whichever_applies() {
        check(
            "
            new-late created=10
            new-in-time created=80
            history created=10 history
            history-routed created=10 history routed=20:by-region
            routed-after-call created=0 followed=5:90:voicemail routed=30:by-region
            routed-before-call created=0 routed=2:by-region followed=5:50:interested
            called-nothing-due created=0 followed=5:-:not-now
            called-due-later created=0 followed=5:150:call-back
            routed-at-creation created=40 routed=40:round-robin
            routed-later created=10 routed=60:
            ",
            expect![[r#"
                new-late due_hour=34 overdue_hours=66 no_first_follow_up rule="" last_outcome=None
                history-routed due_hour=44 overdue_hours=56 not_followed_up_since_routing rule="by-region" last_outcome=None
                routed-before-call due_hour=50 overdue_hours=50 follow_up_due rule="by-region" last_outcome=Some("interested")
                routed-after-call due_hour=54 overdue_hours=46 not_followed_up_since_routing rule="by-region" last_outcome=Some("voicemail")
                routed-at-creation due_hour=64 overdue_hours=36 no_first_follow_up rule="round-robin" last_outcome=None
                routed-later due_hour=84 overdue_hours=16 not_followed_up_since_routing rule="" last_outcome=None"#]],
        );
    }
}
