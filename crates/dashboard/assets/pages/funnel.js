// Funnel and speed: new leads per month and source, the conversion rates and
// time to convert, and speed to lead per owner.
import { getOrForbidden } from "../api.js";
import * as f from "../format.js";
import { PALETTE, chart, filters, forbidden, h, section, table } from "../ui.js";
import { ALL, FROM, TO } from "./common.js";

export const title = "Funnel and speed";

export async function load(params) {
  const q = { from: params.from, to: params.to, source: params.source || "" };
  const [funnel, speed] = await Promise.all([
    getOrForbidden("/v1/reports/funnel", { from: q.from, to: q.to, ...ALL }),
    getOrForbidden("/v1/reports/speed-to-lead", { from: q.from, to: q.to, ...ALL }),
  ]);
  return { q, funnel, speed };
}

function monthly(rows) {
  const months = new Map();
  for (const r of rows) {
    const m = months.get(r.month) || { month: r.month, new_leads: 0, converted_to_contact: 0, became_customers: 0, days_weighted: 0 };
    m.new_leads += r.new_leads;
    m.converted_to_contact += r.converted_to_contact;
    m.became_customers += r.became_customers;
    if (r.mean_days_to_first_win !== null) m.days_weighted += r.mean_days_to_first_win * r.became_customers;
    months.set(r.month, m);
  }
  return [...months.values()].sort((a, b) => a.month.localeCompare(b.month)).map((m) => ({
    ...m,
    contact_rate: m.new_leads ? m.converted_to_contact / m.new_leads : "undefined",
    customer_rate: m.new_leads ? m.became_customers / m.new_leads : "undefined",
    mean_days: m.became_customers ? m.days_weighted / m.became_customers : null,
  }));
}

export function view(data, params, { setParams }) {
  const { q, funnel, speed } = data;
  const sources = Array.isArray(funnel) ? [...new Set(funnel.map((r) => r.source))].sort() : [];
  const bar = filters(
    [FROM, TO, { name: "source", label: "Source", type: "select", default: "", options: [["", "Every source"], ...sources.map((s) => [s, s || "(none)"])] }],
    q,
    (name, value) => setParams({ [name]: value }),
  );
  const parts = [bar];
  if (funnel.forbidden) parts.push(forbidden("The funnel", funnel.forbidden));
  else {
    const rows = q.source ? funnel.filter((r) => r.source === q.source) : funnel;
    const months = monthly(rows);
    const labels = [...new Set(rows.map((r) => r.month))].sort();
    const shownSources = q.source ? [q.source] : sources;
    parts.push(
      h(
        "div",
        { class: "grid" },
        section(
          "New leads per month and source",
          "funnel-leads",
          chart("chart-funnel", "New leads per month, stacked by source", {
            type: "bar",
            data: {
              labels,
              datasets: shownSources.map((s, i) => ({
                label: s || "(none)",
                data: labels.map((m) => rows.find((r) => r.month === m && r.source === s)?.new_leads ?? 0),
                backgroundColor: PALETTE[i % PALETTE.length],
              })),
            },
            options: { scales: { x: { stacked: true }, y: { stacked: true } } },
          }),
        ),
        section(
          "Conversion rate and time to convert",
          "funnel-rates",
          chart("chart-rates", "Share of each month's new leads that became contacts and customers, and mean days to the first win", {
            type: "line",
            data: {
              labels: months.map((m) => m.month),
              datasets: [
                { label: "Became contacts", data: months.map((m) => (typeof m.contact_rate === "number" ? m.contact_rate * 100 : null)), borderColor: PALETTE[0], backgroundColor: PALETTE[0], yAxisID: "y" },
                { label: "Became customers", data: months.map((m) => (typeof m.customer_rate === "number" ? m.customer_rate * 100 : null)), borderColor: PALETTE[2], backgroundColor: PALETTE[2], yAxisID: "y" },
                { label: "Mean days to first win", data: months.map((m) => m.mean_days), borderColor: PALETTE[1], backgroundColor: PALETTE[1], yAxisID: "days" },
              ],
            },
            options: {
              scales: {
                y: { title: { display: true, text: "% of new leads" }, beginAtZero: true },
                days: { position: "right", title: { display: true, text: "days" }, beginAtZero: true, grid: { drawOnChartArea: false } },
              },
            },
          }),
        ),
      ),
      section(
        "Funnel",
        "funnel",
        table({
          id: "table-funnel",
          caption: `New leads per month and source, ${f.period(q.from, q.to)}`,
          columns: [
            { key: "month", label: "Month", value: (r) => f.text(r.month) },
            { key: "source", label: "Source", value: (r) => f.text(r.source) },
            { key: "new_leads", label: "New leads", num: true, value: (r) => f.whole(r.new_leads) },
            { key: "converted_to_contact", label: "Became contacts", num: true, value: (r) => f.whole(r.converted_to_contact) },
            { key: "contact_rate", label: "Contact rate", num: true, value: (r) => f.ratioPercent(r.contact_rate) },
            { key: "became_customers", label: "Became customers", num: true, value: (r) => f.whole(r.became_customers) },
            { key: "customer_rate", label: "Customer rate", num: true, value: (r) => f.ratioPercent(r.customer_rate) },
            { key: "days", label: "Mean days to first win", num: true, value: (r) => f.days(r.mean_days_to_first_win) },
          ],
          rows,
          sort: params.sort,
          onSort: (sort) => setParams({ sort }),
          // One source is the API's rows filtered here: the table as shown.
          csv: q.source ? { filename: `funnel-${q.source}.csv` } : { path: "/v1/reports/funnel", params: { from: q.from, to: q.to, ...ALL }, filename: "funnel.csv" },
        }),
      ),
    );
  }
  if (speed.forbidden) parts.push(forbidden("Speed to lead", speed.forbidden));
  else
    parts.push(
      section(
        "Speed to lead",
        "speed",
        table({
          id: "table-speed",
          caption: "Time from a lead's creation to its first follow-up, overall and per owner",
          columns: [
            { key: "group", label: "Owner", value: (r) => f.text(r.group || "(no owner)") },
            { key: "leads", label: "Leads", num: true, value: (r) => f.whole(r.leads) },
            { key: "followed_up", label: "Followed up", num: true, value: (r) => f.whole(r.followed_up) },
            { key: "median", label: "Median", num: true, value: (r) => f.hours(r.median_minutes) },
            { key: "mean", label: "Mean", num: true, value: (r) => f.hours(r.mean_minutes) },
          ],
          rows: speed,
          csv: { path: "/v1/reports/speed-to-lead", params: { from: q.from, to: q.to, ...ALL }, filename: "speed-to-lead.csv" },
        }),
      ),
    );
  return h("div", {}, ...parts);
}
