//! The route table: every route of the API is one row of [`ROUTES`] (the rows
//! are in `table.rs`): method, path, operation id, tag, access area, cost,
//! the columns its list answers are written with, summary, parameters and
//! handler. The router, the access areas ([`Area::of`]), the costs
//! ([`Cost::of`]), the CSV export and the paths of the OpenAPI document
//! ([`crate::openapi_document`]) are all read from it, so a route is added in
//! one place and they cannot disagree.

use axum::Router;
use axum::routing::{MethodFilter, MethodRouter};

use crate::AppState;
use crate::access::Area;
use crate::limits::Cost;
use crate::param_spec::Param;
use touchline_report_output::Column;

mod table;
pub use table::ROUTES;

/// The HTTP methods the API routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    /// As OpenAPI spells it: lower case.
    pub fn name(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
        }
    }

    pub fn http(self) -> axum::http::Method {
        match self {
            Method::Get => axum::http::Method::GET,
            Method::Post => axum::http::Method::POST,
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
        }
    }
}

/// The groups of the OpenAPI document, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    System,
    People,
    Leads,
    Opportunities,
    Campaigns,
    Conversions,
    Accounts,
    Reports,
}

impl Tag {
    pub const ALL: [Tag; 8] = [
        Tag::System,
        Tag::People,
        Tag::Leads,
        Tag::Opportunities,
        Tag::Campaigns,
        Tag::Conversions,
        Tag::Accounts,
        Tag::Reports,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tag::System => "system",
            Tag::People => "people",
            Tag::Leads => "leads",
            Tag::Opportunities => "opportunities",
            Tag::Campaigns => "campaigns",
            Tag::Conversions => "conversions",
            Tag::Accounts => "accounts",
            Tag::Reports => "reports",
        }
    }
}

/// The columns a route's list answer is written with: by `format=csv`, and
/// by the CLI as a table, CSV or Parquet ([`crate::report_columns`]).
#[derive(Debug, Clone, Copy)]
pub enum Output {
    /// Every field the answer holds, in first-seen order (a record's lists,
    /// the status).
    Inferred,
    /// The answer's one list.
    Rows(&'static [Column]),
    /// An answer of several lists: `table=` names one.
    Tables(&'static [(&'static str, &'static [Column])]),
    /// Rows whose shape follows a parameter (`by`): the columns for each of
    /// its values; absent, the first.
    By {
        param: &'static str,
        choices: &'static [(&'static str, &'static [Column])],
    },
}

impl Output {
    /// The declared columns for the list `table` (when the answer holds
    /// several) under the request's parameters, if the route declares them.
    pub fn columns<'a>(
        &self,
        table: Option<&str>,
        param: impl Fn(&str) -> Option<&'a str>,
    ) -> Option<&'static [Column]> {
        match *self {
            Output::Inferred => None,
            Output::Rows(columns) => Some(columns),
            Output::Tables(tables) => {
                let table = table?;
                tables.iter().find(|(t, _)| *t == table).map(|(_, c)| *c)
            }
            Output::By {
                param: name,
                choices,
            } => match param(name) {
                Some(value) => choices.iter().find(|(v, _)| *v == value).map(|(_, c)| *c),
                None => choices.first().map(|(_, c)| *c),
            },
        }
    }
}

/// The CLI command a route is: `touchline report <name>`, its flags the
/// route's parameters (`format` aside, the CLI's own `--format` taking
/// table and parquet too), each `--<name>` with `_` as `-` unless renamed
/// here, its help the route's summary and the parameters' descriptions. The
/// command sends the route's request to the API in process, so its checks,
/// errors and answer are the route's.
#[derive(Debug, Clone, Copy)]
pub struct Command {
    pub name: &'static str,
    /// Flags spelled otherwise than their parameter: (parameter, flag), e.g.
    /// the forecast's `table` is `--by`, an account's `{id}` `--account`.
    pub renamed: &'static [(&'static str, &'static str)],
    /// Of an answer of several lists, the one printed unless a flag picks
    /// another.
    pub table: Option<&'static str>,
}

impl Command {
    /// `touchline report <name>`, each flag named for its parameter.
    pub const fn named(name: &'static str) -> Command {
        Command {
            name,
            renamed: &[],
            table: None,
        }
    }

    pub const fn renamed(self, renamed: &'static [(&'static str, &'static str)]) -> Command {
        Command { renamed, ..self }
    }

