// What-if: any model with other parameters (lookback, half-life, touch filter,
// whose touches a deal draws on) beside the same model as configured, per
// campaign, channel or source; computed in memory, nothing stored.
import { ApiError, getOrForbidden } from "../api.js";
import * as f from "../format.js";
import { PALETTE, chart, filters, forbidden, h, kpis, notice, section, table } from "../ui.js";
import { FROM, TO, conversionField, modelField, valued } from "./common.js";

export const title = "What-if";

/** The parameters of a what-if that change the configured settings. */
const CHANGES = ["lookback_days", "half_life_days", "filter", "touches"];

async function whatIf(params) {
  try {
    return await getOrForbidden("/v1/reports/what-if", params);
  } catch (e) {
    // 400: a parameter the models refuse; shown beside the filters.
    if (e instanceof ApiError && e.status === 400) return { refused: e.message };
    throw e;
  }
}

export async function load(params) {
  const q = {
    model: params.model || "linear",
    conversion: params.conversion || "opportunity_won",
    by: params.by || "channel",
    from: params.from,
    to: params.to,
  };
  for (const name of CHANGES) q[name] = params[name];
  const base = { model: q.model, conversion: q.conversion, by: q.by, from: q.from, to: q.to };
  const changed = Object.fromEntries(CHANGES.map((name) => [name, q[name]]));
  const [asked, configured] = await Promise.all([
    whatIf({ ...base, ...changed, moved: "true" }),
    whatIf(base),
  ]);
  return { q, asked, configured };
}

export function view(data, params, { setParams }) {
  const { q, asked, configured } = data;
  const bar = filters(
    [
      modelField(),
      conversionField("opportunity_won"),
      { name: "by", label: "Per", type: "select", default: "channel", options: [["channel", "Channel"], ["campaign", "Campaign"], ["source", "Source"]] },
      { name: "lookback_days", label: "Lookback (days, or none)", type: "text", placeholder: "as configured" },
      { name: "half_life_days", label: "Time-decay half-life (days)", type: "text", placeholder: "as configured" },
      { name: "filter", label: "Touches counted", type: "select", default: "", options: [["", "As configured"], ["all", "All"], ["responded", "Responded only"]] },
      { name: "touches", label: "A deal draws on", type: "select", default: "", options: [["", "As configured"], ["contact_roles", "Its contacts"], ["account_contacts", "Every account contact"]] },
      FROM,
      TO,
    ],
    q,
    (name, value) => setParams({ [name]: value }),
  );
  if (asked.forbidden) return h("div", {}, bar, forbidden("What-if attribution", asked.forbidden));
  if (asked.refused) return h("div", {}, bar, notice("error", asked.refused));
  if (configured.refused) return h("div", {}, bar, notice("error", configured.refused));
  const key = (r) => `${r.group}\u0000${r.currency ?? ""}`;
  const before = new Map(configured.rows.map((r) => [key(r), r]));
  const rows = asked.rows.map((r) => ({ ...r, before: before.get(key(r)) }));
  for (const r of configured.rows) if (!asked.rows.some((a) => key(a) === key(r))) rows.push({ ...r, conversions: 0, value_minor: 0, before: r });
  const money = valued(q.conversion);
  const moved = asked.moved_totals.find((m) => m.model === q.model);
  const figures = kpis([
    { id: "kpi-conversions", label: "Conversions in the period", shown: f.whole(asked.conversions) },
    { id: "kpi-touches", label: "Eligible touches", shown: f.whole(asked.eligible_touches) },
    { id: "kpi-moved", label: "Conversions whose credit moves", shown: moved ? f.whole(moved.conversions_moved) : f.word("—") },
    { id: "kpi-as-of", label: "As of log position", shown: f.whole(asked.as_of_seq) },
  ]);
  const top = rows.slice(0, 15);
  const columns = [
    { key: "group", label: q.by === "campaign" ? "Campaign" : q.by === "source" ? "Source" : "Channel", value: (r) => f.text(r.name || r.group) },
    { key: "configured", label: "Conversions, as configured", num: true, value: (r) => f.count(r.before ? r.before.conversions : 0) },
    { key: "what_if", label: "Conversions, what-if", num: true, value: (r) => f.count(r.conversions) },
    ...(money
      ? [
          { key: "configured_value", label: "Value, as configured", num: true, value: (r) => f.amount(r.before ? r.before.value_minor : 0, r.currency) },
          { key: "what_if_value", label: "Value, what-if", num: true, value: (r) => f.amount(r.value_minor, r.currency) },
        ]
      : []),
  ];
  return h(
    "div",
    {},
    bar,
    figures,
    section(
      `${f.modelName(q.model)}: what-if against as configured, per ${q.by}`,
      "what-if",
      chart("chart-what-if", `Conversions credited per ${q.by}, as configured and with the asked parameters`, {
        type: "bar",
        data: {
          labels: top.map((r) => r.name || r.group),
          datasets: [
            { label: "As configured", data: top.map((r) => (r.before ? r.before.conversions : 0)), backgroundColor: PALETTE[9] },
            { label: "What-if", data: top.map((r) => r.conversions), backgroundColor: PALETTE[0] },
          ],
        },
        options: { scales: { y: { title: { display: true, text: "conversions" } } } },
      }),
      table({
        id: "table-what-if",
        caption: `${f.modelName(q.model)} per ${q.by}, ${f.period(q.from, q.to)}: nothing is stored or published`,
        columns,
        rows,
        sort: params.sort,
        onSort: (sort) => setParams({ sort }),
        csv: { filename: `what-if-${q.model}-${q.conversion}-by-${q.by}.csv` },
      }),
    ),
  );
}
