// Conversion drill-down: one conversion's touches in time order, across every
// contact of a deal, each with the credit every model gives it, the version
// each model's credit set is at, and its version history.
import { ApiError, get, getOrForbidden } from "../api.js";
import * as f from "../format.js";
import { PALETTE, chart, filters, forbidden, h, kpis, notice, section, table } from "../ui.js";
import { ALL } from "./common.js";
import { historyFilters, historySection } from "./history.js";

export const title = "Conversion";
export const inMenu = false;

/** The people whose touches a conversion draws on, and their touches by event id. */
async function touchesOf(conversion) {
  const { kind, subject_id: subject } = conversion.conversion;
  let people = [];
  if (kind.startsWith("lead_")) people = [subject];
  else {
    const opportunity = await getOrForbidden(`/v1/opportunities/${encodeURIComponent(subject)}`);
    if (!opportunity.forbidden) people = opportunity.contact_ids || [];
  }
  const byEvent = {};
  await Promise.all(
    people.map(async (person) => {
      const view = await getOrForbidden(`/v1/persons/${encodeURIComponent(person)}`, ALL).catch(() => null);
      if (!view || view.forbidden) return;
      for (const t of view.touches) byEvent[t.event_id] = { ...t, person_id: view.person_id, person: `${view.first_name} ${view.last_name}`.trim() };
    }),
  );
  return byEvent;
}

