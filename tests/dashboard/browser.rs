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

impl Demo {
    pub fn start() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let tokens = format!(
            "admin:admin:{},service:service:{}",
            touchline_api::access::token_digest_hex(ADMIN),
            touchline_api::access::token_digest_hex(SERVICE)
        );
        let log = std::fs::File::create(dir.path().join("demo.log")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_touchline"))
            .args([
                "demo",
                "--accounts",
                "400",
                "--seed",
                "7",
                "--listen",
                &addr,
                "--db",
            ])
            .arg(dir.path().join("store"))
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

    /// GET `path` as the API answers it to `token`.
    pub fn api(&self, path: &str, token: &str) -> Value {
        let (status, body) = http_request(&self.addr, "GET", path, Some(token), "").unwrap();
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    pub fn status(&self, path: &str, token: &str) -> u16 {
        http_request(&self.addr, "GET", path, Some(token), "")
            .unwrap()
            .0
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
        self.client
            .set_window_size(1440, height + 120)
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
