//! `touchline report <name>` for every route of the API's route table that
//! names a command ([`touchline_api::routes::Command`]): the subcommand, its
//! flags (the route's parameters, `format` aside) and its help (the route's
//! summary, each parameter's description) are read from the table, and the
//! command sends the route's request to the API's router in process, over
//! the store opened read-only. So a report route added to the table is a CLI
//! command, its parameters are checked by the route's own parsers, a bad one
//! is refused naming its flag (from the `ParamError` the answer carries, not
//! its message), and the rows are the API's, written by the route's declared
//! columns ([`crate::output`]).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use clap::{Arg, ArgMatches, Args, FromArgMatches};
use serde_json::Value;
use touchline_api::ParamError;
use touchline_api::param_spec::{Location, Param, ParamType};
use touchline_api::routes::{Command, ROUTES, Route};
use touchline_report_output::Rows;
use tower::ServiceExt;

use crate::args::open_queries;
use crate::output::{Format, Out, OutputArgs};

/// The routes that are `report` commands, in the table's order.
pub(crate) fn commands() -> impl Iterator<Item = (&'static Route, Command)> {
    ROUTES.iter().filter_map(|r| r.command.map(|c| (r, c)))
}

pub(crate) fn find(name: &str) -> Option<(&'static Route, Command)> {
    commands().find(|(_, c)| c.name == name)
}

/// The parameters a command takes as flags: all but `format`, which the
/// CLI's own `--format` (with table and parquet) replaces.
fn flag_params(route: &Route) -> impl Iterator<Item = &'static Param> {
    route.params.iter().filter(|p| p.name != "format")
}

fn value_name(param: &Param) -> String {
    match param.kind {
        ParamType::Integer { .. } => "N".to_owned(),
        ParamType::Number { .. } => "X".to_owned(),
        ParamType::Boolean => "true|false".to_owned(),
        ParamType::OneOf(choices) => choices.names().join("|"),
        ParamType::Text { .. } if matches!(param.name, "at" | "from" | "to") => "DATE".to_owned(),
        ParamType::Text { .. } => param.name.to_uppercase(),
    }
}

fn help(param: &Param, command: Command) -> String {
    match param.name {
        // The CLI prints every row unless asked for a page.
        "limit" => "Most rows to print, as the API's `limit` (1 to 10000); without it, every row."
            .to_owned(),
        "offset" => "Rows to skip, as the API's `offset`.".to_owned(),
        "table" => format!(
            "Which list of the answer to print (default {}).",
            command.table.unwrap_or("the first")
        ),
        _ => {
            let mut help = param.description.to_owned();
            if let Some(default) = param.default {
                let default = match default {
                    touchline_api::param_spec::DefaultValue::Text(t) => t.to_owned(),
                    touchline_api::param_spec::DefaultValue::Integer(n) => n.to_string(),
                    touchline_api::param_spec::DefaultValue::Boolean(b) => b.to_string(),
                };
                help.push_str(&format!(" [default: {default}]"));
            }
            help
        }
    }
}

/// The subcommand of a route.
pub(crate) fn subcommand(route: &'static Route, command: Command) -> clap::Command {
    let mut cmd = clap::Command::new(command.name)
        .arg(
            Arg::new("db")
                .long("db")
                .value_name("DIR")
                .default_value("data/touchline")
                .env("TOUCHLINE_STORE_PATH")
                .value_parser(clap::value_parser!(PathBuf))
                .help("The store directory (read-only; an engine may be running on it)."),
        )
        .arg(
            Arg::new("config")
                .long("config")
                .short('c')
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help(
                    "TOML config whose [scoring], [routing], [pipeline] and [attribution] \
                     sections the report uses (default: the built-in ones).",
                ),
        );
    for param in flag_params(route) {
        // No clap-level check: the route's parsers check every value.
        cmd = cmd.arg(
            Arg::new(param.name)
                .long(command.flag(param.name))
                .value_name(value_name(param))
                .required(param.required)
                .help(help(param, command)),
        );
    }
    // After the flattened arguments, whose doc would be the command's about.
    OutputArgs::augment_args(cmd)
        .about(route.summary)
        .long_about(format!(
            "{}: `GET {}` of the HTTP API, answered from the store.",
            route.summary, route.path
        ))
}

