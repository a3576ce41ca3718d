//! The whole stream index at once: which streams every event of the log
//! belongs to, read without decoding a single event.

use super::*;

impl Store {
    /// Calls `visit(kind, id, seq)` for every event `seq` of every stream of
    /// `kinds`, in key order (by kind tag, then id, then log position): a
    /// replay links the log's co-location groups from it instead of decoding
    /// every event. Each kind is its own range of the index, read with a
    /// bounded iterator that allocates nothing per key and leaves the block
    /// cache as it was; a kind not asked for is not read (a campaign's
    /// stream holds every touch on it: most of the index).
    pub fn for_each_stream_entry(
        &self,
        kinds: &[StreamKind],
        mut visit: impl FnMut(StreamKind, &str, u64),
    ) -> Result<()> {
        let mut kinds = kinds.to_vec();
        kinds.sort_by_key(|kind| kind.tag());
        kinds.dedup();
        for kind in kinds {
            let prefix = [kind.tag()];
            let mut options = bounded(&prefix);
            options.fill_cache(false);
            let mut entries = self.db.raw_iterator_cf_opt(self.cf(CF_STREAMS), options);
            entries.seek(prefix);
            while let Some(key) = entries.key() {
                let bad =
                    |detail: &str| corrupt("stream index", &String::from_utf8_lossy(key), detail);
                // `tag, id, 0x00, seq` (see `keys::stream_prefix`).
                let Some(split) = key
                    .len()
                    .checked_sub(9)
                    .filter(|at| *at >= 1 && key[*at] == 0)
                else {
                    return Err(bad("not tag, id, 0, sequence"));
                };
                let id = std::str::from_utf8(&key[1..split]).map_err(|_| bad("id not UTF-8"))?;
                let seq = keys::decode_u64(&key[split + 1..]).ok_or_else(|| bad("bad sequence"))?;
                visit(kind, id, seq);
                entries.next();
            }
            entries.status().map_err(rocks("scan the stream index"))?;
        }
        Ok(())
    }
}
