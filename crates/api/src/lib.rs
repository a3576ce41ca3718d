//! The HTTP JSON API over the read models.
//!
//! Every handler reads committed state through [`Queries`]; none writes the
//! store. The one command, re-routing a lead, becomes a `lead_routed` event
//! handed to an [`touchline_engine::EventSink`]. Every route but health and
//! `/openapi.json` needs a token whose role may use it ([`access`]). Bad
//! parameters get a 400 whose message names the parameter (parsers return a
//! [`ParamError`]); unknown ids a 404.
//! Every list answer is also CSV with `format=csv` (`table=` picks one list of
//! an answer that holds several).
//!
//! No request may take the instance down ([`limits`], `paging`): lists that
//! grow with the data are paged (`limit` 1 to [`MAX_LIMIT`], `offset`; the total
//! in `X-Total-Count`, the next page in `Link`), expensive requests run under a
//! fixed number of permits and beyond it get 503 with `Retry-After`, and a
//! request body has a size limit (413).
//!
//! Every route is one row of the route table, [`routes::ROUTES`]: its method,
//! path, access area, cost, parameters, summary and handler. The router, the
//! access check ([`access::Area::of`]), the limits ([`Cost::of`]) and the
//! OpenAPI 3.1 document served at `/openapi.json` ([`openapi_document`]) are
//! derived from it, so adding a route is adding a row (and the prose of its
//! answers to `openapi_operations.json`, which a test asks for).
//!
//! ```no_run
//! # async fn run(queries: touchline_engine::Queries, metrics: std::sync::Arc<touchline_engine::Metrics>) {
//! let app = touchline_api::router(queries, metrics);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use touchline_attribution::{ConversionKind, Model};
use touchline_core::{LeadSource, LeadStatus, Qualification, StreamKind, Timestamp};
use touchline_engine::data_driven::{
    DataDrivenModel, DataDrivenReport, DataDrivenReportError, Granularity,
};
use touchline_engine::{
    GroupBy, Metrics, MetricsSnapshot, PartitionStatus, Queries, StalledPartition, TimeRange,
};
use touchline_projection::{PersonKind, PersonView, TouchEntry};
use touchline_store::PartitionOffset;

pub mod access;
pub mod as_of;
mod authorize;
mod backup;
mod conversions;
mod csv_export;
mod drilldown;
mod entries;
mod error;
pub mod limits;
mod openapi;
pub mod operations;
mod paging;
mod param_error;
pub mod param_spec;
pub mod params;
mod parked;
mod peer_reads;
pub mod peers;
mod persons;
mod records;
pub mod report_columns;
mod reroute;
pub mod routes;
mod shards;
pub mod what_if;

pub use access::{Access, Role, TokenConfig};
pub use as_of::{AS_OF_PARAMETERS, as_of_error, as_of_request, parse_as_of};
use authorize::{authorize, for_role};
pub use error::ApiError;
pub use limits::{ApiLimits, Cost, ExpensiveGate, ExpensivePermit};
pub use openapi::{OpenApiError, openapi_document};
pub use operations::{DEFAULT_READY_MAX_LAG, Probe, metrics_router};
pub use paging::{DEFAULT_LIMIT, MAX_LIMIT, TOTAL_COUNT};
pub use param_error::{ParamError, Problem};
pub(crate) use params::{configured_model, parse_at, parse_param};
pub use peers::PeerClient;
pub use reroute::{RouteAccepted, route_event_id};
pub use shards::{SHARDS_HELD, SHARDS_READ, SHARDS_TOTAL};
pub use what_if::{DEFAULT_MOVED_LIMIT, WHAT_IF_PARAMETERS, what_if_error};

use paging::{Page, PageParams, Paged};