/// A `report` command of a route, as parsed.
#[derive(Debug)]
pub struct RouteCommand {
    route: &'static Route,
    command: Command,
    /// The parameters given, in the route's order.
    values: Vec<(&'static str, String)>,
    db: PathBuf,
    config: Option<PathBuf>,
    out: OutputArgs,
}

impl RouteCommand {
    pub(crate) fn from_matches(
        route: &'static Route,
        command: Command,
        matches: &ArgMatches,
    ) -> Result<RouteCommand, clap::Error> {
        let values = flag_params(route)
            .filter_map(|p| {
                matches
                    .get_one::<String>(p.name)
                    .map(|v| (p.name, v.clone()))
            })
            .collect();
        Ok(RouteCommand {
            route,
            command,
            values,
            db: matches
                .get_one::<PathBuf>("db")
                .cloned()
                .unwrap_or_else(|| PathBuf::from("data/touchline")),
            config: matches.get_one::<PathBuf>("config").cloned(),
            out: OutputArgs::from_arg_matches(matches)?,
        })
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A refused parameter, named as its flag.
    fn flag_error(&self, e: &ParamError) -> anyhow::Error {
        anyhow::anyhow!("--{}: {}", self.command.flag(&e.name), e.problem)
    }
}

/// Percent-encodes a path segment or query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The request's path and query: path parameters in their segments, the
/// rest in the query (`table` only picks a list, so it stays here).
fn uri(cmd: &RouteCommand, page: Option<(usize, usize)>) -> String {
    let mut path = cmd.route.path.to_owned();
    let mut query = Vec::new();
    for (name, value) in &cmd.values {
        let param = cmd.route.params.iter().find(|p| p.name == *name);
        match param.map(|p| p.location) {
            Some(Location::Path) => path = path.replace(&format!("{{{name}}}"), &encode(value)),
            _ if *name == "table" => {}
            _ => query.push(format!("{name}={}", encode(value))),
        }
    }
    if let Some((limit, offset)) = page {
        query.push(format!("limit={limit}&offset={offset}"));
    }
    if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// One answer of the router: its rows' total when paged, and the JSON.
async fn get(
    cmd: &RouteCommand,
    app: &axum::Router,
    uri: &str,
) -> anyhow::Result<(Option<usize>, Value)> {
    let request = Request::get(uri).body(Body::empty())?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let param = response.extensions().get::<ParamError>().cloned();
    let total = response
        .headers()
        .get(touchline_api::TOTAL_COUNT)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let value: Value = serde_json::from_slice(&bytes).context("the API's answer is not JSON")?;
    if status.is_success() {
        return Ok((total, value));
    }
    let message = value["error"].as_str().unwrap_or("no message").to_owned();
    let path_param = cmd
        .route
        .params
        .iter()
        .find(|p| p.location == Location::Path);
    Err(match (param, path_param) {
        (Some(e), _) => cmd.flag_error(&e),
        // A record the path names is not there: name the flag that gave it.
        (None, Some(p)) if status == StatusCode::NOT_FOUND => {
            anyhow::anyhow!("--{}: {message}", cmd.command.flag(p.name))
        }
        (None, _) => anyhow::anyhow!("{message}"),
    })
}

/// Every row: the pages of `limit` 10,000 in turn when the route pages and
/// no page was asked for.
async fn answer(cmd: &RouteCommand, app: &axum::Router) -> anyhow::Result<Value> {
    let pages = cmd.route.params.iter().any(|p| p.name == "limit")
        && cmd.value("limit").is_none()
        && cmd.value("offset").is_none();
    if !pages {
        return Ok(get(cmd, app, &uri(cmd, None)).await?.1);
    }
    let mut rows = Vec::new();
    loop {
        let page = Some((touchline_api::MAX_LIMIT, rows.len()));
        let (total, value) = get(cmd, app, &uri(cmd, page)).await?;
        let Value::Array(page) = value else {
            return Ok(value);
        };
        let empty = page.is_empty();
        rows.extend(page);
        if empty || total.is_none_or(|total| rows.len() >= total) {
            return Ok(Value::Array(rows));
        }
    }
}

pub(crate) fn run(cmd: RouteCommand) -> anyhow::Result<()> {
    let out: Out = cmd.out.clone().open()?;
    // The list to print of an answer of several; no handler checks `table`
    // outside CSV, so it is checked here, by the table's choices.
    let table = cmd.value("table").or(cmd.command.table);
    if let (Some(value), Some(param)) = (
        cmd.value("table"),
        cmd.route.params.iter().find(|p| p.name == "table"),
    ) {
        param.check_choice(value).map_err(|e| cmd.flag_error(&e))?;
    }
    let value = fetch(&cmd)?;
    let (rows, list) = declared_rows(&cmd, value, table)?;
    match out.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&list)?),
        Format::Table => print!("{}", rows.table()),
        Format::Csv | Format::Parquet => out.rows(rows)?,
    }
    Ok(())
}

