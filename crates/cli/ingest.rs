//! `touchline ingest FILE...`: your own events into a store, without Kafka.
//!
//! Two file formats carry the envelopes of `proto/touchline/v1/events.proto`:
//!
//! - **JSON lines** (`.jsonl`, `.ndjson`, `.json`, or `-` for standard input):
//!   one event per line in its JSON form (README, "JSON events"); blank lines
//!   are skipped.
//! - **Length-delimited protobuf** (`.pb`, `.bin`, `.protobuf`): each envelope
//!   preceded by its length as a varint, as `prost::Message::encode_length_delimited`
//!   writes it.
//! - **CSV exports** (`.csv`): campaign members, opportunities or campaign
//!   costs, told by the header row, mapped as `ingest_csv` documents.
//!
//! Every record goes through the path a Kafka message takes: the size limit
//! (`kafka.max_message_bytes`), decode, validate, then the engine with its
//! dedupe, in batches of one `WriteBatch` each. A record that fails is reported
//! with its file and line (or record number) and reason, and the others go in;
//! an event is in the log whole or not at all. Ingesting a file again appends
//! nothing: its events are duplicates.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use touchline_core::Envelope;
use touchline_engine::{Batch, Engine};
use touchline_proto::WireFormat;

use crate::config::Config;

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files of events; `-` reads JSON lines from standard input.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The files' format; `auto` goes by the extension.
    #[arg(long, value_enum, default_value_t = FileFormat::Auto)]
    pub format: FileFormat,
    /// TOML config file (store path, models, routing); environment variables
    /// override it.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Store directory (overrides `store.path`).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Events per batch (one WriteBatch and one fsync each).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    Auto,
    /// One JSON event per line.
    Jsonl,
    /// Length-delimited protobuf envelopes.
    Protobuf,
    /// A CSV export: campaign members, opportunities or costs (see
    /// `ingest_csv` for the columns), told by its header row.
    Csv,
}

impl FileFormat {
    /// The format of `path`: as given, else by its extension.
    pub fn of(self, path: &Path) -> anyhow::Result<FileFormat> {
        if self != FileFormat::Auto {
            return Ok(self);
        }
        if path == Path::new("-") {
            return Ok(FileFormat::Jsonl);
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl" | "ndjson" | "json") => Ok(FileFormat::Jsonl),
            Some("pb" | "bin" | "protobuf") => Ok(FileFormat::Protobuf),
            Some("csv") => Ok(FileFormat::Csv),
            _ => anyhow::bail!(
                "{}: cannot tell the format from the extension (.jsonl, .ndjson, .json, .pb, .bin, .csv); pass --format jsonl, protobuf or csv",
                path.display()
            ),
        }
    }
}

/// A record that did not become an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// `line 17` in a JSON-lines file, `record 3 (byte 1024)` in a protobuf one.
    pub position: String,
    pub reason: String,
}

/// Reads a file's records, handing each decoded event, or the reason it is
/// bad, to `sink`. Stops only on an I/O error or a truncated protobuf file.
/// Records read per round of parallel decoding.
const DECODE_CHUNK: usize = 8_192;

/// A record read from a file, before decoding: where it is, and its bytes or
/// why it is refused without decoding.
struct Raw {
    position: String,
    format: WireFormat,
    bytes: Result<Vec<u8>, String>,
}

