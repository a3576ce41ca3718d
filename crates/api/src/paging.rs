//! Pages of list answers. A list that grows with the data (a person's touches,
//! a scan of every lead) is answered `limit` rows at a time from `offset`
//! (from `from_seq` for a stream of events), so no answer grows without bound.
//!
//! Array answers keep their shape, a JSON array of the page's rows; the rest
//! travels in headers: `X-Total-Count`, the rows in all pages, and
//! `Link: <…>; rel="next"` (RFC 8288), the request with the parameters of the
//! next page, present while rows remain. A record holding a paged list (the
//! person) also says so in its body.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::params::{ParamError, Problem};
use crate::parse_param;

/// Rows per page when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 1000;
/// The largest `limit`; a larger one gets 400.
pub const MAX_LIMIT: usize = 10_000;
/// The header that carries the rows in all pages.
pub const TOTAL_COUNT: HeaderName = HeaderName::from_static("x-total-count");
/// The headers that describe a page, whatever its format.
pub(crate) const PAGING_HEADERS: [HeaderName; 2] = [TOTAL_COUNT, header::LINK];

/// `limit` and `offset` as the query spells them.
#[derive(Debug, Deserialize)]
pub(crate) struct PageParams {
    limit: Option<String>,
    offset: Option<String>,
}

/// Which rows of a list to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub limit: usize,
    pub offset: usize,
}

impl PageParams {
    pub fn page(&self, default_limit: usize) -> Result<Page, ParamError> {
        Ok(Page {
            limit: parse_limit(self.limit.as_deref(), default_limit)?,
            offset: parse_param(
                "offset",
                self.offset.as_deref(),
                0usize,
                "a non-negative integer",
            )?,
        })
    }
}

/// `limit`: 1 to [`MAX_LIMIT`], `default` when absent.
pub(crate) fn parse_limit(text: Option<&str>, default: usize) -> Result<usize, ParamError> {
    let limit = parse_param("limit", text, default, "a non-negative integer")?;
    let problem = if limit == 0 {
        Problem::BelowMinimum {
            value: 0,
            minimum: 1,
        }
    } else if limit > MAX_LIMIT {
        Problem::AboveMaximum {
            value: limit as u64,
            maximum: MAX_LIMIT as u64,
        }
    } else {
        return Ok(limit);
    };
    Err(ParamError::new("limit", problem))
}

impl Page {
    /// This page of `rows`, how many there are in all, and the offset of the
    /// next page if rows remain.
    pub fn take<T>(self, rows: Vec<T>) -> (Vec<T>, usize, Option<usize>) {
        let total = rows.len();
        let end = self.offset.saturating_add(self.limit).min(total);
        let page = rows
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect();
        (page, total, (end < total).then_some(end))
    }

    /// This page of `rows` as an answer.
    pub fn of<T>(self, rows: Vec<T>) -> Paged<T> {
        let (rows, total, next) = self.take(rows);
        Paged {
            rows,
            total: Some(total),
            next: next.map(NextPage::offset),
        }
    }
}

/// The query parameters that fetch the next page; [`link_next`] turns them
/// into a `Link` header, since only it knows the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NextPage(pub Vec<(&'static str, String)>);

impl NextPage {
    pub fn offset(offset: usize) -> Self {
        NextPage(vec![("offset", offset.to_string())])
    }
}

/// One page of a list answer.
#[derive(Debug)]
pub(crate) struct Paged<T> {
    pub rows: Vec<T>,
    pub total: Option<usize>,
    pub next: Option<NextPage>,
}

impl<T> Paged<T> {
    /// The page rendered by `render` (e.g. trimmed for a role), with its headers.
    pub fn render(self, render: impl FnOnce(Vec<T>) -> Response) -> Response {
        with_paging(render(self.rows), self.total, self.next)
    }
}

impl<T: Serialize> IntoResponse for Paged<T> {
    fn into_response(self) -> Response {
        self.render(|rows| axum::Json(rows).into_response())
    }
}

/// Adds `X-Total-Count` and what [`link_next`] needs for `Link`.
pub(crate) fn with_paging(
    mut response: Response,
    total: Option<usize>,
    next: Option<NextPage>,
) -> Response {
    if let Some(total) = total {
        response
            .headers_mut()
            .insert(TOTAL_COUNT, HeaderValue::from(total));
    }
    if let Some(next) = next {
        response.extensions_mut().insert(next);
    }
    response
}

/// Writes the `Link` header of a paged answer from the request's own URI.
pub(crate) async fn link_next(request: Request, next: Next) -> Response {
    let uri = request.uri().clone();
    let mut response = next.run(request).await;
    if let Some(NextPage(params)) = response.extensions_mut().remove::<NextPage>() {
        let link = format!("<{}>; rel=\"next\"", next_uri(&uri, &params));
        // The URI was a valid request line and the parameters are digits.
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

/// The request's path and query with `params` set (replaced or added).
fn next_uri(uri: &Uri, params: &[(&'static str, String)]) -> String {
    let mut query: Vec<String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or("");
            !pair.is_empty() && !params.iter().any(|(name, _)| *name == key)
        })
        .map(str::to_owned)
        .collect();
    query.extend(params.iter().map(|(name, value)| format!("{name}={value}")));
    format!("{}?{}", uri.path(), query.join("&"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_page_says_how_many_rows_and_where_the_next_page_starts() {
        let page = Page {
            limit: 2,
            offset: 1,
        };
        assert_eq!(page.take(vec![1, 2, 3, 4]), (vec![2, 3], 4, Some(3)));
        assert_eq!(page.take(vec![1, 2, 3]), (vec![2, 3], 3, None));
        let far = Page {
            limit: 2,
            offset: usize::MAX,
        };
        assert_eq!(far.take(vec![1]), (vec![], 1, None));
    }

    #[test]
    fn the_next_link_keeps_the_other_parameters() {
        let uri: Uri = "/v1/leads?owner=rep%201&limit=2&offset=0&format=csv"
            .parse()
            .unwrap();
        assert_eq!(
            next_uri(&uri, &NextPage::offset(2).0),
            "/v1/leads?owner=rep%201&limit=2&format=csv&offset=2"
        );
        let bare: Uri = "/v1/campaigns".parse().unwrap();
        assert_eq!(
            next_uri(&bare, &NextPage::offset(1000).0),
            "/v1/campaigns?offset=1000"
        );
    }

    #[test]
    fn limits_outside_one_to_the_maximum_are_refused_by_name() {
        assert_eq!(parse_limit(None, 100).unwrap(), 100);
        assert_eq!(parse_limit(Some("10000"), 100).unwrap(), 10_000);
        for (text, message) in [
            ("0", "parameter limit: 0 is below the minimum 1"),
            ("10001", "parameter limit: 10001 is above the maximum 10000"),
            (
                "-1",
                "parameter limit: \"-1\" is not a non-negative integer",
            ),
        ] {
            let e = parse_limit(Some(text), 100).unwrap_err();
            assert_eq!(e.name, "limit");
            assert_eq!(e.to_string(), message);
        }
    }
}
