//! The RocksDB event log and view store.
//!
//! One database holds everything that must change together: the event log, its
//! indexes, the read models (views), the Kafka offsets the log covers, the
//! outbox of messages to publish and the outbox records Kafka refused for good
//! (parked). A [`Commit`] gathers one batch of all of these
//! into a single RocksDB `WriteBatch`, written with one fsync; after a crash the
//! database holds either all of a batch or none of it. This crate is the only one
//! that knows RocksDB.
//!
//! [`Store::backup`] checkpoints the open store into a new directory, between
//! two writes, with a manifest; [`restore`] brings a backup back as a store,
//! checked against its manifest. [`Store::open_secondary`] reads a store that
//! another process (a running engine) holds open.
//!
//! ```
//! use touchline_core::{Envelope, Event, StreamKind, Timestamp, TouchRecorded, TouchStatus, TouchType};
//! use touchline_store::{Store, Table};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path()).unwrap();
//! let envelope = Envelope {
//!     event_id: "e-1".into(),
//!     occurred_at: Timestamp::from_millis(1_000),
//!     recorded_at: Timestamp::from_millis(1_000),
//!     source_system: "web".into(),
//!     event: Event::TouchRecorded(TouchRecorded {
//!         person_id: "p-1".into(),
//!         campaign_id: "c-1".into(),
//!         touch_type: TouchType::WebVisit,
//!         status: TouchStatus::Sent,
//!         asset: String::new(), topic: String::new(), provenance: None,
//!     }),
//! };
//! let mut commit = store.commit();
//! commit.append(0, &envelope);
//! commit.put_view(Table::Persons, "p-1", &"any serde value").unwrap();
//! commit.set_offset("touchline.events.v1", 0, 1);
//! store.write(commit).unwrap();
//!
//! assert_eq!(store.seq_of_event("e-1").unwrap(), Some(0));
//! assert_eq!(store.stream(StreamKind::Person, "p-1", 0, 10).unwrap()[0].envelope, envelope);
//! assert_eq!(store.offsets().unwrap()[0].next_offset, 1);
//! ```

mod backup;
mod bulk;
mod commit;
mod families;
mod keys;
mod outbox;
mod raw;
mod secondary;
mod stream_index;
mod touch_rows;

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::sync::atomic::AtomicU64;

use rocksdb::{ColumnFamily, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions};
use serde::{Serialize, de::DeserializeOwned};
use touchline_core::{Envelope, StreamKind, Timestamp};

use families::{families, family_names};

pub use backup::{BACKUP_FORMAT, BackupManifest, MANIFEST_FILE, read_manifest, restore};
pub use commit::Commit;
use commit::Op;
pub use outbox::{OutboxDeadLetter, OutboxRecord, ParkedRecord, PublishedPage};
pub use touch_rows::decode_touch;

/// Bumped when the encoding of stored views changes; a store of another version is refused.
pub const SCHEMA_VERSION: u64 = 11;

const CF_EVENTS: &str = "events";
const CF_EVENT_IDS: &str = "event_ids";
const CF_STREAMS: &str = "streams";
const CF_OFFSETS: &str = "offsets";
const CF_META: &str = "meta";
const CF_OUTBOX: &str = "outbox";
/// Outbox records Kafka refused for good, by their outbox id. Created when
/// missing, so older stores open unchanged (no schema bump).
const CF_PARKED: &str = "parked";
/// One row per touch a person keeps, keyed `person_id 0x00 occurred_at 0x00
/// event_id` (see `keys::touch_key`): a person's history is appended to and
/// trimmed row by row, never re-encoded whole. A view of the store, cleared and
/// rebuilt with the others.
const CF_PERSON_TOUCHES: &str = "person_touches";

const META_SCHEMA: &str = "schema_version";
/// Set while a rebuild of the views runs (its pages are written without fsync):
/// a store that still has it after a crash is refused until replayed again.
const META_REBUILDING: &str = "rebuilding";
/// Where extension keys ([`Store::extension`]) live in the meta family: no
/// key of the engine's own starts with it.
const EXTENSION_PREFIX: &str = "ext/";

fn extension_key(key: &str) -> Vec<u8> {
    let mut full = Vec::with_capacity(EXTENSION_PREFIX.len() + key.len());
    full.extend_from_slice(EXTENSION_PREFIX.as_bytes());
    full.extend_from_slice(key.as_bytes());
    full
}