/// Reads the records of one file and hands each to `sink`, in file order,
/// decoded (on every core, a chunk at a time) or refused with its position.
pub fn read_records(
    reader: impl Read,
    format: FileFormat,
    max_record_bytes: usize,
    unknown: touchline_proto::UnknownFields,
    mut sink: impl FnMut(Result<Envelope, BadRecord>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if format == FileFormat::Csv {
        let reader = BufReader::with_capacity(1 << 16, reader);
        crate::ingest_csv::read(reader, None, sink)?;
        return Ok(());
    }
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let too_large = |length: usize| {
        format!(
            "too_large: {length} bytes; the limit is kafka.max_message_bytes = {max_record_bytes}"
        )
    };
    let mut chunk: Vec<Raw> = Vec::with_capacity(DECODE_CHUNK);
    let mut flush = |chunk: &mut Vec<Raw>| -> anyhow::Result<()> {
        let decoded = touchline_proto::decode_all(chunk, unknown, threads, |raw| {
            (raw.format, raw.bytes.as_deref().unwrap_or_default())
        });
        for (raw, decoded) in chunk.drain(..).zip(decoded) {
            let record = match raw.bytes {
                Err(reason) => Err(reason),
                Ok(_) => decoded.map_err(|e| format!("{}: {e}", e.code())),
            };
            sink(record.map_err(|reason| BadRecord {
                position: raw.position,
                reason,
            }))?;
        }
        Ok(())
    };
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    match format {
        FileFormat::Csv => unreachable!("handled above"),
        FileFormat::Jsonl | FileFormat::Auto => {
            let mut line = 0u64;
            let mut buffer = Vec::new();
            loop {
                buffer.clear();
                if reader.read_until(b'\n', &mut buffer)? == 0 {
                    break;
                }
                line += 1;
                let record = buffer.trim_ascii();
                if record.is_empty() {
                    continue;
                }
                let bytes = if record.len() > max_record_bytes {
                    Err(too_large(record.len()))
                } else {
                    Ok(record.to_vec())
                };
                chunk.push(Raw {
                    position: format!("line {line}"),
                    format: WireFormat::Json,
                    bytes,
                });
                if chunk.len() == DECODE_CHUNK {
                    flush(&mut chunk)?;
                }
            }
        }
        FileFormat::Protobuf => {
            let (mut record, mut offset) = (0u64, 0u64);
            while let Some((length, prefix)) = read_varint(&mut reader)? {
                record += 1;
                let position = format!("record {record} (byte {offset})");
                let length = usize::try_from(length).unwrap_or(usize::MAX);
                let bytes = if length > max_record_bytes {
                    // Skipped unread: an oversized record never sits in memory.
                    let skipped = std::io::copy(
                        &mut (&mut reader).take(length as u64),
                        &mut std::io::sink(),
                    )?;
                    anyhow::ensure!(
                        skipped == length as u64,
                        "{position}: the file ends inside the record"
                    );
                    Err(too_large(length))
                } else {
                    let mut bytes = vec![0; length];
                    reader
                        .read_exact(&mut bytes)
                        .with_context(|| format!("{position}: the file ends inside the record"))?;
                    Ok(bytes)
                };
                chunk.push(Raw {
                    position,
                    format: WireFormat::Protobuf,
                    bytes,
                });
                if chunk.len() == DECODE_CHUNK {
                    flush(&mut chunk)?;
                }
                offset += prefix as u64 + length as u64;
            }
        }
    }
    flush(&mut chunk)
}

fn read_varint(reader: &mut impl BufRead) -> anyhow::Result<Option<(u64, usize)>> {
    let mut value = 0u64;
    for i in 0..10 {
        let mut byte = [0u8];
        if reader.read(&mut byte)? == 0 {
            anyhow::ensure!(i == 0, "the file ends inside a record's length");
            return Ok(None);
        }
        value |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    anyhow::bail!("a record's length is not a varint (more than 10 bytes)")
}

/// What ingesting one file came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Tally {
    records: u64,
    appended: u64,
    duplicates: u64,
    conflicting: u64,
    bad: Vec<BadRecord>,
}

pub fn run(args: IngestArgs) -> anyhow::Result<()> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(db) = &args.db {
        config.store.path = db.clone();
    }
    let formats: Vec<FileFormat> = args
        .files
        .iter()
        .map(|f| args.format.of(f))
        .collect::<anyhow::Result<_>>()?;
    let store = crate::import::open_store(&config.store.path)?;
    let mut engine = Engine::open(store, config.engine())?;
    let batch_size = args.batch as usize;
    let mut any_bad = 0usize;
    for (path, format) in args.files.iter().zip(formats) {
        let started = Instant::now();
        let reader: Box<dyn Read> = if path == Path::new("-") {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(
                std::fs::File::open(path)
                    .with_context(|| format!("cannot open {}", path.display()))?,
            )
        };
        let mut tally = Tally::default();
        let mut events = Vec::with_capacity(batch_size);
        let submit = |engine: &mut Engine, events: &mut Vec<Envelope>, tally: &mut Tally| {
            let (outcome, _) = engine.submit(Batch {
                events: std::mem::take(events),
                ..Batch::default()
            })?;
            tally.appended += outcome.appended as u64;
            tally.duplicates += outcome.duplicates as u64;
            tally.conflicting += outcome.conflicting.len() as u64;
            anyhow::Ok(())
        };
        let limits = (
            config.kafka.max_message_bytes,
            config.kafka.json_unknown_fields,
        );
        read_records(reader, format, limits.0, limits.1, |record| {
            tally.records += 1;
            match record {
                Ok(envelope) => {
                    events.push(envelope);
                    if events.len() >= batch_size {
                        submit(&mut engine, &mut events, &mut tally)?;
                    }
                }
                Err(bad) => tally.bad.push(bad),
            }
            Ok(())
        })
        .with_context(|| format!("{}", path.display()))?;
        if !events.is_empty() {
            submit(&mut engine, &mut events, &mut tally)?;
        }
        engine.flush()?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{}: {} records: {} events appended, {} already in the log, {} conflicting duplicates (dead-lettered), {} bad; {:.2} s ({:.0} records/s)",
            path.display(),
            tally.records,
            tally.appended,
            tally.duplicates,
            tally.conflicting,
            tally.bad.len(),
            seconds,
            tally.records as f64 / seconds.max(1e-9)
        );
        let mut err = std::io::stderr().lock();
        for bad in &tally.bad {
            writeln!(
                err,
                "  {}: {}: {}",
                path.display(),
                bad.position,
                bad.reason
            )?;
        }
        any_bad += tally.bad.len();
    }
    anyhow::ensure!(
        any_bad == 0,
        "{any_bad} records were not ingested (listed above); the others were"
    );
    Ok(())
}