    pub const fn table(self, table: &'static str) -> Command {
        Command {
            table: Some(table),
            ..self
        }
    }

    /// The flag of a parameter, without its `--`.
    pub fn flag(&self, param: &str) -> String {
        self.renamed
            .iter()
            .find(|(p, _)| *p == param)
            .map_or_else(|| param.replace('_', "-"), |(_, flag)| (*flag).to_owned())
    }
}

/// One route: what the router, the access check, the request limits and the
/// OpenAPI document know of it.
#[derive(Debug)]
pub struct Route {
    pub method: Method,
    /// The path pattern as the router matches it (`/v1/leads/{id}`).
    pub path: &'static str,
    /// The OpenAPI `operationId`, also the key of the route's description and
    /// answers in `openapi_operations.json`.
    pub operation_id: &'static str,
    pub tag: Tag,
    /// Which roles may call it ([`crate::access::may`]).
    pub area: Area,
    /// Whether it needs a permit ([`crate::limits`]).
    pub cost: Cost,
    /// How its list answers are written as CSV, tables and Parquet.
    pub output: Output,
    /// The `touchline report` command that asks it, if one does.
    pub command: Option<Command>,
    /// One line: what it answers.
    pub summary: &'static str,
    /// Its path parameters and the query parameters it reads.
    pub params: &'static [Param],
    /// The handler, routed for the method it is given, so that the row states
    /// its method once, in `method`.
    pub(crate) handler: fn(MethodFilter) -> MethodRouter<AppState>,
}

/// The router of every route in [`ROUTES`], before the layers every request
/// passes ([`crate::router_with_limits`] adds them).
pub(crate) fn router() -> Router<AppState> {
    ROUTES.iter().fold(Router::new(), |router, route| {
        router.route(route.path, (route.handler)(route.method.filter()))
    })
}

/// The area of a path pattern. Routes of one path share their area (a test
/// checks it), so a method the path does not route is refused or answered 405
/// as the path's area says, as for any request.
pub(crate) fn area_of(path: &str) -> Option<Area> {
    ROUTES.iter().find(|r| r.path == path).map(|r| r.area)
}

/// The route of a method and path pattern.
pub fn route(method: &axum::http::Method, path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.path == path && r.method.http() == *method)
}

/// The cost of a path pattern; routes of one path share it too.
pub(crate) fn cost_of(path: &str) -> Option<Cost> {
    ROUTES.iter().find(|r| r.path == path).map(|r| r.cost)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::param_spec::Location;

    #[test]
    fn a_route_is_one_method_on_one_path_with_one_operation_id() {
        let mut routes = HashSet::new();
        let mut ids = HashSet::new();
        for route in ROUTES {
            assert!(
                routes.insert((route.method, route.path)),
                "{:?} {} twice",
                route.method,
                route.path
            );
            assert!(
                ids.insert(route.operation_id),
                "{} twice",
                route.operation_id
            );
        }
    }

    #[test]
    fn routes_of_one_path_share_its_area_and_cost() {
        // Authorization and limits look a request up by the matched path alone.
        for route in ROUTES {
            assert_eq!(area_of(route.path), Some(route.area), "{}", route.path);
            assert_eq!(cost_of(route.path), Some(route.cost), "{}", route.path);
        }
    }

    #[test]
    fn path_parameters_are_the_segments_of_the_path() {
        for route in ROUTES {
            let segments: Vec<&str> = route
                .path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            let declared: Vec<&str> = route
                .params
                .iter()
                .filter(|p| p.location == Location::Path)
                .map(|p| p.name)
                .collect();
            assert_eq!(segments, declared, "{}", route.path);
            let mut names = HashSet::new();
            for param in route.params {
                assert!(
                    names.insert(param.name),
                    "{}: {} twice",
                    route.path,
                    param.name
                );
            }
        }
    }

    #[test]
    fn conversion_ids_are_documented_with_every_conversion_point() {
        let points = crate::param_spec::conversion_names().join("|");
        assert_eq!(table::CONVERSION_ID_PATTERN, format!("^({points}):"));
    }

    #[test]
    fn the_public_routes_cost_nothing() {
        // A probe must answer while every permit is taken.
        for route in ROUTES {
            assert_eq!(
                route.area == Area::Public,
                route.cost == Cost::Free,
                "{}",
                route.path
            );
        }
    }
}
