// Building blocks of every page: elements, sortable tables with a CSV
// export, labelled filters, charts and notices.
import { downloadCsv, saveFile, url } from "./api.js";
import { Shown, compact } from "./format.js";

/** An element: h("td", { class: "num" }, "12"). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function section(title, id, ...children) {
  const heading = `${id}-title`;
  return h("section", { class: "card", id, "aria-labelledby": heading }, h("h2", { id: heading }, title), ...children);
}

export function notice(kind, message) {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
}

/** What a role may not see, said plainly. */
export function forbidden(what, message) {
  return notice("forbidden", `${what} is not shown: ${message}.`);
}

/** Key figures above a page: [{ id, label, shown }]. */
export function kpis(items) {
  return h(
    "dl",
    { class: "kpis" },
    items.map((item) =>
      h(
        "div",
        { class: "kpi", id: item.id },
        h("dt", {}, item.label),
        h("dd", { class: item.shown.kind, dataset: { kind: item.shown.kind } }, item.shown.text),
      ),
    ),
  );
}

function cellValue(column, row) {
  const shown = column.value(row);
  return shown instanceof Shown ? shown : new Shown(String(shown ?? "—"), shown);
}

/**
 * A sortable table with its CSV export. `columns`: [{ key, label, num, value(row) → Shown, link(row) → href }].
 * `sort`: "key:asc|desc" kept by the caller (in the URL); `onSort(next)`.
 * `csv`: { path, params, table, filename } when the rows are exactly one API
 * list: the button downloads that list from the API (`format=csv`). Without
 * `path` (rows the page grouped, joined or filtered), it writes the table as
 * shown, in its order, with plain numbers ([`tableCsv`]).
 */
export function table({ id, caption, columns, rows, sort, onSort, csv, empty }) {
  const [sortKey, sortDir] = (sort || "").split(":");
  const sorted = [...rows];
  const column = columns.find((c) => c.key === sortKey);
  if (column) {
    const dir = sortDir === "asc" ? 1 : -1;
    sorted.sort((a, b) => {
      const x = cellValue(column, a).sort;
      const y = cellValue(column, b).sort;
      // Words (undefined, unknown, withheld) sort after every number.
      if (x === null && y === null) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
  }
  const head = h(
    "tr",
    {},
    columns.map((c) => {
      const active = c.key === sortKey;
      const ariaSort = active ? (sortDir === "asc" ? "ascending" : "descending") : "none";
      const label = onSort
        ? h(
            "button",
            {
              type: "button",
              class: "sort",
              dataset: { key: c.key },
              onclick: () => onSort(`${c.key}:${active && sortDir === "desc" ? "asc" : "desc"}`),
            },
            c.label,
            h("span", { class: "arrow", "aria-hidden": "true" }, active ? (sortDir === "asc" ? " ▲" : " ▼") : ""),
          )
        : c.label;
      return h("th", { scope: "col", class: c.num ? "num" : null, "aria-sort": onSort ? ariaSort : null, dataset: { key: c.key } }, label);
    }),
  );
  const body = sorted.map((row) =>
    h(
      "tr",
      {},
      columns.map((c, i) => {
        const shown = cellValue(c, row);
        const href = c.link ? c.link(row) : null;
        const content = href ? h("a", { href }, shown.text) : shown.text;
        return h(
          i === 0 ? "th" : "td",
          { scope: i === 0 ? "row" : null, class: [c.num ? "num" : "", shown.kind].join(" ").trim(), dataset: { key: c.key, kind: shown.kind } },
          content,
        );
      }),
    ),
  );
  const tools = exportTools(id, columns, sorted, csv);
  return h(
    "div",
    { class: "table-wrap" },
    tools,
    h(
      "table",
      { id, dataset: { rows: String(rows.length) } },
      h("caption", { id: `${id}-caption` }, caption),
      h("thead", {}, head),
      h("tbody", {}, body.length ? body : h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, empty || "No rows."))),
    ),
  );
}

/**
 * Labelled filters. `fields`: [{ name, label, type: "select"|"date"|"text", options: [[value, label]] }].
 * Changing one calls `onChange(name, value)`.
 */
