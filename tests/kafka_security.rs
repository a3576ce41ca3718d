//! Issue 11, TLS and SASL: `touchline run` consumes, dead-letters, publishes
//! and produces its commands over every secured listener of the test broker
//! (`deploy/kafka.sh start` makes them): TLS, mutual TLS, and SASL_SSL with
//! PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER (librdkafka's unsecured
//! JWT). A wrong password, an untrusted CA or a missing client certificate
//! stops it at startup, non-zero, with a message naming the cause.
//!
//! Where the listeners are (defaults match `deploy/kafka.sh start`):
//! - `TOUCHLINE_TEST_KAFKA_SSL_BROKERS` (the plaintext port + 2),
//!   `TOUCHLINE_TEST_KAFKA_MTLS_BROKERS` (+ 3),
//!   `TOUCHLINE_TEST_KAFKA_SASL_SSL_BROKERS` (+ 4), the plaintext one being
//!   `TOUCHLINE_TEST_KAFKA_BROKERS` (127.0.0.1:9092);
//! - `TOUCHLINE_TEST_KAFKA_TLS_DIR`: the broker's `ca.pem`, `client.pem`,
//!   `client.key` (`$TOUCHLINE_KAFKA_DIR/tls`, by default
//!   `~/.cache/touchline/kafka-data/tls`);
//! - SASL user `touchline`, password `touchline-secret`.

#![allow(clippy::unwrap_used)]

mod clients;
mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use clients::*;
use support::Topics;

const USER: &str = "touchline";
const PASSWORD: &str = "touchline-secret";
/// A configuration the brokers refuse must stop `touchline run` well within this.
const STARTUP_FAILURE: Duration = Duration::from_secs(60);

/// A secured listener's address: its variable, or the plaintext port plus `offset`.
fn listener(var: &str, offset: u16) -> String {
    if let Ok(brokers) = std::env::var(var) {
        return brokers;
    }
    let plaintext = support::brokers();
    let (host, port) = plaintext
        .rsplit_once(':')
        .expect("TOUCHLINE_TEST_KAFKA_BROKERS is host:port");
    let port: u16 = port.parse().expect("a port");
    format!("{host}:{}", port + offset)
}

fn ssl_brokers() -> String {
    listener("TOUCHLINE_TEST_KAFKA_SSL_BROKERS", 2)
}

fn mtls_brokers() -> String {
    listener("TOUCHLINE_TEST_KAFKA_MTLS_BROKERS", 3)
}

fn sasl_ssl_brokers() -> String {
    listener("TOUCHLINE_TEST_KAFKA_SASL_SSL_BROKERS", 4)
}

fn tls_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TOUCHLINE_TEST_KAFKA_TLS_DIR") {
        return dir.into();
    }
    let data = std::env::var("TOUCHLINE_KAFKA_DIR").unwrap_or_else(|_| {
        format!(
            "{}/.cache/touchline/kafka-data",
            std::env::var("HOME").unwrap()
        )
    });
    PathBuf::from(data).join("tls")
}

fn tls_file(name: &str) -> String {
    let path = tls_dir().join(name);
    assert!(
        path.exists(),
        "{} missing: start the broker with bash deploy/kafka.sh start",
        path.display()
    );
    path.to_str().unwrap().to_owned()
}

fn ssl_props() -> Props {
    props(&[
        ("security.protocol", "SSL"),
        ("ssl.ca.location", &tls_file("ca.pem")),
    ])
}

fn mtls_props() -> Props {
    props(&[
        ("security.protocol", "SSL"),
        ("ssl.ca.location", &tls_file("ca.pem")),
        ("ssl.certificate.location", &tls_file("client.pem")),
        ("ssl.key.location", &tls_file("client.key")),
    ])
}

fn sasl_props(mechanism: &str, password: &str) -> Props {
    props(&[
        ("security.protocol", "SASL_SSL"),
        ("ssl.ca.location", &tls_file("ca.pem")),
        ("sasl.mechanism", mechanism),
        ("sasl.username", USER),
        ("sasl.password", password),
    ])
}

