//! `GET /v1/reports/as-of`: per campaign, channel or source, the credit one
//! model gave as of a past instant and gives now, the difference, and why
//! conversions moved ([`touchline_engine::as_of`]), against the running
//! engine's store.
//!
//! The past is rebuilt into a scratch store in the temporary directory
//! (`TMPDIR`), removed when the answer is made; the live store is only read,
//! so ingest goes on, and nothing is published. At most
//! [`MAX_AS_OF_EVENTS`] events recorded by the instant are replayed; beyond,
//! 422 naming the bound.

use axum::extract::{Query, State};
use touchline_engine::as_of::{AsOfError, AsOfReport, AsOfRequest, MAX_AS_OF_EVENTS};
use touchline_engine::what_if::MAX_MOVED_LIMIT;

use crate::params::{
    ParamError, Problem, choose_model, parse_conversion, parse_group_by, parse_model, parse_range,
};
use crate::{ApiError, ApiResult, AppState, DEFAULT_MOVED_LIMIT, blocking};

use super::*;

/// The parameters an as-of takes (`format` and `table` belong to the CSV
/// export).
pub const AS_OF_PARAMETERS: [&str; 10] = [
    "at",
    "model",
    "conversion",
    "by",
    "from",
    "to",
    "moved",
    "moved_limit",
    "synthesized",
    "format",
];

/// What `at` accepts, as the 400 says it.
const AT_EXAMPLE: &str = "at=2026-03-01 or at=2026-03-01T09:30:00Z";

/// An as-of's parameters, parsed; the model is checked against the
/// configured ones when the store is read.
#[derive(Debug, Clone, PartialEq)]
pub struct AsOfParams {
    pub at: Timestamp,
    /// `None`: first touch, or the first configured model.
    pub model: Option<Model>,
    pub kind: ConversionKind,
    pub by: GroupBy,
    pub range: TimeRange,
    pub moved_limit: Option<usize>,
    /// `None`: as configured.
    pub synthesized: Option<touchline_attribution::SynthesizedTouches>,
}

/// Parses an as-of's query parameters. `at` is required and checked last, so
/// an error names the first wrong parameter a caller wrote, not the one
/// missing. Errors name the parameter: `parameter at: "soon" is not ...`.
pub fn parse_as_of(pairs: &[(String, String)]) -> Result<AsOfParams, ParamError> {
    let query = crate::params::QueryPairs::checked(pairs, "an as-of", &AS_OF_PARAMETERS)?;
    let get = |name: &str| query.get(name);
    let model = get("model").map(parse_model).transpose()?;
    let kind = parse_conversion(get("conversion").unwrap_or("lead_created"))?;
    let range = parse_range(get("from"), get("to"))?;
    let by = parse_group_by(get("by"))?;
    let synthesized = crate::params::parse_synthesized(get("synthesized"))?;
    let moved = match get("moved") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(ParamError::not_a("moved", other, "true or false")),
    };
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
    if !moved && get("moved_limit").is_some() {
        return Err(ParamError::new(
            "moved_limit",
            Problem::OnlyWith {
                condition: "moved=true",
            },
        ));
    }
    let at = match get("at") {
        None => {
            return Err(ParamError::new(
                "at",
                Problem::Missing {
                    example: AT_EXAMPLE,
                },
            ));
        }
        Some(text) => Timestamp::parse_lenient(text)
            .ok_or_else(|| ParamError::not_a("at", text, "a date (2026-03-01) or RFC 3339 time"))?,
    };
    Ok(AsOfParams {
        at,
        model,
        kind,
        by,
        range,
        moved_limit: moved.then_some(limit),
        synthesized,
    })
}

/// The engine's question for parsed parameters, the model chosen among the
/// store's `configured` models (`None`: every model) as every report
/// chooses it: first touch when absent and computed, else the first
/// configured; one not computed is refused naming the configured ones. The
/// API and `touchline attribution as-of --by` both ask through it, so they
/// ask the same question.
pub fn as_of_request(
    params: &AsOfParams,
    configured: Option<&[Model]>,
) -> Result<AsOfRequest, ParamError> {
    Ok(AsOfRequest {
        at: params.at,
        model: choose_model(configured, params.model, Model::FirstTouch)?,
        kind: params.kind,
        by: params.by,
        range: params.range,
        moved_limit: params.moved_limit,
        synthesized: params.synthesized,
    })
}

/// The engine's refusal as the caller's 422 (the bound), 409 on a sharded
/// instance, or a store failure.
pub fn as_of_error(e: AsOfError) -> ApiError {
    match e {
        AsOfError::Engine(e) => ApiError::from(e),
        e @ AsOfError::Sharded => ApiError {
            status: StatusCode::CONFLICT,
            message: e.to_string(),
            param: None,
        },
        e @ AsOfError::TooLarge { .. } => ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: e.to_string(),
            param: None,
        },
    }
}

