//! Reading a store that a running engine holds open.
//!
//! RocksDB lets one process open a database read-write (it holds the `LOCK`
//! file); others may open it as a *secondary*: a read-only instance with its
//! own scratch directory that reads the primary's MANIFEST and SST files and
//! replays the tail of its write-ahead log. What a secondary sees is a prefix
//! of the primary's writes, whole `WriteBatch`es only: every batch is one WAL
//! record, so a report never sees half a batch, only an older state than the
//! primary's newest. It stays at the state it caught up to until
//! [`Store::catch_up`] is called, so one report reads one state throughout.

use std::path::Path;
use std::sync::RwLock;
use std::sync::atomic::AtomicU64;

use rocksdb::{DB, Options};

use crate::{Result, SCHEMA_VERSION, Store, StoreError, families, family_names};

impl Store {
    /// Opens the store at `path` read-only beside whatever process holds it
    /// (a running `touchline run` or `touchline demo`), or none. Refuses a
    /// directory without a store, a store of another schema version, and a
    /// store missing a column family (one no current engine has opened yet);
    /// creates nothing in `path`.
    pub fn open_secondary(path: &Path) -> Result<Store> {
        let not_a_store = |problem: String| StoreError::NotAStore {
            path: path.to_owned(),
            problem,
        };
        if !path.join("CURRENT").is_file() {
            return Err(not_a_store("no RocksDB CURRENT file".into()));
        }
        let existing =
            DB::list_cf(&Options::default(), path).map_err(|source| StoreError::Open {
                path: path.to_owned(),
                source,
            })?;
        if let Some(missing) = family_names()
            .into_iter()
            .find(|name| !existing.iter().any(|e| e == name))
        {
            return Err(not_a_store(format!(
                "no column family {missing:?} (open it once with `touchline run` or `touchline replay`)"
            )));
        }
        let scratch = tempfile::Builder::new()
            .prefix("touchline-secondary-")
            .tempdir()
            .map_err(|source| StoreError::Io {
                operation: "create a secondary's scratch directory for",
                path: path.to_owned(),
                source,
            })?;
        let mut options = Options::default();
        options.create_if_missing(false);
        // Keep every SST file open: the primary's compactions delete files,
        // and a secondary that opened them all still reads its state.
        options.set_max_open_files(-1);
        let db = DB::open_cf_descriptors_as_secondary(
            &options,
            path,
            scratch.path(),
            families(path, 64 << 20)?,
        )
        .map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
        let store = Store {
            db,
            path: path.to_owned(),
            writes: RwLock::new(()),
            secondary: Some(scratch),
            outbox_start: AtomicU64::new(0),
        };
        store.catch_up()?;
        match store.schema_version()? {
            Some(SCHEMA_VERSION) => Ok(store),
            None => Err(not_a_store("no schema version recorded".into())),
            Some(found) => Err(StoreError::SchemaMismatch {
                path: path.to_owned(),
                found,
                expected: SCHEMA_VERSION,
            }),
        }
    }

    /// Brings a secondary up to the primary's latest durable write (whole
    /// batches only). Does nothing on a primary.
    pub fn catch_up(&self) -> Result<()> {
        if !self.is_secondary() {
            return Ok(());
        }
        self.db
            .try_catch_up_with_primary()
            .map_err(|source| StoreError::Rocks {
                operation: "catch up with the primary",
                source,
            })
    }
}
