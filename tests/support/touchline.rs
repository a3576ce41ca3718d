//! `touchline run` as a child process of a test: its store, its API address,
//! its log in a file, and the ways it stops (SIGTERM, kill -9, on its own).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{PATIENCE, TEST_TOKEN_SHA256, free_port, http_get, http_request};

/// The `touchline` binary: cargo's, or `TOUCHLINE_TEST_BIN` (a target
/// directory shared by checkouts built with other features may swap cargo's
/// under a running test).
pub fn binary() -> PathBuf {
    std::env::var_os("TOUCHLINE_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_touchline").into())
}

/// A running `touchline run` with the tests' admin token; killed when dropped,
/// so a failed assertion leaves nothing running.
pub struct Touchline {
    pub child: Child,
    pub http: String,
    /// The metrics listener, when started with one.
    pub metrics: Option<String>,
    pub log: PathBuf,
}

impl Touchline {
    /// Starts `touchline run` on `store` (with `config` if given, and `env`)
    /// without waiting for anything.
    pub fn spawn(store: &Path, config: Option<&Path>, env: &[(String, String)]) -> Touchline {
        Self::launch(store, config, env, false)
    }

    /// Starts `touchline run` and waits until its API answers.
    pub fn start(store: &Path, config: Option<&Path>, env: &[(String, String)]) -> Touchline {
        Self::started(Self::launch(store, config, env, false))
    }

    /// As [`Touchline::start`], with a metrics listener of its own.
    pub fn start_with_metrics(store: &Path, env: &[(String, String)]) -> Touchline {
        Self::started(Self::launch(store, None, env, true))
    }

    fn started(mut touchline: Touchline) -> Touchline {
        touchline.wait_for("the API answers", |t| t.status().is_some());
        touchline
    }

    fn launch(
        store: &Path,
        config: Option<&Path>,
        env: &[(String, String)],
        metrics_listener: bool,
    ) -> Touchline {
        let http = format!("127.0.0.1:{}", free_port());
        let metrics = metrics_listener.then(|| format!("127.0.0.1:{}", free_port()));
        let log = store.with_extension(format!("{}.log", free_port()));
        let mut command = Command::new(binary());
        command.arg("run");
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        if let Some(metrics) = &metrics {
            command.env("TOUCHLINE_HTTP_METRICS_LISTEN", metrics);
        }
        let child = command
            .envs(env.iter().cloned())
            .env("TOUCHLINE_STORE_PATH", store)
            .env("TOUCHLINE_HTTP_LISTEN", &http)
            .env(
                "TOUCHLINE_API_TOKENS",
                format!("tests:admin:{TEST_TOKEN_SHA256}"),
            )
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start touchline run");
        Touchline {
            child,
            http,
            metrics,
            log,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `condition` holds; fails at once, with the log, if the
    /// process exited meanwhile.
    pub fn wait_for(&mut self, what: &str, mut condition: impl FnMut(&Touchline) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                panic!(
                    "touchline run exited ({exit}) while waiting for: {what}\n{}",
                    self.log()
                );
            }
            if condition(self) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for: {what}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to exit on its own, at most `patience`.
    pub fn exit_within(mut self, patience: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                return (exit, self.log());
            }
            if Instant::now() >= deadline {
                self.child.kill().unwrap();
                self.child.wait().unwrap();
                panic!(
                    "touchline run still running after {patience:?}\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A JSON answer of the API, if it gave one with 200.
    pub fn get(&self, path: &str) -> Option<Value> {
        let (code, body) = http_get(&self.http, path)?;
        (code == 200)
            .then(|| serde_json::from_str(&body).ok())
            .flatten()
    }

    pub fn status(&self) -> Option<Value> {
        self.get("/v1/status")
    }

    /// A counter of `/v1/status`; 0 while it does not answer.
    pub fn metric(&self, name: &str) -> u64 {
        self.status()
            .and_then(|s| s["metrics"][name].as_u64())
            .unwrap_or(0)
    }

    pub fn appended(&self) -> u64 {
        self.metric("events_appended")
    }

    /// Input messages the log covers: the sum of its next offsets (a test's
    /// topics start at offset 0).
    pub fn consumed(&self) -> i64 {
        self.status()
            .and_then(|s| {
                s["offsets"]
                    .as_array()
                    .map(|os| os.iter().filter_map(|o| o["next_offset"].as_i64()).sum())
            })
            .unwrap_or(0)
    }

    /// A request to the metrics listener, without a token.
    pub fn scrape(&self, path: &str) -> (u16, String) {
        let metrics = self
            .metrics
            .as_deref()
            .expect("started with a metrics listener");
        http_request(metrics, "GET", path, None, "").unwrap_or((0, String::new()))
    }

    /// SIGTERM; the process must exit 0. Returns its log.
    pub fn terminate(mut self) -> String {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        let log = self.log();
        assert!(exit.success(), "touchline run exited with {exit}\n{log}");
        log
    }

    pub fn kill_9(mut self) {
        self.child.kill().unwrap(); // SIGKILL on Unix
        self.child.wait().unwrap();
    }
}

impl Drop for Touchline {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
