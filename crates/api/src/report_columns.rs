//! The columns of each list report: the one declaration the API's
//! `format=csv` and the CLI's table, CSV and Parquet output are written with
//! ([`touchline_report_output`]). A column's name is the dotted path of the
//! answer's field, in the answer's order, so the CSV of a declared report is
//! the CSV of its JSON by the long-format rules every answer follows; the
//! declaration adds the types (Parquet), which values may be missing, and how a
//! table shows them. A test checks each declaration against its route's
//! answer, so a field added to an answer cannot be left out.

use touchline_report_output::{Column, Unit};

use crate::routes::Output;

pub const FOLLOW_UPS: &[Column] = &[
    Column::text("person_id").label("lead"),
    Column::text("name"),
    Column::text("company"),
    Column::text("owner_id").label("owner"),
    Column::time("due_at").label("due"),
    Column::int("overdue_ms")
        .unit(Unit::Millis)
        .label("overdue"),
    Column::uint("follow_ups"),
    Column::text("last_method").nullable(),
    Column::text("last_outcome").nullable(),
];

pub const LEADS: &[Column] = &[
    Column::text("person_id").label("lead"),
    Column::text("name"),
    Column::text("company"),
    Column::text("owner_id").label("owner"),
    Column::text("status").nullable(),
    // Null when nobody has said.
    Column::flag("qualification.need").nullable().label("need"),
    Column::flag("qualification.budget")
        .nullable()
        .label("budget"),
    Column::flag("qualification.authority")
        .nullable()
        .label("authority"),
    Column::uint("qualification_score").label("score"),
    Column::uint("touches"),
    Column::time("lead_created_at")
        .nullable()
        .label("lead created"),
];

pub const SCORES: &[Column] = &[
    Column::text("person_id").label("lead"),
    Column::text("owner_id").label("owner"),
    Column::float("score"),
    Column::uint("touches"),
    Column::time("last_touch_at").nullable().label("last touch"),
];

pub const RFM_CUSTOMERS: &[Column] = &[
    Column::text("account_id").label("account"),
    Column::text("name"),
    Column::text("source"),
    Column::float("recency_days").label("recency (days)"),
    Column::uint("frequency"),
    Column::amount("monetary_minor").label("monetary"),
];

pub const RFM_SOURCES: &[Column] = &[
    Column::text("source"),
    Column::uint("customers"),
    Column::float("mean_recency_days").label("recency (days)"),
    Column::float("mean_frequency").label("frequency"),
    Column::amount("monetary_minor").label("monetary"),
];

/// `/v1/reports/rfm`: `table=customers` or `by_source`.
pub const RFM: Output = Output::Tables(&[("customers", RFM_CUSTOMERS), ("by_source", RFM_SOURCES)]);

pub const OVERDUE: &[Column] = &[
    Column::text("person_id").label("lead"),
    Column::text("name"),
    Column::text("company"),
    Column::text("owner_id").label("owner"),
    Column::text("owner_kind").not_in_table(),
    Column::text("rule").not_in_table(),
    Column::time("lead_created_at").not_in_table(),
    Column::time("due_at").label("due"),
    Column::int("overdue_ms")
        .unit(Unit::Millis)
        .label("overdue"),
    Column::text("reason"),
    Column::uint("follow_ups"),
    Column::text("last_outcome").nullable(),
    Column::uint("times_routed").label("routed"),
];

pub const FORECAST_MONTHS: &[Column] = &[
    Column::text("month"),
    Column::text("currency").not_in_table(),
    Column::uint("opportunities"),
    Column::money("pipeline_minor", "currency").label("pipeline"),
    Column::money("weighted_minor", "currency").label("weighted"),
];

pub const FORECAST_DEALS: &[Column] = &[
    Column::text("opportunity_id").label("opportunity"),
    Column::text("name"),
    Column::text("stage"),
    Column::uint("probability_pct").label("probability %"),
    Column::time("expected_close_at")
        .nullable()
        .label("expected close"),
    Column::money("amount.amount_minor", "amount.currency").label("amount"),
    Column::text("amount.currency").not_in_table(),
    Column::money("weighted_minor", "amount.currency").label("weighted"),
];