/// The read-model tables, one column family each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    Accounts,
    Persons,
    Opportunities,
    Campaigns,
    Conversions,
}

impl Table {
    pub const ALL: [Table; 5] = [
        Table::Accounts,
        Table::Persons,
        Table::Opportunities,
        Table::Campaigns,
        Table::Conversions,
    ];

    fn cf_name(self) -> &'static str {
        match self {
            Table::Accounts => "accounts",
            Table::Persons => "persons",
            Table::Opportunities => "opportunities",
            Table::Campaigns => "campaigns",
            Table::Conversions => "conversions",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the event store at {path}: {source}")]
    Open {
        path: PathBuf,
        source: rocksdb::Error,
    },
    #[error("rocksdb {operation} failed: {source}")]
    Rocks {
        operation: &'static str,
        source: rocksdb::Error,
    },
    /// A shard another instance of the group holds could not be read there.
    #[error("shard {shard} is held by another instance, which did not answer: {detail}")]
    Remote { shard: u32, detail: String },
    #[error("corrupt {what} at key {key:?}: {detail}")]
    Corrupt {
        what: &'static str,
        key: String,
        detail: String,
    },
    #[error("cannot {operation} {path}: {source}")]
    Io {
        operation: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A backup or restore that cannot go ahead: the target is in the way, the
    /// manifest is missing or does not match what the backup holds.
    #[error("{path}: {problem}")]
    Backup { path: PathBuf, problem: String },
    /// A write to a store opened read-only (a secondary beside a running engine).
    #[error("the store at {path} is open read-only (a secondary); it cannot be written")]
    ReadOnly { path: PathBuf },
    #[error("{path} is not a touchline store: {problem}")]
    NotAStore { path: PathBuf, problem: String },
    #[error(
        "the store at {path} was written with schema version {found}, this build uses {expected}; run `touchline replay` on it to rebuild the views from its log"
    )]
    SchemaMismatch {
        path: PathBuf,
        found: u64,
        expected: u64,
    },
    #[error(
        "a rebuild of the views of the store at {path} was interrupted, so its views are partial; run `touchline replay` on it to rebuild them from its log"
    )]
    RebuildInterrupted { path: PathBuf },
}

fn rocks(operation: &'static str) -> impl FnOnce(rocksdb::Error) -> StoreError {
    move |source| StoreError::Rocks { operation, source }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An event as stored: its log position and the event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: u64,
    pub envelope: Envelope,
}

/// What [`Store::events_decoded_on`] read: the events it kept, and the
/// position after the last event it read (`None` when it read none: the log
/// ends before `from_seq`).
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    pub events: Vec<StoredEvent>,
    pub next: Option<u64>,
}

/// The next offset to read from one Kafka partition, as covered by the log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub next_offset: i64,
}

#[derive(Debug)]
pub struct Store {
    db: DB,
    path: PathBuf,
    /// Every write holds it shared; a backup holds it exclusively, so a
    /// checkpoint always falls between two writes.
    writes: RwLock<()>,
    /// A secondary's own directory (its info log and replayed WAL state),
    /// removed with the store; `None` for the primary.
    secondary: Option<tempfile::TempDir>,
    /// The lowest outbox id that may still be held: every record below it was
    /// trimmed through this store. Outbox ids only grow, so reading a page
    /// seeks here rather than walking every trimmed record's tombstone from
    /// the start (which cost the publisher more than rendering did).
    outbox_start: AtomicU64,
}

