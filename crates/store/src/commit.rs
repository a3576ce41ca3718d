//! [`Commit`]: the one atomic batch every durable change goes through.

use super::*;

/// One atomic batch: events, view changes, offsets, outbox records.
///
/// Operations are buffered and handed to RocksDB sorted by column family and
/// key (stably, so a later operation on the same key still wins). Sorted input
/// lets each memtable's skiplist reuse its insertion point from one key to the
/// next, which makes a large batch much cheaper to apply.
pub struct Commit {
    pub(crate) ops: Vec<Op>,
}

pub(crate) enum Op {
    Put {
        cf: &'static str,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        cf: &'static str,
        key: Vec<u8>,
    },
}

impl Op {
    pub(crate) fn sort_key(&self) -> (&'static str, &[u8]) {
        match self {
            Op::Put { cf, key, .. } | Op::Delete { cf, key } => (cf, key),
        }
    }

    /// Orders by family, then key. Most neighbours share a family, named by
    /// the same static string, so the names are compared only when they are
    /// different strings.
    pub(crate) fn cmp_sort_key(&self, other: &Op) -> std::cmp::Ordering {
        let (cf, key) = self.sort_key();
        let (other_cf, other_key) = other.sort_key();
        if std::ptr::eq(cf, other_cf) {
            key.cmp(other_key)
        } else {
            (cf, key).cmp(&(other_cf, other_key))
        }
    }
}

/// Sorts `ops` by family and key, stably: a later operation on a key stays
/// after an earlier one, so it still wins.
pub(crate) fn sort_ops(ops: &mut [Op]) {
    ops.sort_by(Op::cmp_sort_key);
}

impl std::fmt::Debug for Commit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Commit")
            .field("operations", &self.ops.len())
            .finish()
    }
}

impl Commit {
    fn put(&mut self, cf: &'static str, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(Op::Put {
            cf,
            key: key.into(),
            value: value.into(),
        });
    }

    /// Appends an event at `seq`, indexes its id and every stream it belongs to.
    pub fn append(&mut self, seq: u64, envelope: &Envelope) {
        self.append_encoded(seq, envelope, touchline_proto::encode_protobuf(envelope));
    }

    /// As [`Commit::append`], storing `stored` rather than encoding the event
    /// here: the bytes [`touchline_proto::decode_to_log`] gave with
    /// `envelope` (the message as received, or the event encoded where it
    /// was decoded), which the log reads back as exactly `envelope`.
    pub fn append_stored(&mut self, seq: u64, envelope: &Envelope, stored: Vec<u8>) {
        self.append_encoded(seq, envelope, stored);
    }

    fn append_encoded(&mut self, seq: u64, envelope: &Envelope, encoded: Vec<u8>) {
        let key = keys::u64_key(seq);
        self.put(CF_EVENTS, key, encoded);
        self.put(CF_EVENT_IDS, envelope.event_id.as_bytes(), key);
        for stream in envelope.event.streams() {
            let mut stream_key = keys::stream_prefix(stream.kind, stream.id);
            stream_key.extend_from_slice(&key);
            self.put(CF_STREAMS, stream_key, Vec::new());
        }
    }

    /// Takes an event out of the log: the undoing of [`Commit::append`], for a
    /// group of streams handed over to another shard.
    pub fn remove(&mut self, seq: u64, envelope: &Envelope) {
        let key = keys::u64_key(seq);
        self.ops.push(Op::Delete {
            cf: CF_EVENTS,
            key: key.to_vec(),
        });
        self.ops.push(Op::Delete {
            cf: CF_EVENT_IDS,
            key: envelope.event_id.as_bytes().to_vec(),
        });
        for stream in envelope.event.streams() {
            let mut stream_key = keys::stream_prefix(stream.kind, stream.id);
            stream_key.extend_from_slice(&key);
            self.ops.push(Op::Delete {
                cf: CF_STREAMS,
                key: stream_key,
            });
        }
    }

    pub fn put_view<T: Serialize>(&mut self, table: Table, key: &str, value: &T) -> Result<()> {
        let bytes = postcard::to_stdvec(value)
            .map_err(|e| corrupt("view to write", key, &e.to_string()))?;
        self.put(table.cf_name(), key.as_bytes(), bytes);
        Ok(())
    }

    /// Writes one touch row of `person_id`, keyed by attribution order
    /// (`occurred_at`, then `event_id`): a touch is written once, when folded.
    pub fn put_touch<T: Serialize>(
        &mut self,
        person_id: &str,
        occurred_at: Timestamp,
        event_id: &str,
        row: &T,
    ) -> Result<()> {
        let bytes = postcard::to_stdvec(row)
            .map_err(|e| corrupt("touch row to write", event_id, &e.to_string()))?;
        self.put(
            CF_PERSON_TOUCHES,
            keys::touch_key(person_id, occurred_at.as_millis(), event_id),
            bytes,
        );
        Ok(())
    }

    /// Removes one touch row of `person_id`: set aside, moved by a merge, or
    /// handed over to another shard.
    pub fn delete_touch(&mut self, person_id: &str, occurred_at: Timestamp, event_id: &str) {
        self.ops.push(Op::Delete {
            cf: CF_PERSON_TOUCHES,
            key: keys::touch_key(person_id, occurred_at.as_millis(), event_id),
        });
    }

    pub fn delete(&mut self, table: Table, key: &str) {
        self.ops.push(Op::Delete {
            cf: table.cf_name(),
            key: key.as_bytes().to_vec(),
        });
    }

    /// Records that the log covers `topic`/`partition` up to `next_offset` (exclusive).
    pub fn set_offset(&mut self, topic: &str, partition: i32, next_offset: i64) {
        self.put(
            CF_OFFSETS,
            keys::offset_key(topic, partition),
            keys::u64_key(next_offset as u64),
        );
    }

    pub fn set_meta_bytes(&mut self, key: &str, value: &[u8]) {
        self.put(CF_META, key.as_bytes(), value);
    }

    /// Sets a key of a runtime's own state ([`Store::extension`]), kept apart
    /// from the engine's meta keys, in this commit.
    pub fn set_extension(&mut self, key: &str, value: &[u8]) {
        self.put(CF_META, extension_key(key), value);
    }

    pub fn delete_extension(&mut self, key: &str) {
        self.ops.push(Op::Delete {
            cf: CF_META,
            key: extension_key(key),
        });
    }

    /// Ends a rebuild begun with [`Store::begin_rebuild`]; write it with
    /// [`Store::write`], after every page.
    pub fn end_rebuild(&mut self) {
        self.set_meta_u64(META_REBUILDING, 0);
    }

    pub fn set_meta_u64(&mut self, key: &str, value: u64) {
        self.put(CF_META, key.as_bytes(), keys::u64_key(value));
    }

    pub fn outbox(&mut self, id: u64, record: &OutboxRecord) -> Result<()> {
        let bytes = postcard::to_stdvec(record)
            .map_err(|e| corrupt("outbox record", &record.key, &e.to_string()))?;
        self.put(CF_OUTBOX, keys::u64_key(id), bytes);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// How many puts and deletes the batch holds.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
}
