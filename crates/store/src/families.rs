//! The column families a store has, and the RocksDB options of each.

use std::path::Path;

use rocksdb::{BlockBasedOptions, Cache, ColumnFamilyDescriptor, DBCompressionType, Options};

use super::*;

/// Every column family with its options; `cache_bytes` of block cache shared.
pub(crate) fn families(path: &Path, cache_bytes: usize) -> Result<Vec<ColumnFamilyDescriptor>> {
    let cache = Cache::new_lru_cache(cache_bytes).map_err(|source| StoreError::Open {
        path: path.to_owned(),
        source,
    })?;
    Ok(family_names()
        .into_iter()
        .map(|name| ColumnFamilyDescriptor::new(name, options(Some(&cache), point_lookups(name))))
        .collect())
}

/// Whether family `name` is read mostly by key: the event ids (dedupe),
/// every view table, and the meta family (a shard asks it, for every
/// entity a record names, whether that entity's group left).
fn point_lookups(name: &str) -> bool {
    name == CF_EVENT_IDS || name == CF_META || Table::ALL.iter().any(|t| t.cf_name() == name)
}

/// The options of one family: `cache` for the block cache (none for
/// [`family_options`], which builds table files outside the store).
fn options(cache: Option<&Cache>, point_lookups: bool) -> Options {
    let mut table = BlockBasedOptions::default();
    if let Some(cache) = cache {
        table.set_block_cache(cache);
    }
    let mut options = Options::default();
    if point_lookups {
        // Dedupe and view lookups are mostly for keys that are new; bloom
        // filters, on disk and in the memtable, answer "new" without a search.
        table.set_bloom_filter(10.0, false);
        options.set_memtable_whole_key_filtering(true);
        options.set_memtable_prefix_bloom_ratio(0.05);
    }
    options.set_block_based_table_factory(&table);
    options.set_compression_type(DBCompressionType::Lz4);
    // A flush writes level 0, which the next compaction reads and rewrites
    // soon after: compressing it costs CPU on every byte ingested and saves
    // disk only for minutes. Every deeper level is compressed.
    options.set_compression_per_level(&[
        DBCompressionType::None,
        DBCompressionType::Lz4,
        DBCompressionType::Lz4,
        DBCompressionType::Lz4,
        DBCompressionType::Lz4,
        DBCompressionType::Lz4,
        DBCompressionType::Lz4,
    ]);
    options.set_write_buffer_size(64 << 20);
    options
}

/// The options family `name` is opened with, for writing table files that
/// are ingested into it: the same format, compression and filters.
pub(crate) fn family_options(name: &str) -> Options {
    options(None, point_lookups(name))
}

/// The names of every column family a current store has.
pub(crate) fn family_names() -> Vec<&'static str> {
    let mut names = vec![
        CF_EVENTS,
        CF_EVENT_IDS,
        CF_STREAMS,
        CF_OFFSETS,
        CF_META,
        CF_OUTBOX,
        CF_PARKED,
        CF_PERSON_TOUCHES,
    ];
    names.extend(Table::ALL.map(Table::cf_name));
    names
}
