// Boots the dashboard: the login screen, the navigation, the page named in
// the URL's hash (#/<page>?<filters>) and live updates by polling.
import { ApiError, get, token } from "./api.js";
import { h, notice } from "./ui.js";
import * as overview from "./pages/overview.js";
import * as campaigns from "./pages/campaigns.js";
import * as campaign from "./pages/campaign.js";
import * as conversion from "./pages/conversion.js";
import * as funnel from "./pages/funnel.js";
import * as pipeline from "./pages/pipeline.js";
import * as account from "./pages/account.js";
import * as dataDriven from "./pages/data_driven.js";
import * as whatIf from "./pages/what_if.js";

const PAGES = {
  overview,
  campaigns,
  campaign,
  conversion,
  funnel,
  pipeline,
  account,
  "data-driven": dataDriven,
  "what-if": whatIf,
};
/** Seconds between two polls of the open page while live updates are on. */
const POLL_SECONDS = 10;

const main = document.getElementById("main");
const state = { page: null, params: {}, data: null, fingerprint: null, generation: 0 };

/** The page and filters in the hash. */
function location() {
  const hash = window.location.hash.replace(/^#\/?/, "");
  const [name, query] = hash.split("?");
  const params = Object.fromEntries(new URLSearchParams(query || ""));
  return { name: PAGES[name] ? name : "overview", params };
}

/** Changes filters: the URL is the state, so a view can be shared. */
export function setParams(changes) {
  const { name, params } = location();
  const next = { ...params, ...changes };
  for (const [k, v] of Object.entries(next)) if (v === "" || v === null || v === undefined) delete next[k];
  const query = new URLSearchParams(next).toString();
  window.location.hash = `#/${name}${query ? `?${query}` : ""}`;
}

function showLogin(message) {
  document.body.classList.add("signed-out");
  document.getElementById("login").hidden = false;
  document.getElementById("app").hidden = true;
  const error = document.getElementById("login-error");
  error.textContent = message || "";
  error.hidden = !message;
  document.getElementById("token").focus();
}

function showApp() {
  document.body.classList.remove("signed-out");
  document.getElementById("login").hidden = true;
  document.getElementById("app").hidden = false;
}

function destroyCharts() {
  for (const canvas of main.querySelectorAll("canvas")) window.Chart.getChart(canvas)?.destroy();
}

function markNavigation(name) {
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

/** Loads the page's data; draws it when it changed (or `force`). */
async function refresh(force) {
  const { name, params } = location();
  const page = PAGES[name];
  const generation = ++state.generation;
  if (force) {
    state.fingerprint = null;
    main.setAttribute("aria-busy", "true");
  }
  try {
    const data = await page.load(params);
    if (generation !== state.generation) return; // a newer load is under way
    const fingerprint = JSON.stringify(data);
    document.getElementById("updated").textContent = `Updated ${new Date().toLocaleTimeString("en-GB")}`;
    if (!force && fingerprint === state.fingerprint) return;
    state.fingerprint = fingerprint;
    destroyCharts();
    const view = page.view(data, params, { setParams });
    main.replaceChildren(h("h1", { id: "page-title", tabindex: "-1" }, page.title), view);
    main.dataset.page = name;
    main.dataset.loads = String(Number(main.dataset.loads || 0) + 1);
    document.title = `${page.title} · touchline`;
    if (force) document.getElementById("page-title").focus({ preventScroll: true });
  } catch (e) {
    if (generation !== state.generation) return;
    if (e instanceof ApiError && e.status === 401) {
      token.clear();
      showLogin(`The API did not accept the token: ${e.message}.`);
      return;
    }
    destroyCharts();
    const message = e instanceof ApiError ? `${e.path}: ${e.message}` : String(e);
    main.replaceChildren(h("h1", { id: "page-title", tabindex: "-1" }, page.title), notice("error", message));
    main.dataset.page = name;
    state.fingerprint = null;
  } finally {
    if (generation === state.generation) main.removeAttribute("aria-busy");
  }
}

function navigation() {
  const nav = document.getElementById("nav");
  nav.replaceChildren(
    ...Object.entries(PAGES)
      .filter(([, page]) => page.inMenu !== false)
      .map(([name, page]) => h("li", {}, h("a", { href: `#/${name}`, dataset: { page: name } }, page.title))),
  );
}

async function signIn(event) {
  event.preventDefault();
  const value = document.getElementById("token").value.trim();
  token.set(value);
  // Health needs no token; the first page's answer tells whether it is accepted.
  try {
    await get("/v1/health");
  } catch (e) {
    showLogin(`The API does not answer: ${e.message}`);
    return;
  }
  document.getElementById("token").value = "";
  showApp();
  refresh(true);
}

/**
 * The skip link moves the focus to the page without touching the hash, which
 * names the page (a plain `#main` would be read as a page and open the overview).
 */
function skipToContent(event) {
  event.preventDefault();
  main.focus();
}

function start() {
  navigation();
  document.querySelector(".skip").addEventListener("click", skipToContent);
  document.getElementById("login-form").addEventListener("submit", signIn);
  document.getElementById("sign-out").addEventListener("click", () => {
    token.clear();
    showLogin("Signed out.");
  });
  window.addEventListener("hashchange", () => {
    markNavigation(location().name);
    if (token.get() !== null) refresh(true);
  });
  setInterval(() => {
    const live = document.getElementById("live").checked;
    if (live && token.get() !== null && !document.hidden && !main.hasAttribute("aria-busy")) refresh(false);
  }, POLL_SECONDS * 1000);
  markNavigation(location().name);
  if (token.get() === null) showLogin();
  else {
    showApp();
    refresh(true);
  }
}

start();