export function filters(fields, params, onChange) {
  return h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filters", onsubmit: (e) => e.preventDefault() },
    fields.map((f) => {
      const id = `filter-${f.name}`;
      let control;
      if (f.type === "select") {
        control = h(
          "select",
          { id, name: f.name, onchange: (e) => onChange(f.name, e.target.value) },
          f.options.map(([value, label]) => h("option", { value, selected: (params[f.name] ?? f.default ?? "") === value }, label)),
        );
      } else {
        control = h("input", {
          id,
          name: f.name,
          type: f.type === "date" ? "date" : "text",
          value: params[f.name] ?? "",
          placeholder: f.placeholder,
          onchange: (e) => onChange(f.name, e.target.value),
        });
      }
      return h("div", { class: "field" }, h("label", { for: id }, f.label), control);
    }),
  );
}

export const PALETTE = [
  "#1f5aa6", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#be185d", "#4d7c0f", "#334155",
];

/** A Chart.js chart in a labelled figure; `describe` is its text alternative. */
export function chart(id, describe, config) {
  const canvas = h("canvas", { id, role: "img", "aria-label": describe });
  const figure = h("figure", { class: "chart" }, h("div", { class: "canvas-box" }, canvas), h("figcaption", {}, describe));
  const base = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    plugins: { legend: { position: "bottom" } },
    scales: {},
  };
  const options = { ...base, ...config.options, plugins: { ...base.plugins, ...(config.options?.plugins || {}) } };
  for (const axis of Object.values(options.scales || {})) {
    if (axis.compact) {
      axis.ticks = { ...(axis.ticks || {}), callback: (v) => compact(v) };
      delete axis.compact;
    }
  }
  // Drawn once the canvas is in the document.
  queueMicrotask(() => new window.Chart(canvas, { ...config, options }));
  return figure;
}

export function link(href, text) {
  return h("a", { href }, text);
}

/** One CSV field (RFC 4180); text that a spreadsheet would run as a formula is quoted as text. */
function csvField(value, numeric) {
  let text = String(value ?? "");
  if (!numeric && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The table as shown, as CSV: the column labels, then each row's cells as
 * plain values (amounts in units of their currency, which the header names
 * when the column has one; ratios as fractions; the API's words as words).
 */
export function tableCsv(columns, rows) {
  const cells = rows.map((row) => columns.map((c) => cellValue(c, row)));
  const currencies = columns.map((_, i) => new Set(cells.map((r) => r[i].currency).filter(Boolean)));
  const header = columns.map((c, i) => (currencies[i].size === 1 ? `${c.label} (${[...currencies[i]][0]})` : c.label));
  const lines = [header.map((label) => csvField(label, false)).join(",")];
  for (const row of cells) {
    const fields = row.map((shown, i) => {
      // A column in several currencies names each amount's.
      if (shown.currency && currencies[i].size > 1) return csvField(`${shown.plain} ${shown.currency}`, false);
      return csvField(shown.plain, shown.kind === "value" && typeof shown.sort === "number");
    });
    lines.push(fields.join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** The export button above a table, and where a failed download is said. */
function exportTools(id, columns, rows, csv) {
  const problem = h("p", { class: "notice error", role: "alert", hidden: true });
  const fromApi = Boolean(csv?.path);
  const filename = csv?.filename || `${id.replace(/^table-/, "")}.csv`;
  const download = async () => {
    problem.hidden = true;
    try {
      if (fromApi) await downloadCsv(csv.path, { ...csv.params, table: csv.table }, filename);
      else saveFile(new Blob([tableCsv(columns, rows)], { type: "text/csv;charset=utf-8" }), filename);
    } catch (e) {
      problem.textContent = `The export failed: ${e.message}`;
      problem.hidden = false;
    }
  };
  return h(
    "div",
    { class: "tools" },
    problem,
    h(
      "button",
      {
        type: "button",
        class: "csv",
        id: `${id}-csv`,
        "aria-describedby": `${id}-caption`,
        // Where the file comes from: the API's list (and its address) or the table.
        dataset: fromApi ? { source: "api", url: url(csv.path, { ...csv.params, table: csv.table, format: "csv" }) } : { source: "table" },
        onclick: download,
      },
      "Export CSV",
    ),
  );
}
