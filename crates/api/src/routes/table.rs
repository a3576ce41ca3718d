//! The rows of the route table: one per route. Adding a route is adding a row
//! here (and its answers to `openapi_operations.json`); the router, the access
//! check, the limits and the OpenAPI document follow.

use axum::routing::on;
use touchline_engine::what_if::{MAX_HALF_LIFE_DAYS, MAX_MOVED_LIMIT};

use super::{Command, Method, Output, Route, Tag};
use crate::access::Area;
use crate::limits::Cost;
use crate::param_spec::{
    AT, DefaultValue, FORMAT, FROM, LIMIT, OFFSET, OWNER, Param, SYNTHESIZED, TO, conversion_names,
    model_names, table,
};
use crate::report_columns;
use crate::*;

/// The id of a lead: a person, followed through merges.
const LEAD_ID: Param = Param::path(
    "id",
    "The person id; a merged-away id is followed to the survivor.",
);
const OPPORTUNITY_ID: Param = Param::path("id", "The opportunity id.");
const ACCOUNT_ID: Param = Param::path("id", "The account id.");

/// `<conversion point>:`, the start of every conversion id (a test checks the
/// points against [`conversion_names`]).
pub(super) const CONVERSION_ID_PATTERN: &str =
    "^(lead_created|lead_qualified|opportunity_created|opportunity_won):";

/// The lists of a conversion's credits.
const CREDIT_TABLES: Param = table(&["results", "retired"]);

/// `model` of the stored-credit reports; each has its own default.
const REPORT_MODEL: Param = Param::query(
    "model",
    "The attribution model. A model not configured in `attribution.models` gives no rows.",
)
.one_of_code(model_names);

/// `at` of the as-of report: required, the instant the past is rebuilt at.
const AS_OF_AT: Param = Param {
    required: true,
    ..Param::query(
        "at",
        "Required: the past instant; the events recorded at or before it are replayed. RFC 3339 \
         time (`2026-03-01T09:30:00Z`) or a plain date (`2026-03-01`, midnight UTC); one in the \
         future is now (nothing moved). Absent or not a time is a 400 naming `at`.",
    )
    .pattern("^[0-9]{4}-[0-9]{2}-[0-9]{2}")
    .examples(&["2026-03-01"])
};

/// `conversion` of the reports; each has its own default.
const CONVERSION: Param =
    Param::query("conversion", "The conversion point.").one_of_code(conversion_names);

/// `limit` of the lead lists, which page by [`LEAD_LIST_LIMIT`].
const LEAD_LIST_LIMIT_PARAM: Param = Param::query(
    "limit",
    "Most rows to return: 1 to 10000 (100 when absent); 0, more than 10000 or not an integer is \
     a 400 naming `limit`.",
)
.integer(1, Some(MAX_LIMIT as i64))
.default(DefaultValue::Integer(LEAD_LIST_LIMIT as i64));