/// `/v1/reports/forecast`: `table=months` or `deals`.
pub const FORECAST: Output =
    Output::Tables(&[("months", FORECAST_MONTHS), ("deals", FORECAST_DEALS)]);

pub const INTEREST: &[Column] = &[
    Column::text("topic"),
    Column::uint("touches"),
    Column::uint("responses"),
    Column::uint("people"),
    Column::time("last_at").label("last"),
];

/// One row per deal and indicator; a deal without indicators is one row
/// with them empty.
pub const SIGNALS: &[Column] = &[
    Column::text("opportunity_id").label("opportunity"),
    Column::text("name").label("deal"),
    Column::text("account_id").not_in_table(),
    Column::text("stage"),
    Column::text("owner_id").label("owner"),
    Column::text("indicators.kind").nullable().label("kind"),
    Column::text("indicators.name").nullable().label("name"),
    Column::uint("indicators.touches")
        .nullable()
        .label("touches"),
    Column::uint("indicators.responses")
        .nullable()
        .label("responses"),
    Column::time("indicators.last_touch_at")
        .nullable()
        .label("last touch"),
    Column::time("indicators.last_response_at")
        .nullable()
        .label("last response"),
    Column::text("indicators.colour").nullable().label("colour"),
];

/// Ratios are `undefined` (nothing to divide by) or `unknown` (no cost
/// recorded) in CSV, as in JSON, and null in Parquet.
pub const CAMPAIGNS: &[Column] = &[
    Column::text("campaign_id").not_in_table(),
    Column::text("campaign_name").label("campaign"),
    Column::text("channel"),
    // The currency of every amount in the row (`currency=`).
    Column::text("currency").not_in_table(),
    Column::money("cost_minor", "currency")
        .nullable()
        .label("cost"),
    Column::uint("members"),
    Column::uint("responders"),
    Column::float("response_rate")
        .nullable()
        .unit(Unit::Percent)
        .label("response"),
    Column::uint("leads_sourced").label("sourced"),
    Column::float("leads"),
    Column::float("sales"),
    Column::money("revenue_minor", "currency").label("revenue"),
    Column::money("booked_minor", "currency").label("booked"),
    Column::float("roi").nullable(),
    Column::float("roas").nullable(),
    Column::money("cost_per_lead_minor", "currency")
        .nullable()
        .label("per lead"),
    Column::money("cost_per_sale_minor", "currency")
        .nullable()
        .label("per sale"),
];

pub const UPSELL: &[Column] = &[
    Column::text("account_id").label("account"),
    Column::text("name"),
    Column::time("customer_since"),
    Column::uint("support_cases"),
    Column::time("last_case_at").label("last case"),
];

pub const LITERATURE: &[Column] = &[
    Column::text("asset"),
    Column::uint("sent_to"),
    Column::uint("responded"),
    Column::float("response_rate")
        .nullable()
        .unit(Unit::Percent)
        .label("rate"),
    Column::uint("preceded_wins").label("wins after"),
    Column::amount("preceded_revenue_minor").label("revenue after"),
];

/// One row per person of a group (long format).
pub const DUPLICATES: &[Column] = &[
    Column::text("rule"),
    Column::text("key").label("shared value"),
    Column::text("person_ids").nullable().label("person"),
];

/// `/v1/reports/unattributed`: a row per reason and example.
pub const UNATTRIBUTED: &[Column] = &[
    Column::text("reason"),
    Column::uint("conversions"),
    Column::text("examples").nullable().label("example"),
];

pub const FUNNEL: &[Column] = &[
    Column::text("month"),
    Column::text("source"),
    Column::uint("new_leads"),
    Column::uint("converted_to_contact").label("to contact"),
    Column::float("contact_rate")
        .nullable()
        .unit(Unit::Percent)
        .label("contact rate"),
    Column::uint("became_customers").label("customers"),
    Column::float("customer_rate")
        .nullable()
        .unit(Unit::Percent)
        .label("customer rate"),
    Column::float("mean_days_to_first_win")
        .nullable()
        .label("days to first win"),
];

pub const SPEED_TO_LEAD: &[Column] = &[
    Column::text("group").label("owner"),
    Column::uint("leads"),
    Column::uint("followed_up"),
    Column::float("median_minutes")
        .nullable()
        .label("median (min)"),
    Column::float("mean_minutes").nullable().label("mean (min)"),
];