pub(crate) async fn as_of_report(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<AsOfReport> {
    let params = parse_as_of(&pairs)?;
    blocking(move || {
        let scratch = std::env::temp_dir();
        answer(&state.queries, &params, MAX_AS_OF_EVENTS, &scratch).map(Json)
    })
    .await
}

/// The answer, rebuilding at most `max_events` into a directory made in
/// `scratch` for it. Reads the store: call it on the blocking pool.
fn answer(
    queries: &Queries,
    params: &AsOfParams,
    max_events: usize,
    scratch: &std::path::Path,
) -> Result<AsOfReport, ApiError> {
    let request = as_of_request(params, queries.configured_models()?.as_deref())?;
    let scratch = tempfile::Builder::new()
        .prefix("touchline-as-of-")
        .tempdir_in(scratch)
        .map_err(|e| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("cannot create a scratch directory for the past: {e}"),
            param: None,
        })?;
    // The scratch store is closed (the rebuilt queries dropped) before the
    // directory goes.
    let report = queries
        .as_of_report(&request, scratch.path(), max_events)
        .map_err(as_of_error);
    drop(scratch);
    report
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use touchline_engine::{Batch, Engine, EngineConfig};
    use touchline_store::Store;

    use crate::params::test_pairs as pairs;

    #[test]
    fn bad_parameters_are_refused_naming_the_parameter() {
        let cases = [
            ("", "parameter at: required; e.g. at=2026-03-01"),
            (
                "at=soon",
                "parameter at: \"soon\" is not a date (2026-03-01)",
            ),
            (
                "at=2026-01-01&at=2026-02-01",
                "parameter at: given more than once",
            ),
            (
                "at=2026-01-01&since=3",
                "parameter since: unknown; an as-of takes at, model",
            ),
            ("model=markov", "parameter model: unknown model \"markov\""),
            (
                "conversion=won",
                "parameter conversion: unknown conversion point",
            ),
            (
                "by=region",
                "parameter by: \"region\" is not campaign, channel or source",
            ),
            ("from=2026-03-01&to=2026-02-01", "parameter to: "),
            ("moved=yes", "parameter moved: \"yes\" is not true or false"),
            (
                "synthesized=yes",
                "parameter synthesized: \"yes\" is not include or exclude",
            ),
            (
                "moved_limit=5&at=2026-01-01",
                "parameter moved_limit: only with moved=true",
            ),
            (
                "moved=true&moved_limit=0",
                "parameter moved_limit: \"0\" is not a whole number from 1 to 10000",
            ),
        ];
        for (query, expected) in cases {
            let error = parse_as_of(&pairs(query)).expect_err(query).to_string();
            assert!(
                error.starts_with(expected),
                "{query}: {error:?} does not start with {expected:?}"
            );
        }
    }

    #[test]
    fn good_parameters_become_the_request() {
        let params = parse_as_of(&pairs(
            "at=2026-03-01&model=linear&conversion=opportunity_won&by=channel\
             &from=2026-01-01&to=2026-04-01&moved=true&moved_limit=5&synthesized=exclude\
             &format=csv&table=rows",
        ))
        .unwrap();
        assert_eq!(params.at, Timestamp::parse_lenient("2026-03-01").unwrap());
        assert_eq!(params.model, Some(Model::Linear));
        assert_eq!(params.kind, ConversionKind::OpportunityWon);
        assert_eq!(params.by, GroupBy::Channel);
        assert!(params.range.from.is_some() && params.range.to.is_some());
        assert_eq!(params.moved_limit, Some(5));
        assert_eq!(
            params.synthesized,
            Some(touchline_attribution::SynthesizedTouches::Exclude)
        );
        let defaults = parse_as_of(&pairs("at=2026-03-01T09:30:00Z")).unwrap();
        assert_eq!(defaults.model, None);
        assert_eq!(defaults.kind, ConversionKind::LeadCreated);
        assert_eq!(defaults.by, GroupBy::Campaign);
        assert_eq!(defaults.moved_limit, None);
        assert_eq!(defaults.synthesized, None);
        let moved = parse_as_of(&pairs("at=2026-03-01&moved=true")).unwrap();
        assert_eq!(moved.moved_limit, Some(DEFAULT_MOVED_LIMIT));
    }

    #[test]
    fn beyond_the_bound_is_a_422_naming_it_and_the_scratch_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
        let lead = |person: &str, ms: i64| {
            touchline_fixtures::envelope(
                format!("lead-{person}"),
                ms,
                touchline_fixtures::lead(person),
            )
        };
        engine
            .apply(Batch {
                events: vec![lead("a", 10), lead("b", 20), lead("c", 30)],
                ..Batch::default()
            })
            .unwrap();
        let queries = Queries::new(store);
        let params = parse_as_of(&pairs("at=1970-01-01T00:00:00.025Z")).unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let error = answer(&queries, &params, 1, scratch.path()).unwrap_err();
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error
                .message
                .starts_with("more than 1 events were recorded by "),
            "{}",
            error.message
        );
        let report = answer(&queries, &params, 2, scratch.path()).unwrap();
        assert_eq!(report.events_replayed, 2);
        assert_eq!(report.model, Model::FirstTouch);
        assert_eq!((report.conversions_then, report.conversions_now), (2, 3));
        // Each scratch store went with its answer.
        let left: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