impl RouteCommand {
    /// The request of the route at `path` with these parameters, for a
    /// command that is not a `report` one (`touchline attribution ...`)
    /// but answers as its route does; a refused parameter is named as
    /// `--<name>` (`_` as `-`).
    pub(crate) fn of_route(
        path: &str,
        values: Vec<(&'static str, String)>,
        db: PathBuf,
        config: Option<PathBuf>,
        out: OutputArgs,
    ) -> anyhow::Result<RouteCommand> {
        let route = ROUTES
            .iter()
            .find(|r| r.path == path)
            .with_context(|| format!("no route {path}"))?;
        let name = route.path.rsplit('/').next().unwrap_or(route.path);
        Ok(RouteCommand {
            route,
            command: Command::named(name),
            values,
            db,
            config,
            out,
        })
    }

    /// Where the rows go, checked before any work.
    pub(crate) fn open_out(&self) -> anyhow::Result<Out> {
        self.out.clone().open()
    }
}

/// The route's whole answer to the command's parameters, every page of it,
/// from the store (`--config` gives the sections the API would have).
/// The query pairs of the flags given, in order; absent ones are left out.
pub(crate) fn given(
    flags: impl IntoIterator<Item = (&'static str, Option<String>)>,
) -> Vec<(&'static str, String)> {
    flags
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
}

/// Sends `cmd`'s request and prints the answer: JSON whole, CSV and Parquet
/// as the rows of its list `list`, a table as `table` writes it.
pub(crate) fn print_answer(
    cmd: &RouteCommand,
    list: &str,
    table: impl FnOnce(&RouteCommand, Value) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let out = cmd.open_out()?;
    let answer = fetch(cmd)?;
    match out.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&answer)?),
        Format::Csv | Format::Parquet => out.rows(declared_rows(cmd, answer, Some(list))?.0)?,
        Format::Table => print!("{}", table(cmd, answer)?),
    }
    Ok(())
}

pub(crate) fn fetch(cmd: &RouteCommand) -> anyhow::Result<Value> {
    let config = crate::config::Config::load(cmd.config.as_deref())?;
    let options = touchline_api::ApiOptions {
        settings: config.attribution.settings(),
        scoring: config.scoring,
        routing: config.routing,
        pipeline: config.pipeline,
        ..Default::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The API's request log is for a server; a report prints its rows only.
    let ask = |queries: touchline_engine::Queries| {
        let app = touchline_api::router_with(
            queries,
            Arc::new(touchline_engine::Metrics::default()),
            options.clone(),
        );
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            runtime.block_on(answer(cmd, &app))
        })
    };
    if !cmd.db.exists() {
        // A bad flag is named before a missing store: the route's parsers
        // run against an empty scratch store, and only if they pass is the
        // missing store the error.
        let scratch = tempfile::tempdir()?;
        let store = touchline_store::Store::open(scratch.path())?;
        ask(touchline_engine::Queries::new(Arc::new(store)))?;
    }
    ask(open_queries(&cmd.db)?)
}