#[derive(Clone)]
struct AppState {
    queries: Queries,
    metrics: Arc<Metrics>,
    settings: Arc<touchline_attribution::AttributionSettings>,
    scoring: Arc<touchline_engine::ScoringConfig>,
    routing: Arc<touchline_projection::RoutingRules>,
    pipeline: Arc<touchline_engine::PipelineConfig>,
    commands: Option<Arc<dyn touchline_engine::EventSink>>,
    max_body_bytes: usize,
    ready_max_lag: u64,
}

impl axum::extract::FromRef<AppState> for operations::Probe {
    fn from_ref(state: &AppState) -> Self {
        operations::Probe {
            metrics: state.metrics.clone(),
            ready_max_lag: state.ready_max_lag,
        }
    }
}

/// What shapes the API beyond the store: attribution settings for the
/// data-driven report, scoring weights, routing and pipeline definitions, who
/// may call what, and where commands go.
#[derive(Clone, Default)]
pub struct ApiOptions {
    /// Lookback and filter shape the journeys of the data-driven report, as they
    /// shape the per-conversion models.
    pub settings: touchline_attribution::AttributionSettings,
    pub scoring: touchline_engine::ScoringConfig,
    /// Tokens and roles (R6); [`Access::Open`] lets every caller act as admin.
    pub access: Access,
    /// The follow-up deadline that makes a lead overdue (R20).
    pub routing: touchline_projection::RoutingRules,
    /// Stage probabilities of the weighted forecast (R5).
    pub pipeline: touchline_engine::PipelineConfig,
    /// Where events made through the API go (re-routing a lead); without one,
    /// such requests get 503.
    pub commands: Option<Arc<dyn touchline_engine::EventSink>>,
    /// `/readyz` fails while a partition is more messages behind than this;
    /// `None`: [`DEFAULT_READY_MAX_LAG`].
    pub ready_max_lag: Option<u64>,
}

impl std::fmt::Debug for ApiOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiOptions")
            .field("access", &self.access)
            .field("commands", &self.commands.is_some())
            .finish_non_exhaustive()
    }
}

/// The API's routes with default options: open access, default settings.
pub fn router(queries: Queries, metrics: Arc<Metrics>) -> Router {
    router_with(queries, metrics, ApiOptions::default())
}

/// The API's routes with the default [`ApiLimits`].
pub fn router_with(queries: Queries, metrics: Arc<Metrics>, options: ApiOptions) -> Router {
    router_with_limits(queries, metrics, options, ApiLimits::default())
}

/// The API's routes, each request bounded by `limits`.
pub fn router_with_limits(
    queries: Queries,
    metrics: Arc<Metrics>,
    options: ApiOptions,
    limits: ApiLimits,
) -> Router {
    let ApiOptions {
        settings,
        scoring,
        access,
        routing,
        pipeline,
        commands,
        ready_max_lag,
    } = options;
    let observed = metrics.clone();
    let sharded = match queries.stores() {
        touchline_engine::Stores::Shards(held) => Some(held.clone()),
        touchline_engine::Stores::One(_) => None,
    };
    let router = routes::router()
        // Checked after routing, so the permission and the cost are looked up
        // by route pattern. Outermost last: authorize, then the expensive-request
        // permit (held through the CSV conversion), then CSV, then paging links.
        .route_layer(axum::middleware::from_fn(paging::link_next))
        .route_layer(axum::middleware::from_fn(csv_export::csv_export))
        .route_layer(axum::middleware::from_fn_with_state(
            limits.expensive,
            limits::limit_expensive,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::new(access),
            authorize,
        ))
        // Outermost: refusals (401, 403, 503) are logged and counted too.
        .route_layer(axum::middleware::from_fn_with_state(
            observed,
            operations::observe,
        ))
        // Errors are JSON everywhere, unknown paths and methods included.
        .fallback(|uri: axum::http::Uri| async move {
            ApiError::not_found(format!(
                "no route {:?}; the routes are listed at /openapi.json",
                uri.path()
            ))
        })
        .method_not_allowed_fallback(|method: axum::http::Method| async move {
            ApiError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                message: format!("method {method} is not allowed on this route"),
                param: None,
            }
        })
        .with_state(AppState {
            queries,
            metrics,
            settings: Arc::new(settings),
            scoring: Arc::new(scoring),
            routing: Arc::new(routing),
            pipeline: Arc::new(pipeline),
            commands,
            max_body_bytes: limits.max_body_bytes,
            ready_max_lag: ready_max_lag.unwrap_or(DEFAULT_READY_MAX_LAG),
        });
    match sharded {
        Some(held) => router.layer(axum::middleware::from_fn_with_state(
            held,
            shards::shards_answered,
        )),
        None => router,
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// Runs a blocking store read off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        message: format!("query task failed: {e}"),
        param: None,
    })?
}

