use super::*;
use touchline_projection::TouchEntry;

/// Behavioural lead scoring (R19): every touch adds its type's weight, decayed
/// by age with a half-life.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    /// A touch counts half as much after this many days.
    pub half_life_days: f64,
    /// Points per touch type; types not listed count 0.
    pub weights: BTreeMap<touchline_core::TouchType, f64>,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        use touchline_core::TouchType::*;
        let weights = [
            (EmailOpen, 1.0),
            (EmailClick, 3.0),
            (WebVisit, 2.0),
            (AdClick, 3.0),
            (FormFill, 10.0),
            (WebinarRegistered, 5.0),
            (WebinarAttended, 15.0),
            (Event, 15.0),
            (Meeting, 25.0),
            (Call, 10.0),
            (LiteratureResponded, 8.0),
            (Referral, 20.0),
            (SupportCase, 5.0),
        ]
        .into_iter()
        .collect();
        ScoringConfig {
            half_life_days: 30.0,
            weights,
        }
    }
}

/// A lead's behavioural score at an instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadScore {
    pub person_id: String,
    pub owner_id: String,
    pub score: f64,
    /// Touches that counted (at or before the instant).
    pub touches: usize,
    pub last_touch_at: Option<Timestamp>,
}

impl ScoringConfig {
    /// The score of a person's touches at `at`; touches after `at` do not count.
    pub fn score(&self, touches: &[TouchEntry], at: Timestamp) -> (f64, usize) {
        let half_life_ms = (self.half_life_days * 86_400_000.0).max(1.0);
        touches
            .iter()
            .filter(|t| t.occurred_at <= at)
            .fold((0.0, 0), |(score, n), t| {
                let age = (at.as_millis() - t.occurred_at.as_millis()) as f64;
                let weight = self.weights.get(&t.touch_type).copied().unwrap_or(0.0);
                (
                    score + weight * (-(age / half_life_ms) * std::f64::consts::LN_2).exp(),
                    n + 1,
                )
            })
    }
}

impl Queries {
    /// Open leads by behavioural score at `at`, highest first, for prioritising
    /// and segmenting (R19).
    pub fn lead_scores(
        &self,
        scoring: &ScoringConfig,
        at: Timestamp,
        owner: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LeadScore>, EngineError> {
        let mut scores = Vec::new();
        self.stores
            .for_each_person_with_touches(|_, p: PersonView, rows: Vec<TouchEntry>| {
                if p.lead_created_at.is_none()
                    || p.merged_into.is_some()
                    || owner.is_some_and(|o| o != p.owner_id)
                {
                    return;
                }
                let (score, touches) = scoring.score(&rows, at);
                scores.push(LeadScore {
                    last_touch_at: rows
                        .iter()
                        .rev()
                        .find(|t| t.occurred_at <= at)
                        .map(|t| t.occurred_at),
                    owner_id: p.owner_id.clone(),
                    person_id: p.person_id,
                    score,
                    touches,
                });
            })?;
        Ok(highest_first(scores, limit))
    }
}

/// The first `limit` scores, highest first, then by person id.
pub(crate) fn highest_first(mut scores: Vec<LeadScore>, limit: usize) -> Vec<LeadScore> {
    scores.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.person_id.cmp(&b.person_id))
    });
    scores.truncate(limit);
    scores
}
