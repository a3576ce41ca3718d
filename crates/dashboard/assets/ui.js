// Building blocks of every page: elements, sortable tables with a CSV
// export, labelled filters, charts and notices.
import { downloadCsv } from "./api.js";
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
 * A sortable table. `columns`: [{ key, label, num, value(row) → Shown, link(row) → href }].
 * `sort`: "key:asc|desc" kept by the caller (in the URL); `onSort(next)`.
 * `csv`: { path, params, table, filename } downloads the same rows from the API.
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
  const tools = csv
    ? h(
        "div",
        { class: "tools" },
        h(
          "button",
          {
            type: "button",
            class: "csv",
            id: `${id}-csv`,
            onclick: () => downloadCsv(csv.path, { ...csv.params, table: csv.table }, csv.filename),
          },
          "Export CSV",
        ),
      )
    : null;
  return h(
    "div",
    { class: "table-wrap" },
    tools,
    h(
      "table",
      { id, dataset: { rows: String(rows.length) } },
      h("caption", {}, caption),
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
