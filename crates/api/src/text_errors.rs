//! The shared parsers with their error as text, `parameter <name>: <problem>`,
//! for callers that still take the message apart (the CLI rewrites the prefix
//! into its flag). New code takes the [`ParamError`] of [`crate::params`] and
//! [`crate::what_if`], which carry the parameter's name as data; these go once
//! the CLI does.

use touchline_engine::what_if::WhatIfRequest;

use super::*;
use crate::params::ParamError;

fn text(e: ParamError) -> String {
    e.to_string()
}

/// [`params::parse_range`] with the error as text.
pub fn parse_range(from: Option<&str>, to: Option<&str>) -> Result<TimeRange, String> {
    params::parse_range(from, to).map_err(text)
}

/// [`params::parse_data_driven`] with the error as text.
pub fn parse_data_driven(
    model: Option<&str>,
    order: Option<&str>,
    by: Option<&str>,
) -> Result<(DataDrivenModel, Granularity), String> {
    params::parse_data_driven(model, order, by).map_err(text)
}

/// [`params::parse_model`] with the error as text.
pub fn parse_model(model: &str) -> Result<Model, String> {
    params::parse_model(model).map_err(text)
}

/// [`params::parse_conversion`] with the error as text.
pub fn parse_conversion(conversion: &str) -> Result<ConversionKind, String> {
    params::parse_conversion(conversion).map_err(text)
}

/// [`what_if::parse_what_if`] with the error as text.
pub fn parse_what_if(pairs: &[(String, String)]) -> Result<WhatIfRequest, String> {
    what_if::parse_what_if(pairs).map_err(text)
}
