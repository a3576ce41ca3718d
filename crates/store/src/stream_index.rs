//! The whole stream index at once: which streams every event of the log
//! belongs to, read without decoding a single event.

use super::*;

impl Store {
    /// Calls `visit(kind, id, seq)` for every event `seq` of every stream, in
    /// key order (by kind, then id, then log position): a replay links the
    /// log's co-location groups from it instead of decoding every event.
    pub fn for_each_stream_entry(
        &self,
        mut visit: impl FnMut(StreamKind, &str, u64),
    ) -> Result<()> {
        for item in self
            .db
            .iterator_cf(self.cf(CF_STREAMS), IteratorMode::Start)
        {
            let (key, _) = item.map_err(rocks("scan the stream index"))?;
            let bad =
                |detail: &str| corrupt("stream index", &String::from_utf8_lossy(&key), detail);
            // `tag, id, 0x00, seq` (see `keys::stream_prefix`).
            let Some(split) = key
                .len()
                .checked_sub(9)
                .filter(|at| *at >= 1 && key[*at] == 0)
            else {
                return Err(bad("not tag, id, 0, sequence"));
            };
            let kind = StreamKind::ALL
                .into_iter()
                .find(|kind| kind.tag() == key[0])
                .ok_or_else(|| bad("unknown stream kind"))?;
            let id = std::str::from_utf8(&key[1..split]).map_err(|_| bad("id not UTF-8"))?;
            let seq = keys::decode_u64(&key[split + 1..]).ok_or_else(|| bad("bad sequence"))?;
            visit(kind, id, seq);
        }
        Ok(())
    }
}
