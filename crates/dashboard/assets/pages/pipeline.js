// Pipeline: the weighted forecast by month of expected close, the open deals,
// and each deal's red, yellow and green signals per tactic and offer.
import { getOrForbidden } from "../api.js";
import * as f from "../format.js";
import { PALETTE, chart, filters, forbidden, h, kpis, section, table } from "../ui.js";
import { ALL } from "./common.js";

export const title = "Pipeline";

export async function load(params) {
  const q = { owner: params.owner || "", colour: params.colour || "" };
  const [forecast, signals] = await Promise.all([
    getOrForbidden("/v1/reports/forecast", {}),
    getOrForbidden("/v1/reports/opportunity-signals", { owner: q.owner, ...ALL }),
  ]);
  return { q, forecast, signals };
}

const COLOURS = ["red", "yellow", "green"];

export function view(data, params, { setParams }) {
  const { q, forecast, signals } = data;
  if (forecast.forbidden) return forbidden("The pipeline", forecast.forbidden);
  const owners = [...new Set((signals.forbidden ? [] : signals).map((s) => s.owner_id))].sort();
  if (q.owner && !owners.includes(q.owner)) owners.push(q.owner);
  const bar = filters(
    [
      { name: "owner", label: "Owner", type: "select", default: "", options: [["", "Every owner"], ...owners.map((o) => [o, o])] },
      { name: "colour", label: "Signal", type: "select", default: "", options: [["", "Every deal"], ...COLOURS.map((c) => [c, `Has a ${c} signal`])] },
    ],
    q,
    (name, value) => setParams({ [name]: value }),
  );
  const currency = forecast.months[0]?.currency;
  const sum = (key) => forecast.months.filter((m) => m.currency === currency).reduce((s, m) => s + m[key], 0);
  const withheld = forecast.deals.some((d) => d.amount === null);
  const figures = kpis([
    { id: "kpi-open", label: "Open deals", shown: f.whole(forecast.deals.length) },
    { id: "kpi-pipeline", label: "Pipeline", shown: f.amount(sum("pipeline_minor"), currency) },
    { id: "kpi-weighted", label: "Weighted forecast", shown: f.amount(sum("weighted_minor"), currency) },
  ]);
  const months = forecast.months;
  const forecastChart = chart("chart-forecast", "Pipeline and weighted forecast by month of expected close", {
    type: "bar",
    data: {
      labels: months.map((m) => `${m.month} ${m.currency}`),
      datasets: [
        { label: "Pipeline", data: months.map((m) => m.pipeline_minor / 100), backgroundColor: PALETTE[0] },
        { label: "Weighted", data: months.map((m) => m.weighted_minor / 100), backgroundColor: PALETTE[2] },
      ],
    },
    options: { scales: { y: { compact: true } } },
  });
  const monthsTable = table({
    id: "table-forecast",
    caption: "Weighted forecast by month of expected close",
    columns: [
      { key: "month", label: "Month", value: (m) => f.text(m.month) },
      { key: "opportunities", label: "Deals", num: true, value: (m) => f.whole(m.opportunities) },
      { key: "pipeline", label: "Pipeline", num: true, value: (m) => f.amount(m.pipeline_minor, m.currency) },
      { key: "weighted", label: "Weighted", num: true, value: (m) => f.amount(m.weighted_minor, m.currency) },
    ],
    rows: months,
    csv: { path: "/v1/reports/forecast", params: {}, table: "months", filename: "forecast-months.csv" },
  });
  const parts = [bar, figures, h("div", { class: "grid" }, section("Forecast", "forecast", forecastChart, monthsTable))];
  if (signals.forbidden) parts.push(forbidden("Deal signals", signals.forbidden));
  else {
    const counted = signals
      .map((s) => {
        const counts = Object.fromEntries(COLOURS.map((c) => [c, s.indicators.filter((i) => i.colour === c).length]));
        const deal = forecast.deals.find((d) => d.opportunity_id === s.opportunity_id);
        return { ...s, ...counts, deal };
      })
      .filter((s) => !q.colour || s[q.colour] > 0);
    parts.push(
      section(
        "Open deals and their signals",
        "signals",
        table({
          id: "table-signals",
          caption: `Open deals${q.owner ? ` of ${q.owner}` : ""}: signals per tactic and offer (red: no response lately)`,
          columns: [
            { key: "name", label: "Deal", value: (s) => f.text(s.name), link: (s) => `#/conversion?id=${encodeURIComponent(`opportunity_created:${s.opportunity_id}`)}` },
            { key: "account", label: "Account", value: (s) => f.text(s.account_id), link: (s) => `#/account?id=${encodeURIComponent(s.account_id)}` },
            { key: "stage", label: "Stage", value: (s) => f.text(s.stage) },
            { key: "owner", label: "Owner", value: (s) => f.text(s.owner_id) },
            { key: "amount", label: "Amount", num: true, value: (s) => (s.deal ? f.amount(s.deal.amount?.amount_minor ?? null, s.deal.amount?.currency) : f.word("—")) },
            { key: "close", label: "Expected close", value: (s) => f.date(s.deal?.expected_close_at) },
            ...COLOURS.map((c) => ({ key: c, label: c[0].toUpperCase() + c.slice(1), num: true, value: (s) => f.whole(s[c]) })),
          ],
          rows: counted,
          sort: params.sort || "red:desc",
          onSort: (sort) => setParams({ sort }),
          csv: { filename: `opportunity-signals${q.owner ? `-${q.owner}` : ""}${q.colour ? `-${q.colour}` : ""}.csv` },
        }),
        withheld ? h("p", { class: "hint" }, "Amounts are withheld for your role.") : null,
      ),
    );
  }
  return h("div", {}, ...parts);
}