/// The API's routes, in the order the OpenAPI document lists them.
pub static ROUTES: &[Route] = &[
    Route {
        method: Method::Get,
        path: "/openapi.json",
        operation_id: "getOpenApi",
        tag: Tag::System,
        area: Area::Public,
        cost: Cost::Free,
        output: Output::Inferred,
        command: None,
        summary: "This document",
        params: &[],
        handler: |method| on(method, openapi::serve),
    },
    Route {
        method: Method::Get,
        path: "/v1/health",
        operation_id: "getHealth",
        tag: Tag::System,
        area: Area::Public,
        cost: Cost::Free,
        output: Output::Inferred,
        command: None,
        summary: "Liveness",
        params: &[],
        handler: |method| on(method, operations::healthz),
    },
    Route {
        method: Method::Get,
        path: "/healthz",
        operation_id: "getHealthz",
        tag: Tag::System,
        area: Area::Public,
        cost: Cost::Free,
        output: Output::Inferred,
        command: None,
        summary: "Liveness (for orchestrators)",
        params: &[],
        handler: |method| on(method, operations::healthz),
    },
    Route {
        method: Method::Get,
        path: "/readyz",
        operation_id: "getReadyz",
        tag: Tag::System,
        area: Area::Public,
        cost: Cost::Free,
        output: Output::Inferred,
        command: None,
        summary: "Readiness",
        params: &[],
        handler: |method| on(method, operations::readyz),
    },
    Route {
        method: Method::Get,
        path: "/v1/status",
        operation_id: "getStatus",
        tag: Tag::System,
        area: Area::Operations,
        cost: Cost::Cheap,
        output: Output::Inferred,
        command: None,
        summary: "Counters, covered Kafka offsets, lag, readiness, stalled partitions",
        params: &[
            FORMAT,
            table(&["offsets", "partitions", "stalled_partitions"]),
        ],
        handler: |method| on(method, status),
    },
    Route {
        method: Method::Get,
        path: "/metrics",
        operation_id: "getMetrics",
        tag: Tag::System,
        area: Area::Operations,
        cost: Cost::Cheap,
        output: Output::Inferred,
        command: None,
        summary: "Every metric in the OpenMetrics text format",
        params: &[],
        handler: |method| on(method, operations::prometheus),
    },
    Route {
        method: Method::Get,
        path: "/v1/publishing/parked",
        operation_id: "getParkedRecords",
        tag: Tag::System,
        area: Area::Operations,
        cost: Cost::Cheap,
        output: Output::Inferred,
        command: None,
        summary: "Outbox records Kafka refused for good",
        params: &[
            Param::query(
                "after",
                "List records after this id (a `next_after` of a previous page).",
            )
            .integer(0, None),
            Param::query("limit", "At most this many records (at most 1000).")
                .integer(0, Some(parked::MAX_LIMIT as i64))
                .default(DefaultValue::Integer(parked::DEFAULT_LIMIT as i64)),
            FORMAT,
            table(&["parked"]),
        ],
        handler: |method| on(method, parked::parked),
    },
    Route {
        method: Method::Get,
        path: "/v1/persons/{id}",
        operation_id: "getPerson",
        tag: Tag::People,
        area: Area::People,
        cost: Cost::Cheap,
        output: Output::Inferred,
        command: None,
        summary: "A person",
        params: &[
            Param::path("id", "The person id."),
            Param::query(
                "limit",
                "Most touches to include: 1 to 10000 (1000 when absent); 0, more than 10000 or \
                 not an integer is a 400 naming `limit`.",
            )
            .integer(1, Some(MAX_LIMIT as i64))
            .default(DefaultValue::Integer(DEFAULT_LIMIT as i64)),
            Param::query(
                "offset",
                "Touches to skip, in attribution order. Not an integer is a 400 naming `offset`.",
            )
            .integer(0, None)
            .default(DefaultValue::Integer(0)),
            FORMAT,
            table(&[
                "routing",
                "touches",
                "follow_ups",
                "opportunity_ids",
                "accounts",
                "merged_from",
            ]),
        ],
        handler: |method| on(method, persons::person),
    },
    Route {
        method: Method::Get,
        path: "/v1/persons/{id}/events",
        operation_id: "getPersonEvents",
        tag: Tag::People,
        area: Area::People,
        cost: Cost::Cheap,
        output: Output::Inferred,
        command: None,
        summary: "A person's events from the log",
        params: &[
            Param::path(
                "id",
                "The person id (the stream id; merges are not followed).",
            ),
            Param::query("from_seq", "First log position to return.")
                .integer(0, None)
                .default(DefaultValue::Integer(0)),
            Param::query(
                "limit",
                "Most events to return: 1 to 10000 (1000 when absent); 0, more than 10000 or not \
                 an integer is a 400 naming `limit`.",
            )
            .integer(1, Some(MAX_LIMIT as i64))
            .default(DefaultValue::Integer(DEFAULT_LIMIT as i64)),
            FORMAT,
        ],
        handler: |method| on(method, persons::person_events),
    },
    Route {
        method: Method::Get,
        path: "/v1/leads/{id}",
        operation_id: "getLead",
        tag: Tag::Leads,
        area: Area::People,
        cost: Cost::Cheap,
        output: Output::Inferred,
        command: None,
        summary: "A lead summary",
        params: &[LEAD_ID, FORMAT, table(&["opportunity_ids"])],
        handler: |method| on(method, lead),
    },
    Route {
        method: Method::Get,
        path: "/v1/leads/{id}/attribution",
        operation_id: "getLeadAttribution",
        tag: Tag::Leads,
        area: Area::Marketing,
        cost: Cost::Cheap,
        output: Output::Inferred,
        command: None,
        summary: "Every model's credits for the lead-created conversion",
        params: &[LEAD_ID, SYNTHESIZED, FORMAT, CREDIT_TABLES],
        handler: |method| on(method, lead_attribution),
    },
    Route {
        method: Method::Get,
        path: "/v1/opportunities/{id}",
        operation_id: "getOpportunity",
        tag: Tag::Opportunities,
        area: Area::Accounts,
        cost: Cost::Cheap,
        output: Output::Inferred,
        command: None,
        summary: "An opportunity",
        params: &[
            OPPORTUNITY_ID,
            FORMAT,
            table(&["stage_history", "contact_ids", "transactions"]).described(
                "With `format=csv`, required: which list field of the answer to export. \
                 `transactions` cannot be picked when it is null (for the service role).",
            ),
        ],
        handler: |method| on(method, opportunity),
    },
    Route {
        method: Method::Get,
        path: "/v1/opportunities/{id}/attribution",
        operation_id: "getOpportunityAttribution",
        tag: Tag::Opportunities,
        area: Area::Marketing,
        cost: Cost::Cheap,
        output: Output::Inferred,
        command: None,
        summary: "Every model's credits for the opportunity-created conversion",
        params: &[OPPORTUNITY_ID, SYNTHESIZED, FORMAT, CREDIT_TABLES],
        handler: |method| on(method, opportunity_attribution),
    },
    Route {
        method: Method::Get,
        path: "/v1/campaigns",
        operation_id: "listCampaigns",
        tag: Tag::Campaigns,
        area: Area::Marketing,
        cost: Cost::Expensive,
        output: Output::Inferred,
        command: None,
        summary: "Every campaign with its counts",
        params: &[LIMIT, OFFSET, FORMAT],
        handler: |method| on(method, campaigns),
    },
    Route {
        method: Method::Get,
        path: "/v1/campaigns/{id}/influence",
        operation_id: "getCampaignInfluence",
        tag: Tag::Campaigns,
        area: Area::Marketing,
        cost: Cost::Expensive,
        output: Output::Inferred,
        command: None,
        summary: "The deals and people a campaign influenced, with every model's credit",
        params: &[
            Param::path("id", "The campaign id."),
            Param::query(
                "conversion",
                "The conversion point: deals (`opportunity_created`, `opportunity_won`) or \
                 people (`lead_created`, `lead_qualified`).",
            )
            .one_of_code(conversion_names)
            .default(DefaultValue::Text("opportunity_won")),
            FROM,
            TO,
            Param::query(
                "currency",
                "Only conversions valued in this ISO 4217 currency (three letters, either case: \
                 `eur` is `EUR`); deal conversion points only (400 with a lead point).",
            )
            .pattern("^[A-Za-z]{3}$"),
            Param::query(
                "sort",
                "`value`: the conversion's value, largest first; `credit`: the amount, then the \
                 weight, `model` gives the campaign, largest first; `recent`: the conversion's \
                 time, latest first. Ties: latest first, then conversion id.",
            )
            .one_of(&["value", "credit", "recent"])
            .default(DefaultValue::Text("value")),
            Param::query(
                "model",
                "With `sort=credit` only (400 otherwise): the model whose credit orders the \
                 rows; a configured model (400 otherwise), linear by default.",
            )
            .one_of_code(model_names),
            LIMIT,
            OFFSET,
            FORMAT,
        ],
        handler: |method| on(method, drilldown::campaign_influence),
    },
    Route {
        method: Method::Get,
        path: "/v1/conversions/{id}",
        operation_id: "getConversion",
        tag: Tag::Conversions,
        area: Area::Marketing,
        cost: Cost::Cheap,
        output: Output::Inferred,
        command: None,
        summary: "One conversion under every model",
        params: &[
            Param::path(
                "id",
                "`<conversion point>:<subject id>`, e.g. `opportunity_won:opp-7` or \
                 `lead_qualified:p-1`.",
            )
            .pattern(CONVERSION_ID_PATTERN)
            .examples(&["opportunity_won:opp-7"]),
            SYNTHESIZED,
            FORMAT,
            CREDIT_TABLES,
        ],
        handler: |method| on(method, conversion),
    },
    Route {
        method: Method::Get,
        path: "/v1/conversions/{id}/history",
        operation_id: "getConversionHistory",
        tag: Tag::Conversions,
        area: Area::Marketing,
        cost: Cost::Expensive,
        output: Output::Inferred,
        command: None,
        summary: "One conversion's versions over time: what moved, when and why",
        params: &[
            Param::path(
                "id",
                "`<conversion point>:<subject id>`, e.g. `opportunity_won:opp-7`.",
            )
            .pattern(CONVERSION_ID_PATTERN),
            FORMAT,
            table(&["steps", "stored"]).described("With `format=csv`: which list field to export."),
        ],
        handler: |method| on(method, drilldown::conversion_history),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/attribution",
        operation_id: "getAttributionReport",
        tag: Tag::Reports,
        area: Area::Marketing,
        cost: Cost::Expensive,
        output: report_columns::ATTRIBUTION,
        command: Some(Command::named("attribution")),
        summary: "Credit per campaign, channel or source",
        params: &[
            REPORT_MODEL.default(DefaultValue::Text("first_touch")),
            CONVERSION.default(DefaultValue::Text("lead_created")),
            FROM,
            TO,
            Param::query("by", "How credit rows are grouped.")
                .one_of(&["campaign", "channel", "source"])
                .default(DefaultValue::Text("campaign")),
            SYNTHESIZED,
            LIMIT,
            OFFSET,
            FORMAT,
        ],
        handler: |method| on(method, attribution_report),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/compare",
        operation_id: "getModelComparison",
        tag: Tag::Reports,
        area: Area::Marketing,
        cost: Cost::Expensive,
        output: Output::Rows(report_columns::COMPARE),
        command: None,
        summary: "Credit per campaign under every model, side by side",
        params: &[
            CONVERSION.default(DefaultValue::Text("opportunity_won")),
            FROM,
            TO,
            Param::query(
                "campaign",
                "Only this campaign id (exact match; `(no touch)` selects the unattributed \
                 bucket).",
            ),
            SYNTHESIZED,
            LIMIT,
            OFFSET,
            FORMAT,
        ],
        handler: |method| on(method, compare_report),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/campaigns",
        operation_id: "getCampaignPerformance",
        tag: Tag::Reports,
        area: Area::Marketing,
        cost: Cost::Expensive,
        output: Output::Rows(report_columns::CAMPAIGNS),
        command: Some(Command::named("campaigns")),
        summary: "Campaign cost, credit, ROI and ROAS",
        params: &[
            REPORT_MODEL.default(DefaultValue::Text("linear")),
            Param::query(
                "currency",
                "ISO 4217 code (three letters, either case: `eur` is `EUR`); only costs and \
                 revenue in it are counted.",
            )
            .pattern("^[A-Za-z]{3}$")
            .default(DefaultValue::Text("EUR")),
            FROM,
            TO,
            SYNTHESIZED,
            LIMIT,
            OFFSET,
            FORMAT,
        ],
        handler: |method| on(method, campaign_report),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/unattributed",
        operation_id: "getUnattributedReport",
        tag: Tag::Reports,
        area: Area::Marketing,
        cost: Cost::Expensive,
        output: Output::Rows(report_columns::UNATTRIBUTED),
        command: Some(Command::named("unattributed")),
        summary: "Conversions credited to (no touch), by reason",
        params: &[
            REPORT_MODEL.default(DefaultValue::Text("last_touch")),
            CONVERSION.default(DefaultValue::Text("lead_created")),
            FROM,
            TO,
            SYNTHESIZED,
            LIMIT,
            OFFSET,
            FORMAT,
        ],
        handler: |method| on(method, unattributed_report),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/data-driven",
        operation_id: "getDataDrivenReport",
        tag: Tag::Reports,
        area: Area::Marketing,
        cost: Cost::Expensive,
        output: report_columns::DATA_DRIVEN,
        command: None,
        summary: "Markov removal effects or Shapley values",
        params: &[
            Param::query("model", "The data-driven model.")
                .one_of(&["markov", "shapley"])
                .default(DefaultValue::Text("markov")),
            Param::query("order", "Markov chain order.")
                .integer(1, Some(3))
                .default(DefaultValue::Integer(1)),
            Param::query(
                "markov_value",
                "How Markov shares value: `journey_value` (transitions weighted by the value of \
                 the journeys taking them) or `last_channel_mean` (as ChannelAttribution: each \
                 conversion is worth the mean value of the conversions with the same last \
                 channel). Default: the configured `attribution.markov_value`.",
            )
            .one_of(&["journey_value", "last_channel_mean"]),
            CONVERSION.default(DefaultValue::Text("opportunity_won")),
            Param::query(
                "by",
                "A journey step is the campaign's channel (the campaign id when it has none) or \
                 the campaign.",
            )
            .one_of(&["channel", "campaign"])
            .default(DefaultValue::Text("channel")),
            FROM,
            TO,
            SYNTHESIZED,
            FORMAT,
            table(&["channels"]),
        ],
        handler: |method| on(method, data_driven_report),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/what-if",
        operation_id: "getWhatIfReport",
        tag: Tag::Reports,
        area: Area::Marketing,
        cost: Cost::Expensive,
        output: report_columns::WHAT_IF,
        command: None,
        summary: "What-if attribution: any model with any parameters",
        params: &[
            Param::query(
                "model",
                "Comma-separated models, each once; default every configured model.",
            )
            .examples(&["linear", "first_touch,last_touch,time_decay"]),
            CONVERSION.default(DefaultValue::Text("opportunity_won")),
            FROM,
            TO,
            Param::query("by", "How rows are grouped.")
                .one_of(&["campaign", "channel", "source"])
                .default(DefaultValue::Text("campaign")),
            Param::query(
                "lookback_days",
                "The conversion point's lookback window: whole days 0 to 36500, or `none` for no \
                 window. Default: the configured one.",
            )
            .examples(&["90", "none"]),
            Param::query(
                "half_life_days",
                "Time-decay half-life in days, above 0 and at most 36500. Default: the \
                 configured one.",
            )
            .number(0.0, MAX_HALF_LIFE_DAYS),
            Param::query(
                "weights",
                "Custom position weights `first,last,rest`: non-negative, first + last above 0, \
                 normalised. Default: the configured ones.",
            )
            .examples(&["30,30,40"]),
            Param::query("filter", "Which touches may be credited.").one_of(&["all", "responded"]),
            Param::query("touches", "Whose touches an opportunity draws on.")
                .one_of(&["contact_roles", "account_contacts"]),
            SYNTHESIZED,
            Param::query(
                "moved",
                "Also list the conversions that move against the stored credits.",
            )
            .boolean()
            .default(DefaultValue::Boolean(false)),
            Param::query(
                "baseline",
                "With `moved=true`: the configured model to compare with.",
            )
            .one_of_code(model_names),
            Param::query(
                "moved_limit",
                "With `moved=true`: how many moved conversions to list, largest first.",
            )
            .integer(1, Some(MAX_MOVED_LIMIT as i64))
            .default(DefaultValue::Integer(DEFAULT_MOVED_LIMIT as i64)),
            FORMAT,
            table(&["rows", "moved_totals", "moved"]),
        ],
        handler: |method| on(method, what_if::what_if_report),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/as-of",
        operation_id: "getAsOfReport",
        tag: Tag::Reports,
        area: Area::Marketing,
        cost: Cost::Expensive,
        output: report_columns::AS_OF,
        command: None,
        summary: "Credit as of a past instant and now per campaign, channel or source, and why it moved",
        params: &[
            AS_OF_AT,
            Param::query(
                "model",
                "The attribution model; one the engine does not compute is a 400 naming the \
                 configured ones.",
            )
            .one_of_code(model_names)
            .default(DefaultValue::Text("first_touch")),
            CONVERSION.default(DefaultValue::Text("lead_created")),
            FROM,
            TO,
            Param::query("by", "How rows are grouped.")
                .one_of(&["campaign", "channel", "source"])
                .default(DefaultValue::Text("campaign")),
            SYNTHESIZED,
            Param::query(
                "moved",
                "Also list the conversions that moved most since `at`, with why.",
            )
            .boolean()
            .default(DefaultValue::Boolean(false)),
            Param::query(
                "moved_limit",
                "With `moved=true`: how many moved conversions to list, largest first.",
            )
            .integer(1, Some(MAX_MOVED_LIMIT as i64))
            .default(DefaultValue::Integer(DEFAULT_MOVED_LIMIT as i64)),
            FORMAT,
            table(&["rows", "totals", "moved"]),
        ],
        handler: |method| on(method, as_of::as_of_report),
    },
    Route {
        method: Method::Get,
        path: "/v1/follow-ups/due",
        operation_id: "listDueFollowUps",
        tag: Tag::Leads,
        area: Area::FollowUp,
        cost: Cost::Expensive,
        output: Output::Rows(report_columns::FOLLOW_UPS),
        command: Some(Command::named("follow-ups")),
        summary: "Leads whose next follow-up is due",
        params: &[AT, OWNER, LIMIT, OFFSET, FORMAT],
        handler: |method| on(method, follow_ups_due),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/speed-to-lead",
        operation_id: "getSpeedToLead",
        tag: Tag::Reports,
        area: Area::FollowUp,
        cost: Cost::Expensive,
        output: Output::Rows(report_columns::SPEED_TO_LEAD),
        command: Some(Command::named("speed-to-lead")),
        summary: "Time from lead creation to first follow-up",
        params: &[FROM, TO, LIMIT, OFFSET, FORMAT],
        handler: |method| on(method, speed_to_lead),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/funnel",
        operation_id: "getFunnel",
        tag: Tag::Reports,
        area: Area::Marketing,
        cost: Cost::Expensive,
        output: Output::Rows(report_columns::FUNNEL),
        command: Some(Command::named("funnel")),
        summary: "New leads per month and source, and conversion",
        params: &[FROM, TO, LIMIT, OFFSET, FORMAT],
        handler: |method| on(method, funnel),
    },
    Route {
        method: Method::Get,
        path: "/v1/people/duplicates",
        operation_id: "listDuplicateCandidates",
        tag: Tag::People,
        area: Area::People,
        cost: Cost::Expensive,
        output: Output::Rows(report_columns::DUPLICATES),
        command: Some(Command::named("duplicates")),
        summary: "People who share a normalised e-mail or phone",
        params: &[LIMIT, OFFSET, FORMAT],
        handler: |method| on(method, duplicates),
    },
    Route {
        method: Method::Get,
        path: "/v1/leads",
        operation_id: "listPrioritisedLeads",
        tag: Tag::Leads,
        area: Area::FollowUp,
        cost: Cost::Expensive,
        output: Output::Rows(report_columns::LEADS),
        command: Some(Command::named("leads")),
        summary: "Open leads in priority order",
        params: &[OWNER, LEAD_LIST_LIMIT_PARAM, OFFSET, FORMAT],
        handler: |method| on(method, prioritised_leads),
    },
    Route {
        method: Method::Get,
        path: "/v1/scores",
        operation_id: "listLeadScores",
        tag: Tag::Leads,
        area: Area::FollowUp,
        cost: Cost::Expensive,
        output: Output::Rows(report_columns::SCORES),
        command: Some(Command::named("scores")),
        summary: "Leads by behavioural score",
        params: &[AT, OWNER, LEAD_LIST_LIMIT_PARAM, OFFSET, FORMAT],
        handler: |method| on(method, lead_scores),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/rfm",
        operation_id: "getRfmReport",
        tag: Tag::Reports,
        area: Area::Pipeline,
        cost: Cost::Expensive,
        output: report_columns::RFM,
        command: Some(Command::named("rfm").table("customers")),
        summary: "Recency, frequency and monetary value",
        params: &[AT, FORMAT, table(&["customers", "by_source"])],
        handler: |method| on(method, rfm),
    },
    Route {
        method: Method::Get,
        path: "/v1/accounts/{id}",
        operation_id: "getAccount",
        tag: Tag::Accounts,
        area: Area::Accounts,
        cost: Cost::Cheap,
        output: Output::Inferred,
        command: None,
        summary: "One record of an account",
        params: &[
            ACCOUNT_ID,
            Param::query(
                "history",
                "How many of the account stream's latest events to include: 0 to 10000; more is \
                 a 400 naming `history`.",
            )
            .integer(0, Some(MAX_LIMIT as i64))
            .default(DefaultValue::Integer(ACCOUNT_HISTORY as i64)),
            FORMAT,
            table(&["contacts", "opportunities", "revenue", "history"]).described(
                "With `format=csv`, required: which list field of the answer to export. \
                 `revenue` cannot be picked when it is null (for the service role).",
            ),
        ],
        handler: |method| on(method, account),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/upsell",
        operation_id: "listUpsellSignals",
        tag: Tag::Reports,
        area: Area::Accounts,
        cost: Cost::Expensive,
        output: Output::Rows(report_columns::UPSELL),
        command: Some(Command::named("upsell")),
        summary: "Customers with post-sale support cases",
        params: &[LIMIT, OFFSET, FORMAT],
        handler: |method| on(method, upsell),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/literature",
        operation_id: "getLiteratureReport",
        tag: Tag::Reports,
        area: Area::Marketing,
        cost: Cost::Expensive,
        output: Output::Rows(report_columns::LITERATURE),
        command: Some(Command::named("literature")),
        summary: "Literature fulfilment per asset",
        params: &[LIMIT, OFFSET, FORMAT],
        handler: |method| on(method, literature),
    },
    Route {
        method: Method::Get,
        path: "/v1/accounts/{id}/interest",
        operation_id: "getAccountInterest",
        tag: Tag::Accounts,
        area: Area::Accounts,
        cost: Cost::Cheap,
        output: Output::Rows(report_columns::INTEREST),
        command: Some(Command::named("interest").renamed(&[("id", "account")])),
        summary: "Product and topic interest across an account's contacts",
        params: &[ACCOUNT_ID, LIMIT, OFFSET, FORMAT],
        handler: |method| on(method, account_interest),
    },
    Route {
        method: Method::Get,
        path: "/v1/follow-ups/overdue",
        operation_id: "listOverdueLeads",
        tag: Tag::Leads,
        area: Area::FollowUp,
        cost: Cost::Expensive,
        output: Output::Rows(report_columns::OVERDUE),
        command: Some(Command::named("overdue")),
        summary: "Leads whose follow-up is overdue",
        params: &[AT, OWNER, LIMIT, OFFSET, FORMAT],
        handler: |method| on(method, overdue_leads),
    },
    Route {
        method: Method::Post,
        path: "/v1/leads/{id}/route",
        operation_id: "routeLead",
        tag: Tag::Leads,
        area: Area::Routing,
        cost: Cost::Cheap,
        output: Output::Inferred,
        command: None,
        summary: "Re-route a lead to a new owner",
        params: &[LEAD_ID],
        handler: |method| on(method, reroute::route_lead),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/forecast",
        operation_id: "getForecast",
        tag: Tag::Reports,
        area: Area::Pipeline,
        cost: Cost::Expensive,
        output: report_columns::FORECAST,
        command: Some(
            Command::named("forecast")
                .renamed(&[("table", "by")])
                .table("months"),
        ),
        summary: "Weighted pipeline forecast",
        params: &[FORMAT, table(&["months", "deals"])],
        handler: |method| on(method, forecast),
    },
    Route {
        method: Method::Post,
        path: "/v1/internal/shards/{shard}/read",
        operation_id: "readShard",
        tag: Tag::System,
        area: Area::Admin,
        cost: Cost::Expensive,
        output: Output::Inferred,
        command: None,
        summary: "One read of a shard this instance holds, for another instance of the group",
        params: &[Param::path("shard", "The shard's number.")],
        handler: |method| on(method, peer_reads::read_shard),
    },
    Route {
        method: Method::Post,
        path: "/v1/admin/backup",
        operation_id: "backup",
        tag: Tag::System,
        area: Area::Admin,
        cost: Cost::Expensive,
        output: Output::Inferred,
        command: None,
        summary: "Take an online, consistent backup of the store",
        params: &[],
        handler: |method| on(method, backup::backup),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/opportunity-signals",
        operation_id: "listOpportunitySignals",
        tag: Tag::Reports,
        area: Area::Pipeline,
        cost: Cost::Expensive,
        output: Output::Rows(report_columns::SIGNALS),
        command: Some(Command::named("signals")),
        summary: "Red/yellow/green indicators on open deals",
        params: &[
            AT,
            Param::query("owner", "Only deals whose owner_id is exactly this."),
            LIMIT,
            OFFSET,
            FORMAT,
        ],
        handler: |method| on(method, opportunity_signals),
    },
];