/// Writes records to `path` in the format its extension names (what
/// `touchline ingest` reads back), for `touchline demo --export`: an event in
/// that format, or raw bytes as they are (a malformed message).
pub fn export<'a>(
    path: &Path,
    records: impl IntoIterator<Item = Result<&'a Envelope, &'a [u8]>>,
) -> anyhow::Result<usize> {
    let format = FileFormat::Auto.of(path)?;
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let mut written = 0;
    for record in records {
        let bytes = match (record, format) {
            (Ok(envelope), FileFormat::Protobuf) => {
                touchline_proto::encode(WireFormat::Protobuf, envelope)
            }
            (Ok(envelope), _) => touchline_proto::encode(WireFormat::Json, envelope),
            (Err(raw), _) => raw.to_vec(),
        };
        if format == FileFormat::Protobuf {
            let mut length = bytes.len() as u64;
            loop {
                let byte = (length & 0x7f) as u8;
                length >>= 7;
                if length == 0 {
                    out.write_all(&[byte])?;
                    break;
                }
                out.write_all(&[byte | 0x80])?;
            }
            out.write_all(&bytes)?;
        } else {
            out.write_all(&bytes)?;
            out.write_all(b"\n")?;
        }
        written += 1;
    }
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8], format: FileFormat, max: usize) -> Vec<Result<String, BadRecord>> {
        let mut out = Vec::new();
        read_records(
            bytes,
            format,
            max,
            touchline_proto::UnknownFields::Refuse,
            |r| {
                out.push(r.map(|e| e.event_id));
                Ok(())
            },
        )
        .expect("read");
        out
    }

    const GOOD: &str = r#"{"event_id":"e-1","occurred_at":"2026-03-02T09:30:00Z","recorded_at":"2026-03-02T09:30:05Z","payload":{"type":"touch_recorded","person_id":"p-1","campaign_id":"c-1","touch_type":"web_visit","status":"sent"}}"#;

    #[test]
    fn json_lines_report_bad_lines_by_number_and_skip_blank_ones() {
        let text = format!(
            "{GOOD}\n\n{{\"event_id\":\"\"}}\n{}\n",
            GOOD.replace("e-1", "e-2")
        );
        let records = read(text.as_bytes(), FileFormat::Jsonl, 1 << 20);
        assert_eq!(records.len(), 3);
        assert_eq!(records[0], Ok("e-1".to_owned()));
        let bad = records[1].as_ref().expect_err("bad");
        assert_eq!(bad.position, "line 3");
        assert!(bad.reason.starts_with("json_decode: "), "{}", bad.reason);
        assert_eq!(records[2], Ok("e-2".to_owned()));
        let small = read(GOOD.as_bytes(), FileFormat::Jsonl, 10);
        assert!(
            small[0]
                .as_ref()
                .expect_err("too large")
                .reason
                .starts_with("too_large: ")
        );
    }

    #[test]
    fn length_delimited_protobuf_reads_record_by_record() {
        let envelope = touchline_proto::decode(WireFormat::Json, GOOD.as_bytes()).expect("good");
        let one = touchline_proto::encode(WireFormat::Protobuf, &envelope);
        let mut file = Vec::new();
        for record in [&one[..], b"\xff\xff", &one[..]] {
            file.push(record.len() as u8);
            file.extend_from_slice(record);
        }
        let records = read(&file, FileFormat::Protobuf, 1 << 20);
        assert_eq!(records.len(), 3);
        assert_eq!(records[0], Ok("e-1".to_owned()));
        let bad = records[1].as_ref().expect_err("bad");
        assert_eq!(bad.position, format!("record 2 (byte {})", 1 + one.len()));
        assert!(
            bad.reason.starts_with("protobuf_decode: "),
            "{}",
            bad.reason
        );
        // A file cut inside a record is an error, not a silent end.
        let cut = &file[..file.len() - 3];
        let refuse = touchline_proto::UnknownFields::Refuse;
        let err =
            read_records(cut, FileFormat::Protobuf, 1 << 20, refuse, |_| Ok(())).expect_err("cut");
        assert!(err.to_string().contains("ends inside the record"), "{err}");
    }

    #[test]
    fn the_format_comes_from_the_extension_or_the_flag() {
        let of = |p: &str| FileFormat::Auto.of(Path::new(p)).ok();
        assert_eq!(of("events.jsonl"), Some(FileFormat::Jsonl));
        assert_eq!(of("-"), Some(FileFormat::Jsonl));
        assert_eq!(of("events.pb"), Some(FileFormat::Protobuf));
        assert_eq!(of("members.csv"), Some(FileFormat::Csv));
        assert_eq!(of("events.txt"), None);
        assert_eq!(
            FileFormat::Protobuf.of(Path::new("x.jsonl")).ok(),
            Some(FileFormat::Protobuf)
        );
    }
}
