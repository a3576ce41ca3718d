//! The outbox: what waits to be published, in id order, written in the
//! engine's commits; the publisher reads it a page at a time, trims it once
//! Kafka acknowledged, and parks what Kafka refused for good.

use std::sync::atomic::Ordering;

use rocksdb::{Direction, IteratorMode, WriteBatch, WriteOptions};

use super::*;

/// Something to publish. An attribution record names a key whose published
/// value must be refreshed: the publisher renders the current value (or a
/// tombstone) when it gets to it, so the outbox stays small and a burst of
/// versions of one key publishes once. An alert is a message in its own right
/// and carries its value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutboxRecord {
    pub key: String,
    /// `Some(value)` for an alert (published as is); `None` for an attribution key.
    pub alert: Option<Vec<u8>>,
    /// A dead letter the engine found (a conflicting duplicate), for the
    /// dead-letter topic; `key` is then the event id.
    pub dead_letter: Option<OutboxDeadLetter>,
}

/// A message for the dead-letter topic that only the engine can tell is bad:
/// the value and the headers it goes with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutboxDeadLetter {
    pub value: Vec<u8>,
    /// `touchline.dlq.*` headers, in order.
    pub headers: Vec<(String, String)>,
}

impl OutboxRecord {
    pub fn attribution(key: String) -> Self {
        OutboxRecord {
            key,
            alert: None,
            dead_letter: None,
        }
    }

    pub fn alert(key: String, value: Vec<u8>) -> Self {
        OutboxRecord {
            key,
            alert: Some(value),
            dead_letter: None,
        }
    }

    pub fn dead_letter(key: String, letter: OutboxDeadLetter) -> Self {
        OutboxRecord {
            key,
            alert: None,
            dead_letter: Some(letter),
        }
    }

    /// Whether the record publishes a key's current state (the newest of a
    /// key in a page suffices), not a message of its own.
    pub fn is_attribution(&self) -> bool {
        self.alert.is_none() && self.dead_letter.is_none()
    }
}

/// An outbox record Kafka refused for good (too large, invalid), set aside so
/// that the records behind it are published. Kept until an operator acts on it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParkedRecord {
    /// The outbox id the record had; parked records list in this order.
    pub id: u64,
    pub key: String,
    /// The topic that refused it.
    pub topic: String,
    /// Bytes of the value Kafka refused (uncompressed).
    pub size: u64,
    /// Kafka's refusal, as text.
    pub reason: String,
    /// When it was set aside (ms since the epoch).
    pub parked_at_ms: i64,
    /// The value of a message that carries its own (an alert, a dead letter),
    /// kept since nothing else holds it; `None` for an
    /// attribution key, whose value the conversion view still has.
    pub value: Option<Vec<u8>>,
}

/// What the publisher records once a page of the outbox is done: the trim,
/// the records it set aside and its counters, in one write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishedPage<'a> {
    /// Outbox records up to and including this id are done.
    pub through: u64,
    pub parked: Vec<ParkedRecord>,
    /// Meta counters to set, e.g. the total of messages delivered.
    pub counters: Vec<(&'a str, u64)>,
}

impl Store {
    /// The oldest `limit` outbox records, with their ids.
    pub fn outbox(&self, limit: usize) -> Result<Vec<(u64, OutboxRecord)>> {
        let mut out = Vec::new();
        let start = keys::u64_key(self.outbox_start.load(Ordering::Acquire));
        for item in self
            .db
            .iterator_cf(
                self.cf(CF_OUTBOX),
                IteratorMode::From(&start, Direction::Forward),
            )
            .take(limit)
        {
            let (key, value) = item.map_err(rocks("scan outbox"))?;
            let id = keys::decode_u64(&key)
                .ok_or_else(|| corrupt("outbox key", &format!("{key:?}"), "not 8 bytes"))?;
            let record = postcard::from_bytes(&value)
                .map_err(|e| corrupt("outbox record", &id.to_string(), &e.to_string()))?;
            out.push((id, record));
        }
        Ok(out)
    }

    /// How many records wait in the outbox (a scan: for shutdown and reports,
    /// not for every page).
    pub fn outbox_len(&self) -> Result<usize> {
        let mut n = 0;
        let start = keys::u64_key(self.outbox_start.load(Ordering::Acquire));
        for item in self.db.iterator_cf(
            self.cf(CF_OUTBOX),
            IteratorMode::From(&start, Direction::Forward),
        ) {
            item.map_err(rocks("count outbox"))?;
            n += 1;
        }
        Ok(n)
    }

    /// Removes outbox records up to and including `last_id`, once published.
    /// Not fsynced: losing it in a crash only republishes the same versions.
    pub fn remove_outbox_through(&self, last_id: u64) -> Result<()> {
        self.finish_page(&PublishedPage {
            through: last_id,
            ..PublishedPage::default()
        })
    }

    /// Trims the outbox through `page.through`, parks `page.parked` and sets
    /// `page.counters`, in one `WriteBatch`: a record is either still in the
    /// outbox or parked, never neither. Fsynced only when it parks something
    /// (rare, and worth keeping); a lost trim only republishes.
    pub fn finish_page(&self, page: &PublishedPage<'_>) -> Result<()> {
        let _gate = self.write_gate()?;
        let mut batch = WriteBatch::default();
        let end = page.through.saturating_add(1);
        // From the last trim's end: the ranges stay disjoint.
        batch.delete_range_cf(
            self.cf(CF_OUTBOX),
            keys::u64_key(self.outbox_start.load(Ordering::Acquire).min(end)),
            keys::u64_key(end),
        );
        for record in &page.parked {
            let bytes = postcard::to_stdvec(record)
                .map_err(|e| corrupt("parked record", &record.key, &e.to_string()))?;
            batch.put_cf(self.cf(CF_PARKED), keys::u64_key(record.id), bytes);
        }
        for (key, value) in &page.counters {
            batch.put_cf(self.cf(CF_META), key.as_bytes(), keys::u64_key(*value));
        }
        // Reads start past the last record this trims, not past `through`:
        // a trim "through everything" (u64::MAX) must not hide records
        // written after it.
        let last_trimmed = self
            .db
            .iterator_cf(
                self.cf(CF_OUTBOX),
                IteratorMode::From(&keys::u64_key(page.through), Direction::Reverse),
            )
            .next()
            .transpose()
            .map_err(rocks("find the outbox page's end"))?
            .and_then(|(key, _)| keys::decode_u64(&key));
        let mut options = WriteOptions::default();
        options.set_sync(!page.parked.is_empty());
        self.db
            .write_opt(batch, &options)
            .map_err(rocks("finish outbox page"))?;
        if let Some(last) = last_trimmed {
            self.outbox_start
                .fetch_max(last.saturating_add(1), Ordering::AcqRel);
        }
        Ok(())
    }

    /// Parked records in id order, after `after` (exclusive) when given, at
    /// most `limit`.
    pub fn parked(&self, after: Option<u64>, limit: usize) -> Result<Vec<ParkedRecord>> {
        let start = match after {
            None => 0,
            Some(u64::MAX) => return Ok(Vec::new()),
            Some(a) => a + 1,
        };
        let start = keys::u64_key(start);
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(
                self.cf(CF_PARKED),
                IteratorMode::From(&start, Direction::Forward),
            )
            .take(limit)
        {
            let (key, value) = item.map_err(rocks("scan parked"))?;
            let record: ParkedRecord = postcard::from_bytes(&value)
                .map_err(|e| corrupt("parked record", &format!("{key:?}"), &e.to_string()))?;
            out.push(record);
        }
        Ok(out)
    }
}
