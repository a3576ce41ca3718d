// The dashboard's one way to the JSON API: every call carries the user's
// bearer token; refusals become typed errors the pages show.
const TOKEN_KEY = "touchline.token";

export class ApiError extends Error {
  constructor(status, message, path) {
    super(message);
    this.status = status;
    this.path = path;
  }
  /** 403: the role may not use this area; the page says so instead of failing. */
  get forbidden() {
    return this.status === 403;
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** `/v1/...` with the parameters that are set. */
export function url(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, value);
  }
  const q = query.toString();
  return q ? `${path}?${q}` : path;
}

async function request(path, params) {
  const headers = { Accept: "application/json" };
  const secret = token.get();
  if (secret) headers.Authorization = `Bearer ${secret}`;
  const target = url(path, params);
  const response = await fetch(target, { headers, cache: "no-store" });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.error) message = body.error;
    } catch {
      // Not JSON: keep the status line.
    }
    throw new ApiError(response.status, message, target);
  }
  noteShards(response);
  return response;
}

/**
 * A sharded instance names the shards each answer was read from; when they
 * are not all of the group's, the page says its figures cover only those.
 */
function noteShards(response) {
  const held = response.headers.get("Touchline-Shards-Read");
  const total = Number(response.headers.get("Touchline-Shards-Total"));
  const note = typeof document === "undefined" ? null : document.getElementById("shards");
  if (!note || held === null || !Number.isFinite(total)) return;
  const count = held === "" ? 0 : held.split(",").length;
  note.hidden = count >= total;
  note.textContent =
    `These figures were read from ${count} of the group's ${total} shards ` +
    "(the others' instances did not say where they answer): " +
    "they cover the people, accounts and deals on those only.";
}

/** The JSON answer of GET `path`. */
export async function get(path, params = {}) {
  return (await request(path, params)).json();
}

/** One page of a list answer: its rows and `X-Total-Count`, the rows in all pages. */
export async function getPage(path, params = {}) {
  const response = await request(path, params);
  const total = Number(response.headers.get("X-Total-Count"));
  const rows = await response.json();
  return { rows, total: Number.isFinite(total) ? total : rows.length };
}

/** Like `get`, but a 403 answers `{ forbidden: message }` instead of throwing. */
export async function getOrForbidden(path, params = {}) {
  try {
    return await get(path, params);
  } catch (e) {
    if (e instanceof ApiError && e.forbidden) return { forbidden: e.message };
    throw e;
  }
}

/** Downloads GET `path` as CSV (`format=csv`), with the token, as `filename`. */
export async function downloadCsv(path, params, filename) {
  const response = await request(path, { ...params, format: "csv" });
  saveFile(await response.blob(), filename);
}

/** Hands `blob` to the browser as a download named `filename`. */
export function saveFile(blob, filename) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
