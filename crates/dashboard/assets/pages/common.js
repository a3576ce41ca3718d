// Filters and helpers more than one page uses.
import { conversionName, modelName } from "../format.js";

export const MODELS = [
  "first_touch", "last_touch", "linear", "u_shaped", "j_shaped", "inverse_j", "w_shaped", "full_path", "time_decay", "custom",
];
export const CONVERSIONS = ["lead_created", "lead_qualified", "opportunity_created", "opportunity_won"];

export function modelField(models = MODELS, fallback = "linear") {
  return { name: "model", label: "Model", type: "select", default: fallback, options: models.map((m) => [m, modelName(m)]) };
}

export function conversionField(fallback) {
  return { name: "conversion", label: "Conversion point", type: "select", default: fallback, options: CONVERSIONS.map((c) => [c, conversionName(c)]) };
}

export const FROM = { name: "from", label: "From", type: "date" };
export const TO = { name: "to", label: "To", type: "date" };

/** The models the instance computes, as the comparison report lists them. */
export function modelsOf(comparison) {
  const seen = [];
  for (const row of comparison) for (const m of row.models) if (!seen.includes(m.model)) seen.push(m.model);
  if (!seen.length) return MODELS;
  // In the engine's order (first touch, last touch, ...), whichever row named them first.
  const rank = (m) => (MODELS.includes(m) ? MODELS.indexOf(m) : MODELS.length);
  return seen.sort((a, b) => rank(a) - rank(b));
}

/** Whether a conversion point carries a value (pipeline, revenue). */
export function valued(conversion) {
  return conversion === "opportunity_created" || conversion === "opportunity_won";
}

/** A list answer in one request (the API pages at 1,000 rows by default). */
export const ALL = { limit: 10000 };