/// The list `table` of an answer (the answer itself when it is a list) as
/// the rows the route declares for it, and the list as JSON.
pub(crate) fn declared_rows(
    cmd: &RouteCommand,
    mut value: Value,
    table: Option<&str>,
) -> anyhow::Result<(Rows, Vec<Value>)> {
    let columns = cmd
        .route
        .output
        .columns(table, |name| cmd.value(name))
        .with_context(|| format!("{} declares no columns", cmd.route.path))?;
    if let Some(table) = table
        && !value.is_array()
    {
        value = value[table].take();
    }
    let Value::Array(rows) = value else {
        anyhow::bail!("{}: the answer is not a list", cmd.route.path);
    };
    Ok((Rows::from_json(columns, &rows)?, rows))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use clap::CommandFactory;
    use touchline_api::routes::{Output, Tag};

    use super::*;

    /// The report routes that are not `report` commands, and why.
    const ELSEWHERE: &[(&str, &str)] = &[
        ("/v1/reports/compare", "touchline attribution compare"),
        (
            "/v1/reports/data-driven",
            "touchline attribution data-driven",
        ),
        ("/v1/reports/what-if", "touchline attribution what-if"),
        ("/v1/reports/as-of", "touchline attribution as-of --by"),
    ];

    /// The flags every command has beside its route's parameters.
    const OWN: &[&str] = &["db", "config", "format", "output", "help"];

    #[test]
    fn every_list_report_route_is_a_command_with_its_parameters() {
        let cli = crate::Cli::command();
        let report = cli.find_subcommand("report").unwrap();
        let reports = ROUTES
            .iter()
            .filter(|r| r.tag == Tag::Reports || !matches!(r.output, Output::Inferred));
        let mut checked = 0;
        for route in reports {
            if ELSEWHERE.iter().any(|(path, _)| *path == route.path) {
                assert!(route.command.is_none(), "{}", route.path);
                continue;
            }
            let command = route
                .command
                .unwrap_or_else(|| panic!("{}: a report route without a command", route.path));
            let sub = report
                .find_subcommand(command.name)
                .unwrap_or_else(|| panic!("no `report {}`", command.name));
            assert_eq!(
                sub.get_about().map(ToString::to_string).as_deref(),
                Some(route.summary),
                "{}",
                route.path
            );
            let flags: Vec<(String, bool)> = sub
                .get_arguments()
                .filter(|a| !OWN.contains(&a.get_id().as_str()))
                .map(|a| (a.get_long().unwrap().to_owned(), a.is_required_set()))
                .collect();
            let params: Vec<(String, bool)> = route
                .params
                .iter()
                .filter(|p| p.name != "format")
                .map(|p| (command.flag(p.name), p.required))
                .collect();
            assert_eq!(flags, params, "report {}", command.name);
            // Its rows have columns, for the table, CSV and Parquet.
            assert!(
                route.output.columns(command.table, |_| None).is_some(),
                "{}",
                route.path
            );
            checked += 1;
        }
        assert_eq!(
            checked,
            commands().count(),
            "a command on a non-report route"
        );
    }

    #[test]
    fn a_request_carries_the_flags_as_the_routes_parameters() {
        let (route, command) = find("interest").unwrap();
        let mut cmd = RouteCommand {
            route,
            command,
            values: vec![("id", "acc 1/2".to_owned())],
            db: PathBuf::new(),
            config: None,
            out: OutputArgs {
                format: Format::Table,
                output: None,
            },
        };
        assert_eq!(
            uri(&cmd, Some((10_000, 20_000))),
            "/v1/accounts/acc%201%2F2/interest?limit=10000&offset=20000"
        );
        cmd.values.push(("limit", "5&x=1".to_owned()));
        assert_eq!(
            uri(&cmd, None),
            "/v1/accounts/acc%201%2F2/interest?limit=5%26x%3D1"
        );
        assert_eq!(command.flag("id"), "account");
    }
}
