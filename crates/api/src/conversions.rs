//! What `GET /v1/conversions/{id}` (and a lead's or deal's attribution)
//! answers: a conversion with each model's current credit set. A boundary
//! type of the API's own, not the stored view: the conversion and credits in
//! the attribution topic's form, and retired models as named fields.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use touchline_attribution::{Model, Unattributed};
use touchline_engine::{PublishedConversion, PublishedCredit};
use touchline_projection::ConversionView;

#[derive(Serialize)]
struct ConversionBody<'v> {
    conversion: PublishedConversion<'v>,
    results: Vec<ResultBody<'v>>,
    /// Models whose result was retracted, with the last version they had.
    retired: Vec<Retired>,
}

#[derive(Serialize)]
struct ResultBody<'v> {
    model: Model,
    version: u64,
    as_of_seq: u64,
    attribution: AttributionBody<'v>,
}

#[derive(Serialize)]
struct AttributionBody<'v> {
    credits: Vec<PublishedCredit<'v>>,
    unattributed: Option<Unattributed>,
}

#[derive(Serialize)]
struct Retired {
    model: Model,
    version: u64,
}

/// The JSON answer for a stored conversion.
pub(crate) fn respond(view: &ConversionView) -> Response {
    let body = ConversionBody {
        conversion: PublishedConversion::of(&view.conversion),
        results: view
            .results
            .iter()
            .map(|r| ResultBody {
                model: r.model,
                version: r.version,
                as_of_seq: r.as_of_seq,
                attribution: AttributionBody {
                    credits: r
                        .attribution
                        .credits
                        .iter()
                        .map(PublishedCredit::of)
                        .collect(),
                    unattributed: r.attribution.unattributed,
                },
            })
            .collect(),
        retired: view
            .retired
            .iter()
            .map(|&(model, version)| Retired { model, version })
            .collect(),
    };
    Json(body).into_response()
}
