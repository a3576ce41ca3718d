// Numbers for people. One locale for every page, so a figure reads the same
// everywhere (and the browser tests can read it back).
const LOCALE = "en-US";

const integer = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat(LOCALE, { style: "percent", maximumFractionDigits: 1 });
const currencies = new Map();

// The API's words for a ratio it cannot give: shown as they are, never as
// infinity, NaN or 0.
export const NOT_A_NUMBER = new Set(["undefined", "unknown"]);

/**
 * What a cell shows, how it sorts and what a CSV export of the table writes
 * (`plain`: the number without formatting, the ISO date, the word).
 */
export class Shown {
  constructor(text, sort, kind = "value", plain = undefined) {
    this.text = text;
    this.sort = sort;
    this.kind = kind; // value | undefined | unknown | withheld | none
    if (plain !== undefined) this.plain = plain;
    else if (kind === "none") this.plain = "";
    else if (kind === "value" && typeof sort === "number") this.plain = String(sort);
    else this.plain = String(text);
  }
}

function money(currency, fraction) {
  const key = `${currency}:${fraction}`;
  if (!currencies.has(key)) {
    currencies.set(
      key,
      new Intl.NumberFormat(LOCALE, {
        style: "currency",
        currency,
        minimumFractionDigits: fraction,
        maximumFractionDigits: fraction,
      }),
    );
  }
  return currencies.get(key);
}

/** An amount in minor units of `currency`: whole units from 100 up, cents below. */
export function amount(minor, currency) {
  if (minor === null || minor === undefined) return withheld();
  if (!currency) return new Shown("—", null, "none");
  const units = Number(minor) / 100;
  // Whole units from 100 up, cents below; zero is just zero.
  const fraction = units === 0 || Math.abs(units) >= 100 ? 0 : 2;
  const shown = new Shown(money(currency, fraction).format(units), units, "value", units.toFixed(2));
  shown.currency = currency;
  return shown;
}

/** An amount per unit (cost per lead): a number of minor units or the API's word. */
export function minorRatio(value, currency) {
  if (typeof value === "string" && NOT_A_NUMBER.has(value)) return word(value);
  return amount(value, currency);
}

/** A ratio as a percentage (ROI, rates) or the API's word. */
export function ratioPercent(value) {
  if (typeof value === "string" && NOT_A_NUMBER.has(value)) return word(value);
  if (value === null || value === undefined) return withheld();
  return new Shown(percent.format(value), value);
}

/** A ratio as a multiple (ROAS: 3.2×) or the API's word. */
export function ratioTimes(value) {
  if (typeof value === "string" && NOT_A_NUMBER.has(value)) return word(value);
  if (value === null || value === undefined) return withheld();
  return new Shown(`${oneDecimal.format(value)}×`, value);
}

/** A count that may be fractional (credited conversions): one decimal. */
export function count(value) {
  if (value === null || value === undefined) return new Shown("—", null, "none");
  return new Shown(oneDecimal.format(value), value);
}

export function whole(value) {
  if (value === null || value === undefined) return new Shown("—", null, "none");
  return new Shown(integer.format(value), value);
}

export function share(value) {
  return ratioPercent(value);
}

export function hours(minutes) {
  if (minutes === null || minutes === undefined) return new Shown("—", null, "none");
  return new Shown(`${oneDecimal.format(minutes / 60)} h`, minutes / 60);
}

export function days(value) {
  if (value === null || value === undefined) return new Shown("—", null, "none");
  return new Shown(`${oneDecimal.format(value)} d`, value);
}

export function date(text) {
  if (!text) return new Shown("—", null, "none");
  return new Shown(String(text).slice(0, 10), String(text), "value", String(text));
}

export function dateTime(text) {
  if (!text) return new Shown("—", null, "none");
  const t = String(text);
  return new Shown(`${t.slice(0, 10)} ${t.slice(11, 16)}`, t, "value", t);
}

export function text(value) {
  const t = value === null || value === undefined || value === "" ? "—" : String(value);
  return new Shown(t, t.toLowerCase(), t === "—" ? "none" : "value");
}

export function word(value) {
  return new Shown(value, null, value);
}

/** An amount the API did not send for this role. */
export function withheld() {
  return new Shown("withheld", null, "withheld");
}

/** Compact axis labels for charts: 12.3M, 450K. */
export function compact(value) {
  return new Intl.NumberFormat(LOCALE, { notation: "compact", maximumFractionDigits: 1 }).format(
    value,
  );
}

/** A model's name as people say it: first_touch → First touch. */
export function modelName(model) {
  const names = {
    first_touch: "First touch",
    last_touch: "Last touch",
    linear: "Linear",
    u_shaped: "U-shaped",
    j_shaped: "J-shaped",
    inverse_j: "Inverse J",
    w_shaped: "W-shaped",
    full_path: "Full path",
    time_decay: "Time decay",
    custom: "Custom",
  };
  return names[model] || model;
}

export function conversionName(kind) {
  const names = {
    lead_created: "Lead created",
    lead_qualified: "Lead qualified",
    opportunity_created: "Opportunity created",
    opportunity_won: "Opportunity won",
  };
  return names[kind] || kind;
}

/** "all time", "from 2026-01-01", "2026-01-01 to 2026-06-30". */
export function period(from, to) {
  if (from && to) return `${from} to ${to}`;
  if (from) return `from ${from}`;
  if (to) return `until ${to}`;
  return "all time";
}