/// One page of a list read on the blocking pool, [`DEFAULT_LIMIT`] rows unless
/// `limit` says otherwise.
async fn paged<T: Send + 'static>(
    params: PageParams,
    read: impl FnOnce() -> Result<Vec<T>, ApiError> + Send + 'static,
) -> Result<Paged<T>, ApiError> {
    paged_from(params.page(DEFAULT_LIMIT)?, read).await
}

async fn paged_from<T: Send + 'static>(
    page: Page,
    read: impl FnOnce() -> Result<Vec<T>, ApiError> + Send + 'static,
) -> Result<Paged<T>, ApiError> {
    Ok(page.of(blocking(read).await?))
}

#[derive(Serialize)]
struct StatusBody {
    metrics: MetricsSnapshot,
    offsets: Vec<PartitionOffset>,
    /// Messages behind over the assigned partitions; `null` while one
    /// partition's is not known.
    lag: Option<u64>,
    /// Every assigned partition within `ready_max_lag`.
    caught_up: bool,
    ready: bool,
    ready_max_lag: u64,
    /// The assigned partitions with their lag (none in the demo).
    partitions: Vec<PartitionStatus>,
    stalled_partitions: Vec<StalledPartition>,
    /// How much of the input this instance consumes: with several instances
    /// in one group, its answers cover the events of its partitions only.
    coverage: touchline_engine::Coverage,
}

async fn status(State(state): State<AppState>) -> ApiResult<StatusBody> {
    let metrics = state.metrics.snapshot();
    let consumer = state.metrics.partitions().status();
    let readiness = state.metrics.partitions().readiness(state.ready_max_lag);
    let coverage = state.metrics.partitions().coverage();
    let ready_max_lag = state.ready_max_lag;
    let offsets = blocking(move || Ok(state.queries.offsets()?)).await?;
    Ok(Json(StatusBody {
        metrics,
        offsets,
        lag: consumer.lag_total,
        caught_up: readiness.caught_up,
        ready: readiness.ready,
        ready_max_lag,
        partitions: consumer.partitions,
        stalled_partitions: consumer.stalled,
        coverage,
    }))
}

/// The lead as a marketer asks about it (the OpenAPI `LeadSummary`).
#[derive(Serialize)]
pub(crate) struct LeadSummary<'v> {
    person_id: &'v str,
    /// Set when the id asked for was merged into `person_id`.
    merged_from: Option<String>,
    kind: PersonKind,
    email: &'v str,
    company: &'v str,
    owner_id: &'v str,
    /// Internal rep or external partner (R20).
    owner_kind: touchline_core::OwnerKind,
    status: Option<LeadStatus>,
    qualification: &'v Qualification,
    lead_created_at: Option<Timestamp>,
    /// R1: campaign, ad code, medium and source at first contact.
    source_at_first_contact: Option<LeadSource>,
    first_touch: Option<entries::TouchEntry<'v>>,
    last_touch: Option<entries::TouchEntry<'v>>,
    touch_count: usize,
    converted: Option<entries::ConversionInfo<'v>>,
    opportunity_ids: &'v [String],
}

