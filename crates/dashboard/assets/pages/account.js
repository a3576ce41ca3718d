// Account: its contacts, deals and transactions, the product and topic
// interest across every contact, and its latest events. The service role
// sees it without amounts: the API sends none, and the page says so.
import { ApiError, getOrForbidden } from "../api.js";
import * as f from "../format.js";
import { PALETTE, chart, filters, forbidden, h, kpis, notice, section, table } from "../ui.js";
import { ALL } from "./common.js";

export const title = "Account";

export async function load(params) {
  const id = params.id || "";
  if (!id) return { id };
  try {
    const [record, interest] = await Promise.all([
      getOrForbidden(`/v1/accounts/${encodeURIComponent(id)}`, { history: 50 }),
      getOrForbidden(`/v1/accounts/${encodeURIComponent(id)}/interest`, ALL),
    ]);
    return { id, record, interest };
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return { id, missing: e.message };
    throw e;
  }
}

function money(value) {
  // null: withheld for this role; an object: { amount_minor, currency }.
  if (value === null || value === undefined) return f.withheld();
  return f.amount(value.amount_minor, value.currency);
}

export function view(data, params, { setParams }) {
  const bar = filters([{ name: "id", label: "Account id", type: "text", placeholder: "acc-0000031" }], { id: data.id }, (name, value) => setParams({ [name]: value.trim() }));
  if (!data.id) return h("div", {}, bar, notice("info", "Enter an account id, or open one from the pipeline's deals."));
  if (data.missing) return h("div", {}, bar, notice("error", data.missing));
  const { record, interest } = data;
  if (record.forbidden) return h("div", {}, bar, forbidden("The account", record.forbidden));
  const { account, contacts, opportunities } = record;
  const withheld = record.revenue === null || account.transactions === null;
  const revenue = withheld ? f.withheld() : record.revenue.length ? f.amount(record.revenue[0].amount_minor, record.revenue[0].currency) : f.amount(0, "EUR");
  const parts = [
    bar,
    h("h2", { class: "subject", id: "account-name" }, account.name || account.account_id),
    kpis([
      { id: "kpi-industry", label: "Industry", shown: f.text(account.industry) },
      { id: "kpi-owner", label: "Owner", shown: f.text(account.owner_id) },
      { id: "kpi-contacts", label: "Contacts", shown: f.whole(contacts.length) },
      { id: "kpi-deals", label: "Deals", shown: f.whole(opportunities.length) },
      { id: "kpi-revenue", label: "Revenue", shown: revenue },
      { id: "kpi-customer", label: "Customer since", shown: f.date(record.customer_since) },
    ]),
  ];
  if (withheld) parts.push(notice("withheld", "Amounts, transactions and revenue are withheld for your role."));
  parts.push(
    h(
      "div",
      { class: "grid" },
      section(
        "Contacts",
        "contacts",
        table({
          id: "table-contacts",
          caption: "People at the account",
          columns: [
            { key: "name", label: "Name", value: (c) => f.text(c.name) },
            { key: "email", label: "E-mail", value: (c) => f.text(c.email) },
            { key: "kind", label: "Kind", value: (c) => f.text(c.kind) },
            { key: "touches", label: "Touches", num: true, value: (c) => f.whole(c.touches) },
            { key: "lead", label: "Lead since", value: (c) => f.date(c.lead_created_at), link: (c) => (c.lead_created_at ? `#/conversion?id=${encodeURIComponent(`lead_created:${c.person_id}`)}` : null) },
          ],
          rows: contacts,
          csv: { path: `/v1/accounts/${encodeURIComponent(account.account_id)}`, params: { history: 50 }, table: "contacts", filename: `${account.account_id}-contacts.csv` },
        }),
      ),
      section(
        "Interest",
        "interest",
        interest.forbidden
          ? forbidden("Interest", interest.forbidden)
          : interest.length
            ? chart("chart-interest", "Touches and responses per product or topic across every contact", {
                type: "bar",
                data: {
                  labels: interest.map((i) => i.topic),
                  datasets: [
                    { label: "Touches", data: interest.map((i) => i.touches), backgroundColor: PALETTE[0] },
                    { label: "Responses", data: interest.map((i) => i.responses), backgroundColor: PALETTE[2] },
                  ],
                },
                options: { indexAxis: "y" },
              })
            : notice("info", "No touch of any contact names a product or topic."),
      ),
    ),
    section(
      "Deals",
      "deals",
      table({
        id: "table-deals",
        caption: "Opportunities of the account",
        columns: [
          { key: "name", label: "Deal", value: (o) => f.text(o.name), link: (o) => `#/conversion?id=${encodeURIComponent(`${o.closed?.won ? "opportunity_won" : "opportunity_created"}:${o.opportunity_id}`)}` },
          { key: "stage", label: "Stage", value: (o) => f.text(o.stage) },
          { key: "amount", label: "Amount", num: true, value: (o) => money(o.amount) },
          { key: "probability", label: "Probability", num: true, value: (o) => (o.probability_pct === null ? f.word("—") : f.ratioPercent(o.probability_pct / 100)) },
          { key: "created", label: "Created", value: (o) => f.date(o.created_at) },
          { key: "close", label: "Expected close", value: (o) => f.date(o.expected_close_at) },
          { key: "closed", label: "Closed", value: (o) => f.text(o.closed ? `${o.closed.won ? "won" : "lost"} ${f.date(o.closed.at).text}` : "open") },
        ],
        rows: opportunities,
        csv: { path: `/v1/accounts/${encodeURIComponent(account.account_id)}`, params: { history: 50 }, table: "opportunities", filename: `${account.account_id}-deals.csv` },
      }),
    ),
    section(
      "Rep alerts",
      "alerts",
      table({
        id: "table-alerts",
        caption: "The latest alerts to the account's reps: a contact showed activity while deals were open (newest first)",
        columns: [
          { key: "at", label: "Activity", value: (a) => f.dateTime(a.occurred_at) },
          { key: "person", label: "Person", value: (a) => f.text(a.person_name || a.person_id) },
          { key: "campaign", label: "Campaign", value: (a) => f.text(a.campaign_id), link: (a) => `#/campaign?id=${encodeURIComponent(a.campaign_id)}` },
          { key: "touch", label: "Touch", value: (a) => f.text(a.touch_type.replaceAll("_", " ")) },
          { key: "topic", label: "Topic", value: (a) => f.text(a.topic || "—") },
          { key: "reps", label: "Reps told", value: (a) => f.text(a.rep_ids.join(", ") || "—") },
          { key: "deals", label: "Open deals", num: true, value: (a) => f.whole(a.open_opportunity_ids.length) },
        ],
        rows: [...(account.recent_alerts ?? [])].reverse(),
        csv: { filename: `${account.account_id}-alerts.csv` },
        empty: "No alert raised for this account.",
      }),
    ),
    section(
      "Transactions",
      "transactions",
      account.transactions === null
        ? notice("withheld", "Transactions are withheld for your role.")
        : table({
            id: "table-transactions",
            caption: "What accounting booked",
            columns: [
              { key: "at", label: "Booked", value: (t) => f.date(t.at ?? t.occurred_at) },
              { key: "id", label: "Transaction", value: (t) => f.text(t.transaction_id ?? t.event_id) },
              { key: "amount", label: "Amount", num: true, value: (t) => money(t.amount) },
            ],
            rows: account.transactions,
            empty: "No transaction booked.",
          }),
    ),
    section(
      "Latest events",
      "history",
      table({
        id: "table-history",
        caption: "The account's latest events from the log",
        columns: [
          { key: "seq", label: "Seq", num: true, value: (e) => f.whole(e.seq) },
          { key: "at", label: "Occurred", value: (e) => f.dateTime(e.occurred_at) },
          { key: "type", label: "Event", value: (e) => f.text(e.payload?.type?.replaceAll("_", " ")) },
          { key: "source", label: "Source system", value: (e) => f.text(e.source_system) },
        ],
        rows: record.history,
        csv: { path: `/v1/accounts/${encodeURIComponent(account.account_id)}`, params: { history: 50 }, table: "history", filename: `${account.account_id}-events.csv` },
      }),
    ),
  );
  return h("div", {}, ...parts);
}