async fn all_the_way_through(test: &str, brokers: &str, props: &Props) {
    let topics = Topics::unique(test);
    create_topics(&topics, &[]).await;
    let trip = round_trip(&topics, brokers, props, props).await;
    assert!(
        trip.log.contains("the brokers accepted the connection"),
        "{}",
        trip.log
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_consumes_dead_letters_and_publishes() {
    all_the_way_through("sec-ssl", &ssl_brokers(), &ssl_props()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_consumes_dead_letters_and_publishes() {
    all_the_way_through("sec-mtls", &mtls_brokers(), &mtls_props()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_plain_consumes_dead_letters_and_publishes() {
    all_the_way_through(
        "sec-plain",
        &sasl_ssl_brokers(),
        &sasl_props("PLAIN", PASSWORD),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_sha_256_consumes_dead_letters_and_publishes() {
    all_the_way_through(
        "sec-scram256",
        &sasl_ssl_brokers(),
        &sasl_props("SCRAM-SHA-256", PASSWORD),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_sha_512_consumes_dead_letters_and_publishes() {
    all_the_way_through(
        "sec-scram512",
        &sasl_ssl_brokers(),
        &sasl_props("SCRAM-SHA-512", PASSWORD),
    )
    .await;
}

/// librdkafka's unsecured JWT against the broker's unsecured validator: for
/// tests only, but it runs the whole OAUTHBEARER exchange.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauthbearer_unsecured_jwt_consumes_dead_letters_and_publishes() {
    let props = props(&[
        ("security.protocol", "SASL_SSL"),
        ("ssl.ca.location", &tls_file("ca.pem")),
        ("sasl.mechanism", "OAUTHBEARER"),
        ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
        ("sasl.oauthbearer.config", &format!("principal={USER}")),
    ]);
    all_the_way_through("sec-oauth", &sasl_ssl_brokers(), &props).await;
}

/// `touchline run` with `props` through `brokers` must exit non-zero, at
/// startup, saying `expected`; returns its log.
fn refused_at_startup(brokers: &str, props: &Props, expected: &str) -> String {
    let topics = Topics::unique("sec-refused");
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), props);
    let engine = Touchline::spawn(
        &dir.path().join("store"),
        Some(&config),
        &env(&topics, brokers),
    );
    let (exit, log) = engine.exit_within(STARTUP_FAILURE);
    assert!(!exit.success(), "exited {exit}\n{log}");
    let last = log.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains(expected),
        "the last line should say {expected:?}:\n{log}"
    );
    assert!(
        !log.contains("consuming"),
        "stopped before anything started:\n{log}"
    );
    log
}

#[test]
fn a_wrong_scram_password_stops_touchline_at_startup_naming_the_user() {
    refused_at_startup(
        &sasl_ssl_brokers(),
        &sasl_props("SCRAM-SHA-512", "not-the-password"),
        "authentication failed (SASL SCRAM-SHA-512 user touchline over SASL_SSL)",
    );
}

#[test]
fn a_wrong_plain_password_stops_touchline_at_startup() {
    refused_at_startup(
        &sasl_ssl_brokers(),
        &sasl_props("PLAIN", "not-the-password"),
        "authentication failed (SASL PLAIN user touchline over SASL_SSL)",
    );
}

#[test]
fn an_untrusted_ca_stops_touchline_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("other-ca.pem");
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=not the broker's CA", "-keyout"])
        .arg(dir.path().join("other-ca.key"))
        .arg("-out")
        .arg(&ca)
        .output()
        .expect("openssl (bash deploy/system-deps.sh)");
    assert!(made.status.success(), "{made:?}");
    let log = refused_at_startup(
        &ssl_brokers(),
        &props(&[
            ("security.protocol", "SSL"),
            ("ssl.ca.location", ca.to_str().unwrap()),
        ]),
        "TLS handshake failed: certificate verify failed (is ssl.ca.location the CA that signed the broker's certificate",
    );
    assert!(log.contains("certificate verify failed"), "{log}");
}

#[test]
fn no_client_certificate_on_the_mutual_tls_listener_stops_touchline_at_startup() {
    refused_at_startup(
        &mtls_brokers(),
        &ssl_props(),
        "TLS handshake failed: the broker refused the client certificate",
    );
}
