// The campaign drill-down's influence table: the deals and people a campaign
// influenced (GET /v1/campaigns/{id}/influence), each with the credit every
// model gives the campaign there. The API filters, orders and pages; the
// page shows the first rows in the API's order.
import * as f from "../format.js";
import { filters, forbidden, h, notice, table } from "../ui.js";
import { CONVERSIONS, valued } from "./common.js";

/** Rows the page shows; the total says how many there are in all. */
export const INFLUENCE_ROWS = 100;

/** The API's parameters for the page's filters. */
export function influenceParams(q) {
  const conversion = q.influence || "opportunity_won";
  const [sort, model] = (q.order || "value").split(":");
  return {
    conversion,
    from: q.from,
    to: q.to,
    currency: valued(conversion) ? (q.currency || "").trim().toUpperCase() : undefined,
    sort,
    model,
    limit: INFLUENCE_ROWS,
  };
}

export function influenceFilters(q, models, onChange) {
  const conversion = q.influence || "opportunity_won";
  const fields = [
    { name: "influence", label: "Influenced", type: "select", default: "opportunity_won", options: CONVERSIONS.map((c) => [c, f.conversionName(c)]) },
    {
      name: "order",
      label: "Order",
      type: "select",
      default: "value",
      options: [["value", valued(conversion) ? "Largest deal first" : "By value"], ["recent", "Most recent first"], ...models.map((m) => [`credit:${m}`, `Most credit under ${f.modelName(m)}`])],
    },
  ];
  if (valued(conversion)) fields.push({ name: "currency", label: "Currency", type: "text", placeholder: "any (e.g. EUR)" });
  return filters(fields, q, onChange);
}

export function influenceSection(campaign, q, influence) {
  if (influence.refused) {
    const e = influence.refused;
    return e.status === 403 ? forbidden("Influence", e.message) : notice("error", e.message);
  }
  const { rows, total } = influence;
  const params = influenceParams(q);
  const deals = valued(params.conversion);
  const models = rows.length ? rows[0].models.map((m) => m.model) : [];
  const credit = (row, model) => {
    const m = row.models.find((x) => x.model === model);
    if (!m) return f.word("—");
    return deals ? f.amount(m.amount_minor, row.currency) : f.share(m.weight);
  };
  const columns = [
    {
      key: "subject",
      label: deals ? "Deal" : "Person",
      value: (r) => f.text(r.subject_id),
      link: (r) => `#/conversion?id=${encodeURIComponent(r.conversion_id)}`,
    },
    { key: "occurred_at", label: "Converted", value: (r) => f.date(r.occurred_at) },
  ];
  if (deals) columns.push({ key: "value", label: "Deal value", num: true, value: (r) => f.amount(r.value_minor, r.currency) });
  columns.push(...models.map((model) => ({ key: model, label: f.modelName(model), num: true, value: (r) => credit(r, model) })));
  const shown = Math.min(rows.length, total);
  const what = deals ? "deals" : "people";
  return h(
    "div",
    {},
    h("p", { class: "hint", id: "influence-total" }, `${f.whole(total).text} ${what} (${f.conversionName(params.conversion)}) credited to ${campaign.name || campaign.campaign_id} by at least one model, ${f.period(q.from, q.to)}${params.currency ? `, in ${params.currency}` : ""}${shown < total ? `; the first ${shown} shown` : ""}.`),
    table({
      id: "table-influence",
      caption: `${deals ? "Each model's share of each deal's value" : "Each model's share of each lead"} credited to ${campaign.name || campaign.campaign_id}`,
      columns,
      rows,
      empty: `No ${what} credited to this campaign under these filters.`,
      csv: { path: `/v1/campaigns/${encodeURIComponent(campaign.campaign_id)}/influence`, params: { ...params, limit: 10000 }, filename: `influence-${campaign.campaign_id}-${params.conversion}.csv` },
    }),
  );
}
