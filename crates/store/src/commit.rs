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
    /// Where values are encoded before they are copied out at their size:
    /// a value encoded into a growing `Vec` of its own was reallocated and
    /// copied at every doubling.
    scratch: Vec<u8>,
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

    fn key(&self) -> &[u8] {
        self.sort_key().1
    }
}

/// Sorts `ops` by family and key, stably: a later operation on a key stays
/// after an earlier one, so it still wins.
///
/// Families first, by a stable split that compares no names (a batch names a
/// handful, each by one static string); then each family by key alone,
/// left as it is when already in order (the log, the outbox and touch rows
/// are appended in key order). A single sort over `(family, key)` spent a
/// quarter of the store writer's time comparing.
pub(crate) fn sort_ops(ops: &mut Vec<Op>) {
    let mut families: Vec<(&'static str, Vec<Op>)> = Vec::new();
    for op in ops.drain(..) {
        let cf = op.sort_key().0;
        // By address, and by name only for an address not seen yet: a
        // constant's uses need not share one.
        let at = families
            .iter()
            .position(|(name, _)| std::ptr::eq(*name, cf))
            .or_else(|| families.iter().position(|(name, _)| *name == cf));
        match at {
            Some(at) => families[at].1.push(op),
            None => families.push((cf, vec![op])),
        }
    }
    families.sort_by(|a, b| a.0.cmp(b.0));
    for (_, mut family) in families {
        if !family.is_sorted_by(|a, b| a.key() <= b.key()) {
            family.sort_by(|a, b| a.key().cmp(b.key()));
        }
        ops.append(&mut family);
    }
}

impl std::fmt::Debug for Commit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Commit")
            .field("operations", &self.ops.len())
            .finish()
    }
}

impl Commit {
    pub(crate) fn new() -> Self {
        Commit {
            ops: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// `value` in postcard, in a `Vec` of exactly its size.
    fn encode<T: Serialize + ?Sized>(&mut self, value: &T) -> postcard::Result<Vec<u8>> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let scratch = postcard::to_extend(value, scratch)?;
        let bytes = scratch.as_slice().to_vec();
        self.scratch = scratch;
        Ok(bytes)
    }

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
        let bytes = self
            .encode(value)
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
        let bytes = self
            .encode(row)
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
        let bytes = self
            .encode(record)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn put(cf: &'static str, key: &str, value: &str) -> Op {
        Op::Put {
            cf,
            key: key.as_bytes().to_vec(),
            value: value.as_bytes().to_vec(),
        }
    }

    fn shown(ops: &[Op]) -> Vec<String> {
        ops.iter()
            .map(|op| match op {
                Op::Put { cf, key, value } => format!(
                    "{cf} {} = {}",
                    String::from_utf8_lossy(key),
                    String::from_utf8_lossy(value)
                ),
                Op::Delete { cf, key } => format!("{cf} {} deleted", String::from_utf8_lossy(key)),
            })
            .collect()
    }

    #[test]
    fn ops_sort_by_family_then_key_and_a_later_op_on_a_key_stays_last() {
        // The same name at another address is the same family.
        let views: &'static str = String::leak("views".to_owned());
        let mut ops = vec![
            put("views", "b", "1"),
            put("events", "2", "e2"),
            put("views", "a", "1"),
            Op::Delete {
                cf: "views",
                key: b"b".to_vec(),
            },
            put("events", "3", "e3"),
            put(views, "a", "2"),
            put("events", "1", "e1"),
            put("views", "b", "3"),
        ];
        sort_ops(&mut ops);
        assert_eq!(
            shown(&ops),
            [
                "events 1 = e1",
                "events 2 = e2",
                "events 3 = e3",
                "views a = 1",
                "views a = 2",
                "views b = 1",
                "views b deleted",
                "views b = 3",
            ]
        );
    }
}
