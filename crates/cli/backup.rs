//! `touchline backup` and `touchline restore`.
//!
//! A running engine holds its store's RocksDB lock, so a backup of it is taken
//! by the engine itself: `touchline backup DIR` asks its API
//! (`POST /v1/admin/backup`, admin token) to checkpoint the store into DIR on
//! the engine's machine. `--db STORE` backs up a stopped engine's store
//! directly. `touchline restore BACKUP --db STORE` brings one back into a stopped
//! engine's place.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use touchline_store::{BackupManifest, SCHEMA_VERSION, Store};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The new directory the backup goes into (it must not exist). Through the
    /// API it is a path on the engine's machine; a relative one is taken from
    /// the current directory.
    dir: PathBuf,
    /// Back up the store of a stopped engine directly instead of asking a
    /// running one.
    #[arg(long)]
    db: Option<PathBuf>,
    /// The running engine's API (http://host:port).
    #[arg(
        long,
        default_value = "http://127.0.0.1:8080",
        env = "TOUCHLINE_API_URL"
    )]
    api: String,
    /// An admin token for the API (not needed when its access is open).
    #[arg(long, env = "TOUCHLINE_API_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A backup directory, as `touchline backup` made it.
    backup: PathBuf,
    /// The store directory to restore into: missing or empty, or with --force
    /// a stopped engine's store to replace.
    #[arg(long)]
    db: PathBuf,
    /// Replace the store at --db (refused while an engine has it open).
    #[arg(long)]
    force: bool,
}

pub fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let dir = std::path::absolute(&args.dir)
        .with_context(|| format!("{}: cannot make the path absolute", args.dir.display()))?;
    let manifest = match &args.db {
        Some(db) => {
            if !db.join("CURRENT").is_file() {
                bail!("--db {}: no store there", db.display());
            }
            let store = Store::open(db).with_context(|| {
                format!(
                    "--db {}: cannot open the store (if an engine is running on it, leave out --db to back it up through its API)",
                    db.display()
                )
            })?;
            store
                .backup(&dir)
                .with_context(|| format!("backup of {} into {}", db.display(), dir.display()))?
        }
        None => through_api(&args.api, args.token.as_deref(), &dir)?,
    };
    println!(
        "backup in {}: {} events, schema version {}, offsets {}",
        dir.display(),
        manifest.next_seq,
        manifest.schema_version,
        offsets_summary(&manifest)
    );
    Ok(())
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let manifest =
        touchline_store::restore(&args.backup, &args.db, args.force).with_context(|| {
            format!(
                "restore of {} into {}",
                args.backup.display(),
                args.db.display()
            )
        })?;
    println!(
        "restored {} into {}: {} events taken {} from {}, offsets {}",
        args.backup.display(),
        args.db.display(),
        manifest.next_seq,
        manifest.created_at,
        manifest.source.display(),
        offsets_summary(&manifest)
    );
    if manifest.schema_version != SCHEMA_VERSION {
        println!(
            "the backup has schema version {}, this build {SCHEMA_VERSION}: run `touchline replay` on it before `touchline run`",
            manifest.schema_version
        );
    }
    println!(
        "`touchline run` on it resumes from these offsets and reads what came after from Kafka again; \
         it keeps the backup's Kafka instance id, so do not run it beside the engine the backup came from"
    );
    Ok(())
}

fn offsets_summary(manifest: &BackupManifest) -> String {
    if manifest.offsets.is_empty() {
        return "none".into();
    }
    manifest
        .offsets
        .iter()
        .map(|o| format!("{}/{}@{}", o.topic, o.partition, o.next_offset))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `POST /v1/admin/backup` over plain HTTP/1.1; the manifest it answers.
fn through_api(api: &str, token: Option<&str>, dir: &Path) -> anyhow::Result<BackupManifest> {
    let authority = api
        .strip_prefix("http://")
        .with_context(|| format!("--api {api:?}: expected http://host:port"))?
        .trim_end_matches('/');
    anyhow::ensure!(
        !authority.contains('/'),
        "--api {api:?}: expected http://host:port, without a path"
    );
    let host_port = if authority
        .rsplit(':')
        .next()
        .is_some_and(|p| p.parse::<u16>().is_ok())
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let address = host_port
        .to_socket_addrs()
        .with_context(|| format!("--api {api}: cannot resolve"))?
        .next()
        .with_context(|| format!("--api {api}: no address"))?;
    let mut stream =
        TcpStream::connect_timeout(&address, Duration::from_secs(10)).with_context(|| {
            format!("--api {api}: cannot connect (is `touchline run` serving there?)")
        })?;
    let body = serde_json::json!({ "dir": dir }).to_string();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "POST /v1/admin/backup HTTP/1.1\r\nHost: {authority}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .with_context(|| format!("--api {api}: cannot send the request"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .with_context(|| format!("--api {api}: no answer"))?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .with_context(|| format!("--api {api}: not an HTTP answer"))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("--api {api}: not an HTTP answer"))?;
    // axum answers a JSON body with Content-Length, never chunked.
    let json: serde_json::Value = serde_json::from_str(body)
        .with_context(|| format!("--api {api}: answered {status} without JSON: {body:?}"))?;
    if status != 201 {
        let message = json["error"].as_str().unwrap_or(body);
        bail!("the engine refused the backup ({status}): {message}");
    }
    serde_json::from_value(json).context("the engine's answer is not a backup manifest")
}
