//! `GET /v1/persons/{id}` and its events: the person with a page of touches,
//! and the person's stream from the log.

use super::*;
use crate::entries::{self, ConversionInfo, FollowUpEntry, RoutingEntry, all};
use touchline_core::OwnerKind;

/// `GET /v1/persons/{id}`: a lead or contact with one page of its touches.
/// A boundary type: these fields are the API's contract (the OpenAPI `PersonView`
/// and `PersonPage` schemas) whatever the stored view holds besides.
#[derive(Serialize)]
pub(crate) struct Person<'v> {
    person_id: &'v str,
    kind: PersonKind,
    email: &'v str,
    phone: &'v str,
    first_name: &'v str,
    last_name: &'v str,
    company: &'v str,
    account_id: &'v str,
    owner_id: &'v str,
    owner_kind: OwnerKind,
    routing: Vec<RoutingEntry<'v>>,
    lead_created_at: Option<Timestamp>,
    source: Option<&'v LeadSource>,
    status: Option<LeadStatus>,
    qualified_at: Option<Timestamp>,
    qualification: &'v Qualification,
    /// This page of the touches.
    touches: Vec<entries::TouchEntry<'v>>,
    /// Touches in all pages.
    touch_count: usize,
    /// The `offset` of the next page of touches, while touches remain.
    touches_next_offset: Option<usize>,
    /// Touches beyond the per-person limit, counted but not kept.
    touches_set_aside: u64,
    converted: Option<ConversionInfo<'v>>,
    follow_ups: Vec<FollowUpEntry<'v>>,
    opportunity_ids: &'v [String],
    accounts: &'v [String],
    merged_into: Option<&'v str>,
    merged_from: &'v [String],
    last_seq: u64,
}

impl<'v> Person<'v> {
    pub(crate) fn of(
        view: &'v PersonView,
        touches: &'v [TouchEntry],
        touch_count: usize,
        next: Option<usize>,
    ) -> Self {
        Person {
            person_id: &view.person_id,
            kind: view.kind,
            email: &view.email,
            phone: &view.phone,
            first_name: &view.first_name,
            last_name: &view.last_name,
            company: &view.company,
            account_id: &view.account_id,
            owner_id: &view.owner_id,
            owner_kind: view.owner_kind,
            routing: all(&view.routing, RoutingEntry::of),
            lead_created_at: view.lead_created_at,
            source: view.source.as_ref(),
            status: view.status,
            qualified_at: view.qualified_at,
            qualification: &view.qualification,
            touches: all(touches, entries::TouchEntry::of),
            touch_count,
            touches_next_offset: next,
            touches_set_aside: view.touches_set_aside,
            converted: view.converted.as_ref().map(ConversionInfo::of),
            follow_ups: all(&view.follow_ups, FollowUpEntry::of),
            opportunity_ids: &view.opportunity_ids,
            accounts: &view.accounts,
            merged_into: view.merged_into.as_deref(),
            merged_from: &view.merged_from,
            last_seq: view.last_seq,
        }
    }
}

pub(crate) async fn person(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(page): Query<PageParams>,
) -> Result<Response, ApiError> {
    let page = page.page(DEFAULT_LIMIT)?;
    blocking(move || {
        let (view, rows) = state
            .queries
            .person_with_touches(&id)?
            .ok_or_else(|| ApiError::not_found(format!("no person with id {id:?}")))?;
        let (touches, total, next) = page.take(rows);
        let body = Person::of(&view, &touches, total, next);
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

/// An event of a stream as the API answers it: its log position and the
/// envelope's fields beside it.
#[derive(Serialize)]
pub(crate) struct EventBody<'v> {
    seq: u64,
    #[serde(flatten)]
    envelope: &'v touchline_core::Envelope,
}

impl<'v> EventBody<'v> {
    pub(crate) fn of(event: &'v touchline_store::StoredEvent) -> Self {
        EventBody {
            seq: event.seq,
            envelope: &event.envelope,
        }
    }
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
        Ok(Paged {
            rows: events,
            total: None,
            next,
        })
    })
    .await
    .map(|page| {
        page.render(|rows| for_role(role, rows.iter().map(EventBody::of).collect::<Vec<_>>()))
    })
}
