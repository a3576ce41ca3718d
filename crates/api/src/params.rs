//! Query parameters: parsed once, the same way for every route, and refused
//! with a 400 that names the parameter and what it accepts.

use super::*;

pub(crate) fn parse_param<T: std::str::FromStr>(
    name: &str,
    value: Option<&str>,
    default: T,
    expected: &str,
) -> Result<T, ApiError> {
    match value {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| {
            ApiError::bad_request(format!("parameter {name}: {text:?} is not {expected}"))
        }),
    }
}

/// Parses the `at` parameter (RFC 3339 or a date); absent means now.
pub(crate) fn parse_at(text: Option<&str>) -> Result<Timestamp, ApiError> {
    match text {
        None => Ok(Timestamp::now()),
        Some(text) => Timestamp::parse_lenient(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "parameter at: {text:?} is not a date (2026-03-01) or RFC 3339 time"
            ))
        }),
    }
}

/// Parses `from`/`to`: RFC 3339 or a date (`2026-03-01`, midnight UTC).
pub fn parse_range(from: Option<&str>, to: Option<&str>) -> Result<TimeRange, String> {
    let parse = |name: &str, text: Option<&str>| {
        text.map(|t| {
            Timestamp::parse_lenient(t).ok_or_else(|| {
                format!("parameter {name}: {t:?} is not a date (2026-03-01) or RFC 3339 time")
            })
        })
        .transpose()
    };
    let range = TimeRange {
        from: parse("from", from)?,
        to: parse("to", to)?,
    };
    if let (Some(f), Some(t)) = (range.from, range.to)
        && t <= f
    {
        return Err(format!("parameter to: {t} is not after from ({f})"));
    }
    Ok(range)
}

/// Parses `model`, `order` and `by` of the data-driven report.
pub fn parse_data_driven(
    model: Option<&str>,
    order: Option<&str>,
    by: Option<&str>,
) -> Result<(DataDrivenModel, Granularity), String> {
    let order = match order {
        None => 1,
        Some(text) => match text.parse::<usize>() {
            Ok(n @ 1..=3) => n,
            _ => return Err(format!("parameter order: {text:?} is not 1, 2 or 3")),
        },
    };
    let model = match model.unwrap_or("markov") {
        "markov" => DataDrivenModel::Markov { order },
        "shapley" => DataDrivenModel::Shapley,
        other => {
            return Err(format!(
                "parameter model: unknown data-driven model {other:?}; expected markov or shapley"
            ));
        }
    };
    let by = match by.unwrap_or("channel") {
        "channel" => Granularity::Channel,
        "campaign" => Granularity::Campaign,
        other => {
            return Err(format!(
                "parameter by: {other:?} is not channel or campaign"
            ));
        }
    };
    Ok((model, by))
}

/// Parses the `model` parameter, naming the choices when it is wrong.
pub fn parse_model(text: &str) -> Result<Model, String> {
    Model::parse(text).ok_or_else(|| {
        let names: Vec<_> = Model::ALL.iter().map(|m| m.name()).collect();
        format!(
            "parameter model: unknown model {text:?}; expected one of {}",
            names.join(", ")
        )
    })
}

/// The `model` parameter, checked against what the engine computes: a model it
/// does not compute has no stored credits, so asking for one is the caller's
/// error (a 400 naming the configured models), not an empty answer. Without
/// the parameter, `default` if computed, else the first computed model. Reads
/// the store: call it on the blocking pool.
pub(crate) fn configured_model(
    queries: &Queries,
    text: Option<&str>,
    default: Model,
) -> Result<Model, ApiError> {
    let configured = queries.configured_models()?;
    let model = match text {
        Some(text) => parse_model(text).map_err(ApiError::bad_request)?,
        None => match &configured {
            Some(models) if !models.contains(&default) => {
                models.first().copied().unwrap_or(default)
            }
            _ => default,
        },
    };
    if let Some(models) = configured
        && !models.contains(&model)
    {
        let names: Vec<&str> = models.iter().map(|m| m.name()).collect();
        return Err(ApiError::bad_request(format!(
            "parameter model: {:?} is not computed by this engine; the configured models are {}",
            model.name(),
            names.join(", ")
        )));
    }
    Ok(model)
}

/// Parses the `conversion` parameter, naming the choices when it is wrong.
pub fn parse_conversion(text: &str) -> Result<ConversionKind, String> {
    ConversionKind::parse(text).ok_or_else(|| {
        let names: Vec<_> = ConversionKind::ALL.iter().map(|k| k.name()).collect();
        format!(
            "parameter conversion: unknown conversion point {text:?}; expected one of {}",
            names.join(", ")
        )
    })
}
