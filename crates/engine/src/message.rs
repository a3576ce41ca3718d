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

/// The current value of an attribution key: the JSON [`AttributionMessage`], or
/// `None` (a tombstone) when the conversion or its model result no longer exists.
pub fn render_attribution(
    store: &touchline_store::Store,
    key: &str,
) -> Result<Option<Vec<u8>>, crate::EngineError> {
    AttributionRenderer::new(store).render(key)
}

/// Renders many attribution keys, reading each conversion view once: the keys
/// of one conversion (one per model) usually come together.
pub struct AttributionRenderer<'s> {
    store: &'s touchline_store::Store,
    views: std::collections::HashMap<String, Option<touchline_projection::ConversionView>>,
}

impl std::fmt::Debug for AttributionRenderer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttributionRenderer")
            .field("cached", &self.views.len())
            .finish_non_exhaustive()
    }
}

impl<'s> AttributionRenderer<'s> {
    pub fn new(store: &'s touchline_store::Store) -> Self {
        AttributionRenderer {
            store,
            views: std::collections::HashMap::new(),
        }
    }

    /// As [`render_attribution`].
    pub fn render(&mut self, key: &str) -> Result<Option<Vec<u8>>, crate::EngineError> {
        let Some((model, conversion_id)) = key
            .split_once('/')
            .and_then(|(model, id)| Some((Model::parse(model)?, id)))
        else {
            return Ok(None);
        };
        if !self.views.contains_key(conversion_id) {
            let view = self
                .store
                .get(touchline_store::Table::Conversions, conversion_id)?;
            self.views.insert(conversion_id.to_owned(), view);
        }
        let view = self.views.get(conversion_id).and_then(Option::as_ref);
        Ok(view.and_then(|view| render(view, model)))
    }
}

/// [`AttributionMessage`] borrowed from the view: serialized without copying
/// the conversion and its credits. Same fields, same order, same JSON.
#[derive(Serialize)]
struct AttributionMessageRef<'a> {
    model: Model,
    conversion: &'a Conversion,
    version: u64,
    as_of_seq: u64,
    credits: &'a [Credit],
    unattributed: Option<Unattributed>,
}

fn render(view: &touchline_projection::ConversionView, model: Model) -> Option<Vec<u8>> {
    let result = view.result(model)?;
    let message = AttributionMessageRef {
        model,
        conversion: &view.conversion,
        version: result.version,
        as_of_seq: result.as_of_seq,
        credits: &result.attribution.credits,
        unattributed: result.attribution.unattributed,
    };
    // Plain data with string keys: serializing cannot fail.
    Some(serde_json::to_vec(&message).unwrap_or_default())
}

/// The value published to the alerts topic, keyed by account id: a contact of
/// an account with open pipeline showed new activity (R18). `rep_ids` are the
/// owners of the open opportunities, else the account owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityAlert {
    /// `<touch event id>/<account id>`: the same alert delivered twice has one id.
    pub alert_id: String,
    pub account_id: String,
    pub account_name: String,
    pub rep_ids: Vec<String>,
    pub person_id: String,
    pub person_name: String,
    pub campaign_id: String,
    pub touch_type: touchline_core::TouchType,
    pub status: touchline_core::TouchStatus,
    pub topic: String,
    pub occurred_at: touchline_core::Timestamp,
    pub open_opportunities: Vec<OpenOpportunity>,
    /// Log position of the touch.
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenOpportunity {
    pub opportunity_id: String,
    pub name: String,
    pub stage: String,
    pub amount: Option<touchline_core::Money>,
    pub owner_id: String,
}
