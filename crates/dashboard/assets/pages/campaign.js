// Campaign drill-down: one campaign's record, its costs, the credit every
// model gives it at each conversion point, and the deals and people it
// influenced with every model's credit per deal.
import { ApiError, getOrForbidden, getPage } from "../api.js";
import * as f from "../format.js";
import { PALETTE, chart, filters, forbidden, h, kpis, notice, section, table } from "../ui.js";
import { ALL, CONVERSIONS, FROM, TO, modelsOf, valued } from "./common.js";
import { influenceFilters, influenceParams, influenceSection } from "./influence.js";

export const title = "Campaign";
export const inMenu = false;

export async function load(params) {
  const q = { id: params.id || "", from: params.from, to: params.to, influence: params.influence, currency: params.currency, order: params.order };
  const campaigns = await getOrForbidden("/v1/campaigns", ALL);
  if (campaigns.forbidden || !q.id) return { q, campaigns };
  const comparisons = await Promise.all(
    CONVERSIONS.map((conversion) => getOrForbidden("/v1/reports/compare", { conversion, campaign: q.id, from: q.from, to: q.to, ...ALL })),
  );
  // After the comparisons, not beside them: four reports at once are as many
  // as a two-core instance runs (`http.max_expensive_requests`); a fifth would
  // be refused with 503.
  const influence = await influenced(q);
  return { q, campaigns, comparisons, influence };
}

/** The influence rows of the filters, or the API's refusal (403, or 400 naming a filter). */
async function influenced(q) {
  try {
    return await getPage(`/v1/campaigns/${encodeURIComponent(q.id)}/influence`, influenceParams(q));
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 400 || e.status === 404)) return { refused: e };
    throw e;
  }
}

export function view(data, params, { setParams }) {
  const { q, campaigns, comparisons, influence } = data;
  if (campaigns.forbidden) return forbidden("Campaigns", campaigns.forbidden);
  const sorted = [...campaigns].sort((a, b) => a.name.localeCompare(b.name));
  const bar = filters(
    [
      { name: "id", label: "Campaign", type: "select", options: [["", "Choose a campaign"], ...sorted.map((c) => [c.campaign_id, c.name || c.campaign_id])] },
      FROM,
      TO,
    ],
    q,
    (name, value) => setParams({ [name]: value }),
  );
  const campaign = campaigns.find((c) => c.campaign_id === q.id);
  if (!q.id) return h("div", {}, bar, notice("info", "Choose a campaign to see what every model credits it with."));
  if (!campaign) return h("div", {}, bar, notice("error", `There is no campaign ${q.id}.`));

  const children = campaigns.filter((c) => c.parent_campaign_id === campaign.campaign_id);
  const parent = campaigns.find((c) => c.campaign_id === campaign.parent_campaign_id);
  const cost = campaign.actual_cost[0];
  const record = kpis([
    { id: "kpi-channel", label: "Channel", shown: f.text(campaign.channel) },
    { id: "kpi-type", label: "Type", shown: f.text(campaign.campaign_type) },
    { id: "kpi-members", label: "Members", shown: f.whole(campaign.members) },
    { id: "kpi-responders", label: "Responders", shown: f.whole(campaign.responders) },
    { id: "kpi-sourced", label: "Leads sourced", shown: f.whole(campaign.leads_sourced) },
    { id: "kpi-cost", label: "Recorded cost", shown: cost ? f.amount(cost.amount_minor, cost.currency) : f.word("unknown") },
    { id: "kpi-runs", label: "Runs", shown: f.text(`${f.date(campaign.starts_at).text} – ${campaign.ends_at ? f.date(campaign.ends_at).text : "open"}`) },
  ]);
  const family = h(
    "p",
    { class: "hint" },
    `Medium ${campaign.medium || "—"}, source ${campaign.source || "—"}, ad code ${campaign.ad_code || "—"}. `,
    parent ? h("span", {}, "Part of ", h("a", { href: `#/campaign?id=${encodeURIComponent(parent.campaign_id)}` }, parent.name), ". ") : null,
    children.length ? h("span", {}, "Children: ", children.map((c, i) => [i ? ", " : "", h("a", { href: `#/campaign?id=${encodeURIComponent(c.campaign_id)}` }, c.name)]), ".") : null,
  );

  let credit;
  if (comparisons.some((c) => c.forbidden)) credit = forbidden("Attribution", comparisons.find((c) => c.forbidden).forbidden);
  else {
    const models = modelsOf(comparisons.flat());
    const cell = (i, model, what) => {
      const rows = comparisons[i];
      const entries = rows.flatMap((r) => r.models.filter((m) => m.model === model).map((m) => ({ ...m, currency: r.currency })));
      if (what === "conversions") return f.count(entries.reduce((s, m) => s + m.conversions, 0));
      const currency = entries.find((m) => m.currency)?.currency;
      return f.amount(entries.filter((m) => m.currency === currency).reduce((s, m) => s + m.value_minor, 0), currency);
    };
    const columns = [{ key: "model", label: "Model", value: (m) => f.text(f.modelName(m)) }];
    CONVERSIONS.forEach((conversion, i) => {
      columns.push({ key: `${conversion}`, label: f.conversionName(conversion), num: true, value: (m) => cell(i, m, "conversions") });
      if (valued(conversion)) columns.push({ key: `${conversion}-value`, label: conversion === "opportunity_won" ? "Revenue" : "Pipeline", num: true, value: (m) => cell(i, m, "value") });
    });
    credit = h(
      "div",
      {},
      table({
        id: "table-campaign-models",
        caption: `What each model credits ${campaign.name} with, ${f.period(q.from, q.to)}`,
        columns,
        rows: models,
        csv: { filename: `models-${q.id}.csv` },
      }),
      chart("chart-campaign-models", `Credited conversions of ${campaign.name} per model and conversion point`, {
        type: "bar",
        data: {
          labels: models.map(f.modelName),
          datasets: CONVERSIONS.map((conversion, i) => ({
            label: f.conversionName(conversion),
            data: models.map((m) => cell(i, m, "conversions").sort),
            backgroundColor: PALETTE[i],
          })),
        },
        options: { scales: { y: { compact: true } } },
      }),
    );
  }

  const costs = campaign.costs || [];
  const costPart = costs.length
    ? table({
        id: "table-campaign-costs",
        caption: "Recorded costs",
        columns: [
          { key: "at", label: "Incurred", value: (c) => f.date(c.at) },
          { key: "amount", label: "Amount", num: true, value: (c) => f.amount(c.cost.amount_minor, c.cost.currency) },
          { key: "event", label: "Event", value: (c) => f.text(c.event_id) },
        ],
        rows: costs,
      })
    : notice("info", campaign.planned_cost ? "No cost recorded yet; reports spread the planned cost over the run." : "No cost recorded and none planned: ROI and ROAS are unknown.");

  return h(
    "div",
    {},
    bar,
    h("h2", { class: "subject", id: "campaign-name" }, campaign.name || campaign.campaign_id),
    record,
    family,
    section("Credit per model", "campaign-models", credit),
    section(
      "Influenced deals and people",
      "campaign-influence",
      influenceFilters(q, modelsOf(comparisons.filter((c) => !c.forbidden).flat()), (name, value) => setParams({ [name]: value })),
      influenceSection(campaign, q, influence),
    ),
    section("Costs", "campaign-costs", costPart),
  );
}
