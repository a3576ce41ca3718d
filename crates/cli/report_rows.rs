//! The columns and rows of `touchline report`'s list reports, as CSV and
//! Parquet write them (see [`crate::rows`]). The table and JSON forms stay in
//! `report.rs`.

use touchline_engine::{
    DueFollowUp, DuplicateGroup, FunnelRow, GroupCredit, LeadScore, LiteratureRow, PrioritisedLead,
    RfmReport, SpeedToLead, UpsellSignal,
};

use crate::rows::{Cell, Column, Rows};

/// An enum's name as the reports write it (`Email` → `email`).
fn lower(value: impl std::fmt::Debug) -> String {
    format!("{value:?}").to_lowercase()
}

pub(crate) const FOLLOW_UPS: &[Column] = &[
    Column::text("person_id"),
    Column::text("name"),
    Column::text("company"),
    Column::text("owner_id"),
    Column::time("due_at"),
    Column::float("overdue_hours").decimals(1),
    Column::uint("follow_ups"),
    Column::text("last_method").nullable(),
    Column::text("last_outcome").nullable(),
];

pub(crate) fn follow_ups(rows: &[DueFollowUp]) -> Rows {
    let mut out = Rows::new(FOLLOW_UPS);
    for r in rows {
        out.push(vec![
            (&r.person_id).into(),
            (&r.name).into(),
            (&r.company).into(),
            (&r.owner_id).into(),
            r.due_at.into(),
            (r.overdue_ms as f64 / 3_600_000.0).into(),
            r.follow_ups.into(),
            Cell::opt(r.last_method.map(lower)),
            Cell::opt(r.last_outcome.as_deref()),
        ]);
    }
    out
}

pub(crate) const LEADS: &[Column] = &[
    Column::text("person_id"),
    Column::text("name"),
    Column::text("company"),
    Column::text("owner_id"),
    Column::text("status").nullable(),
    // yes or no in CSV, `?` when nobody has said.
    Column::flag("need").nullable(),
    Column::flag("budget").nullable(),
    Column::flag("authority").nullable(),
    Column::uint("score"),
    Column::uint("touches"),
];

pub(crate) fn leads(rows: &[PrioritisedLead]) -> Rows {
    let mut out = Rows::new(LEADS);
    for l in rows {
        out.push(vec![
            (&l.person_id).into(),
            (&l.name).into(),
            (&l.company).into(),
            (&l.owner_id).into(),
            Cell::opt(l.status.map(lower)),
            Cell::or(l.qualification.need, "?"),
            Cell::or(l.qualification.budget, "?"),
            Cell::or(l.qualification.authority, "?"),
            l.qualification_score.into(),
            l.touches.into(),
        ]);
    }
    out
}

pub(crate) const SCORES: &[Column] = &[
    Column::text("person_id"),
    Column::text("owner_id"),
    Column::float("score").decimals(2),
    Column::uint("touches"),
    Column::time("last_touch_at").nullable(),
];

pub(crate) fn scores(rows: &[LeadScore]) -> Rows {
    let mut out = Rows::new(SCORES);
    for s in rows {
        out.push(vec![
            (&s.person_id).into(),
            (&s.owner_id).into(),
            s.score.into(),
            s.touches.into(),
            Cell::opt(s.last_touch_at),
        ]);
    }
    out
}

pub(crate) const RFM: &[Column] = &[
    Column::text("account_id"),
    Column::text("name"),
    Column::text("source"),
    Column::float("recency_days").decimals(1),
    Column::uint("frequency"),
    Column::int("monetary_minor"),
];

pub(crate) fn rfm(report: &RfmReport) -> Rows {
    let mut out = Rows::new(RFM);
    for c in &report.customers {
        out.push(vec![
            (&c.account_id).into(),
            (&c.name).into(),
            (&c.source).into(),
            c.recency_days.into(),
            c.frequency.into(),
            c.monetary_minor.into(),
        ]);
    }
    out
}

pub(crate) const UPSELL: &[Column] = &[
    Column::text("account_id"),
    Column::text("name"),
    Column::time("customer_since"),
    Column::uint("support_cases"),
    Column::time("last_case_at"),
];

pub(crate) fn upsell(rows: &[UpsellSignal]) -> Rows {
    let mut out = Rows::new(UPSELL);
    for s in rows {
        out.push(vec![
            (&s.account_id).into(),
            (&s.name).into(),
            s.customer_since.into(),
            s.support_cases.into(),
            s.last_case_at.into(),
        ]);
    }
    out
}

pub(crate) const LITERATURE: &[Column] = &[
    Column::text("asset"),
    Column::uint("sent_to"),
    Column::uint("responded"),
    Column::float("response_rate").decimals(2).nullable(),
    Column::uint("preceded_wins"),
    Column::int("preceded_revenue_minor"),
];

pub(crate) fn literature(rows: &[LiteratureRow]) -> Rows {
    let mut out = Rows::new(LITERATURE);
    for r in rows {
        out.push(vec![
            (&r.asset).into(),
            r.sent_to.into(),
            r.responded.into(),
            Cell::ratio(r.response_rate),
            r.preceded_wins.into(),
            r.preceded_revenue_minor.into(),
        ]);
    }
    out
}

