//! Query parameters: parsed once, the same way for every route, and refused
//! with a [`ParamError`] that names the parameter and what it accepts (a 400
//! through [`ApiError`]). The CLI parses its flags with the same functions.

use std::borrow::Cow;

use touchline_attribution::SynthesizedTouches;
use touchline_attribution::data_driven::MarkovValue;

use super::*;
pub use crate::param_error::{ParamError, Problem};

/// What `at`, `from` and `to` accept.
const DATE_OR_TIME: &str = "a date (2026-03-01) or RFC 3339 time";

pub(crate) fn parse_param<T: std::str::FromStr>(
    name: &str,
    value: Option<&str>,
    default: T,
    expected: &'static str,
) -> Result<T, ParamError> {
    match value {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| ParamError::not_a(name, text, expected)),
    }
}

/// A count `0..=maximum`, `default` when absent.
pub(crate) fn parse_count(
    name: &str,
    value: Option<&str>,
    default: usize,
    maximum: usize,
) -> Result<usize, ParamError> {
    let count = parse_param(name, value, default, "a non-negative integer")?;
    if count > maximum {
        return Err(ParamError::new(
            name,
            Problem::AboveMaximum {
                value: count as u64,
                maximum: maximum as u64,
            },
        ));
    }
    Ok(count)
}

/// Parses the `at` parameter (RFC 3339 or a date); absent means now.
pub(crate) fn parse_at(text: Option<&str>) -> Result<Timestamp, ParamError> {
    match text {
        None => Ok(Timestamp::now()),
        Some(text) => parse_time("at", text),
    }
}

fn parse_time(name: &str, text: &str) -> Result<Timestamp, ParamError> {
    Timestamp::parse_lenient(text).ok_or_else(|| ParamError::not_a(name, text, DATE_OR_TIME))
}

/// Parses `from`/`to`: RFC 3339 or a date (`2026-03-01`, midnight UTC).
pub fn parse_range(from: Option<&str>, to: Option<&str>) -> Result<TimeRange, ParamError> {
    let range = TimeRange {
        from: from.map(|t| parse_time("from", t)).transpose()?,
        to: to.map(|t| parse_time("to", t)).transpose()?,
    };
    if let (Some(f), Some(t)) = (range.from, range.to)
        && t <= f
    {
        return Err(ParamError::new(
            "to",
            Problem::NotAfter {
                value: t,
                start: "from",
                start_value: f,
            },
        ));
    }
    Ok(range)
}

/// Parses `model`, `order` and `by` of the data-driven report.
pub fn parse_data_driven(
    model: Option<&str>,
    order: Option<&str>,
    by: Option<&str>,
) -> Result<(DataDrivenModel, Granularity), ParamError> {
    let order_given = order.is_some();
    let order = match order {
        None => 1,
        Some(text) => match text.parse::<usize>() {
            Ok(n @ 1..=3) => n,
            _ => return Err(ParamError::not_a("order", text, "1, 2 or 3")),
        },
    };
    let model = match model.unwrap_or("markov") {
        "markov" => DataDrivenModel::Markov { order },
        "shapley" if order_given => {
            return Err(ParamError::new(
                "order",
                Problem::Refused {
                    reason: "order is a Markov chain's; shapley has none".into(),
                },
            ));
        }
        "shapley" => DataDrivenModel::Shapley,
        other => {
            return Err(ParamError::new(
                "model",
                Problem::Unknown {
                    kind: "data-driven model",
                    value: other.to_owned(),
                    expected: "markov or shapley".into(),
                },
            ));
        }
    };
    let by = match by.unwrap_or("channel") {
        "channel" => Granularity::Channel,
        "campaign" => Granularity::Campaign,
        other => return Err(ParamError::not_a("by", other, "channel or campaign")),
    };
    Ok((model, by))
}

