// Overview: credit per campaign or channel under one model, every model side
// by side, totals, unattributed conversions with their reasons, the period.
import { getOrForbidden } from "../api.js";
import * as f from "../format.js";
import { PALETTE, chart, filters, forbidden, h, kpis, notice, section, table } from "../ui.js";
import { ALL, FROM, TO, conversionField, modelField, modelsOf, valued } from "./common.js";

export const title = "Overview";

/** The three measures of the credit table: leads, and the value of deals created and won. */
const MEASURES = ["lead_created", "opportunity_created", "opportunity_won"];

function query(params) {
  return {
    model: params.model || "linear",
    conversion: params.conversion || "lead_created",
    by: params.by || "campaign",
    currency: params.currency || "",
    from: params.from,
    to: params.to,
  };
}

export async function load(params) {
  const q = query(params);
  const range = { from: q.from, to: q.to };
  // Two rounds of at most three reports: a two-core instance runs four at once
  // (`http.max_expensive_requests`) and refuses a fifth with 503.
  const [leads, created, won] = await Promise.all(
    MEASURES.map((conversion) => getOrForbidden("/v1/reports/attribution", { model: q.model, conversion, by: q.by, ...range, ...ALL })),
  );
  const [comparison, unattributed] = await Promise.all([
    getOrForbidden("/v1/reports/compare", { conversion: q.conversion, ...range, ...ALL }),
    getOrForbidden("/v1/reports/unattributed", { model: q.model, conversion: q.conversion, ...range, ...ALL }),
  ]);
  return { q, credits: { leads, created, won }, comparison, unattributed };
}

/** Comparison rows summed per channel when the page groups by channel. */
function comparisonGroups(rows, by) {
  if (by !== "channel") return rows.map((r) => ({ key: r.campaign_id, label: r.campaign_name, currency: r.currency, models: r.models }));
  const groups = new Map();
  for (const row of rows) {
    const key = `${row.channel || "(none)"}|${row.currency}`;
    const group = groups.get(key) || { key, label: row.channel || "(none)", currency: row.currency, models: [] };
    for (const m of row.models) {
      const entry = group.models.find((x) => x.model === m.model);
      if (entry) {
        entry.conversions += m.conversions;
        entry.value_minor += m.value_minor;
      } else group.models.push({ ...m });
    }
    groups.set(key, group);
  }
  return [...groups.values()];
}

/**
 * One row per campaign (or channel) with its credited leads, deals created
 * and won, pipeline and revenue: the three reports joined. Amounts count in
 * `currency` only; the deals in other currencies are counted, not added.
 */
function joined({ leads, created, won }, currency) {
  const rows = new Map();
  const row = (r) => {
    const key = r.campaign_id ?? r.group;
    if (!rows.has(key)) {
      rows.set(key, { key, campaign_id: r.campaign_id ?? null, name: r.campaign_name ?? r.group, channel: r.channel ?? null, campaigns: r.campaigns ?? null, leads: 0, created: 0, pipeline_minor: 0, won: 0, revenue_minor: 0, currency });
    }
    return rows.get(key);
  };
  for (const r of leads) row(r).leads += r.conversions;
  for (const r of created) {
    const x = row(r);
    x.created += r.conversions;
    if (r.currency === currency) x.pipeline_minor += r.value_minor;
  }
  for (const r of won) {
    const x = row(r);
    x.won += r.conversions;
    if (r.currency === currency) x.revenue_minor += r.value_minor;
  }
  return [...rows.values()];
}