/// `/v1/reports/attribution?by=campaign`.
pub const CREDITS_BY_CAMPAIGN: &[Column] = &[
    Column::text("campaign_id").not_in_table(),
    Column::text("campaign_name").label("campaign"),
    Column::text("channel"),
    Column::float("conversions"),
    // A person's conversions have no value: all zeros, left out of tables.
    Column::money("value_minor", "currency")
        .label("value")
        .hidden_when_blank(),
    Column::text("currency").nullable().not_in_table(),
];

/// `/v1/reports/attribution?by=channel` and `by=source`.
pub const CREDITS_BY_GROUP: &[Column] = &[
    Column::text("group"),
    Column::uint("campaigns"),
    Column::float("conversions"),
    // A person's conversions have no value: all zeros, left out of tables.
    Column::money("value_minor", "currency")
        .label("value")
        .hidden_when_blank(),
    Column::text("currency").nullable().not_in_table(),
];

/// `/v1/reports/attribution`: its rows follow `by`.
pub const ATTRIBUTION: Output = Output::By {
    param: "by",
    choices: &[
        ("campaign", CREDITS_BY_CAMPAIGN),
        ("channel", CREDITS_BY_GROUP),
        ("source", CREDITS_BY_GROUP),
    ],
};

/// `/v1/reports/compare`: one row per campaign and model (long format).
pub const COMPARE: &[Column] = &[
    Column::text("campaign_id").not_in_table(),
    Column::text("campaign_name").label("campaign"),
    Column::text("channel"),
    Column::text("currency").nullable().not_in_table(),
    Column::text("models.model").label("model"),
    Column::float("models.conversions").label("conversions"),
    Column::money("models.value_minor", "currency")
        .label("value")
        .hidden_when_blank(),
];

/// `/v1/reports/data-driven?by=channel`: `value` is credited value in
/// fractional minor units (a data-driven model splits value continuously),
/// of the conversions' one currency.
pub const DATA_DRIVEN_BY_CHANNEL: &[Column] = &[
    Column::text("channel"),
    Column::float("score"),
    Column::float("share").unit(Unit::Percent),
    Column::float("conversions"),
    Column::float("value")
        .unit(Unit::Money { currency: None })
        .hidden_when_blank(),
];

/// `by=campaign`: the same, a step being a campaign (its id in `channel`).
pub const DATA_DRIVEN_BY_CAMPAIGN: &[Column] = &[
    Column::text("channel").label("campaign"),
    Column::float("score"),
    Column::float("share").unit(Unit::Percent),
    Column::float("conversions"),
    Column::float("value")
        .unit(Unit::Money { currency: None })
        .hidden_when_blank(),
];

/// `/v1/reports/data-driven`: its one list, `channels`, under `by`.
pub const DATA_DRIVEN: Output = Output::By {
    param: "by",
    choices: &[
        ("channel", DATA_DRIVEN_BY_CHANNEL),
        ("campaign", DATA_DRIVEN_BY_CAMPAIGN),
    ],
};

/// `/v1/reports/what-if?table=rows`: one row per model and group.
pub const WHAT_IF_ROWS: &[Column] = &[
    Column::text("model"),
    Column::text("group").not_in_table(),
    Column::text("name").label("group"),
    Column::text("channel"),
    Column::uint("campaigns"),
    Column::float("conversions"),
    Column::money("value_minor", "currency")
        .label("value")
        .hidden_when_blank(),
    Column::text("currency").nullable().not_in_table(),
];

/// `table=moved_totals`: per model, what moved against its baseline.
pub const WHAT_IF_MOVED_TOTALS: &[Column] = &[
    Column::text("model"),
    Column::text("baseline"),
    Column::uint("conversions_moved"),
    Column::amount("value_moved_minor").label("value moved"),
    // Conversions' worth of credit that moved (a sum of shares, not a rate).
    Column::float("share_moved").label("share moved"),
];

