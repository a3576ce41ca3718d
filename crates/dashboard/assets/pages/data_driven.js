// Data-driven: Markov removal effects and Shapley shares per channel or
// campaign, beside the share every rule-based model gives.
import { ApiError, getOrForbidden } from "../api.js";
import * as f from "../format.js";
import { PALETTE, chart, filters, forbidden, h, kpis, notice, section, table } from "../ui.js";
import { ALL, FROM, TO, conversionField, modelsOf } from "./common.js";

export const title = "Data-driven";

async function report(params) {
  try {
    return await getOrForbidden("/v1/reports/data-driven", params);
  } catch (e) {
    // 422: the model cannot be computed on these journeys (too many channels for Shapley).
    if (e instanceof ApiError && e.status === 422) return { refused: e.message };
    throw e;
  }
}

export async function load(params) {
  const q = { conversion: params.conversion || "opportunity_won", by: params.by || "channel", order: params.order || "1", from: params.from, to: params.to };
  const base = { conversion: q.conversion, by: q.by, from: q.from, to: q.to };
  const [markov, shapley, comparison] = await Promise.all([
    report({ ...base, model: "markov", order: q.order }),
    report({ ...base, model: "shapley" }),
    getOrForbidden("/v1/reports/compare", { conversion: q.conversion, from: q.from, to: q.to, ...ALL }),
  ]);
  return { q, markov, shapley, comparison };
}

/** Each rule-based model's share per channel or campaign. */
function ruleShares(comparison, by) {
  const shares = new Map();
  const totals = {};
  for (const row of comparison) {
    if (row.campaign_id === "(no touch)") continue;
    const key = by === "channel" ? row.channel : row.campaign_id;
    const entry = shares.get(key) || {};
    for (const m of row.models) {
      entry[m.model] = (entry[m.model] || 0) + m.conversions;
      totals[m.model] = (totals[m.model] || 0) + m.conversions;
    }
    shares.set(key, entry);
  }
  for (const entry of shares.values()) for (const model of Object.keys(entry)) entry[model] = totals[model] ? entry[model] / totals[model] : "undefined";
  return shares;
}

export function view(data, params, { setParams }) {
  const { q, markov, shapley, comparison } = data;
  const bar = filters(
    [
      conversionField("opportunity_won"),
      { name: "by", label: "Per", type: "select", default: "channel", options: [["channel", "Channel"], ["campaign", "Campaign"]] },
      { name: "order", label: "Markov order", type: "select", default: "1", options: [["1", "1"], ["2", "2"], ["3", "3"]] },
      FROM,
      TO,
    ],
    q,
    (name, value) => setParams({ [name]: value }),
  );
  if (markov.forbidden) return h("div", {}, bar, forbidden("Data-driven attribution", markov.forbidden));
  if (markov.refused) return h("div", {}, bar, notice("error", markov.refused));
  const models = comparison.forbidden ? [] : modelsOf(comparison);
  const rules = comparison.forbidden ? new Map() : ruleShares(comparison, q.by);
  const shapleyOf = new Map((shapley.channels || []).map((c) => [c.channel, c]));
  const rows = markov.channels.map((c) => ({ key: c.channel, markov: c, shapley: shapleyOf.get(c.channel), rules: rules.get(c.channel) || {} }));
  rows.sort((a, b) => b.markov.share - a.markov.share);
  const shown = ["first_touch", "last_touch", "linear"].filter((m) => models.includes(m));
  const datasets = [
    { label: "Markov", data: rows.map((r) => r.markov.share * 100), backgroundColor: PALETTE[0] },
    { label: "Shapley", data: rows.map((r) => (r.shapley ? r.shapley.share * 100 : null)), backgroundColor: PALETTE[1] },
    ...shown.map((m, i) => ({ label: f.modelName(m), data: rows.map((r) => (typeof r.rules[m] === "number" ? r.rules[m] * 100 : 0)), backgroundColor: PALETTE[2 + i] })),
  ];
  const figures = kpis([
    { id: "kpi-converting", label: "Converting journeys", shown: f.whole(markov.converting_journeys) },
    { id: "kpi-non-converting", label: "Journeys without conversion", shown: f.whole(markov.non_converting_journeys) },
    { id: "kpi-total", label: "Conversions", shown: f.count(markov.total_conversions) },
    { id: "kpi-shapley-exact", label: "Shapley", shown: shapley.refused ? f.word("refused") : f.text(shapley.exact ? "exact" : "sampled") },
  ]);
  const columns = [
    { key: "key", label: q.by === "channel" ? "Channel" : "Campaign", value: (r) => f.text(r.key) },
    { key: "removal", label: "Removal effect", num: true, value: (r) => f.ratioPercent(r.markov.score) },
    { key: "markov", label: "Markov share", num: true, value: (r) => f.share(r.markov.share) },
    { key: "shapley", label: "Shapley share", num: true, value: (r) => (r.shapley ? f.share(r.shapley.share) : f.word(shapley.refused ? "refused" : "—")) },
    ...models.map((m) => ({ key: m, label: f.modelName(m), num: true, value: (r) => (r.rules[m] === undefined ? f.share(0) : f.share(r.rules[m])) })),
  ];
  return h(
    "div",
    {},
    bar,
    figures,
    shapley.refused ? notice("info", `Shapley: ${shapley.refused}`) : null,
    section(
      `Share of ${f.conversionName(q.conversion).toLowerCase()} per ${q.by}`,
      "data-driven",
      chart("chart-data-driven", `Markov and Shapley shares beside first touch, last touch and linear, per ${q.by}`, {
        type: "bar",
        data: { labels: rows.map((r) => r.key), datasets },
        options: { scales: { y: { title: { display: true, text: "% of conversions" } } } },
      }),
      table({
        id: "table-data-driven",
        caption: `Data-driven and rule-based shares per ${q.by}, ${f.period(q.from, q.to)}`,
        columns,
        rows,
        sort: params.sort,
        onSort: (sort) => setParams({ sort }),
        csv: { filename: `data-driven-${q.conversion}-by-${q.by}.csv` },
      }),
    ),
  );
}
