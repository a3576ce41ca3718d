//! The drill-downs that need more than one record: a campaign's influence
//! (every conversion it is credited in, under every model) and a
//! conversion's version history. The rules are the engine's
//! ([`Queries::campaign_influence`], [`touchline_engine::history`]); this
//! module parses, checks and pages.

use super::*;
use crate::params::{ParamError, Problem, parse_conversion, parse_currency, parse_range};
use touchline_engine::history::{ConversionHistory, HistoryError};
use touchline_engine::{InfluenceQuery, InfluenceSort, Influenced};

#[derive(Deserialize)]
pub(crate) struct InfluenceParams {
    conversion: Option<String>,
    from: Option<String>,
    to: Option<String>,
    currency: Option<String>,
    sort: Option<String>,
    model: Option<String>,
}

/// `GET /v1/campaigns/{id}/influence`: the conversions of one point in the
/// period that at least one model credits the campaign in, each with every
/// model's weight and amount for the campaign; paged.
pub(crate) async fn campaign_influence(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<InfluenceParams>,
    Query(page): Query<PageParams>,
) -> Result<Paged<Influenced>, ApiError> {
    let kind = parse_conversion(params.conversion.as_deref().unwrap_or("opportunity_won"))?;
    let range = parse_range(params.from.as_deref(), params.to.as_deref())?;
    let currency = params.currency.as_deref().map(parse_currency).transpose()?;
    if currency.is_some() && kind.is_person() {
        let reason = format!(
            "{} conversions carry no value; currency is for opportunity_created and opportunity_won",
            kind.name()
        );
        return Err(ParamError::new("currency", Problem::Refused { reason }).into());
    }
    let sort = params.sort.clone().unwrap_or_else(|| "value".to_owned());
    if !InfluenceSort::NAMES.contains(&sort.as_str()) {
        let expected = format!("one of {}", InfluenceSort::NAMES.join(", "));
        return Err(ParamError::not_a("sort", sort, expected).into());
    }
    if sort != "credit"
        && let Some(model) = params.model.as_deref()
    {
        let reason = format!(
            "{model:?} orders the rows only with sort=credit; every model's credit is in every row"
        );
        return Err(ParamError::new("model", Problem::Refused { reason }).into());
    }
    let page = page.page(DEFAULT_LIMIT)?;
    paged_from(page, move || {
        if state.queries.campaign(&id)?.is_none() {
            return Err(ApiError::not_found(format!("no campaign with id {id:?}")));
        }
        let sort = match sort.as_str() {
            "credit" => InfluenceSort::Credit(configured_model(
                &state.queries,
                params.model.as_deref(),
                Model::Linear,
            )?),
            "recent" => InfluenceSort::Recent,
            _ => InfluenceSort::Value,
        };
        Ok(state.queries.campaign_influence(&InfluenceQuery {
            campaign_id: id,
            kind,
            range,
            currency,
            sort,
        })?)
    })
    .await
}

/// `GET /v1/conversions/{id}/history`: the conversion's versions over time,
/// rebuilt by the engine in a scratch store that is removed afterwards.
pub(crate) async fn conversion_history(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<ConversionHistory> {
    check_conversion_id(&id)?;
    blocking(
        move || match touchline_engine::history::conversion_history(&state.queries, &id) {
            Ok(Some(history)) => Ok(Json(history)),
            Ok(None) => Err(ApiError::not_found(format!("no conversion {id:?}"))),
            Err(HistoryError::Engine(e)) => Err(ApiError::from(e)),
            Err(HistoryError::Store(e)) => {
                Err(ApiError::from(touchline_engine::EngineError::from(e)))
            }
            Err(e @ HistoryError::BadId(_)) => Err(ApiError::bad_request(e.to_string())),
            Err(e @ HistoryError::TooLarge { .. }) => Err(ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: e.to_string(),
                param: None,
            }),
        },
    )
    .await
}

/// A conversion id is `<conversion point>:<id>`; anything else is a 400
/// naming the points.
pub(crate) fn check_conversion_id(id: &str) -> Result<(), ApiError> {
    let Some((kind, _subject)) = id.split_once(':').filter(|(_, s)| !s.is_empty()) else {
        return Err(ApiError::bad_request(format!(
            "conversion id {id:?} must look like <conversion point>:<id>, e.g. opportunity_won:opp-7"
        )));
    };
    parse_conversion(kind).map_err(|e| {
        ApiError::bad_request(format!(
            "conversion id {id:?} must look like <conversion point>:<id>; {}",
            e.problem
        ))
    })?;
    Ok(())
}
