use serde::{Deserialize, Serialize};
use touchline_attribution::{Conversion, Credit, Model, Unattributed};

/// The value published to the attribution topic, keyed by [`attribution_key`]:
/// the full current credit set of one model for one conversion. A consumer keeps
/// the highest version per key; on a compacted topic that is the current state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributionMessage {
    pub model: Model,
    pub conversion: Conversion,
    pub version: u64,
    /// Log position of the last event that changed this credit set.
    pub as_of_seq: u64,
    pub credits: Vec<Credit>,
    pub unattributed: Option<Unattributed>,
}

/// `<model>/<conversion id>`, e.g. `first_touch/lead_created:p-17`.
pub fn attribution_key(model: Model, conversion_id: &str) -> String {
    format!("{}/{conversion_id}", model.name())
}