/// The names a choice parameter accepts, as messages list them.
fn one_of(names: impl IntoIterator<Item = &'static str>) -> Cow<'static, str> {
    let names: Vec<&str> = names.into_iter().collect();
    format!("one of {}", names.join(", ")).into()
}

/// Parses the `model` parameter, naming the choices when it is wrong.
pub fn parse_model(text: &str) -> Result<Model, ParamError> {
    Model::parse(text).ok_or_else(|| {
        ParamError::new(
            "model",
            Problem::Unknown {
                kind: "model",
                value: text.to_owned(),
                expected: one_of(Model::ALL.iter().map(|m| m.name())),
            },
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
    let model = text.map(parse_model).transpose()?;
    Ok(choose_model(
        queries.configured_models()?.as_deref(),
        model,
        default,
    )?)
}

/// [`configured_model`] without the store, for a caller that read the
/// configured models itself (`None`: a store that computes every model), as
/// the CLI does: the same choice, refused with the same words.
pub fn choose_model(
    configured: Option<&[Model]>,
    model: Option<Model>,
    default: Model,
) -> Result<Model, ParamError> {
    let model = match (model, configured) {
        (Some(model), _) => model,
        (None, Some(models)) if !models.contains(&default) => {
            models.first().copied().unwrap_or(default)
        }
        (None, _) => default,
    };
    if let Some(models) = configured
        && !models.contains(&model)
    {
        let names: Vec<&str> = models.iter().map(|m| m.name()).collect();
        return Err(ParamError::new(
            "model",
            Problem::NotComputed {
                model: model.name().to_owned(),
                configured: names.join(", "),
            },
        ));
    }
    Ok(model)
}

/// Parses the `conversion` parameter, naming the choices when it is wrong.
pub fn parse_conversion(text: &str) -> Result<ConversionKind, ParamError> {
    ConversionKind::parse(text).ok_or_else(|| {
        ParamError::new(
            "conversion",
            Problem::Unknown {
                kind: "conversion point",
                value: text.to_owned(),
                expected: one_of(ConversionKind::ALL.iter().map(|k| k.name())),
            },
        )
    })
}

/// Parses `by` of the credit reports: campaign (the default), channel or source.
pub fn parse_group_by(text: Option<&str>) -> Result<GroupBy, ParamError> {
    match text {
        None => Ok(GroupBy::Campaign),
        Some(text) => GroupBy::parse(text)
            .ok_or_else(|| ParamError::not_a("by", text, "campaign, channel or source")),
    }
}

/// Parses `currency`: an ISO 4217 code, three letters in either case
/// (`eur` is `EUR`); anything else names the parameter.
pub(crate) fn parse_currency(currency: &str) -> Result<String, ParamError> {
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(currency.to_ascii_uppercase())
    } else {
        Err(ParamError::not_a(
            "currency",
            currency,
            "an ISO 4217 code (three letters, e.g. EUR)",
        ))
    }
}

/// Parses `markov_value` of the data-driven report.
pub(crate) fn parse_markov_value(text: &str) -> Result<MarkovValue, ParamError> {
    MarkovValue::parse(text).ok_or_else(|| {
        ParamError::not_a("markov_value", text, "journey_value or last_channel_mean")
    })
}

/// `synthesized`: whether touches synthesized from other data count;
/// `None` when absent (the configured `attribution.synthesized_touches`).
pub fn parse_synthesized(text: Option<&str>) -> Result<Option<SynthesizedTouches>, ParamError> {
    text.map(|text| {
        SynthesizedTouches::parse(text)
            .ok_or_else(|| ParamError::not_a("synthesized", text, "include or exclude"))
    })
    .transpose()
}

/// A query's `(name, value)` pairs checked against what one route takes: no
/// parameter it does not take, none twice (`table`, the CSV table's name, is
/// every route's). What-if and as-of read theirs through it.
pub(crate) struct QueryPairs<'p> {
    pairs: &'p [(String, String)],
}

impl<'p> QueryPairs<'p> {
    /// `taker` names the route in the error ("a what-if").
    pub(crate) fn checked(
        pairs: &'p [(String, String)],
        taker: &'static str,
        accepted: &'static [&'static str],
    ) -> Result<Self, ParamError> {
        let mut seen: Vec<&str> = Vec::new();
        for (name, _) in pairs {
            if name == "table" {
                continue;
            }
            if !accepted.contains(&name.as_str()) {
                return Err(ParamError::new(
                    name.as_str(),
                    Problem::NotTaken { taker, accepted },
                ));
            }
            if seen.contains(&name.as_str()) {
                return Err(ParamError::new(name.as_str(), Problem::Repeated));
            }
            seen.push(name);
        }
        Ok(QueryPairs { pairs })
    }

    /// The value of `name`, if given.
    pub(crate) fn get(&self, name: &str) -> Option<&'p str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A query string as the `(name, value)` pairs a handler receives (tests:
/// no percent-decoding).
#[cfg(test)]
pub(crate) fn test_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}
