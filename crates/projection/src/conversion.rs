use serde::{Deserialize, Serialize};
use touchline_attribution::{Attribution, Conversion, Model};

/// One model's current answer for a conversion, with its version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelResult {
    pub model: Model,
    /// Starts at 1; goes up by one each time the credits or the conversion change.
    pub version: u64,
    /// Log position of the last event that changed this result.
    pub as_of_seq: u64,
    pub attribution: Attribution,
}

/// A conversion and every model's attribution of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversionView {
    pub conversion: Conversion,
    pub results: Vec<ModelResult>,
}

impl ConversionView {
    pub fn new(conversion: Conversion) -> Self {
        ConversionView {
            conversion,
            results: Vec::new(),
        }
    }

    pub fn result(&self, model: Model) -> Option<&ModelResult> {
        self.results.iter().find(|r| r.model == model)
    }

    /// Takes freshly computed attributions. A model whose result differs from the
    /// stored one (or whose conversion changed) gets a new version; the models that
    /// changed are returned, in the order given, so the caller can publish them.
    /// A model's first version is `version_floor + 1`.
    pub fn update(
        &mut self,
        conversion: Conversion,
        fresh: Vec<(Model, Attribution)>,
        seq: u64,
        version_floor: u64,
    ) -> Vec<Model> {
        let conversion_changed = self.conversion != conversion;
        self.conversion = conversion;
        let mut changed = Vec::new();
        for (model, attribution) in fresh {
            match self.results.iter_mut().find(|r| r.model == model) {
                Some(existing) => {
                    if conversion_changed || existing.attribution != attribution {
                        existing.version += 1;
                        existing.as_of_seq = seq;
                        existing.attribution = attribution;
                        changed.push(model);
                    }
                }
                None => {
                    self.results.push(ModelResult {
                        model,
                        version: version_floor + 1,
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
        };
        let compute = |touches: &[TouchPoint]| {
            [Model::FirstTouch, Model::LastTouch]
                .into_iter()
                .map(|m| (m, attribute(m, &conversion, touches, &Default::default())))
                .collect::<Vec<_>>()
        };
        let mut view = ConversionView::new(conversion.clone());
        assert_eq!(
            view.update(conversion.clone(), compute(&[touch("a", 50)]), 1, 0),
            vec![Model::FirstTouch, Model::LastTouch]
        );
        // The same answer again: nothing to publish.
        assert!(
            view.update(conversion.clone(), compute(&[touch("a", 50)]), 2, 0)
                .is_empty()
        );
        // A late touch before "a" moves first touch only.
        let changed = view.update(
            conversion.clone(),
            compute(&[touch("a", 50), touch("z", 10)]),
            3,
            0,
        );
        assert_eq!(changed, vec![Model::FirstTouch]);
        assert_eq!(view.result(Model::FirstTouch).map(|r| r.version), Some(2));
        assert_eq!(view.result(Model::LastTouch).map(|r| r.version), Some(1));
    }
}
