//! `touchline run` serves its API over HTTPS when `http.tls` names a
//! certificate and key; a bad certificate stops it at startup.
//!
//! Needs the broker `deploy/test.sh` starts (`TOUCHLINE_TEST_KAFKA_BROKERS`).

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{brokers, free_port};

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM.
fn certificate(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (dir.join("api.pem"), dir.join("api.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path, cert.der().to_vec())
}

fn run(dir: &Path, http: &str, cert: &Path, key: &Path) -> std::process::Child {
    let group = format!("https-{}", free_port());
    Command::new(env!("CARGO_BIN_EXE_touchline"))
        .arg("run")
        .env("TOUCHLINE_STORE_PATH", dir.join("store"))
        .env("TOUCHLINE_HTTP_LISTEN", http)
        .env("TOUCHLINE_HTTP_TLS_CERT", cert)
        .env("TOUCHLINE_HTTP_TLS_KEY", key)
        .env("TOUCHLINE_ACCESS_OPEN", "true")
        .env("TOUCHLINE_KAFKA_BROKERS", brokers())
        .env("TOUCHLINE_KAFKA_GROUP_ID", &group)
        .env("TOUCHLINE_KAFKA_INSTANCE_ID", &group)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// GET over TLS, trusting only `ca`; the status line, or the error.
fn https_get(addr: &str, path: &str, ca: &[u8]) -> Result<String, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(ca.to_vec()))
        .unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut socket = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut tls = rustls::Stream::new(&mut connection, &mut socket);
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    text.lines()
        .next()
        .filter(|l| l.starts_with("HTTP/"))
        .map(str::to_owned)
        .ok_or_else(|| format!("no HTTP answer: {text:?}"))
}

#[test]
fn the_api_answers_over_https_and_not_over_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, der) = certificate(dir.path());
    let http = format!("127.0.0.1:{}", free_port());
    let mut child = run(dir.path(), &http, &cert, &key);
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("touchline run exited ({exit}): {err}");
        }
        if let Ok(status) = https_get(&http, "/v1/health", &der) {
            break status;
        }
        assert!(Instant::now() < deadline, "the HTTPS API never answered");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status, "HTTP/1.1 200 OK");
    // Plain HTTP on the same port gets no HTTP answer.
    assert!(support::http_get(&http, "/v1/health").is_none_or(|(code, _)| code != 200));
    // A client that does not trust the certificate is refused the handshake.
    let other = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap();
    assert!(https_get(&http, "/v1/health", other.der()).is_err());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_key_that_does_not_match_stops_touchline_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _, _) = certificate(dir.path());
    let missing = dir.path().join("nope.key");
    let http = format!("127.0.0.1:{}", free_port());
    let output = run(dir.path(), &http, &cert, &missing)
        .wait_with_output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("http.tls: cannot use the certificate"),
        "{err}"
    );
    // Nothing was consumed: the store was never opened.
    assert!(!dir.path().join("store").exists());
}
