// The conversion drill-down's version history (GET
// /v1/conversions/{id}/history): each event that moved the conversion's
// credits, when it was recorded and why, and what one chosen model credited
// after it. The engine rebuilds the history; the page only shows it.
import * as f from "../format.js";
import { filters, h, notice, table } from "../ui.js";

const REASONS = {
  new_conversion: "new conversion",
  late_touch: "late touch",
  merge: "merge",
  value_changed: "value changed",
  retracted: "retracted",
  model_change: "model changed",
  contact_added: "contact added",
  milestone_changed: "milestone moved",
  recomputed: "recomputed",
};

export function reasonText(reasons) {
  return reasons.map((r) => REASONS[r] || r.replaceAll("_", " ")).join(", ");
}

/** The history's model filter: every model the conversion is attributed under. */
export function historyFilters(models, params, onChange) {
  return filters([{ name: "model", label: "History of model", type: "select", default: models[0], options: models.map((m) => [m, f.modelName(m)]) }], params, onChange);
}

export function historySection(history, model, names) {
  if (history.refused) return notice(history.refused.status === 403 ? "forbidden" : "error", history.refused.message);
  // The model's credit set after each step: its own if it moved, else the one before.
  let current = null;
  const rows = history.steps.map((step, i) => {
    const moved = step.models.find((m) => m.model === model);
    if (moved) current = moved;
    if (!step.live) current = null;
    return { ...step, n: i + 1, moved: Boolean(moved), current };
  });
  const top = (r) => {
    if (!r.current) return f.word("—");
    const byCampaign = new Map();
    for (const c of r.current.credits) byCampaign.set(c.campaign_id, (byCampaign.get(c.campaign_id) || 0) + c.weight);
    const [id, weight] = [...byCampaign.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0] || [];
    return id === undefined ? f.word("—") : f.text(`${names.get(id) || id} ${f.share(weight).text}`);
  };
  const columns = [
    { key: "n", label: "Step", num: true, value: (r) => f.whole(r.n) },
    { key: "recorded_at", label: "Recorded", value: (r) => f.dateTime(r.recorded_at) },
    { key: "event", label: "Event", value: (r) => f.text(`${r.event_type.replaceAll("_", " ")} ${r.event_id}`) },
    { key: "reasons", label: "Why it moved", value: (r) => f.text(reasonText(r.reasons)) },
    { key: "value", label: "Value", num: true, value: (r) => (r.value ? f.amount(r.value.amount_minor, r.value.currency) : f.word("—")) },
    { key: "models", label: "Models moved", num: true, value: (r) => f.whole(r.models.length) },
    { key: "version", label: `${f.modelName(model)} version`, num: true, value: (r) => (r.moved ? f.whole(r.current.version) : f.word("unchanged")) },
    { key: "top", label: `${f.modelName(model)}: most credited`, value: top },
  ];
  const stored = history.stored.find((s) => s.model === model);
  return h(
    "div",
    {},
    h(
      "p",
      { class: "hint", id: "history-summary" },
      `${f.whole(history.steps.length).text} ${history.steps.length === 1 ? "move" : "moves"} rebuilt from ${f.whole(history.events_read).text} events. `,
      stored ? `${f.modelName(model)} publishes version ${stored.version} now; the engine publishes the moves of one batch as one version. ` : "",
      history.matches_stored ? "The last move equals the stored credits." : "The rebuilt history does not end in the stored credits.",
    ),
    table({
      id: "table-history",
      caption: `Every move of ${history.conversion_id}, oldest first`,
      columns,
      rows,
      csv: { path: `/v1/conversions/${encodeURIComponent(history.conversion_id)}/history`, params: {}, table: "steps", filename: `${history.conversion_id.replace(":", "-")}-history.csv` },
    }),
  );
}
