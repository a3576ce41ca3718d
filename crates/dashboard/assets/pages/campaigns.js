// Campaigns: cost, members, responses, leads sourced, credited leads,
// pipeline, revenue, ROI, ROAS, cost per lead and per sale under one model;
// grouped by channel or campaign type, or parents rolled up with their children.
import { getOrForbidden } from "../api.js";
import * as f from "../format.js";
import { PALETTE, chart, filters, forbidden, h, notice, section, table } from "../ui.js";
import { ALL, FROM, TO, modelField } from "./common.js";

export const title = "Campaigns";

function query(params) {
  return { model: params.model || "linear", currency: params.currency || "EUR", from: params.from, to: params.to };
}

export async function load(params) {
  const q = query(params);
  const [performance, pipeline, campaigns] = await Promise.all([
    getOrForbidden("/v1/reports/campaigns", { ...q, ...ALL }),
    getOrForbidden("/v1/reports/attribution", { model: q.model, conversion: "opportunity_created", from: q.from, to: q.to, ...ALL }),
    getOrForbidden("/v1/campaigns", ALL),
  ]);
  return { q, group: params.group || "none", channel: params.channel || "", type: params.type || "", performance, pipeline, campaigns };
}

/** A ratio from summed parts, as the engine defines it: undefined on a zero denominator. */
function ratio(numerator, denominator) {
  return denominator === 0 ? "undefined" : numerator / denominator;
}

/**
 * Rows summed into groups. Counts and amounts add up; the ratios are computed
 * again from the sums, and a group with a campaign of unknown cost has an
 * unknown cost and unknown ratios. Members and responders add up per campaign,
 * so a person in two campaigns of a group counts twice (said under the table).
 */
function grouped(rows, keyOf, labelOf) {
  const groups = new Map();
  for (const row of rows) {
    const key = keyOf(row);
    const g = groups.get(key) || {
      key, campaign_id: null, campaign_name: labelOf(row), channel: "", type: "", currency: row.currency, campaigns: 0,
      cost_minor: 0, members: 0, responders: 0, leads_sourced: 0, leads: 0, sales: 0, pipeline_minor: 0, revenue_minor: 0,
    };
    g.campaigns += 1;
    g.cost_minor = g.cost_minor === null || row.cost_minor === null ? null : g.cost_minor + row.cost_minor;
    for (const k of ["members", "responders", "leads_sourced", "leads", "sales", "pipeline_minor", "revenue_minor"]) g[k] += row[k];
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => {
    const cost = g.cost_minor;
    const unknown = cost === null;
    return {
      ...g,
      response_rate: ratio(g.responders, g.members),
      roi: unknown ? "unknown" : ratio(g.revenue_minor - cost, cost),
      roas: unknown ? "unknown" : ratio(g.revenue_minor, cost),
      cost_per_lead_minor: unknown ? "unknown" : g.leads === 0 ? "undefined" : Math.round(cost / g.leads),
      cost_per_sale_minor: unknown ? "unknown" : g.sales === 0 ? "undefined" : Math.round(cost / g.sales),
    };
  });
}

/** The top of a campaign's parent chain. */
function root(id, byId) {
  let current = id;
  const seen = new Set();
  while (byId.get(current)?.parent_campaign_id && !seen.has(current)) {
    seen.add(current);
    current = byId.get(current).parent_campaign_id;
  }
  return current;
}