/// `table=moved`: one row per conversion and stored (`then`) credit line;
/// the what-if's lines (`now`) in one cell.
pub const WHAT_IF_MOVED: &[Column] = &[
    Column::text("model"),
    Column::text("baseline"),
    Column::text("conversion_id").label("conversion"),
    Column::time("occurred_at").not_in_table(),
    Column::money("value_minor", "currency")
        .nullable()
        .label("value"),
    Column::text("currency").nullable().not_in_table(),
    Column::money("moved_minor", "currency")
        .label("moved")
        .hidden_when_blank(),
    Column::float("moved_share")
        .unit(Unit::Percent)
        .label("share moved"),
    Column::text("then.campaign_id").nullable().label("then"),
    Column::float("then.weight")
        .nullable()
        .unit(Unit::Percent)
        .label("weight"),
    Column::int("then.amount_minor").nullable().not_in_table(),
    Column::text("now").nullable().not_in_table(),
];

/// `/v1/reports/what-if`: `table=rows`, `moved_totals` or `moved`.
pub const WHAT_IF: Output = Output::Tables(&[
    ("rows", WHAT_IF_ROWS),
    ("moved_totals", WHAT_IF_MOVED_TOTALS),
    ("moved", WHAT_IF_MOVED),
]);

/// Declares an as-of list: `head` columns, then what every as-of row and
/// total counts: then, now, the difference, and the moves by reason.
macro_rules! as_of_columns {
    ($(#[$doc:meta])* $name:ident, [$($head:expr),* $(,)?]) => {
        $(#[$doc])*
        pub const $name: &[Column] = &[
            $($head,)*
            Column::float("then.conversions").label("then"),
            Column::money("then.value_minor", "currency")
                .label("value then")
                .hidden_when_blank(),
            Column::float("now.conversions").label("now"),
            Column::money("now.value_minor", "currency")
                .label("value now")
                .hidden_when_blank(),
            Column::float("delta.conversions").label("delta"),
            Column::money("delta.value_minor", "currency")
                .label("value delta")
                .hidden_when_blank(),
            Column::uint("moved_conversions").label("moved"),
            Column::uint("reasons.new_conversion").label("new").hidden_when_blank(),
            Column::uint("reasons.late_touch").label("late touch").hidden_when_blank(),
            Column::uint("reasons.merge").label("merge").hidden_when_blank(),
            Column::uint("reasons.value_changed").label("value changed").hidden_when_blank(),
            Column::uint("reasons.retracted").label("retracted").hidden_when_blank(),
            Column::uint("reasons.model_change").label("model change").hidden_when_blank(),
            Column::uint("reasons.contact_added").label("contact added").hidden_when_blank(),
            Column::uint("reasons.milestone_changed")
                .label("milestone changed")
                .hidden_when_blank(),
            Column::uint("reasons.recomputed").label("recomputed").hidden_when_blank(),
        ];
    };
}

as_of_columns!(
    /// `/v1/reports/as-of?table=rows`: per group and currency, then, now and
    /// the difference, and how many conversions moved for each reason.
    AS_OF_ROWS,
    [
        Column::text("group"),
        Column::text("name"),
        Column::text("channel").not_in_table(),
        Column::text("currency").nullable().not_in_table(),
    ]
);

as_of_columns!(
    /// `table=totals`: the rows' sums per currency.
    AS_OF_TOTALS,
    [Column::text("currency").nullable().hidden_when_blank()]
);

/// `table=moved`: one row per moved conversion and reason; its credit lines
/// then and now as JSON text (empty where it was not in the period).
pub const AS_OF_MOVED: &[Column] = &[
    Column::text("conversion_id").label("conversion"),
    Column::text("reasons").nullable().label("why"),
    Column::text("currency").nullable().not_in_table(),
    Column::money("moved_minor", "currency")
        .label("moved")
        .hidden_when_blank(),
    Column::float("moved_share")
        .unit(Unit::Percent)
        .label("share moved"),
    Column::text("then").nullable().not_in_table(),
    Column::text("now").nullable().not_in_table(),
];

/// `/v1/reports/as-of`: `table=rows`, `totals` or `moved`.
pub const AS_OF: Output = Output::Tables(&[
    ("rows", AS_OF_ROWS),
    ("totals", AS_OF_TOTALS),
    ("moved", AS_OF_MOVED),
]);