export function view(data, params, { setParams }) {
  const { q, credits, comparison, unattributed } = data;
  const change = (name, value) => setParams({ [name]: value });
  const models = Array.isArray(comparison) ? modelsOf(comparison) : undefined;
  const refused = Object.values(credits).find((c) => c.forbidden);
  const currencies = refused ? [] : [...new Set([...credits.created, ...credits.won].map((r) => r.currency).filter(Boolean))].sort();
  const currency = q.currency || currencies[0] || "EUR";
  if (!currencies.includes(currency)) currencies.push(currency);
  const bar = filters(
    [
      modelField(models),
      { name: "by", label: "Group by", type: "select", default: "campaign", options: [["campaign", "Campaign"], ["channel", "Channel"]] },
      conversionField("lead_created"),
      { name: "currency", label: "Currency", type: "select", default: currency, options: currencies.map((c) => [c, c]) },
      FROM,
      TO,
    ],
    q,
    change,
  );
  if (refused) return h("div", {}, bar, forbidden("Attribution", refused.forbidden));

  const rows = joined(credits, currency);
  const sum = (key) => rows.reduce((s, r) => s + r[key], 0);
  const unattributedCount = Array.isArray(unattributed) ? unattributed.reduce((s, r) => s + r.conversions, 0) : null;
  const figures = [
    { id: "kpi-leads", label: "Leads credited", shown: f.count(sum("leads")) },
    { id: "kpi-pipeline", label: "Pipeline credited", shown: f.amount(sum("pipeline_minor"), currency) },
    { id: "kpi-revenue", label: "Revenue credited", shown: f.amount(sum("revenue_minor"), currency) },
    { id: "kpi-unattributed", label: `Unattributed (${f.conversionName(q.conversion).toLowerCase()})`, shown: unattributedCount === null ? f.withheld() : f.whole(unattributedCount) },
    { id: "kpi-period", label: "Period", shown: f.text(f.period(q.from, q.to)) },
    { id: "kpi-model", label: "Model", shown: f.text(f.modelName(q.model)) },
  ];

  const ranked = [...rows].sort((a, b) => b.revenue_minor - a.revenue_minor || b.pipeline_minor - a.pipeline_minor || b.leads - a.leads);
  const creditChart = chart("chart-credit", `Pipeline and revenue credited per ${q.by} under ${f.modelName(q.model)}, ${currency}`, {
    type: "bar",
    data: {
      labels: ranked.map((r) => r.name),
      datasets: [
        { label: `Pipeline (${currency})`, key: "pipeline", data: ranked.map((r) => r.pipeline_minor / 100), backgroundColor: PALETTE[0] },
        { label: `Revenue (${currency})`, key: "revenue", data: ranked.map((r) => r.revenue_minor / 100), backgroundColor: PALETTE[2] },
      ],
    },
    options: { indexAxis: "y", scales: { x: { compact: true } } },
  });
  const money = (key) => (r) => f.amount(r[key], r.currency);
  const creditTable = table({
    id: "table-credit",
    caption: `Leads, pipeline and revenue credited per ${q.by}, ${f.modelName(q.model)}, ${f.period(q.from, q.to)}, amounts in ${currency}`,
    columns: [
      { key: "name", label: q.by === "campaign" ? "Campaign" : "Channel", value: (r) => f.text(r.name), link: (r) => (r.campaign_id && r.campaign_id !== "(no touch)" ? `#/campaign?id=${encodeURIComponent(r.campaign_id)}` : null) },
      q.by === "campaign" ? { key: "channel", label: "Channel", value: (r) => f.text(r.channel) } : { key: "campaigns", label: "Campaigns", num: true, value: (r) => f.whole(r.campaigns) },
      { key: "leads", label: "Leads", num: true, value: (r) => f.count(r.leads) },
      { key: "created", label: "Deals created", num: true, value: (r) => f.count(r.created) },
      { key: "pipeline", label: "Pipeline", num: true, value: money("pipeline_minor") },
      { key: "won", label: "Deals won", num: true, value: (r) => f.count(r.won) },
      { key: "revenue", label: "Revenue", num: true, value: money("revenue_minor") },
    ],
    rows: ranked,
    sort: params.sort,
    onSort: (sort) => setParams({ sort }),
    csv: { filename: `credit-${q.model}-by-${q.by}.csv` },
  });

  const hasValue = valued(q.conversion);
  const valueName = q.conversion === "opportunity_won" ? "Revenue" : "Pipeline";
  let comparisonPart;
  if (comparison.forbidden) comparisonPart = forbidden("The model comparison", comparison.forbidden);
  else {
    // Amounts in the page's currency only, as in the table above.
    const compared = hasValue ? comparison.filter((r) => r.currency === currency) : comparison;
    const groups = comparisonGroups(compared, q.by)
      .map((g) => ({ ...g, linear: g.models.find((m) => m.model === "linear")?.[hasValue ? "value_minor" : "conversions"] ?? 0 }))
      .sort((a, b) => b.linear - a.linear);
    const metric = (m) => (hasValue ? m.value_minor / 100 : m.conversions);
    comparisonPart = h(
      "div",
      {},
      chart("chart-compare", `${hasValue ? `${valueName} (${currency})` : f.conversionName(q.conversion)} per ${q.by} under every configured model`, {
        type: "bar",
        data: {
          labels: groups.map((g) => g.label),
          datasets: models.map((model, i) => ({
            label: f.modelName(model),
            key: model,
            data: groups.map((g) => {
              const m = g.models.find((x) => x.model === model);
              return m ? metric(m) : 0;
            }),
            backgroundColor: PALETTE[i % PALETTE.length],
          })),
        },
        options: { scales: { y: { compact: true } } },
      }),
      table({
        id: "table-compare",
        caption: `${hasValue ? `${valueName} (${currency})` : f.conversionName(q.conversion)} per ${q.by} and model`,
        columns: [
          { key: "name", label: q.by === "campaign" ? "Campaign" : "Channel", value: (g) => f.text(g.label) },
          ...models.map((model) => ({
            key: model,
            label: f.modelName(model),
            num: true,
            value: (g) => {
              const m = g.models.find((x) => x.model === model);
              if (!m) return hasValue ? f.amount(0, g.currency) : f.count(0);
              return hasValue ? f.amount(m.value_minor, g.currency) : f.count(m.conversions);
            },
          })),
        ],
        rows: groups,
        // The API's CSV has a row per campaign and model; this one, the table's, a column per model.
        csv: { filename: `compare-${q.conversion}-by-${q.by}.csv` },
      }),
    );
  }

  const unattributedPart = unattributed.forbidden
    ? forbidden("Unattributed conversions", unattributed.forbidden)
    : unattributed.length === 0
      ? notice("info", `Every ${f.conversionName(q.conversion).toLowerCase()} conversion in the period has a touch to credit under ${f.modelName(q.model)}.`)
      : table({
          id: "table-unattributed",
          caption: "Conversions credited to (no touch), by reason",
          columns: [
            { key: "reason", label: "Reason", value: (r) => f.text(String(r.reason).replaceAll("_", " ")) },
            { key: "conversions", label: "Conversions", num: true, value: (r) => f.whole(r.conversions) },
            {
              key: "examples",
              label: "Examples",
              value: (r) => f.text(r.examples.join(", ")),
              link: (r) => (r.examples[0] ? `#/conversion?id=${encodeURIComponent(r.examples[0])}` : null),
            },
          ],
          rows: unattributed,
          csv: { path: "/v1/reports/unattributed", params: { model: q.model, conversion: q.conversion, from: q.from, to: q.to }, filename: "unattributed.csv" },
        });

  return h(
    "div",
    {},
    bar,
    kpis(figures),
    section(`Leads, pipeline and revenue under ${f.modelName(q.model)}`, "credit", h("div", { class: "grid" }, creditChart, creditTable)),
    section("Every model side by side", "compare", comparisonPart),
    section(`Unattributed: ${f.conversionName(q.conversion).toLowerCase()}`, "unattributed", unattributedPart),
  );
}