impl<'v> LeadSummary<'v> {
    fn of(
        view: &'v PersonView,
        merged_from: Option<String>,
        source_at_first_contact: Option<LeadSource>,
    ) -> Self {
        LeadSummary {
            source_at_first_contact,
            first_touch: view.first_touch().map(entries::TouchEntry::of),
            last_touch: view.last_touch().map(entries::TouchEntry::of),
            touch_count: view.touch_count() as usize,
            person_id: &view.person_id,
            merged_from,
            kind: view.kind,
            email: &view.email,
            company: &view.company,
            owner_id: &view.owner_id,
            owner_kind: view.owner_kind,
            status: view.status,
            qualification: &view.qualification,
            lead_created_at: view.lead_created_at,
            converted: view.converted.as_ref().map(entries::ConversionInfo::of),
            opportunity_ids: &view.opportunity_ids,
        }
    }
}

/// Follows merges to the surviving record.
fn resolve_person(queries: &Queries, id: &str) -> Result<(PersonView, Option<String>), ApiError> {
    let view = queries
        .surviving_person(id)?
        .ok_or_else(|| ApiError::not_found(format!("no person with id {id:?}")))?;
    let merged_from = (view.person_id != id).then(|| id.to_owned());
    Ok((view, merged_from))
}

async fn lead(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    blocking(move || {
        let (view, merged_from) = resolve_person(&state.queries, &id)?;
        if view.lead_created_at.is_none() {
            return Err(ApiError::not_found(format!(
                "person {id:?} is known from touches but no lead was created for it"
            )));
        }
        let source = state.queries.source_at_first_contact(&view)?;
        let summary = LeadSummary::of(&view, merged_from, source);
        Ok(Json(summary).into_response())
    })
    .await
}

/// `synthesized`, on the routes that answer one conversion's credit sets.
#[derive(Deserialize)]
struct SynthesizedParams {
    synthesized: Option<String>,
}

async fn lead_attribution(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<SynthesizedParams>,
) -> Result<Response, ApiError> {
    let choice = params::parse_synthesized(params.synthesized.as_deref())?;
    blocking(move || {
        let (view, _) = resolve_person(&state.queries, &id)?;
        let conversion_id = ConversionKind::LeadCreated.conversion_id(&view.person_id);
        conversions::counting(&state.queries, &conversion_id, choice)?.ok_or_else(|| {
            ApiError::not_found(format!("no lead-created conversion for person {id:?}"))
        })
    })
    .await
}

async fn opportunity(
    State(state): State<AppState>,
    axum::Extension(role): axum::Extension<Role>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = blocking(move || {
        state
            .queries
            .opportunity(&id)?
            .ok_or_else(|| ApiError::not_found(format!("no opportunity with id {id:?}")))
    })
    .await?;
    Ok(for_role(role, records::Opportunity::of(&view)))
}

async fn opportunity_attribution(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<SynthesizedParams>,
) -> Result<Response, ApiError> {
    let choice = params::parse_synthesized(params.synthesized.as_deref())?;
    blocking(move || {
        let conversion_id = ConversionKind::OpportunityCreated.conversion_id(&id);
        conversions::counting(&state.queries, &conversion_id, choice)?.ok_or_else(|| {
            ApiError::not_found(format!(
                "no opportunity-created conversion for opportunity {id:?}"
            ))
        })
    })
    .await
}

async fn campaigns(
    State(state): State<AppState>,
    Query(page): Query<PageParams>,
) -> Result<Response, ApiError> {
    let page = paged(page, move || Ok(state.queries.campaigns()?)).await?;
    Ok(page.render(|rows| {
        Json(rows.iter().map(records::Campaign::of).collect::<Vec<_>>()).into_response()
    }))
}

#[derive(Deserialize)]
struct ReportParams {
    model: Option<String>,
    by: Option<String>,
    currency: Option<String>,
    conversion: Option<String>,
    from: Option<String>,
    to: Option<String>,
    campaign: Option<String>,
    synthesized: Option<String>,
}

