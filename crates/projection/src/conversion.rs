use serde::{Deserialize, Serialize};
use touchline_attribution::{Attribution, Conversion, Model};

/// One model's current answer for a conversion, with its version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelResult {
    pub model: Model,
    /// Goes up by one each time the credits or the conversion change, and never
    /// goes back, not even across a retraction (see [`ConversionView::retired`]).
    pub version: u64,
    /// The log position up to which this answer accounts for events: the last
    /// event of the batch that changed it.
    pub as_of_seq: u64,
    pub attribution: Attribution,
}

/// A conversion and every model's attribution of it. A retracted conversion (a
/// duplicate lead merged away, a won deal reopened) keeps its view with no
/// results, so that the versions it comes back with continue upwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversionView {
    pub conversion: Conversion,
    pub results: Vec<ModelResult>,
    /// The last version of each model's result that was retracted.
    pub retired: Vec<(Model, u64)>,
}

impl ConversionView {
    pub fn new(conversion: Conversion) -> Self {
        ConversionView {
            conversion,
            results: Vec::new(),
            retired: Vec::new(),
        }
    }

    /// A new view whose models' first versions come after `floor` (used when
    /// views are rebuilt, so that versions never go back).
    pub fn continuing(conversion: Conversion, floor: u64, models: &[Model]) -> Self {
        ConversionView {
            conversion,
            results: Vec::new(),
            retired: if floor == 0 {
                Vec::new()
            } else {
                models.iter().map(|m| (*m, floor)).collect()
            },
        }
    }

    /// Whether the conversion currently stands (it has at least one result).
    pub fn is_live(&self) -> bool {
        !self.results.is_empty()
    }

    pub fn result(&self, model: Model) -> Option<&ModelResult> {
        self.results.iter().find(|r| r.model == model)
    }

    /// Retracts one model's result, remembering its version; returns whether
    /// there was one to retract.
    pub fn retire(&mut self, model: Model) -> bool {
        let Some(at) = self.results.iter().position(|r| r.model == model) else {
            return false;
        };
        let result = self.results.remove(at);
        self.retired.retain(|(m, _)| *m != model);
        self.retired.push((model, result.version));
        true
    }

    /// Retracts every result; returns the models retracted.
    pub fn retire_all(&mut self) -> Vec<Model> {
        let models: Vec<Model> = self.results.iter().map(|r| r.model).collect();
        for model in &models {
            self.retire(*model);
        }
        models
    }

    /// Takes freshly computed attributions. A model whose result differs from the
    /// stored one (or whose conversion changed) gets a new version; the models that
    /// changed are returned, in the order given, so the caller can publish them.
    /// A model's first version is 1, or one above its last retracted version.
    pub fn update(
        &mut self,
        conversion: Conversion,
        fresh: Vec<(Model, Attribution)>,
        seq: u64,
    ) -> Vec<Model> {
        self.update_above(conversion, fresh, seq, 0)
    }

    /// [`ConversionView::update`], every new version also above `floor`: a
    /// store that restored its state gives versions above any an earlier
    /// owner of it may have published.
    pub fn update_above(
        &mut self,
        conversion: Conversion,
        fresh: Vec<(Model, Attribution)>,
        seq: u64,
        floor: u64,
    ) -> Vec<Model> {
        let conversion_changed = self.conversion != conversion;
        self.conversion = conversion;
        let mut changed = Vec::new();
        for (model, attribution) in fresh {
            match self.results.iter_mut().find(|r| r.model == model) {
                Some(existing) => {
                    if conversion_changed || existing.attribution != attribution {
                        existing.version = (existing.version + 1).max(floor + 1);
                        existing.as_of_seq = seq;
                        existing.attribution = attribution;
                        changed.push(model);
                    }
                }
                None => {
                    let retired = self
                        .retired
                        .iter()
                        .find(|(m, _)| *m == model)
                        .map_or(0, |(_, v)| *v);
                    self.results.push(ModelResult {
                        model,
                        version: (retired + 1).max(floor + 1),
                        as_of_seq: seq,
                        attribution,
                    });
                    changed.push(model);
                }
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use touchline_attribution::{ConversionKind, TouchPoint, attribute};
    use touchline_core::{Timestamp, TouchStatus, TouchType};

    use super::*;

    #[test]
    fn versions_move_only_when_the_answer_changes() {
        let conversion = Conversion {
            id: "lead_created:p".into(),
            kind: ConversionKind::LeadCreated,
            subject_id: "p".into(),
            occurred_at: Timestamp::from_millis(100),
            value: None,
            milestones: Default::default(),
        };
        let touch = |id: &str, at: i64| TouchPoint {
            event_id: id.into(),
            occurred_at: Timestamp::from_millis(at),
            campaign_id: id.into(),
            touch_type: TouchType::FormFill,
            status: TouchStatus::Responded,
            origin: touchline_core::TouchOrigin::Recorded,
        };
        let compute = |touches: &[TouchPoint]| {
            [Model::FirstTouch, Model::LastTouch]
                .into_iter()
                .map(|m| (m, attribute(m, &conversion, touches, &Default::default())))
                .collect::<Vec<_>>()
        };
        let mut view = ConversionView::new(conversion.clone());
        assert_eq!(
            view.update(conversion.clone(), compute(&[touch("a", 50)]), 1),
            vec![Model::FirstTouch, Model::LastTouch]
        );
        // The same answer again: nothing to publish.
        assert!(
            view.update(conversion.clone(), compute(&[touch("a", 50)]), 2)
                .is_empty()
        );
        // A late touch before "a" moves first touch only.
        let changed = view.update(
            conversion.clone(),
            compute(&[touch("a", 50), touch("z", 10)]),
            3,
        );
        assert_eq!(changed, vec![Model::FirstTouch]);
        assert_eq!(view.result(Model::FirstTouch).map(|r| r.version), Some(2));
        assert_eq!(view.result(Model::LastTouch).map(|r| r.version), Some(1));
    }
}

#[cfg(test)]
mod retraction {
    use touchline_attribution::{Attribution, ConversionKind};
    use touchline_core::Timestamp;

    use super::*;

    #[test]
    fn a_retracted_credit_set_that_comes_back_continues_its_versions() {
        let conversion = Conversion {
            id: "opportunity_won:o".into(),
            kind: ConversionKind::OpportunityWon,
            subject_id: "o".into(),
            occurred_at: Timestamp::from_millis(1),
            value: None,
            milestones: Default::default(),
        };
        let answer = || Attribution {
            credits: Vec::new(),
            unattributed: None,
        };
        let mut view = ConversionView::new(conversion.clone());
        view.update(conversion.clone(), vec![(Model::Linear, answer())], 1);
        let mut later = conversion.clone();
        later.occurred_at = Timestamp::from_millis(2);
        view.update(later, vec![(Model::Linear, answer())], 2);
        assert_eq!(view.result(Model::Linear).map(|r| r.version), Some(2));
        assert_eq!(view.retire_all(), vec![Model::Linear]);
        assert!(!view.is_live());
        view.update(conversion, vec![(Model::Linear, answer())], 3);
        assert_eq!(
            view.result(Model::Linear).map(|r| r.version),
            Some(3),
            "never back to 1"
        );
    }
}
