//! `GET /v1/persons/{id}` and its events: the person with a page of touches,
//! and the person's stream from the log.

use super::*;

/// The person view with one page of its touches; its other fields as stored.
#[derive(Serialize)]
pub(crate) struct PersonBody {
    #[serde(flatten)]
    view: PersonView,
    /// Touches in all pages.
    touch_count: usize,
    /// The `offset` of the next page of touches, while touches remain.
    touches_next_offset: Option<usize>,
}

pub(crate) async fn person(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(page): Query<PageParams>,
) -> Result<Response, ApiError> {
    let page = page.page(DEFAULT_LIMIT)?;
    blocking(move || {
        let mut view = state
            .queries
            .person(&id)?
            .ok_or_else(|| ApiError::not_found(format!("no person with id {id:?}")))?;
        let (touches, total, next) = page.take(std::mem::take(&mut view.touches));
        view.touches = touches;
        let body = PersonBody {
            view,
            touch_count: total,
            touches_next_offset: next,
        };
        Ok(paging::with_paging(
            Json(body).into_response(),
            Some(total),
            next.map(paging::NextPage::offset),
        ))
    })
    .await
}

#[derive(Deserialize)]
pub(crate) struct EventsParams {
    from_seq: Option<String>,
    limit: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct EventBody {
    pub(crate) seq: u64,
    #[serde(flatten)]
    pub(crate) envelope: touchline_core::Envelope,
}

pub(crate) async fn person_events(
    State(state): State<AppState>,
    axum::Extension(role): axum::Extension<Role>,
    Path(id): Path<String>,
    Query(params): Query<EventsParams>,
) -> Result<Response, ApiError> {
    let from_seq = parse_param(
        "from_seq",
        params.from_seq.as_deref(),
        0u64,
        "a non-negative integer",
    )?;
    let limit = paging::parse_limit(params.limit.as_deref(), DEFAULT_LIMIT)?;
    blocking(move || {
        // One more than asked tells whether a next page exists and where it starts.
        let mut events =
            state
                .queries
                .stream(StreamKind::Person, &id, from_seq, limit.saturating_add(1))?;
        let next = (events.len() > limit).then(|| {
            let next = events[limit].seq;
            events.truncate(limit);
            paging::NextPage(vec![("from_seq", next.to_string())])
        });
        let rows = events
            .into_iter()
            .map(|e| EventBody {
                seq: e.seq,
                envelope: e.envelope,
            })
            .collect::<Vec<_>>();
        Ok(Paged {
            rows,
            total: None,
            next,
        })
    })
    .await
    .map(|page| page.render(|rows| for_role(role, rows)))
}
