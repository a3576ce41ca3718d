use super::*;

/// A lead in priority order (R23).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrioritisedLead {
    pub person_id: String,
    pub name: String,
    pub company: String,
    pub owner_id: String,
    pub status: Option<touchline_core::LeadStatus>,
    pub qualification: touchline_core::Qualification,
    /// Need, budget and authority answered yes, 0 to 3.
    pub qualification_score: u8,
    pub touches: usize,
    pub lead_created_at: Option<Timestamp>,
}

impl Queries {
    /// Open leads (not converted, not merged away) in priority order: more of
    /// need, budget and authority confirmed first; then status (qualified,
    /// working, new, nurturing, unqualified); then more touches; then older leads.
    pub fn prioritised_leads(
        &self,
        owner: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PrioritisedLead>, EngineError> {
        let mut leads = Vec::new();
        self.stores.for_each(|_, p: PersonView| {
            if p.lead_created_at.is_none()
                || p.merged_into.is_some()
                || p.converted.is_some()
                || owner.is_some_and(|o| o != p.owner_id)
            {
                return;
            }
            let q = p.qualification;
            let score = [q.need, q.budget, q.authority]
                .iter()
                .filter(|a| **a == Some(true))
                .count() as u8;
            leads.push(PrioritisedLead {
                name: p.display_name(),
                company: p.company.clone(),
                owner_id: p.owner_id.clone(),
                status: p.status,
                qualification: q,
                qualification_score: score,
                touches: p.touch_count() as usize,
                lead_created_at: p.lead_created_at,
                person_id: p.person_id,
            });
        })?;
        Ok(in_priority_order(leads, limit))
    }
}

/// The first `limit` leads in priority order: more of need, budget and
/// authority confirmed first; then status (qualified, working, new,
/// nurturing, unqualified); then more touches; then older leads; then id.
pub(crate) fn in_priority_order(
    mut leads: Vec<PrioritisedLead>,
    limit: usize,
) -> Vec<PrioritisedLead> {
    use touchline_core::LeadStatus;
    let status_rank = |s: Option<LeadStatus>| match s {
        Some(LeadStatus::Qualified) => 0,
        Some(LeadStatus::Working) => 1,
        Some(LeadStatus::New) | None => 2,
        Some(LeadStatus::Nurturing) => 3,
        Some(LeadStatus::Unqualified) => 4,
    };
    leads.sort_by(|a, b| {
        b.qualification_score
            .cmp(&a.qualification_score)
            .then(status_rank(a.status).cmp(&status_rank(b.status)))
            .then(b.touches.cmp(&a.touches))
            .then(a.lead_created_at.cmp(&b.lead_created_at))
            .then(a.person_id.cmp(&b.person_id))
    });
    leads.truncate(limit);
    leads
}
