//! A route's parameters as the route table states them and the OpenAPI
//! document shows them: name, where it goes, its type or choices, whether it is
//! required, a default, a one-line description. The parsing is in
//! [`crate::params`]; tests send every documented choice and a bad value of
//! each parameter to its route, so the two cannot part.

use touchline_attribution::{ConversionKind, Model};

use crate::paging::{DEFAULT_LIMIT, MAX_LIMIT};

/// Where a parameter goes in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A `{name}` segment of the path pattern.
    Path,
    Query,
}

impl Location {
    pub fn name(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
        }
    }
}

/// The names a choice parameter accepts.
#[derive(Debug, Clone, Copy)]
pub enum Choices {
    /// Listed in the table.
    Names(&'static [&'static str]),
    /// As the type the parameter parses into lists them, so a new model or
    /// conversion point is documented the day it is parsed.
    Of(fn() -> Vec<&'static str>),
}

impl Choices {
    pub fn names(&self) -> Vec<&'static str> {
        match self {
            Choices::Names(names) => names.to_vec(),
            Choices::Of(list) => list(),
        }
    }
}

/// What a parameter's value is.
#[derive(Debug, Clone, Copy)]
pub enum ParamType {
    /// Text, matching `pattern` when there is one.
    Text {
        pattern: Option<&'static str>,
    },
    Integer {
        minimum: i64,
        maximum: Option<i64>,
    },
    /// A number above `above` (exclusive), at most `maximum`.
    Number {
        above: f64,
        maximum: f64,
    },
    /// `true` or `false`.
    Boolean,
    OneOf(Choices),
}

/// The value a route assumes when the parameter is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    Text(&'static str),
    Integer(i64),
    Boolean(bool),
}

/// One parameter of a route.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub location: Location,
    pub kind: ParamType,
    pub required: bool,
    pub default: Option<DefaultValue>,
    pub examples: &'static [&'static str],
    pub description: &'static str,
    /// For the parameters many routes share: the OpenAPI document describes
    /// them once, under this name in `components/parameters`.
    pub shared_as: Option<&'static str>,
}

impl Param {
    /// The `{name}` segment of the path; always required.
    pub const fn path(name: &'static str, description: &'static str) -> Param {
        Param {
            name,
            location: Location::Path,
            kind: ParamType::Text { pattern: None },
            required: true,
            default: None,
            examples: &[],
            description,
            shared_as: None,
        }
    }

    /// An optional text parameter of the query.
    pub const fn query(name: &'static str, description: &'static str) -> Param {
        Param {
            location: Location::Query,
            required: false,
            ..Param::path(name, description)
        }
    }

    pub const fn pattern(self, pattern: &'static str) -> Param {
        Param {
            kind: ParamType::Text {
                pattern: Some(pattern),
            },
            ..self
        }
    }

    pub const fn integer(self, minimum: i64, maximum: Option<i64>) -> Param {
        Param {
            kind: ParamType::Integer { minimum, maximum },
            ..self
        }
    }

    pub const fn number(self, above: f64, maximum: f64) -> Param {
        Param {
            kind: ParamType::Number { above, maximum },
            ..self
        }
    }

    pub const fn boolean(self) -> Param {
        Param {
            kind: ParamType::Boolean,
            ..self
        }
    }

    pub const fn one_of(self, names: &'static [&'static str]) -> Param {
        Param {
            kind: ParamType::OneOf(Choices::Names(names)),
            ..self
        }
    }

    pub const fn one_of_code(self, list: fn() -> Vec<&'static str>) -> Param {
        Param {
            kind: ParamType::OneOf(Choices::Of(list)),
            ..self
        }
    }

    pub const fn default(self, value: DefaultValue) -> Param {
        Param {
            default: Some(value),
            ..self
        }
    }

    /// The same parameter with a description of its own.
    pub const fn described(self, description: &'static str) -> Param {
        Param {
            description,
            ..self
        }
    }

    pub const fn examples(self, examples: &'static [&'static str]) -> Param {
        Param { examples, ..self }
    }

    /// Refuses a value a choice parameter does not take, in the words the
    /// API's parsers use (`"weeks" is not months or deals`). For the
    /// parameters no handler parses, such as `table` outside CSV.
    pub fn check_choice(&self, value: &str) -> Result<(), crate::ParamError> {
        let ParamType::OneOf(choices) = self.kind else {
            return Ok(());
        };
        let names = choices.names();
        if names.contains(&value) {
            return Ok(());
        }
        let expected = match names.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => "a choice".to_owned(),
        };
        Err(crate::ParamError::not_a(self.name, value, expected))
    }

    const fn shared(self, component: &'static str) -> Param {
        Param {
            shared_as: Some(component),
            ..self
        }
    }
}