impl Drop for Store {
    /// Writes the memtables out on a clean close, so that the next open
    /// (a restart, a replay) does not replay the whole write-ahead log; after a
    /// crash the log is replayed as always.
    fn drop(&mut self) {
        if self.is_secondary() {
            return;
        }
        // `DB::flush` covers the default column family only, and every table
        // lives in a family of its own.
        for name in family_names() {
            let Some(family) = self.db.cf_handle(name) else {
                continue;
            };
            if let Err(e) = self.db.flush_cf(family) {
                tracing::warn!(path = %self.path.display(), family = name, error = %e, "cannot flush the memtables on close; the next open replays the log");
                return;
            }
        }
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, true)
    }

    /// Opens a store whatever its schema version, clears its views and marks it
    /// current: the first step of a replay after an upgrade. The log, offsets and
    /// counters are kept.
    pub fn open_for_replay(path: &Path) -> Result<Self> {
        let store = Self::open_with(path, false)?;
        // Marked as being rebuilt first: a crash from here on leaves a store
        // that asks for the replay again, never one with views missing.
        let mut commit = store.commit();
        commit.set_meta_u64(META_SCHEMA, SCHEMA_VERSION);
        commit.set_meta_u64(META_REBUILDING, 1);
        store.write(commit)?;
        store.clear_views()?;
        Ok(store)
    }

    fn open_with(path: &Path, check_schema: bool) -> Result<Self> {
        let mut db_options = Options::default();
        db_options.create_if_missing(true);
        db_options.create_missing_column_families(true);
        db_options.increase_parallelism(2);
        db_options.set_max_background_jobs(2);
        db_options.set_bytes_per_sync(1 << 20);
        let families = families(path, 256 << 20)?;

        let db = DB::open_cf_descriptors(&db_options, path, families).map_err(|source| {
            StoreError::Open {
                path: path.to_owned(),
                source,
            }
        })?;
        let store = Store {
            db,
            path: path.to_owned(),
            writes: RwLock::new(()),
            secondary: None,
            outbox_start: AtomicU64::new(0),
        };
        store.remove_unfinished_bulk_files()?;
        match store.meta_u64(META_SCHEMA)? {
            None => {
                let mut commit = store.commit();
                commit.set_meta_u64(META_SCHEMA, SCHEMA_VERSION);
                store.write(commit)?;
            }
            Some(SCHEMA_VERSION) if check_schema && store.meta_u64(META_REBUILDING)? == Some(1) => {
                return Err(StoreError::RebuildInterrupted {
                    path: path.to_owned(),
                });
            }
            Some(SCHEMA_VERSION) => {}
            Some(_) if !check_schema => {}
            Some(found) => {
                return Err(StoreError::SchemaMismatch {
                    path: path.to_owned(),
                    found,
                    expected: SCHEMA_VERSION,
                });
            }
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this is a read-only secondary ([`Store::open_secondary`]).
    pub fn is_secondary(&self) -> bool {
        self.secondary.is_some()
    }

    /// Leave to write: shared with other writes, exclusive of a backup.
    fn write_gate(&self) -> Result<std::sync::RwLockReadGuard<'_, ()>> {
        if self.is_secondary() {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
            });
        }
        // The guarded value is `()`: a writer that panicked left nothing half-done.
        Ok(self.writes.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// RocksDB's sequence number of the last write: it moves with every
    /// commit, including those that append no event (a hand-over, a trim).
    pub fn write_sequence(&self) -> u64 {
        self.db.latest_sequence_number()
    }

    /// The log position the next appended event gets: one past the last event.
    pub fn next_seq(&self) -> Result<u64> {
        match self
            .db
            .iterator_cf(self.cf(CF_EVENTS), IteratorMode::End)
            .next()
        {
            None => Ok(0),
            Some(item) => {
                let (key, _) = item.map_err(rocks("find the last event"))?;
                let seq = keys::decode_u64(&key)
                    .ok_or_else(|| corrupt("event key", &format!("{key:?}"), "not 8 bytes"))?;
                Ok(seq + 1)
            }
        }
    }

    /// Schema version recorded in the store, if any.
    pub fn schema_version(&self) -> Result<Option<u64>> {
        self.meta_u64(META_SCHEMA)
    }

    fn cf(&self, name: &'static str) -> &ColumnFamily {
        // RocksDB's per-operation perf counters cost a thread-local lookup on
        // every key comparison in the memtable, and nothing reads them. The
        // level is per thread, and every read and write of the store passes
        // here first, on whichever thread runs it.
        rocksdb::perf::set_perf_stats(rocksdb::perf::PerfStatsLevel::Disable);
        // Every family is created in `open`; a missing one is a bug, not an input error.
        self.db
            .cf_handle(name)
            .unwrap_or_else(|| panic!("column family {name} is opened with the store"))
    }

    /// Starts a batch of changes; nothing is visible until [`Store::write`].
    pub fn commit(&self) -> Commit {
        Commit::new()
    }

    /// Writes a batch atomically and fsyncs the write-ahead log before returning.
    pub fn write(&self, commit: Commit) -> Result<()> {
        self.write_with(commit, true)
    }

    fn write_with(&self, commit: Commit, sync: bool) -> Result<()> {
        let _gate = self.write_gate()?;
        let mut ops = commit.ops;
        commit::sort_ops(&mut ops);
        let mut batch = WriteBatch::default();
        // Sorted, so each family's operations are together: its handle is
        // looked up once per run, not once per key.
        let mut family: Option<(&'static str, &ColumnFamily)> = None;
        for op in &ops {
            let name = op.sort_key().0;
            let cf = match family {
                Some((current, cf)) if std::ptr::eq(current, name) => cf,
                _ => {
                    let cf = self.cf(name);
                    family = Some((name, cf));
                    cf
                }
            };
            match op {
                Op::Put { key, value, .. } => batch.put_cf(cf, key, value),
                Op::Delete { key, .. } => batch.delete_cf(cf, key),
            }
        }
        drop(ops);
        let mut options = WriteOptions::default();
        options.set_sync(sync);
        self.db.write_opt(batch, &options).map_err(rocks("write"))
    }

    /// Writes a batch atomically without waiting for the disk: for the pages of
    /// a rebuild, which marks the store (see [`Store::begin_rebuild`]) so that a
    /// crash before its last, synced write is noticed.
    pub fn write_unsynced(&self, commit: Commit) -> Result<()> {
        self.write_with(commit, false)
    }

    /// Removes every view and marks the store as being rebuilt, durably: until
    /// [`Commit::end_rebuild`] is written, opening the store is refused.
    pub fn begin_rebuild(&self) -> Result<()> {
        // Marked first: a crash while the views are cleared leaves a store
        // that says it needs the replay.
        let mut commit = self.commit();
        commit.set_meta_u64(META_REBUILDING, 1);
        self.write(commit)?;
        self.clear_views()
    }

    /// The log position of an event id, if it was appended.
    pub fn seq_of_event(&self, event_id: &str) -> Result<Option<u64>> {
        let value = self
            .db
            .get_cf(self.cf(CF_EVENT_IDS), event_id.as_bytes())
            .map_err(rocks("get event id"))?;
        value
            .map(|v| {
                keys::decode_u64(&v)
                    .ok_or_else(|| corrupt("event id index", event_id, "not 8 bytes"))
            })
            .transpose()
    }

    /// Which of `event_ids` are already in the log (one multi-get).
    pub fn known_event_ids(&self, event_ids: &[&str]) -> Result<Vec<bool>> {
        let cf = self.cf(CF_EVENT_IDS);
        self.db
            .multi_get_cf(event_ids.iter().map(|id| (cf, id.as_bytes())))
            .into_iter()
            .map(|r| r.map(|v| v.is_some()).map_err(rocks("multi-get event ids")))
            .collect()
    }

    pub fn event(&self, seq: u64) -> Result<Option<StoredEvent>> {
        self.db
            .get_cf(self.cf(CF_EVENTS), keys::u64_key(seq))
            .map_err(rocks("get event"))?
            .map(|bytes| decode_event(seq, &bytes))
            .transpose()
    }

    /// Up to `limit` events from `from_seq` on, in log order.
    pub fn events(&self, from_seq: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        Ok(self.events_decoded_on(from_seq, limit, 1, |_| true)?.events)
    }

    /// The events `keep` takes among the next `limit` from `from_seq` on, in
    /// log order, decoded on up to `threads` threads: reading is one scan,
    /// decoding the larger part of a page's cost, and an event `keep` leaves
    /// is not decoded at all.
    pub fn events_decoded_on(
        &self,
        from_seq: u64,
        limit: usize,
        threads: usize,
        keep: impl Fn(u64) -> bool,
    ) -> Result<EventPage> {
        let start = keys::u64_key(from_seq);
        let mut raw = Vec::new();
        let mut next = None;
        for item in self
            .db
            .iterator_cf(
                self.cf(CF_EVENTS),
                IteratorMode::From(&start, Direction::Forward),
            )
            .take(limit)
        {
            let (key, value) = item.map_err(rocks("scan events"))?;
            let seq = keys::decode_u64(&key)
                .ok_or_else(|| corrupt("event key", &format!("{key:?}"), "not 8 bytes"))?;
            next = Some(seq + 1);
            if keep(seq) {
                raw.push((seq, value));
            }
        }
        let decoded = touchline_proto::decode_stored_all(&raw, threads, |(_, bytes)| bytes);
        let events = raw
            .iter()
            .zip(decoded)
            .map(|((seq, _), envelope)| {
                let envelope =
                    envelope.map_err(|e| corrupt("event", &seq.to_string(), &e.to_string()))?;
                Ok(StoredEvent {
                    seq: *seq,
                    envelope,
                })
            })
            .collect::<Result<_>>()?;
        Ok(EventPage { events, next })
    }

    /// The events of one stream (a person, account, opportunity or campaign), in
    /// log order, from `from_seq` on, at most `limit`.
    pub fn stream(
        &self,
        kind: StreamKind,
        id: &str,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        let prefix = keys::stream_prefix(kind, id);
        let mut start = prefix.clone();
        start.extend_from_slice(&keys::u64_key(from_seq));
        let mut seqs = Vec::new();
        for item in self.db.iterator_cf_opt(
            self.cf(CF_STREAMS),
            bounded(&prefix),
            IteratorMode::From(&start, Direction::Forward),
        ) {
            let (key, _) = item.map_err(rocks("scan stream"))?;
            if !key.starts_with(&prefix) || seqs.len() >= limit {
                break;
            }
            let seq = keys::decode_u64(&key[prefix.len()..])
                .ok_or_else(|| corrupt("stream index", id, "bad sequence suffix"))?;
            seqs.push(seq);
        }
        let cf = self.cf(CF_EVENTS);
        let seq_keys: Vec<[u8; 8]> = seqs.iter().map(|s| keys::u64_key(*s)).collect();
        let values = self
            .db
            .multi_get_cf(seq_keys.iter().map(|k| (cf, k.as_slice())));
        seqs.into_iter()
            .zip(values)
            .map(|(seq, value)| {
                let bytes = value.map_err(rocks("get stream event"))?.ok_or_else(|| {
                    corrupt(
                        "stream index",
                        id,
                        &format!("points at missing event {seq}"),
                    )
                })?;
                decode_event(seq, &bytes)
            })
            .collect()
    }

    /// The offsets the log covers, per topic partition.
    pub fn offsets(&self) -> Result<Vec<PartitionOffset>> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_OFFSETS), IteratorMode::Start)
        {
            let (key, value) = item.map_err(rocks("scan offsets"))?;
            let (topic, partition) = keys::decode_offset_key(&key)
                .ok_or_else(|| corrupt("offset key", &format!("{key:?}"), "malformed"))?;
            let next_offset = keys::decode_u64(&value)
                .ok_or_else(|| corrupt("offset", &topic, "not 8 bytes"))?
                as i64;
            out.push(PartitionOffset {
                topic,
                partition,
                next_offset,
            });
        }
        Ok(out)
    }

    pub fn meta_bytes(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.db
            .get_cf(self.cf(CF_META), key.as_bytes())
            .map_err(rocks("get meta"))
    }

    /// A key of a runtime's own state around the engine (the shard runtime's
    /// forwarding pointers and records for other shards), written with
    /// [`Commit::set_extension`] in the same commits as the engine's.
    pub fn extension(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.db
            .get_cf(self.cf(CF_META), extension_key(key))
            .map_err(rocks("get extension"))
    }

    /// The extension keys starting with `prefix` (the prefix cut off), in key
    /// order, after `after` (exclusive, without the prefix) when given, at
    /// most `limit`.
    pub fn extensions(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        let full = extension_key(prefix);
        let start = match after {
            Some(after) => extension_key(&format!("{prefix}{after}")),
            None => full.clone(),
        };
        let mut out = Vec::new();
        for item in self.db.iterator_cf_opt(
            self.cf(CF_META),
            bounded(&full),
            IteratorMode::From(&start, Direction::Forward),
        ) {
            let (key, value) = item.map_err(rocks("scan extensions"))?;
            if !key.starts_with(&full) || out.len() >= limit {
                break;
            }
            if after.is_some() && *key == *start {
                continue;
            }
            let rest = String::from_utf8_lossy(&key[full.len()..]).into_owned();
            out.push((rest, value.to_vec()));
        }
        Ok(out)
    }

    pub fn meta_u64(&self, key: &str) -> Result<Option<u64>> {
        self.db
            .get_cf(self.cf(CF_META), key.as_bytes())
            .map_err(rocks("get meta"))?
            .map(|v| keys::decode_u64(&v).ok_or_else(|| corrupt("meta value", key, "not 8 bytes")))
            .transpose()
    }

    /// One view, decoded.
    pub fn get<T: DeserializeOwned>(&self, table: Table, key: &str) -> Result<Option<T>> {
        self.db
            .get_pinned_cf(self.cf(table.cf_name()), key.as_bytes())
            .map_err(rocks("get view"))?
            .map(|bytes| decode_view(table, key, &bytes))
            .transpose()
    }

    /// Many views at once, in the order of `keys`.
    pub fn get_many<T: DeserializeOwned>(
        &self,
        table: Table,
        keys: &[&str],
    ) -> Result<Vec<Option<T>>> {
        let cf = self.cf(table.cf_name());
        self.db
            .multi_get_cf(keys.iter().map(|k| (cf, k.as_bytes())))
            .into_iter()
            .zip(keys)
            .map(|(value, key)| {
                value
                    .map_err(rocks("multi-get views"))?
                    .map(|bytes| decode_view(table, key, &bytes))
                    .transpose()
            })
            .collect()
    }

    /// Views whose key starts with `prefix`, in key order, after `after` (exclusive)
    /// when given, at most `limit`.
    pub fn scan<T: DeserializeOwned>(
        &self,
        table: Table,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, T)>> {
        self.scan_raw(table, prefix, after, limit)?
            .into_iter()
            .map(|(key, bytes)| {
                let view = decode_view(table, &key, &bytes)?;
                Ok((key, view))
            })
            .collect()
    }

    /// Calls `visit` for every view of a table, in key order.
    pub fn for_each<T: DeserializeOwned>(
        &self,
        table: Table,
        mut visit: impl FnMut(&str, T),
    ) -> Result<()> {
        for item in self
            .db
            .iterator_cf(self.cf(table.cf_name()), IteratorMode::Start)
        {
            let (key, value) = item.map_err(rocks("scan views"))?;
            let key = String::from_utf8_lossy(&key);
            visit(&key, decode_view(table, &key, &value)?);
        }
        Ok(())
    }

    /// Removes every view, keeping the log, so that a replay can rebuild them.
    pub fn clear_views(&self) -> Result<()> {
        let _gate = self.write_gate()?;
        // Keys are UTF-8, which never holds the byte 0xFF: this range is everything.
        let views = Table::ALL
            .map(Table::cf_name)
            .into_iter()
            .chain([CF_PERSON_TOUCHES]);
        let mut batch = WriteBatch::default();
        for name in views.clone() {
            batch.delete_range_cf(self.cf(name), &b""[..], &b"\xff"[..]);
        }
        self.db.write(batch).map_err(rocks("clear views"))?;
        // The range deletes hide the old views. Then the families are
        // emptied, so that what a rebuild writes in bulk lands in the bottom
        // level with nothing to compact against: the files below level 0 are
        // dropped whole, the rest (level 0, the memtable) is compacted
        // against the range deletes into one file that holds only them, and
        // that file, covering nothing any more, is dropped too.
        for name in views {
            let family = self.cf(name);
            let drop_files = || {
                self.db
                    .delete_file_in_range_cf(family, &b""[..], &b"\xff"[..])
                    .map_err(rocks("drop the files of cleared views"))
            };
            drop_files()?;
            self.db
                .compact_range_cf(family, None::<&[u8]>, None::<&[u8]>);
            drop_files()?;
        }
        Ok(())
    }
}