async fn conversion(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<SynthesizedParams>,
) -> Result<Response, ApiError> {
    drilldown::check_conversion_id(&id)?;
    let choice = params::parse_synthesized(params.synthesized.as_deref())?;
    blocking(move || {
        conversions::counting(&state.queries, &id, choice)?
            .ok_or_else(|| ApiError::not_found(format!("no conversion {id:?}")))
    })
    .await
}

async fn campaign_report(
    State(state): State<AppState>,
    Query(params): Query<ReportParams>,
    Query(page): Query<PageParams>,
) -> Result<Paged<touchline_engine::CampaignPerformance>, ApiError> {
    if let Some(text) = params.model.as_deref() {
        params::parse_model(text)?;
    }
    let range = params::parse_range(params.from.as_deref(), params.to.as_deref())?;
    let currency = params::parse_currency(params.currency.as_deref().unwrap_or("EUR"))?;
    let synthesized = params::parse_synthesized(params.synthesized.as_deref())?;
    paged(page, move || {
        let model = configured_model(&state.queries, params.model.as_deref(), Model::Linear)?;
        state
            .queries
            .campaign_performance_counting(model, range, &currency, synthesized)
            .map_err(what_if_error)
    })
    .await
}

async fn unattributed_report(
    State(state): State<AppState>,
    Query(params): Query<ReportParams>,
    Query(page): Query<PageParams>,
) -> Result<Paged<touchline_engine::UnattributedRow>, ApiError> {
    if let Some(text) = params.model.as_deref() {
        params::parse_model(text)?;
    }
    let kind = params::parse_conversion(params.conversion.as_deref().unwrap_or("lead_created"))?;
    let range = params::parse_range(params.from.as_deref(), params.to.as_deref())?;
    let synthesized = params::parse_synthesized(params.synthesized.as_deref())?;
    paged(page, move || {
        let model = configured_model(&state.queries, params.model.as_deref(), Model::LastTouch)?;
        Ok(state
            .queries
            .unattributed_counting(model, kind, range, synthesized)?)
    })
    .await
}

#[derive(Deserialize)]
/// `at` (default now) and an optional `owner`.
struct FollowUpParams {
    at: Option<String>,
    owner: Option<String>,
}

async fn follow_ups_due(
    State(state): State<AppState>,
    Query(params): Query<FollowUpParams>,
    Query(page): Query<PageParams>,
) -> Result<Paged<touchline_engine::DueFollowUp>, ApiError> {
    let at = parse_at(params.at.as_deref())?;
    paged(page, move || {
        Ok(state.queries.follow_ups_due(at, params.owner.as_deref())?)
    })
    .await
}

async fn speed_to_lead(
    State(state): State<AppState>,
    Query(params): Query<ReportParams>,
    Query(page): Query<PageParams>,
) -> Result<Paged<touchline_engine::SpeedToLead>, ApiError> {
    let range = params::parse_range(params.from.as_deref(), params.to.as_deref())?;
    paged(page, move || Ok(state.queries.speed_to_lead(range)?)).await
}

#[derive(Deserialize)]
struct LeadListParams {
    owner: Option<String>,
}

/// Rows per page of the lead lists (`/v1/leads`, `/v1/scores`) when `limit` is absent.
const LEAD_LIST_LIMIT: usize = 100;

async fn prioritised_leads(
    State(state): State<AppState>,
    Query(params): Query<LeadListParams>,
    Query(page): Query<PageParams>,
) -> Result<Paged<touchline_engine::PrioritisedLead>, ApiError> {
    let page = page.page(LEAD_LIST_LIMIT)?;
    // Every lead, so that the page knows the total; the engine sorts them all anyway.
    paged_from(page, move || {
        Ok(state
            .queries
            .prioritised_leads(params.owner.as_deref(), usize::MAX)?)
    })
    .await
}

#[derive(Deserialize)]
struct ScoreParams {
    at: Option<String>,
    owner: Option<String>,
}