pub(crate) const DUPLICATES: &[Column] = &[
    Column::text("rule"),
    Column::text("key"),
    // Space-separated, as in CSV: one value per group keeps one row per group.
    Column::text("person_ids"),
];

pub(crate) fn duplicates(groups: &[DuplicateGroup]) -> Rows {
    let mut out = Rows::new(DUPLICATES);
    for g in groups {
        out.push(vec![
            g.rule.into(),
            (&g.key).into(),
            g.person_ids.join(" ").into(),
        ]);
    }
    out
}

pub(crate) const FUNNEL: &[Column] = &[
    Column::text("month"),
    Column::text("source"),
    Column::uint("new_leads"),
    Column::uint("converted_to_contact"),
    Column::float("contact_rate").decimals(2).nullable(),
    Column::uint("became_customers"),
    Column::float("customer_rate").decimals(2).nullable(),
    Column::float("mean_days_to_first_win")
        .decimals(1)
        .nullable(),
];

pub(crate) fn funnel(rows: &[FunnelRow]) -> Rows {
    let mut out = Rows::new(FUNNEL);
    for r in rows {
        out.push(vec![
            (&r.month).into(),
            (&r.source).into(),
            r.new_leads.into(),
            r.converted_to_contact.into(),
            Cell::ratio(r.contact_rate),
            r.became_customers.into(),
            Cell::ratio(r.customer_rate),
            Cell::or(r.mean_days_to_first_win, "-"),
        ]);
    }
    out
}

pub(crate) const SPEED_TO_LEAD: &[Column] = &[
    Column::text("group"),
    Column::uint("leads"),
    Column::uint("followed_up"),
    Column::float("median_minutes").decimals(0).nullable(),
    Column::float("mean_minutes").decimals(0).nullable(),
];

pub(crate) fn speed_to_lead(rows: &[SpeedToLead]) -> Rows {
    let mut out = Rows::new(SPEED_TO_LEAD);
    for r in rows {
        out.push(vec![
            (&r.group).into(),
            r.leads.into(),
            r.followed_up.into(),
            Cell::or(r.median_minutes, "-"),
            Cell::or(r.mean_minutes, "-"),
        ]);
    }
    out
}

pub(crate) const CREDITS_BY_GROUP: &[Column] = &[
    Column::text("group"),
    Column::uint("campaigns"),
    Column::float("conversions"),
    Column::int("value_minor"),
    Column::text("currency").nullable(),
];

pub(crate) fn credits_by_group(rows: &[GroupCredit]) -> Rows {
    let mut out = Rows::new(CREDITS_BY_GROUP);
    for r in rows {
        out.push(vec![
            (&r.group).into(),
            r.campaigns.into(),
            r.conversions.into(),
            r.value_minor.into(),
            Cell::opt(r.currency.as_deref()),
        ]);
    }
    out
}

/// The columns of the reports printed through [`crate::output::emit`], read
/// from their serialized rows.
pub(crate) const OVERDUE: &[Column] = &[
    Column::text("person_id"),
    Column::text("name"),
    Column::text("owner_id"),
    Column::text("owner_kind"),
    Column::text("reason"),
    Column::time("due_at"),
    Column::int("overdue_ms"),
    Column::uint("follow_ups"),
    Column::text("last_outcome").nullable(),
    Column::uint("times_routed"),
];

pub(crate) const FORECAST_MONTHS: &[Column] = &[
    Column::text("month"),
    Column::text("currency"),
    Column::uint("opportunities"),
    Column::int("pipeline_minor"),
    Column::int("weighted_minor"),
];

pub(crate) const FORECAST_DEALS: &[Column] = &[
    Column::text("opportunity_id"),
    Column::text("name"),
    Column::text("stage"),
    Column::uint("probability_pct"),
    Column::time("expected_close_at").nullable(),
    Column::int("amount.amount_minor"),
    Column::text("amount.currency"),
    Column::int("weighted_minor"),
];

pub(crate) const INTEREST: &[Column] = &[
    Column::text("topic"),
    Column::uint("touches"),
    Column::uint("responses"),
    Column::uint("people"),
    Column::time("last_at"),
];

pub(crate) const SIGNALS: &[Column] = &[
    Column::text("opportunity_id"),
    Column::text("opportunity"),
    Column::text("owner_id"),
    Column::text("kind"),
    Column::text("name"),
    Column::text("colour"),
    Column::uint("touches"),
    Column::uint("responses"),
    Column::time("last_touch_at"),
    Column::time("last_response_at").nullable(),
];

pub(crate) const CAMPAIGNS: &[Column] = &[
    Column::text("campaign_id"),
    Column::text("campaign_name"),
    Column::uint("members"),
    Column::uint("responders"),
    // Ratios: `undefined` (nothing to divide by) or `unknown` (no cost
    // recorded) in CSV, null in Parquet.
    Column::float("response_rate").nullable(),
    Column::uint("leads_sourced"),
    Column::int("cost_minor").nullable(),
    Column::float("leads"),
    Column::float("sales"),
    Column::int("revenue_minor"),
    Column::int("booked_minor"),
    Column::float("roi").nullable(),
    Column::int("cost_per_lead_minor").nullable(),
    Column::int("cost_per_sale_minor").nullable(),
    // The currency of every amount in the row (--currency).
    Column::text("currency"),
];