export function view(data, params, { setParams }) {
  const { q, group, channel, type, performance, pipeline, campaigns } = data;
  const change = (name, value) => setParams({ [name]: value });
  const currencies = new Set(["EUR", q.currency]);
  if (Array.isArray(campaigns)) for (const c of campaigns) for (const cost of c.actual_cost) currencies.add(cost.currency);
  const known = Array.isArray(campaigns) ? campaigns : [];
  const choices = (values, picked) => [...new Set([...values.filter(Boolean), picked].filter(Boolean))].sort().map((v) => [v, v]);
  const bar = filters(
    [
      modelField(),
      { name: "channel", label: "Channel", type: "select", default: "", options: [["", "Every channel"], ...choices(known.map((c) => c.channel), channel)] },
      { name: "type", label: "Campaign type", type: "select", default: "", options: [["", "Every type"], ...choices(known.map((c) => c.campaign_type), type)] },
      { name: "currency", label: "Currency", type: "select", default: "EUR", options: [...currencies].sort().map((c) => [c, c]) },
      {
        name: "group",
        label: "Group by",
        type: "select",
        default: "none",
        options: [["none", "Campaign"], ["channel", "Channel"], ["type", "Campaign type"], ["parent", "Parent campaign (roll-up)"]],
      },
      FROM,
      TO,
    ],
    { ...q, group, channel, type },
    change,
  );
  if (performance.forbidden) return h("div", {}, bar, forbidden("Campaign performance", performance.forbidden));

  const byId = new Map((Array.isArray(campaigns) ? campaigns : []).map((c) => [c.campaign_id, c]));
  const pipelineOf = new Map();
  if (Array.isArray(pipeline)) for (const p of pipeline) if (p.currency === q.currency) pipelineOf.set(p.campaign_id, (pipelineOf.get(p.campaign_id) || 0) + p.value_minor);
  const rows = performance
    .map((r) => ({
      ...r,
      type: byId.get(r.campaign_id)?.campaign_type || "",
      pipeline_minor: pipelineOf.get(r.campaign_id) || 0,
    }))
    .filter((r) => (!channel || r.channel === channel) && (!type || r.type === type));
  let shown = rows;
  let note = null;
  if (group === "channel") shown = grouped(rows, (r) => r.channel, (r) => r.channel || "(none)");
  else if (group === "type") shown = grouped(rows, (r) => r.type, (r) => r.type || "(none)");
  else if (group === "parent") {
    shown = grouped(rows, (r) => root(r.campaign_id, byId), (r) => byId.get(root(r.campaign_id, byId))?.name || root(r.campaign_id, byId));
    for (const g of shown) g.campaign_id = g.key;
  }
  if (group !== "none") note = notice("info", "Grouped rows add up their campaigns: members and responders count a person once per campaign; ratios are computed from the sums, and a group with a campaign of unknown cost has unknown ratios.");

  const money = (key) => (r) => f.amount(r[key], r.currency);
  const columns = [
    {
      key: "campaign",
      label: group === "none" || group === "parent" ? "Campaign" : group === "channel" ? "Channel" : "Type",
      value: (r) => f.text(r.campaign_name),
      link: (r) => (r.campaign_id && group !== "channel" && group !== "type" ? `#/campaign?id=${encodeURIComponent(r.campaign_id)}` : null),
    },
    group === "none" ? { key: "channel", label: "Channel", value: (r) => f.text(r.channel) } : { key: "campaigns", label: "Campaigns", num: true, value: (r) => f.whole(r.campaigns) },
    group === "none" ? { key: "type", label: "Type", value: (r) => f.text(r.type) } : null,
    { key: "cost", label: "Cost", num: true, value: (r) => (r.cost_minor === null ? f.word("unknown") : f.amount(r.cost_minor, r.currency)) },
    { key: "members", label: "Members", num: true, value: (r) => f.whole(r.members) },
    { key: "responders", label: "Responses", num: true, value: (r) => f.whole(r.responders) },
    { key: "response_rate", label: "Response rate", num: true, value: (r) => f.ratioPercent(r.response_rate) },
    { key: "leads_sourced", label: "Leads sourced", num: true, value: (r) => f.whole(r.leads_sourced) },
    { key: "leads", label: "Credited leads", num: true, value: (r) => f.count(r.leads) },
    { key: "pipeline", label: "Pipeline", num: true, value: money("pipeline_minor") },
    { key: "sales", label: "Sales", num: true, value: (r) => f.count(r.sales) },
    { key: "revenue", label: "Revenue", num: true, value: money("revenue_minor") },
    { key: "roi", label: "ROI", num: true, value: (r) => f.ratioPercent(r.roi) },
    { key: "roas", label: "ROAS", num: true, value: (r) => f.ratioTimes(r.roas) },
    { key: "cpl", label: "Cost per lead", num: true, value: (r) => f.minorRatio(r.cost_per_lead_minor, r.currency) },
    { key: "cps", label: "Cost per sale", num: true, value: (r) => f.minorRatio(r.cost_per_sale_minor, r.currency) },
  ].filter(Boolean);

  const top = [...shown].sort((a, b) => b.revenue_minor - a.revenue_minor).slice(0, 12);
  const chartPart = chart("chart-campaigns", `Cost and revenue per ${group === "none" ? "campaign" : group} under ${f.modelName(q.model)}, ${q.currency}`, {
    type: "bar",
    data: {
      labels: top.map((r) => r.campaign_name),
      datasets: [
        { label: `Revenue (${q.currency})`, data: top.map((r) => r.revenue_minor / 100), backgroundColor: PALETTE[2] },
        { label: `Cost (${q.currency})`, data: top.map((r) => (r.cost_minor === null ? null : r.cost_minor / 100)), backgroundColor: PALETTE[1] },
      ],
    },
    options: { scales: { y: { compact: true } } },
  });

  return h(
    "div",
    {},
    bar,
    section(
      `Performance under ${f.modelName(q.model)}, ${f.period(q.from, q.to)}`,
      "performance",
      table({
        id: "table-campaigns",
        caption: `Campaigns${channel ? ` in channel ${channel}` : ""}${type ? ` of type ${type}` : ""}, amounts in ${q.currency}: cost of the period, credited conversions and revenue`,
        columns,
        rows: shown,
        sort: params.sort || "revenue:desc",
        onSort: (sort) => setParams({ sort }),
        csv: { filename: `campaigns-${q.model}-${q.currency}${group === "none" ? "" : `-by-${group}`}.csv` },
      }),
      note,
      h("p", { class: "hint" }, "ROI and ROAS are undefined for a campaign that cost nothing, and unknown for one whose cost nobody recorded. Pipeline is the opportunity-created value credited under the same model."),
    ),
    section("Cost and revenue", "cost-revenue", chartPart),
  );
}