async fn lead_scores(
    State(state): State<AppState>,
    Query(params): Query<ScoreParams>,
    Query(page): Query<PageParams>,
) -> Result<Paged<touchline_engine::LeadScore>, ApiError> {
    let at = parse_at(params.at.as_deref())?;
    let page = page.page(LEAD_LIST_LIMIT)?;
    paged_from(page, move || {
        Ok(state
            .queries
            .lead_scores(&state.scoring, at, params.owner.as_deref(), usize::MAX)?)
    })
    .await
}

async fn rfm(
    State(state): State<AppState>,
    Query(params): Query<ScoreParams>,
) -> ApiResult<touchline_engine::RfmReport> {
    let at = parse_at(params.at.as_deref())?;
    blocking(move || Ok(Json(state.queries.rfm(at)?))).await
}

/// Events of the account's stream in its record when `history` is absent.
const ACCOUNT_HISTORY: usize = 50;

#[derive(Deserialize)]
struct AccountParams {
    history: Option<String>,
}

async fn account(
    State(state): State<AppState>,
    axum::Extension(role): axum::Extension<Role>,
    Path(id): Path<String>,
    Query(params): Query<AccountParams>,
) -> Result<Response, ApiError> {
    let history = params::parse_count(
        "history",
        params.history.as_deref(),
        ACCOUNT_HISTORY,
        MAX_LIMIT,
    )?;
    let record = blocking(move || {
        state
            .queries
            .account_record(&id, history)?
            .ok_or_else(|| ApiError::not_found(format!("no account with id {id:?}")))
    })
    .await?;
    Ok(for_role(role, records::AccountBody::of(&record)))
}

async fn upsell(
    State(state): State<AppState>,
    Query(page): Query<PageParams>,
) -> Result<Paged<touchline_engine::UpsellSignal>, ApiError> {
    paged(page, move || Ok(state.queries.upsell_signals()?)).await
}

async fn literature(
    State(state): State<AppState>,
    Query(page): Query<PageParams>,
) -> Result<Paged<touchline_engine::LiteratureRow>, ApiError> {
    paged(page, move || Ok(state.queries.literature()?)).await
}

async fn duplicates(
    State(state): State<AppState>,
    Query(page): Query<PageParams>,
) -> Result<Paged<touchline_engine::DuplicateGroup>, ApiError> {
    paged(page, move || Ok(state.queries.duplicate_candidates()?)).await
}

async fn funnel(
    State(state): State<AppState>,
    Query(params): Query<ReportParams>,
    Query(page): Query<PageParams>,
) -> Result<Paged<touchline_engine::FunnelRow>, ApiError> {
    let range = params::parse_range(params.from.as_deref(), params.to.as_deref())?;
    paged(page, move || Ok(state.queries.funnel(range)?)).await
}

#[derive(Deserialize)]
struct DataDrivenParams {
    model: Option<String>,
    order: Option<String>,
    markov_value: Option<String>,
    conversion: Option<String>,
    by: Option<String>,
    from: Option<String>,
    to: Option<String>,
    synthesized: Option<String>,
}

async fn data_driven_report(
    State(state): State<AppState>,
    Query(params): Query<DataDrivenParams>,
) -> ApiResult<DataDrivenReport> {
    let (model, by) = params::parse_data_driven(
        params.model.as_deref(),
        params.order.as_deref(),
        params.by.as_deref(),
    )?;
    let kind = params::parse_conversion(params.conversion.as_deref().unwrap_or("opportunity_won"))?;
    let range = params::parse_range(params.from.as_deref(), params.to.as_deref())?;
    let mut settings = (*state.settings).clone();
    if let Some(text) = params.markov_value.as_deref() {
        settings.markov_value = params::parse_markov_value(text)?;
    }
    if let Some(choice) = params::parse_synthesized(params.synthesized.as_deref())? {
        settings.synthesized_touches = choice;
    }
    blocking(move || {
        state
            .queries
            .data_driven(model, kind, range, by, &settings)
            .map(Json)
            .map_err(|e| match e {
                DataDrivenReportError::Engine(e) => ApiError::from(e),
                DataDrivenReportError::Model(e) => ApiError {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    message: e.to_string(),
                    param: None,
                },
            })
    })
    .await
}