/// The attribution models by name.
pub fn model_names() -> Vec<&'static str> {
    Model::ALL.iter().map(|m| m.name()).collect()
}

/// The conversion points by name.
pub fn conversion_names() -> Vec<&'static str> {
    ConversionKind::ALL.iter().map(|k| k.name()).collect()
}

pub const FROM: Param = Param::query(
    "from",
    "Start of the range, inclusive; open when absent. RFC 3339 time (`2026-03-01T09:30:00Z`) or \
     a plain date (`2026-03-01`, midnight UTC).",
)
.examples(&["2026-01-01"])
.shared("From");

pub const TO: Param = Param::query(
    "to",
    "End of the range, exclusive; open when absent; must be after `from`. RFC 3339 time \
     (`2026-03-01T09:30:00Z`) or a plain date (`2026-03-01`, midnight UTC).",
)
.examples(&["2026-07-01"])
.shared("To");

pub const AT: Param = Param::query(
    "at",
    "The instant to answer for; now when absent. RFC 3339 time (`2026-03-01T09:30:00Z`) or a \
     plain date (`2026-03-01`, midnight UTC).",
)
.examples(&["2026-03-01"])
.shared("At");

pub const SYNTHESIZED: Param = Param::query(
    "synthesized",
    "Whether touches synthesized from other data (`touchline import`'s backfill from a legacy \
     lead-source field; a touch's `provenance.origin`) may be credited: `include` or `exclude`. \
     Default: the configured `attribution.synthesized_touches`, which the stored and published \
     credits follow; the other choice is computed on request, as a what-if, and changes nothing. \
     Any other value is a 400 naming `synthesized`.",
)
.one_of(&["include", "exclude"])
.shared("Synthesized");

pub const OWNER: Param =
    Param::query("owner", "Only leads whose owner_id is exactly this.").shared("Owner");

pub const FORMAT: Param = Param::query(
    "format",
    "`csv` answers the list as CSV (`text/csv; charset=utf-8`): one header row, one row per \
     item in long format: nested objects become dotted columns (`amount.amount_minor`), a row's \
     first list one row per element with the other fields repeated (an empty list one row with \
     its fields empty), any further list one cell joined by `;`; null is an empty cell. The \
     columns are the answer's fields in its order (a report's are declared, so even an empty \
     answer has its header; elsewhere every key seen, in first-seen order). Numbers are written \
     as JSON writes them, at full precision; `true`/`false` as in JSON. Any other value is a \
     400 before the handler runs. Errors stay JSON. Text never becomes a formula: a text cell, \
     and a column name, that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is \
     written with a single quote `'` in front (OWASP, CSV injection), e.g. `'=SUM(A1)`, `'+1`, \
     `'-x`; numbers are not text, so `-12.5` stays a number. `X-Total-Count` and `Link` of a \
     paged answer hold for the CSV rows too (they count items, before the long format). The \
     CLI's `--format csv` of the same report and query is the same bytes. An export is an \
     expensive request (503 with `Retry-After` beyond the limit).",
)
.one_of(&["json", "csv"])
.default(DefaultValue::Text("json"))
.shared("Format");

pub const LIMIT: Param = Param::query(
    "limit",
    "Most rows to return: 1 to 10000 (1000 when absent); 0, more than 10000 or not an integer is \
     a 400 naming `limit`.",
)
.integer(1, Some(MAX_LIMIT as i64))
.default(DefaultValue::Integer(DEFAULT_LIMIT as i64))
.shared("Limit");

pub const OFFSET: Param = Param::query(
    "offset",
    "Rows to skip: where this page starts in the whole list. Past the end, the page is empty. \
     Not an integer is a 400 naming `offset`.",
)
.integer(0, None)
.default(DefaultValue::Integer(0))
.shared("Offset");

/// `table`: which list of an answer holding several a CSV export takes.
pub const fn table(lists: &'static [&'static str]) -> Param {
    Param::query(
        "table",
        "With `format=csv`, required: which list field of the answer to export.",
    )
    .one_of(lists)
}
