//! `GET /v1/reports/what-if`: any model with any parameters over the stored
//! history ([`touchline_engine::what_if`]), changing nothing.
//!
//! Every parameter is parsed here, for the API and the CLI alike
//! ([`parse_what_if`]); an unknown, repeated or malformed one is a
//! [`ParamError`] naming it and what it accepts.

use axum::extract::{Query, State};
use touchline_attribution::{Model, OpportunityTouches, PositionWeights, TouchFilter};
use touchline_engine::what_if::{
    MAX_HALF_LIFE_DAYS, MAX_LOOKBACK_DAYS, MAX_MODELS, MAX_MOVED_LIMIT, MovedRequest,
    SettingsChange, WhatIfAnswer, WhatIfError, WhatIfRequest,
};

use crate::params::{
    ParamError, Problem, parse_conversion, parse_group_by, parse_model, parse_range,
};
use crate::{ApiError, ApiResult, AppState, blocking};

/// The parameters a what-if takes (`format` and `table` belong to the CSV
/// export).
pub const WHAT_IF_PARAMETERS: [&str; 15] = [
    "model",
    "conversion",
    "from",
    "to",
    "by",
    "lookback_days",
    "half_life_days",
    "weights",
    "filter",
    "touches",
    "synthesized",
    "moved",
    "baseline",
    "moved_limit",
    "format",
];

/// Moved conversions listed by default when `moved=true`.
pub const DEFAULT_MOVED_LIMIT: usize = 20;

/// Parses a what-if's query parameters, in the order given. Errors name the
/// parameter: `parameter half_life_days: "0" is not ...`.
pub fn parse_what_if(pairs: &[(String, String)]) -> Result<WhatIfRequest, ParamError> {
    let query = crate::params::QueryPairs::checked(pairs, "a what-if", &WHAT_IF_PARAMETERS)?;
    let get = |name: &str| query.get(name);
    let models = match get("model") {
        None => Vec::new(),
        Some(text) => parse_models(text)?,
    };
    let kind = parse_conversion(get("conversion").unwrap_or("opportunity_won"))?;
    let range = parse_range(get("from"), get("to"))?;
    let by = parse_group_by(get("by"))?;
    let change = SettingsChange {
        lookback_days: get("lookback_days").map(parse_lookback).transpose()?,
        half_life_days: get("half_life_days").map(parse_half_life).transpose()?,
        custom: get("weights").map(parse_weights).transpose()?,
        filter: match get("filter") {
            None => None,
            Some("all") => Some(TouchFilter::All),
            Some("responded") => Some(TouchFilter::Responded),
            Some(other) => return Err(ParamError::not_a("filter", other, "all or responded")),
        },
        opportunity_touches: match get("touches") {
            None => None,
            Some("contact_roles") => Some(OpportunityTouches::ContactRoles),
            Some("account_contacts") => Some(OpportunityTouches::AccountContacts),
            Some(other) => {
                return Err(ParamError::not_a(
                    "touches",
                    other,
                    "contact_roles or account_contacts",
                ));
            }
        },
        synthesized_touches: crate::params::parse_synthesized(get("synthesized"))?,
    };
    let wants_moved = match get("moved") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(ParamError::not_a("moved", other, "true or false")),
    };
    let baseline = get("baseline")
        .map(|text| parse_model(text).map_err(|e| e.renamed("baseline")))
        .transpose()?;
    let limit = match get("moved_limit") {
        None => DEFAULT_MOVED_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(n @ 1..=MAX_MOVED_LIMIT) => n,
            _ => {
                return Err(ParamError::not_a(
                    "moved_limit",
                    text,
                    format!("a whole number from 1 to {MAX_MOVED_LIMIT}"),
                ));
            }
        },
    };
    if !wants_moved && (baseline.is_some() || get("moved_limit").is_some()) {
        let name = if baseline.is_some() {
            "baseline"
        } else {
            "moved_limit"
        };
        return Err(ParamError::new(
            name,
            Problem::OnlyWith {
                condition: "moved=true",
            },
        ));
    }
    Ok(WhatIfRequest {
        models,
        kind,
        range,
        by,
        change,
        moved: wants_moved.then_some(MovedRequest { baseline, limit }),
    })
}

