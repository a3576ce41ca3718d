//! The defined pipeline (R5): the stage probabilities the forecast
//! (`queries/forecast.rs`) weights open deals by.

use serde::{Deserialize, Serialize};

/// The defined pipeline (R5): each stage's win probability. An open deal in a
/// stage listed here is weighted by the stage's probability; a deal in a stage
/// not listed, by its own `probability_pct`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    pub stages: Vec<StageProbability>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageProbability {
    pub stage: String,
    pub probability_pct: u32,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        let stages = [
            ("prospecting", 10),
            ("qualification", 20),
            ("discovery", 30),
            ("proposal", 60),
            ("negotiation", 80),
        ]
        .into_iter()
        .map(|(stage, probability_pct)| StageProbability {
            stage: stage.to_owned(),
            probability_pct,
        })
        .collect();
        PipelineConfig { stages }
    }
}

impl PipelineConfig {
    pub fn validate(&self) -> Result<(), String> {
        for s in &self.stages {
            if s.probability_pct > 100 {
                return Err(format!(
                    "stage {:?}: probability_pct {} is above 100",
                    s.stage, s.probability_pct
                ));
            }
        }
        Ok(())
    }

    /// The probability an open deal in `stage` whose own is `own_pct` is
    /// weighted by: the stage's (any case), else its own, at most 100.
    pub fn stage_probability_pct(&self, stage: &str, own_pct: u32) -> u32 {
        self.stages
            .iter()
            .find(|s| s.stage.eq_ignore_ascii_case(stage))
            .map_or(own_pct, |s| s.probability_pct)
            .min(100)
    }
}
