// Overview: credit per campaign or channel under one model, every model side
// by side, totals, unattributed conversions with their reasons, the period.
import { getOrForbidden } from "../api.js";
import * as f from "../format.js";
import { PALETTE, chart, filters, forbidden, h, kpis, notice, section, table } from "../ui.js";
import { ALL, FROM, TO, conversionField, modelField, modelsOf, valued } from "./common.js";

export const title = "Overview";

function query(params) {
  return {
    model: params.model || "linear",
    conversion: params.conversion || "lead_created",
    by: params.by || "campaign",
    from: params.from,
    to: params.to,
  };
}

export async function load(params) {
  const q = query(params);
  const range = { from: q.from, to: q.to };
  const [credits, comparison, unattributed] = await Promise.all([
    getOrForbidden("/v1/reports/attribution", { ...q, ...ALL }),
    getOrForbidden("/v1/reports/compare", { conversion: q.conversion, ...range, ...ALL }),
    getOrForbidden("/v1/reports/unattributed", { model: q.model, conversion: q.conversion, ...range, ...ALL }),
  ]);
  return { q, credits, comparison, unattributed };
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

export function view(data, params, { setParams }) {
  const { q, credits, comparison, unattributed } = data;
  const change = (name, value) => setParams({ [name]: value });
  const models = Array.isArray(comparison) ? modelsOf(comparison) : undefined;
  const bar = filters(
    [
      modelField(models),
      conversionField("lead_created"),
      { name: "by", label: "Group by", type: "select", default: "campaign", options: [["campaign", "Campaign"], ["channel", "Channel"]] },
      FROM,
      TO,
    ],
    q,
    change,
  );
  if (credits.forbidden) return h("div", {}, bar, forbidden("Attribution", credits.forbidden));

  const hasValue = valued(q.conversion);
  const label = (row) => row.campaign_name ?? row.group;
  const currency = credits.find((r) => r.currency)?.currency || null;
  const totalConversions = credits.reduce((s, r) => s + r.conversions, 0);
  const totalValue = credits.reduce((s, r) => s + (r.currency === currency ? r.value_minor : 0), 0);
  const unattributedCount = Array.isArray(unattributed) ? unattributed.reduce((s, r) => s + r.conversions, 0) : null;
  const valueName = q.conversion === "opportunity_won" ? "Revenue" : "Pipeline";
  const figures = [
    { id: "kpi-conversions", label: `${f.conversionName(q.conversion)}, credited`, shown: f.count(totalConversions) },
    hasValue ? { id: "kpi-value", label: `${valueName} credited`, shown: f.amount(totalValue, currency) } : null,
    { id: "kpi-unattributed", label: "Unattributed", shown: unattributedCount === null ? f.withheld() : f.whole(unattributedCount) },
    { id: "kpi-period", label: "Period", shown: f.text(f.period(q.from, q.to)) },
    { id: "kpi-model", label: "Model", shown: f.text(f.modelName(q.model)) },
  ].filter(Boolean);

  const ranked = [...credits].sort((a, b) => (hasValue ? b.value_minor - a.value_minor : b.conversions - a.conversions));
  const creditChart = chart("chart-credit", `${hasValue ? valueName : "Conversions"} credited per ${q.by} under ${f.modelName(q.model)}`, {
    type: "bar",
    data: {
      labels: ranked.map(label),
      datasets: [
        {
          label: hasValue ? `${valueName} (${currency || ""})` : "Conversions",
          data: ranked.map((r) => (hasValue ? r.value_minor / 100 : r.conversions)),
          backgroundColor: PALETTE[0],
        },
      ],
    },
    options: { indexAxis: "y", scales: { x: { compact: true } }, plugins: { legend: { display: false } } },
  });
  const creditTable = table({
    id: "table-credit",
    caption: `${f.conversionName(q.conversion)} credited per ${q.by}, ${f.modelName(q.model)}, ${f.period(q.from, q.to)}`,
    columns: [
      { key: "name", label: q.by === "campaign" ? "Campaign" : "Channel", value: (r) => f.text(label(r)), link: (r) => (r.campaign_id ? `#/campaign?id=${encodeURIComponent(r.campaign_id)}` : null) },
      q.by === "campaign" ? { key: "channel", label: "Channel", value: (r) => f.text(r.channel) } : { key: "campaigns", label: "Campaigns", num: true, value: (r) => f.whole(r.campaigns) },
      { key: "conversions", label: "Conversions", num: true, value: (r) => f.count(r.conversions) },
      hasValue ? { key: "value", label: valueName, num: true, value: (r) => f.amount(r.value_minor, r.currency) } : null,
    ].filter(Boolean),
    rows: ranked,
    sort: params.sort,
    onSort: (sort) => setParams({ sort }),
    csv: { path: "/v1/reports/attribution", params: { ...q, ...ALL }, filename: `attribution-${q.model}-${q.conversion}.csv` },
  });

  let comparisonPart;
  if (comparison.forbidden) comparisonPart = forbidden("The model comparison", comparison.forbidden);
  else {
    const groups = comparisonGroups(comparison, q.by)
      .map((g) => ({ ...g, linear: g.models.find((m) => m.model === "linear")?.[hasValue ? "value_minor" : "conversions"] ?? 0 }))
      .sort((a, b) => b.linear - a.linear);
    const metric = (m) => (hasValue ? m.value_minor / 100 : m.conversions);
    comparisonPart = h(
      "div",
      {},
      chart("chart-compare", `${hasValue ? valueName : "Conversions"} per ${q.by} under every configured model`, {
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
        caption: `${hasValue ? valueName : "Conversions"} per ${q.by} and model`,
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
        csv: { path: "/v1/reports/compare", params: { conversion: q.conversion, from: q.from, to: q.to, ...ALL }, filename: `compare-${q.conversion}.csv` },
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
    section(`Credit under ${f.modelName(q.model)}`, "credit", h("div", { class: "grid" }, creditChart, creditTable)),
    section("Every model side by side", "compare", comparisonPart),
    section("Unattributed", "unattributed", unattributedPart),
  );
}