/// `linear` or `first_touch,last_touch,...`: each model once, at most all ten.
fn parse_models(text: &str) -> Result<Vec<Model>, ParamError> {
    let mut models = Vec::new();
    for name in text.split(',') {
        let model = parse_model(name.trim())?;
        if models.contains(&model) {
            return Err(ParamError::new(
                "model",
                Problem::ListedTwice {
                    value: model.name().to_owned(),
                },
            ));
        }
        models.push(model);
    }
    debug_assert!(models.len() <= MAX_MODELS);
    Ok(models)
}

/// Days `0..=36500`, or `none` for no window.
fn parse_lookback(text: &str) -> Result<Option<u32>, ParamError> {
    if text == "none" {
        return Ok(None);
    }
    match text.parse::<u32>() {
        Ok(days) if days <= MAX_LOOKBACK_DAYS => Ok(Some(days)),
        _ => Err(ParamError::not_a(
            "lookback_days",
            text,
            format!("a whole number of days from 0 to {MAX_LOOKBACK_DAYS}, or none"),
        )),
    }
}

fn parse_half_life(text: &str) -> Result<f64, ParamError> {
    match text.parse::<f64>() {
        Ok(h) if h.is_finite() && h > 0.0 && h <= MAX_HALF_LIFE_DAYS => Ok(h),
        _ => Err(ParamError::not_a(
            "half_life_days",
            text,
            format!("a number of days above 0 and at most {MAX_HALF_LIFE_DAYS}"),
        )),
    }
}

/// `first,last,rest`: three non-negative numbers, first + last above 0.
fn parse_weights(text: &str) -> Result<PositionWeights, ParamError> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let numbers: Option<Vec<f64>> = parts.iter().map(|p| p.parse::<f64>().ok()).collect();
    let (Some(numbers), 3) = (numbers, parts.len()) else {
        return Err(ParamError::not_a(
            "weights",
            text,
            "three numbers first,last,rest (e.g. 30,30,40)",
        ));
    };
    let weights = PositionWeights {
        first: numbers[0],
        last: numbers[1],
        rest: numbers[2],
    };
    weights
        .validate()
        .map_err(|reason| ParamError::new("weights", Problem::Refused { reason }))?;
    Ok(weights)
}

/// The engine's refusal as the caller's 400 (a baseline it does not compute,
/// settings the models refuse) or a store failure.
pub fn what_if_error(e: WhatIfError) -> ApiError {
    match e {
        WhatIfError::Engine(e) => ApiError::from(e),
        WhatIfError::NotComputed { model, configured } => {
            ParamError::new("baseline", Problem::NotComputed { model, configured }).into()
        }
        // The engine names the parameter in its text (`weights: ...`).
        e @ WhatIfError::Invalid { .. } => ApiError::bad_request(format!("parameter {e}")),
    }
}