/// The least key greater than every key starting with `prefix`; `None` when
/// there is none (an empty prefix, or one of 0xff bytes only).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Read options bounding an iterator at the end of `prefix`: a scan of a
/// prefix with no live key after it would otherwise step over every deleted
/// key up to the next live one, which after many deletes (hand-overs, held
/// links released, records sent) is most of the work.
fn bounded(prefix: &[u8]) -> rocksdb::ReadOptions {
    let mut options = rocksdb::ReadOptions::default();
    if let Some(end) = prefix_end(prefix) {
        options.set_iterate_upper_bound(end);
    }
    options
}

fn corrupt(what: &'static str, key: &str, detail: &str) -> StoreError {
    StoreError::Corrupt {
        what,
        key: key.to_owned(),
        detail: detail.to_owned(),
    }
}

fn decode_event(seq: u64, bytes: &[u8]) -> Result<StoredEvent> {
    let envelope = touchline_proto::decode_stored(bytes)
        .map_err(|e| corrupt("event", &seq.to_string(), &e.to_string()))?;
    Ok(StoredEvent { seq, envelope })
}

/// A view as [`Store::get_many_raw`] or [`Store::scan_raw`] gave its bytes.
pub fn decode_view<T: DeserializeOwned>(table: Table, key: &str, bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt {
        what: table.cf_name(),
        key: key.to_owned(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod backup_tests;
#[cfg(test)]
mod tests;