export async function load(params) {
  const id = params.id || "";
  if (!id) return { id };
  let conversion;
  try {
    conversion = await getOrForbidden(`/v1/conversions/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 400)) return { id, missing: e.message };
    throw e;
  }
  if (conversion.forbidden) return { id, conversion };
  const [touches, campaigns, history] = await Promise.all([touchesOf(conversion), get("/v1/campaigns", ALL), historyOf(id)]);
  return { id, conversion, touches, campaigns, history };
}

/** The version history, or the API's refusal (422 beyond its bound). */
async function historyOf(id) {
  try {
    return await get(`/v1/conversions/${encodeURIComponent(id)}/history`);
  } catch (e) {
    if (e instanceof ApiError && [403, 404, 422].includes(e.status)) return { refused: e };
    throw e;
  }
}

export function view(data, params, { setParams }) {
  const bar = filters(
    [{ name: "id", label: "Conversion id", type: "text", placeholder: "opportunity_won:opp-0000031" }],
    { id: data.id },
    (name, value) => setParams({ [name]: value.trim() }),
  );
  if (!data.id) return h("div", {}, bar, notice("info", "Enter a conversion id (conversion point:id, e.g. lead_created:per-0000039), or open one from an account or the overview."));
  if (data.missing) return h("div", {}, bar, notice("error", data.missing));
  if (data.conversion.forbidden) return h("div", {}, bar, forbidden("Attribution", data.conversion.forbidden));

  const { conversion: view, touches, campaigns, history } = data;
  const c = view.conversion;
  const names = new Map(campaigns.map((x) => [x.campaign_id, x.name || x.campaign_id]));
  const models = view.results.map((r) => r.model);
  // Every touch any model credits, in time order.
  const timeline = new Map();
  for (const result of view.results) {
    for (const credit of result.attribution.credits) {
      const key = credit.touch_event_id || `${credit.campaign_id}`;
      const entry = timeline.get(key) || { key, campaign_id: credit.campaign_id, at: credit.touch_occurred_at, credits: {} };
      const previous = entry.credits[result.model] || { weight: 0, amount_minor: 0 };
      entry.credits[result.model] = { weight: previous.weight + credit.weight, amount_minor: previous.amount_minor + (credit.amount_minor ?? 0), has_amount: credit.amount_minor !== null && credit.amount_minor !== undefined };
      timeline.set(key, entry);
    }
  }
  const rows = [...timeline.values()].sort((a, b) => String(a.at).localeCompare(String(b.at)) || a.key.localeCompare(b.key));
  const currency = c.value?.currency;
  const amountsWithheld = c.value === null && c.kind.startsWith("opportunity");
  const creditShown = (row, model) => {
    const credit = row.credits[model];
    if (!credit) return f.word("—");
    return f.share(credit.weight);
  };

  const head = kpis([
    { id: "kpi-kind", label: "Conversion point", shown: f.text(f.conversionName(c.kind)) },
    { id: "kpi-subject", label: "Subject", shown: f.text(c.subject_id) },
    { id: "kpi-at", label: "Occurred", shown: f.dateTime(c.occurred_at) },
    { id: "kpi-value", label: "Value", shown: c.value ? f.amount(c.value.amount_minor, c.value.currency) : amountsWithheld ? f.withheld() : f.word("—") },
    { id: "kpi-touches", label: "Touches credited", shown: f.whole(rows.filter((r) => r.at).length) },
  ]);
  const columns = [
    { key: "at", label: "Touch", value: (r) => f.dateTime(r.at) },
    { key: "campaign", label: "Campaign", value: (r) => f.text(names.get(r.campaign_id) || r.campaign_id), link: (r) => (names.has(r.campaign_id) ? `#/campaign?id=${encodeURIComponent(r.campaign_id)}` : null) },
    { key: "type", label: "Touch type", value: (r) => f.text(touches[r.key]?.touch_type) },
    { key: "person", label: "Contact", value: (r) => f.text(touches[r.key]?.person) },
    ...models.map((model) => ({ key: model, label: f.modelName(model), num: true, value: (r) => creditShown(r, model) })),
  ];
  const timelineTable = table({
    id: "table-timeline",
    caption: `Each touch's share of ${c.id} under every model${currency ? ` (amounts in ${currency} in the chart)` : ""}`,
    columns,
    rows,
    csv: { filename: `${c.id.replace(":", "-")}-touches.csv` },
  });
  const byCampaign = new Map();
  for (const r of rows) {
    const entry = byCampaign.get(r.campaign_id) || {};
    for (const model of models) {
      const credit = r.credits[model];
      if (credit) entry[model] = (entry[model] || 0) + (currency && credit.has_amount ? credit.amount_minor / 100 : credit.weight);
    }
    byCampaign.set(r.campaign_id, entry);
  }
  const campaignIds = [...byCampaign.keys()];
  const creditChart = chart("chart-conversion", `${currency ? `Value in ${currency}` : "Share"} credited per campaign under every model`, {
    type: "bar",
    data: {
      labels: models.map(f.modelName),
      datasets: campaignIds.map((id, i) => ({ label: names.get(id) || id, data: models.map((m) => byCampaign.get(id)[m] || 0), backgroundColor: PALETTE[i % PALETTE.length] })),
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, compact: true } } },
  });
  const versions = table({
    id: "table-versions",
    caption: "The credit set each model publishes: its version rises by one with every change",
    columns: [
      { key: "model", label: "Model", value: (r) => f.text(f.modelName(r.model)) },
      { key: "version", label: "Version", num: true, value: (r) => f.whole(r.version) },
      { key: "as_of_seq", label: "As of event", num: true, value: (r) => f.whole(r.as_of_seq) },
      { key: "unattributed", label: "Unattributed", value: (r) => f.text(r.attribution.unattributed ? String(r.attribution.unattributed).replaceAll("_", " ") : "") },
    ],
    rows: view.results,
    csv: { filename: `${c.id.replace(":", "-")}-versions.csv` },
  });
  const retired = view.retired?.length ? notice("info", `Retired: ${view.retired.map((r) => `${f.modelName(r.model)} at version ${r.version}`).join(", ")}.`) : null;
  return h(
    "div",
    {},
    bar,
    head,
    section("Touch timeline", "timeline", timelineTable),
    h("div", { class: "grid" }, section("Credit per campaign and model", "conversion-chart", creditChart), section("Versions", "versions", versions, retired)),
    section(
      "Version history",
      "history",
      historyFilters(models, params, (name, value) => setParams({ [name]: value })),
      historySection(history, models.includes(params.model) ? params.model : models[0], names),
    ),
  );
}
