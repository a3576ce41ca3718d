//! Arguments `report` and `attribution` share: models, conversion points,
//! ranges and instants parsed with the API's rules, and the store opened
//! read-only.

use std::sync::Arc;

use anyhow::Context;
use touchline_attribution::{ConversionKind, Model};
use touchline_engine::Queries;
use touchline_store::Store;

pub(crate) fn parse_model(text: &str) -> Result<Model, String> {
    touchline_api::params::parse_model(text).map_err(|e| e.problem.to_string())
}

pub(crate) fn parse_conversion(text: &str) -> Result<ConversionKind, String> {
    touchline_api::params::parse_conversion(text).map_err(|e| e.problem.to_string())
}

/// A parameter the API's rules refused, named as the CLI spells it:
/// `half_life_days` is `--half-life-days`.
pub(crate) fn flag_error(e: touchline_api::ParamError) -> anyhow::Error {
    anyhow::anyhow!("--{}: {}", e.name.replace('_', "-"), e.problem)
}

/// Parses `--from`/`--to` with the API's rules, naming the flag on error.
pub(crate) fn parse_cli_range(
    from: Option<&str>,
    to: Option<&str>,
) -> anyhow::Result<touchline_engine::TimeRange> {
    touchline_api::params::parse_range(from, to).map_err(flag_error)
}

/// Refuses a model the store's engine does not compute: it has no credits, so
/// every row would be zero.
pub(crate) fn computed(queries: &Queries, model: Model) -> anyhow::Result<()> {
    if let Some(models) = queries.configured_models()?
        && !models.contains(&model)
    {
        let names: Vec<&str> = models.iter().map(|m| m.name()).collect();
        anyhow::bail!(
            "--model: {:?} is not computed by the engine that wrote this store; its models are {}",
            model.name(),
            names.join(", ")
        );
    }
    Ok(())
}

/// Opens the store as a RocksDB secondary: read-only, beside a running engine
/// (which holds the store's lock) or none, at the latest state the engine has
/// made durable, whole batches only. The report reads that one state
/// throughout; nothing is written to the store.
pub(crate) fn open_queries(db: &std::path::Path) -> anyhow::Result<Queries> {
    if !db.exists() {
        anyhow::bail!(
            "--db {}: no store there (run `touchline run` or `touchline demo --db` first)",
            db.display()
        );
    }
    let store = Store::open_secondary(db)
        .with_context(|| format!("--db {}: cannot read the store", db.display()))?;
    Ok(Queries::new(Arc::new(store)))
}