async fn compare_report(
    State(state): State<AppState>,
    Query(params): Query<ReportParams>,
    Query(page): Query<PageParams>,
) -> Result<Paged<touchline_engine::ModelComparison>, ApiError> {
    let kind = params::parse_conversion(params.conversion.as_deref().unwrap_or("opportunity_won"))?;
    let range = params::parse_range(params.from.as_deref(), params.to.as_deref())?;
    let campaign = params.campaign;
    let synthesized = params::parse_synthesized(params.synthesized.as_deref())?;
    paged(page, move || {
        if let Some(id) = campaign.as_deref()
            && state.queries.campaign(id)?.is_none()
        {
            return Err(ApiError::not_found(format!("no campaign with id {id:?}")));
        }
        Ok(state
            .queries
            .compare_models_counting(kind, range, campaign.as_deref(), synthesized)?)
    })
    .await
}

async fn attribution_report(
    State(state): State<AppState>,
    Query(params): Query<ReportParams>,
    Query(page): Query<PageParams>,
) -> Result<Response, ApiError> {
    if let Some(text) = params.model.as_deref() {
        params::parse_model(text)?;
    }
    let kind = params::parse_conversion(params.conversion.as_deref().unwrap_or("lead_created"))?;
    let range = params::parse_range(params.from.as_deref(), params.to.as_deref())?;
    let by = params::parse_group_by(params.by.as_deref())?;
    let synthesized = params::parse_synthesized(params.synthesized.as_deref())?;
    let page = page.page(DEFAULT_LIMIT)?;
    blocking(move || {
        let model = configured_model(&state.queries, params.model.as_deref(), Model::FirstTouch)?;
        let queries = &state.queries;
        Ok(match by {
            GroupBy::Campaign => page
                .of(queries
                    .campaign_credits_counting(model, kind, range, synthesized)
                    .map_err(what_if_error)?)
                .into_response(),
            _ => page
                .of(queries
                    .credits_by_counting(model, kind, range, by, synthesized)
                    .map_err(what_if_error)?)
                .into_response(),
        })
    })
    .await
}

async fn account_interest(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(page): Query<PageParams>,
) -> Result<Paged<touchline_engine::InterestRow>, ApiError> {
    paged(page, move || {
        state
            .queries
            .account_interest(&id)?
            .ok_or_else(|| ApiError::not_found(format!("no account with id {id:?}")))
    })
    .await
}

async fn overdue_leads(
    State(state): State<AppState>,
    Query(params): Query<FollowUpParams>,
    Query(page): Query<PageParams>,
) -> Result<Paged<touchline_engine::OverdueLead>, ApiError> {
    let at = parse_at(params.at.as_deref())?;
    paged(page, move || {
        Ok(state
            .queries
            .overdue_leads(at, &state.routing, params.owner.as_deref())?)
    })
    .await
}

async fn forecast(State(state): State<AppState>) -> ApiResult<touchline_engine::Forecast> {
    blocking(move || Ok(Json(state.queries.forecast(&state.pipeline)?))).await
}

async fn opportunity_signals(
    State(state): State<AppState>,
    Query(params): Query<FollowUpParams>,
    Query(page): Query<PageParams>,
) -> Result<Paged<touchline_engine::OpportunitySignals>, ApiError> {
    let at = parse_at(params.at.as_deref())?;
    paged(page, move || {
        let mut signals = state.queries.opportunity_signals(at)?;
        if let Some(owner) = &params.owner {
            signals.retain(|s| &s.owner_id == owner);
        }
        Ok(signals)
    })
    .await
}