pub(crate) async fn what_if_report(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<WhatIfAnswer> {
    let request = parse_what_if(&pairs)?;
    blocking(move || {
        state
            .queries
            .what_if(&request)
            .map(axum::Json)
            .map_err(what_if_error)
    })
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use touchline_attribution::ConversionKind;
    use touchline_engine::GroupBy;

    use crate::params::test_pairs as pairs;

    #[test]
    fn bad_parameters_are_refused_naming_the_parameter() {
        let cases = [
            (
                "halflife=3",
                "parameter halflife: unknown; a what-if takes model, ",
            ),
            (
                "model=linear&model=custom",
                "parameter model: given more than once",
            ),
            (
                "model=linear,linear",
                "parameter model: \"linear\" is listed more than once",
            ),
            (
                "model=markov",
                "parameter model: unknown model \"markov\"; expected one of",
            ),
            ("model=", "parameter model: unknown model \"\""),
            (
                "conversion=won",
                "parameter conversion: unknown conversion point \"won\"",
            ),
            (
                "from=yesterday",
                "parameter from: \"yesterday\" is not a date",
            ),
            ("from=2026-03-01&to=2026-02-01", "parameter to: "),
            (
                "by=region",
                "parameter by: \"region\" is not campaign, channel or source",
            ),
            (
                "lookback_days=-1",
                "parameter lookback_days: \"-1\" is not a whole number of days from 0 to 36500, or none",
            ),
            (
                "lookback_days=36501",
                "parameter lookback_days: \"36501\" is not",
            ),
            (
                "lookback_days=7.5",
                "parameter lookback_days: \"7.5\" is not",
            ),
            (
                "half_life_days=0",
                "parameter half_life_days: \"0\" is not a number of days above 0 and at most 36500",
            ),
            (
                "half_life_days=NaN",
                "parameter half_life_days: \"NaN\" is not",
            ),
            (
                "half_life_days=inf",
                "parameter half_life_days: \"inf\" is not",
            ),
            (
                "half_life_days=1e9",
                "parameter half_life_days: \"1e9\" is not",
            ),
            (
                "weights=30,30",
                "parameter weights: \"30,30\" is not three numbers first,last,rest",
            ),
            (
                "weights=a,b,c",
                "parameter weights: \"a,b,c\" is not three numbers",
            ),
            (
                "weights=-1,30,40",
                "parameter weights: position weights must be finite and non-negative",
            ),
            (
                "weights=0,0,100",
                "parameter weights: position weights: first + last must be above 0",
            ),
            (
                "filter=opened",
                "parameter filter: \"opened\" is not all or responded",
            ),
            (
                "touches=everyone",
                "parameter touches: \"everyone\" is not contact_roles or account_contacts",
            ),
            ("moved=yes", "parameter moved: \"yes\" is not true or false"),
            (
                "baseline=linear",
                "parameter baseline: only with moved=true",
            ),
            (
                "moved_limit=5",
                "parameter moved_limit: only with moved=true",
            ),
            (
                "moved=true&baseline=shapley",
                "parameter baseline: unknown model \"shapley\"",
            ),
            (
                "moved=true&moved_limit=0",
                "parameter moved_limit: \"0\" is not a whole number from 1 to 10000",
            ),
            (
                "moved=true&moved_limit=10001",
                "parameter moved_limit: \"10001\" is not",
            ),
        ];
        for (query, expected) in cases {
            let error = parse_what_if(&pairs(query)).expect_err(query);
            // The name is data: the CLI turns it into its flag.
            assert!(
                expected.starts_with(&format!("parameter {}: ", error.name)),
                "{query}: named {:?}",
                error.name
            );
            let error = error.to_string();
            assert!(
                error.starts_with(expected),
                "{query}: {error:?} does not start with {expected:?}"
            );
        }
    }

    #[test]
    fn good_parameters_become_the_request() {
        let request = parse_what_if(&pairs(
            "model=linear,time_decay&conversion=lead_created&by=channel&lookback_days=none\
             &half_life_days=2.5&weights=10,70,20&filter=responded&touches=account_contacts\
             &moved=true&baseline=first_touch&moved_limit=7&format=csv&table=rows",
        ))
        .unwrap();
        assert_eq!(request.models, vec![Model::Linear, Model::TimeDecay]);
        assert_eq!(request.kind, ConversionKind::LeadCreated);
        assert_eq!(request.by, GroupBy::Channel);
        assert_eq!(request.change.lookback_days, Some(None));
        assert_eq!(request.change.half_life_days, Some(2.5));
        assert_eq!(
            request.change.custom,
            Some(PositionWeights {
                first: 10.0,
                last: 70.0,
                rest: 20.0
            })
        );
        assert_eq!(request.change.filter, Some(TouchFilter::Responded));
        assert_eq!(
            request.change.opportunity_touches,
            Some(OpportunityTouches::AccountContacts)
        );
        assert_eq!(
            request.moved,
            Some(MovedRequest {
                baseline: Some(Model::FirstTouch),
                limit: 7
            })
        );
        let defaults = parse_what_if(&[]).unwrap();
        assert!(defaults.models.is_empty());
        assert_eq!(defaults.kind, ConversionKind::OpportunityWon);
        assert_eq!(defaults.change, SettingsChange::default());
        assert_eq!(defaults.moved, None);
        assert_eq!(
            parse_what_if(&pairs("lookback_days=0"))
                .unwrap()
                .change
                .lookback_days,
            Some(Some(0))
        );
    }

    #[test]
    fn the_engines_refusals_are_400s_naming_the_parameter() {
        let e = what_if_error(WhatIfError::NotComputed {
            model: "linear".into(),
            configured: "first_touch".into(),
        });
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            e.message,
            "parameter baseline: \"linear\" is not computed by this engine; the configured models are first_touch"
        );
    }
}
