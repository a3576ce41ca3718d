//! What `GET /v1/conversions/{id}` (and a lead's or deal's attribution)
//! answers: a conversion with each model's current credit set. A boundary
//! type of the API's own, not the stored view: the conversion and credits in
//! the attribution topic's form, and retired models as named fields.
//! `synthesized=` asks for the credit sets counting synthesized touches
//! otherwise than configured; they are computed on request
//! ([`Queries::conversion_counting`]) and keep the stored sets' versions.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use touchline_attribution::{Model, SynthesizedTouches, Unattributed};
use touchline_engine::{PublishedConversion, PublishedCredit, Queries};
use touchline_projection::ConversionView;

#[derive(Serialize)]
struct ConversionBody<'v> {
    conversion: PublishedConversion<'v>,
    /// Whether the credit sets count touches synthesized from other data.
    synthesized_touches: SynthesizedTouches,
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

/// The answer for conversion `id` with its credit sets counting synthesized
/// touches as `choice` says (`None`: as configured, the stored sets); `None`
/// for no live conversion.
pub(crate) fn counting(
    queries: &Queries,
    id: &str,
    choice: Option<SynthesizedTouches>,
) -> Result<Option<Response>, crate::ApiError> {
    let counted = match choice {
        Some(choice) => choice,
        None => queries.stored_synthesized()?,
    };
    Ok(queries
        .conversion_counting(id, choice)?
        .map(|view| respond(&view, counted)))
}

/// The JSON answer for a conversion whose credit sets count synthesized
/// touches as `synthesized_touches` says.
fn respond(view: &ConversionView, synthesized_touches: SynthesizedTouches) -> Response {
    let body = ConversionBody {
        conversion: PublishedConversion::of(&view.conversion),
        synthesized_touches,
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
