//! The browser tests' harness: a seeded `touchline demo` with tokens, Debian's
//! chromium driven through chromedriver (WebDriver), and reading what a page
//! shows. Every wait polls for a condition up to a generous deadline.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::{free_port, http_request};

/// Only reached when something is broken.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub const ADMIN: &str = "dashboard-test-admin-token";
pub const SERVICE: &str = "dashboard-test-service-token";

/// A `touchline demo` serving a small seeded store, with an admin and a
/// service token. Killed when dropped.
pub struct Demo {
    child: Child,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The parent campaign [`EXTRA_EVENTS`] adds, and the demo's campaigns it
/// makes its children.
pub const PARENT_CAMPAIGN: &str = "cmp-test-paid-search";
pub const PARENT_NAME: &str = "Paid search programme";
pub const CHILD_CAMPAIGNS: [&str; 2] = ["cmp-google-brand", "cmp-google-generic"];
/// Leads [`EXTRA_EVENTS`] creates without any touch: unattributed.
pub const UNTOUCHED_LEADS: [&str; 2] = ["per-test-walk-in-1", "per-test-walk-in-2"];

/// What the generated demo lacks and the pages must show: a parent campaign
/// with two children (the campaigns page rolls them up) and two leads with no
/// touch (the overview lists them as unattributed, with the reason).
fn extra_events() -> String {
    let envelope = |id: &str, at: &str, source: &str, payload: Value| {
        json!({ "event_id": id, "occurred_at": at, "recorded_at": "2026-11-30T00:00:00.000Z",
                "source_system": source, "payload": payload })
    };
    let campaign = |id: &str, name: &str, ad_code: &str, parent: &str, cost: Value| {
        json!({ "type": "campaign_upserted", "campaign_id": id, "name": name,
                "channel": "paid_search", "medium": "cpc", "source": "google", "ad_code": ad_code,
                "campaign_type": "advertisement", "parent_campaign_id": parent,
                "starts_at": "2025-12-02T00:00:00.000Z", "ends_at": "2027-10-28T00:00:00.000Z",
                "planned_cost": cost })
    };
    let mut events = vec![envelope(
        "evt-test-parent",
        "2025-12-02T00:00:00.000Z",
        "marketing-automation",
        // The programme itself costs nothing beyond its children, and says
        // so: without a cost its own would be unknown, and so the roll-up's.
        campaign(
            PARENT_CAMPAIGN,
            PARENT_NAME,
            "",
            "",
            json!({ "amount_minor": 0, "currency": "EUR" }),
        ),
    )];
    // The demo's own upserts of its two Google campaigns, now with a parent
    // (the generator's names, ad codes and planned costs).
    for (i, (id, name, ad_code, planned)) in [
        (
            CHILD_CAMPAIGNS[0],
            "Google Ads – Brand",
            "GA-BR-01",
            1_800_000,
        ),
        (
            CHILD_CAMPAIGNS[1],
            "Google Ads – Attribution keywords",
            "GA-GN-07",
            4_500_000,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        events.push(envelope(
            &format!("evt-test-child-{i}"),
            "2025-12-02T00:00:00.000Z",
            "marketing-automation",
            campaign(
                id,
                name,
                ad_code,
                PARENT_CAMPAIGN,
                json!({ "amount_minor": planned, "currency": "EUR" }),
            ),
        ));
    }
    for (i, person) in UNTOUCHED_LEADS.into_iter().enumerate() {
        events.push(envelope(
            &format!("evt-test-untouched-{i}"),
            &format!("2026-0{}-15T09:00:00.000Z", 6 + i),
            "crm",
            json!({ "type": "lead_created", "person_id": person,
                    "email": format!("{person}@example.test"), "phone": "", "first_name": "Walk",
                    "last_name": "In", "company": "", "account_id": "", "source": null,
                    "owner_id": "" }),
        ));
    }
    events.iter().map(|e| format!("{e}\n")).collect()
}

impl Demo {
    /// Builds the seeded store (`touchline demo --no-serve`), adds
    /// [`extra_events`] with `touchline ingest`, then serves it with `touchline
    /// demo` on the same store, which resumes after what it already applied.
    pub fn start() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let addr = format!("127.0.0.1:{}", free_port());
        let tokens = format!(
            "admin:admin:{},service:service:{}",
            touchline_api::access::token_digest_hex(ADMIN),
            touchline_api::access::token_digest_hex(SERVICE)
        );
        let demo = |serve: bool| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_touchline"));
            command
                .args(["demo", "--accounts", "400", "--seed", "7", "--db"])
                .arg(&store);
            if serve {
                command.args(["--listen", &addr]);
            } else {
                command.arg("--no-serve");
            }
            command
        };
        let run = |mut command: Command, what: &str| {
            let out = command.env("RUST_LOG", "warn").output().unwrap();
            assert!(
                out.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(demo(false), "touchline demo --no-serve");
        let extra = dir.path().join("extra.jsonl");
        std::fs::write(&extra, extra_events()).unwrap();
        let mut ingest = Command::new(env!("CARGO_BIN_EXE_touchline"));
        ingest.args(["ingest", "--db"]).arg(&store).arg(&extra);
        run(ingest, "touchline ingest");

        let log = std::fs::File::create(dir.path().join("demo.log")).unwrap();
        let mut child = demo(true)
            .env("TOUCHLINE_API_TOKENS", tokens)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(exit) = child.try_wait().unwrap() {
                let log = std::fs::read_to_string(dir.path().join("demo.log")).unwrap();
                panic!("touchline demo exited ({exit}): {log}");
            }
            if http_request(&addr, "GET", "/v1/health", None, "").is_some_and(|(s, _)| s == 200) {
                break;
            }
            assert!(Instant::now() < deadline, "touchline demo never served");
            std::thread::sleep(Duration::from_millis(100));
        }
        Demo {
            child,
            addr,
            _dir: dir,
        }
    }

    /// GET `path` as CSV text, as the API answers it to `token`.
    pub fn api_text(&self, path: &str, token: &str) -> String {
        let (status, body) = self.get(path, token);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// GET `path` as the API answers it to `token`.
    pub fn api(&self, path: &str, token: &str) -> Value {
        let (status, body) = self.get(path, token);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// GET `path` as a client that honours `503` with `Retry-After` does:
    /// the open page's own requests may hold every expensive-request permit
    /// for a moment, and the API then says to ask again.
    fn get(&self, path: &str, token: &str) -> (u16, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = http_request(&self.addr, "GET", path, Some(token), "").unwrap();
            if status != 503 || Instant::now() >= deadline {
                return (status, body);
            }
            std::thread::sleep(Duration::from_secs(touchline_api::limits::RETRY_AFTER_SECS));
        }
    }

    pub fn status(&self, path: &str, token: &str) -> u16 {
        self.get(path, token).0
    }

    pub fn post(&self, path: &str, token: &str, body: &str) -> (u16, String) {
        http_request(&self.addr, "POST", path, Some(token), body).unwrap()
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Where the screenshots go: `$TOUCHLINE_DASHBOARD_SCREENSHOTS`, else
/// `dashboard-screenshots/` in cargo's target directory.
pub fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("TOUCHLINE_DASHBOARD_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("../dashboard-screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A headless chromium session through its own chromedriver.
pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_port: u16,
    pub base: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    pub async fn open(base: &str) -> Browser {
        let driver_path = on_path("chromedriver").unwrap_or_else(|| {
            panic!(
                "chromedriver is not installed: the dashboard tests need Debian's chromium and \
                 chromium-driver (bash deploy/system-deps.sh installs them)"
            )
        });
        let chromium = std::env::var_os("TOUCHLINE_TEST_CHROMIUM")
            .map(PathBuf::from)
            .or_else(|| on_path("chromium"))
            .unwrap_or_else(|| {
                panic!(
                    "chromium is not installed: the dashboard tests need Debian's chromium and \
                     chromium-driver (bash deploy/system-deps.sh installs them)"
                )
            });
        let driver_port = free_port();
        let mut driver = Command::new(driver_path)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", driver_port)).is_err() {
            if let Some(exit) = driver.try_wait().unwrap() {
                panic!("chromedriver exited at once ({exit})");
            }
            assert!(Instant::now() < deadline, "chromedriver never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1440,1000",
                         "--lang=en-US", "--force-device-scale-factor=1"],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
            .expect("cannot start chromium through chromedriver");
        Browser {
            client,
            driver,
            driver_port,
            base: format!("http://{base}"),
        }
    }

    pub async fn close(self) {
        let client = self.client.clone();
        client.close().await.unwrap();
    }

    /// Runs `script` (a function body) in the page.
    pub async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Polls `script` until it returns `true`.
    pub async fn wait(&self, what: &str, script: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if self.client.execute(script, vec![]).await.unwrap() == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "waited in vain for {what}; the page shows: {:?}; the console: {:?}",
                    self.main_text().await,
                    self.console().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn main_text(&self) -> String {
        self.js("return document.getElementById('main')?.innerText ?? document.body.innerText")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Signs in on the login screen with `token`.
    pub async fn sign_in(&self, token: &str) {
        self.client.goto(&format!("{}/", self.base)).await.unwrap();
        let field = self
            .client
            .wait()
            .for_element(Locator::Id("token"))
            .await
            .unwrap();
        field.send_keys(token).await.unwrap();
        self.client
            .find(Locator::Id("sign-in"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// The page drawn since `after` loads, for `page`, and settled.
    pub async fn loads(&self) -> u64 {
        self.js("return Number(document.getElementById('main').dataset.loads || 0)")
            .await
            .as_u64()
            .unwrap()
    }

    /// Opens `#/{route}` and waits until the page drew its answer.
    pub async fn open_page(&self, route: &str) {
        let before = self.loads().await;
        let page = route.split('?').next().unwrap();
        self.js(&format!(
            "window.location.hash = {:?}; return true",
            format!("#/{route}")
        ))
        .await;
        self.settled(page, before).await;
    }

    /// Waits until `page` drew a load after the `before`th.
    pub async fn settled(&self, page: &str, before: u64) {
        self.wait(
            &format!("page {page} to draw"),
            &format!(
                "const m = document.getElementById('main'); \
                 return m.dataset.page === {page:?} && Number(m.dataset.loads || 0) > {before} \
                   && !m.hasAttribute('aria-busy') && m.checkVisibility() \
                   && !document.getElementById('login').checkVisibility()"
            ),
        )
        .await;
    }

    /// Picks `value` in the filter `name` as a user does, and waits for the redraw.
    pub async fn choose(&self, page: &str, name: &str, value: &str) {
        let before = self.loads().await;
        let select = self
            .client
            .find(Locator::Id(&format!("filter-{name}")))
            .await
            .unwrap();
        select.select_by_value(value).await.unwrap();
        self.settled(page, before).await;
    }

    /// Types `value` into the text or date filter `name` and commits it.
    pub async fn enter(&self, page: &str, name: &str, value: &str) {
        let before = self.loads().await;
        self.js(&format!(
            "const f = document.getElementById('filter-{name}'); f.value = {value:?}; \
             f.dispatchEvent(new Event('change', {{ bubbles: true }})); return true"
        ))
        .await;
        self.settled(page, before).await;
    }

    pub async fn hash(&self) -> String {
        self.js("return window.location.hash")
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The rows of table `id`: each cell's text by its column key.
    pub async fn rows(&self, id: &str) -> Vec<HashMap<String, String>> {
        let value = self
            .js(&format!(
                "return [...document.querySelectorAll('#{id} tbody tr')]\
                   .filter(tr => !tr.querySelector('td.empty'))\
                   .map(tr => Object.fromEntries([...tr.children].map(c => [c.dataset.key, c.textContent])))"
            ))
            .await;
        serde_json::from_value(value).unwrap()
    }

    /// The text of the key figure `id`.
    pub async fn kpi(&self, id: &str) -> String {
        self.js(&format!(
            "return document.querySelector('#{id} dd').textContent"
        ))
        .await
        .as_str()
        .unwrap()
        .to_owned()
    }

    /// What chart `id` draws: its labels and each dataset's label and data.
    pub async fn chart(&self, id: &str) -> Value {
        self.js(&format!(
            "const c = Chart.getChart(document.getElementById('{id}')); \
             return c ? {{ labels: c.data.labels, datasets: c.data.datasets.map(d => ({{ label: d.label, key: d.key ?? null, data: d.data }})) }} : null"
        ))
        .await
    }

    /// The browser's console since the last call: (level, message).
    pub async fn console(&self) -> Vec<(String, String)> {
        let session = self.client.session_id().await.unwrap().unwrap();
        let path = format!("/session/{session}/se/log");
        let body = driver_post(self.driver_port, &path, r#"{"type":"browser"}"#);
        let value: Value = serde_json::from_str(&body).unwrap();
        value["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["level"].as_str().unwrap_or_default().to_owned(),
                    e["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// Fails on any console error or warning.
    pub async fn assert_clean_console(&self, page: &str) {
        let problems: Vec<_> = self
            .console()
            .await
            .into_iter()
            .filter(|(level, _)| level == "SEVERE" || level == "WARNING")
            .collect();
        assert!(problems.is_empty(), "{page}: console: {problems:?}");
    }

    /// Saves the whole page as `{name}.png` in [`screenshot_dir`].
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let height = self
            .js("return Math.ceil(document.documentElement.scrollHeight)")
            .await
            .as_u64()
            .unwrap()
            .clamp(600, 6000) as u32;
        // Wide enough for the widest table to show every column.
        let overflow = self
            .js("return Math.max(0, ...[...document.querySelectorAll('.table-wrap')].map(w => w.scrollWidth - w.clientWidth))")
            .await
            .as_u64()
            .unwrap_or(0)
            .min(1200) as u32;
        self.client
            .set_window_size(1440 + overflow, height + 120)
            .await
            .unwrap();
        // The charts redraw at the new size before the picture.
        self.js("for (const c of Object.values(Chart.instances)) c.resize(); return true")
            .await;
        let png = self.client.screenshot().await.unwrap();
        self.client.set_window_size(1440, 1000).await.unwrap();
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        println!("screenshot: {}", path.display());
        path
    }
}

/// POST to chromedriver, which keeps the connection open: the body is read
/// by its length.
fn driver_post(port: u16, path: &str, body: &str) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.contains(" 200 "), "chromedriver {path}: {status}");
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}

/// A figure as a page prints it (€1,234, 12.5%, 3.2×, 36.5 h) as a number.
pub fn number(text: &str) -> f64 {
    let cleaned: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect();
    cleaned
        .parse()
        .unwrap_or_else(|_| panic!("{text:?} is not a number"))
}

/// `shown` is `expected` as printed with `decimals` decimals.
pub fn close_to(shown: &str, expected: f64, decimals: i32, what: &str) {
    let value = number(shown);
    let tolerance = 0.5 * 10f64.powi(-decimals) + 1e-9 * expected.abs().max(1.0);
    assert!(
        (value - expected).abs() <= tolerance,
        "{what}: the page shows {shown:?}, the API gives {expected}"
    );
}

/// An amount in minor units as the pages print it: whole units from 100 up.
pub fn money_close(shown: &str, minor: f64, what: &str) {
    let units = minor / 100.0;
    close_to(shown, units, if units.abs() >= 100.0 { 0 } else { 2 }, what);
}

/// A ratio the API gives as a number or a word ("undefined", "unknown"),
/// shown as a percentage or as the word.
pub fn ratio_close(shown: &str, api: &Value, percent: bool, what: &str) {
    match api {
        Value::String(word) => assert_eq!(shown, word, "{what}"),
        Value::Number(n) => {
            let v = n.as_f64().unwrap();
            if percent {
                close_to(shown, v * 100.0, 1, what);
                assert!(shown.ends_with('%'), "{what}: {shown:?}");
            } else {
                close_to(shown, v, 1, what);
            }
        }
        other => panic!("{what}: unexpected {other}"),
    }
}

/// Keeps what the page hands the browser to download (`a[download]` clicks):
/// the file's name and text, in `window.__downloads`.
const CAPTURE_DOWNLOADS: &str = "if (!window.__downloads) { \
     window.__downloads = []; \
     const blobs = new Map(); \
     const create = URL.createObjectURL; \
     URL.createObjectURL = (blob) => { const url = create(blob); blobs.set(url, blob); return url; }; \
     const click = HTMLAnchorElement.prototype.click; \
     HTMLAnchorElement.prototype.click = function () { \
       if (!this.download) return click.call(this); \
       const name = this.download; \
       blobs.get(this.href).text().then(text => window.__downloads.push({ name, text })); \
     }; \
   } return true";

/// Text contrast (WCAG 2: 4.5:1, 3:1 for large text) of every visible text
/// against the first opaque background behind it; the failures.
const CONTRAST: &str = r##"
const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
  const p = m[1].split(",").map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
const lum = ({ r, g, b }) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
const behind = (el) => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
  if (c && c.a > 0) return c; } return { r: 255, g: 255, b: 255, a: 1 }; };
const failures = []; const seen = new Set();
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const text = walker.currentNode.textContent.trim(); const el = walker.currentNode.parentElement;
  if (!text || seen.has(el) || !el.checkVisibility()) continue; seen.add(el);
  const style = getComputedStyle(el); const a = lum(parse(style.color)); const b = lum(behind(el));
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const size = parseFloat(style.fontSize); const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
  if (ratio < (large ? 3 : 4.5)) failures.push(`${el.tagName} ${JSON.stringify(text.slice(0, 40))}: ${ratio.toFixed(2)}`);
}
return failures;"##;

/// Form controls, buttons and charts without a name a screen reader can say,
/// and tables without a caption.
const UNLABELLED: &str = r##"
const name = (el) => (el.labels && el.labels.length) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")
  || (el.tagName === "BUTTON" && el.textContent.trim());
const missing = [...document.querySelectorAll("input, select, textarea, button, canvas")]
  .filter((el) => el.checkVisibility() && !name(el)).map((el) => `${el.tagName}#${el.id}`);
for (const t of document.querySelectorAll("#main table")) if (!t.querySelector("caption")?.textContent.trim()) missing.push(`table#${t.id}`);
return missing;"##;

impl Browser {
    /// The open page's accessibility basics: every control, button and chart
    /// has a name, every table a caption, every text enough contrast.
    pub async fn assert_accessible(&self, page: &str) {
        let unlabelled = self.js(UNLABELLED).await;
        assert_eq!(unlabelled, json!([]), "{page}: without a label");
        let contrast = self.js(CONTRAST).await;
        assert_eq!(contrast, json!([]), "{page}: text below WCAG AA contrast");
    }

    /// Presses `key` on the keyboard, wherever the focus is.
    pub async fn press(&self, key: fantoccini::key::Key) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let value = char::from(key);
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
        self.client.perform_actions(keys).await.unwrap();
    }

    /// Presses Shift+Tab: the focus moves back.
    pub async fn shift_tab(&self) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        use fantoccini::key::Key;
        let (shift, tab) = (char::from(Key::Shift), char::from(Key::Tab));
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: shift })
            .then(KeyAction::Down { value: tab })
            .then(KeyAction::Up { value: tab })
            .then(KeyAction::Up { value: shift });
        self.client.perform_actions(keys).await.unwrap();
    }

    /// Presses Tab (Shift+Tab if `back`) until `script` (about
    /// `document.activeElement`, as `e`) holds; at most `most` times.
    pub async fn tab_to(&self, what: &str, script: &str, most: usize, back: bool) {
        for _ in 0..most {
            if back {
                self.shift_tab().await;
            } else {
                self.press(fantoccini::key::Key::Tab).await;
            }
            let check = format!("const e = document.activeElement; return Boolean({script})");
            if self.js(&check).await == Value::Bool(true) {
                return;
            }
        }
        panic!(
            "{most} presses of Tab never reached {what}; at {:?}",
            self.focused().await
        );
    }

    /// The focused element: `tag#id` and its text.
    pub async fn focused(&self) -> (String, String) {
        let v = self
            .js("const e = document.activeElement; return [`${e.tagName}#${e.id}`, e.textContent.trim()]")
            .await;
        (
            v[0].as_str().unwrap().to_owned(),
            v[1].as_str().unwrap().to_owned(),
        )
    }

    /// Every table on the open page has an export button; a click on each
    /// downloads a CSV: from the API, the API's own answer at the button's
    /// address, with at least a row per table row; of the table as shown, its
    /// columns and, cell by cell, the figures it shows. The tables checked.
    pub async fn check_exports(&self, demo: &Demo, page: &str) -> usize {
        self.js(CAPTURE_DOWNLOADS).await;
        let tables = self
            .js("return [...document.querySelectorAll('#main table')].map(t => { \
                   const b = t.closest('.table-wrap')?.querySelector(':scope > .tools button.csv'); \
                   return { id: t.id, rows: Number(t.dataset.rows), button: b?.id ?? null, \
                            source: b?.dataset.source ?? null, url: b?.dataset.url ?? null }; })")
            .await;
        let tables = tables.as_array().unwrap();
        assert!(!tables.is_empty(), "{page}: no table");
        for table in tables {
            let id = table["id"].as_str().unwrap();
            let button = table["button"]
                .as_str()
                .unwrap_or_else(|| panic!("{page}: table {id} has no export"));
            let before = self.js("return window.__downloads.length").await;
            self.client
                .find(Locator::Id(button))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            self.wait(
                &format!("the export of {id}"),
                &format!("return window.__downloads.length > {before}"),
            )
            .await;
            let file = self
                .js("return window.__downloads[window.__downloads.length - 1]")
                .await;
            let text = file["text"].as_str().unwrap();
            let name = file["name"].as_str().unwrap();
            assert!(name.ends_with(".csv"), "{page} {id}: {name}");
            let records = csv_records(text);
            let rows = table["rows"].as_u64().unwrap() as usize;
            if table["source"] == "api" {
                let url = table["url"].as_str().unwrap();
                assert_eq!(text, demo.api_text(url, ADMIN), "{page} {id}: {url}");
                // The API writes a row per element of a nested list (a
                // model's credit, a step's models): at least the table's rows.
                let in_file = records.len().saturating_sub(1);
                assert!(in_file >= rows, "{page} {id}: {in_file} rows for {rows}");
            } else {
                assert_eq!(table["source"], "table", "{page} {id}");
                self.table_matches_csv(page, id, &records).await;
            }
        }
        tables.len()
    }

    /// The CSV of a table as shown: its header the column labels, its rows
    /// the table's, each figure the one shown.
    async fn table_matches_csv(&self, page: &str, id: &str, records: &[Vec<String>]) {
        let labels = self
            .js(&format!(
                "return [...document.querySelectorAll('#{id} thead th')].map(th => \
                   (th.querySelector('button')?.firstChild ?? th).textContent.trim())"
            ))
            .await;
        let labels: Vec<String> = serde_json::from_value(labels).unwrap();
        let cells = self
            .js(&format!(
                "return [...document.querySelectorAll('#{id} tbody tr')]\
                   .filter(tr => !tr.querySelector('td.empty'))\
                   .map(tr => [...tr.children].map(c => c.textContent))"
            ))
            .await;
        let cells: Vec<Vec<String>> = serde_json::from_value(cells).unwrap();
        let (header, body) = records.split_first().unwrap();
        assert_eq!(header.len(), labels.len(), "{page} {id}: {header:?}");
        for (name, label) in header.iter().zip(&labels) {
            assert!(
                name.starts_with(label.as_str()),
                "{page} {id}: {name:?} for {label:?}"
            );
        }
        assert_eq!(body.len(), cells.len(), "{page} {id}");
        for (record, row) in body.iter().zip(&cells) {
            for ((value, shown), label) in record.iter().zip(row).zip(&labels) {
                let what = format!("{page} {id} {label}");
                same_figure(value, shown, &what);
            }
        }
    }
}

/// A CSV's records, header first.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// A cell of a table's CSV holds what the cell shows: the number without its
/// formatting (a percentage as a fraction), to the shown precision, or the
/// same text (an empty field for "—", the full time for a shown date).
fn same_figure(value: &str, shown: &str, what: &str) {
    if let Ok(number) = value.parse::<f64>()
        && shown.chars().any(|c| c.is_ascii_digit())
    {
        let expected = if shown.ends_with('%') {
            number * 100.0
        } else {
            number
        };
        let decimals = shown.rsplit_once('.').map_or(0, |(_, d)| {
            d.chars().take_while(char::is_ascii_digit).count()
        });
        close_to(shown, expected, decimals as i32, what);
        return;
    }
    assert!(
        value == shown
            || (shown == "—" && value.is_empty())
            || value.replace('T', " ").starts_with(shown),
        "{what}: the file has {value:?}, the table shows {shown:?}"
    );
}
