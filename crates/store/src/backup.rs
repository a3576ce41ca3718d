//! Online backup (a RocksDB checkpoint of the live store) and restore.
//!
//! A backup is a directory holding `db/`, a RocksDB checkpoint, and
//! [`MANIFEST_FILE`], written last, which says what the checkpoint holds. The
//! checkpoint is taken while every write to the store waits (the store's write
//! gate), so it falls between two `WriteBatch`es: its events, views, offsets,
//! outbox, parked records and counters are those of one committed batch. It
//! flushes the memtables and hard-links the SST files (copies them across file
//! systems), so it costs little disk and holds writes back only for the flush.
//!
//! Restoring copies the checkpoint into a sibling of the target, opens the copy
//! and checks it against the manifest (schema version, next sequence number,
//! offsets) before it takes the target's place: a store restored is always
//! whole. An engine started on it resumes from the backup's offsets and reads
//! again from Kafka what came after.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rocksdb::checkpoint::Checkpoint;
use rocksdb::{DB, Options};
use serde::{Deserialize, Serialize};
use touchline_core::Timestamp;

use crate::{PartitionOffset, Result, SCHEMA_VERSION, Store, StoreError};

/// The manifest's file name inside a backup directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The value of [`BackupManifest::format`] this build writes and reads.
pub const BACKUP_FORMAT: &str = "touchline-backup/1";
/// The checkpoint's directory inside a backup directory.
const DB_DIR: &str = "db";

/// What a backup holds, written into it as JSON once the checkpoint is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupManifest {
    /// [`BACKUP_FORMAT`].
    pub format: String,
    /// The store's schema version ([`SCHEMA_VERSION`] of the build that wrote it).
    pub schema_version: u64,
    /// One past the last event in the backup: how many events its log holds.
    pub next_seq: u64,
    /// The Kafka offsets the backup's log covers; an engine restored from it
    /// resumes there.
    pub offsets: Vec<PartitionOffset>,
    pub created_at: Timestamp,
    /// The store it was taken from.
    pub source: PathBuf,
}

fn io(operation: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_owned();
    move |source| StoreError::Io {
        operation,
        path,
        source,
    }
}

fn problem(path: &Path, problem: impl Into<String>) -> StoreError {
    StoreError::Backup {
        path: path.to_owned(),
        problem: problem.into(),
    }
}

impl Store {
    /// Takes a consistent checkpoint of this store into `dir`, a directory that
    /// must not exist yet (its parent is created if needed), while the store
    /// stays open and in use. Writes wait for the checkpoint; reads do not.
    pub fn backup(&self, dir: &Path) -> Result<BackupManifest> {
        if self.is_secondary() {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
            });
        }
        if dir.exists() {
            return Err(problem(
                dir,
                "already exists; a backup goes into a new directory",
            ));
        }
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        // Fails if the directory appeared meanwhile: never mixes two backups.
        fs::create_dir(dir).map_err(io("create", dir))?;
        let taken = self.checkpoint(&dir.join(DB_DIR));
        let manifest = taken.and_then(|manifest| {
            write_manifest(dir, &manifest)?;
            Ok(manifest)
        });
        if manifest.is_err() {
            // Nothing half-made stays behind under a backup's name.
            let _ = fs::remove_dir_all(dir);
        }
        manifest
    }

    fn checkpoint(&self, db_dir: &Path) -> Result<BackupManifest> {
        // Exclusive: no batch is half-way into RocksDB while the checkpoint
        // flushes and links, and the manifest describes exactly what it holds.
        let _no_writes = self.writes.write().unwrap_or_else(|e| e.into_inner());
        Checkpoint::new(&self.db)
            .and_then(|checkpoint| checkpoint.create_checkpoint(db_dir))
            .map_err(|source| StoreError::Rocks {
                operation: "checkpoint",
                source,
            })?;
        Ok(BackupManifest {
            format: BACKUP_FORMAT.to_owned(),
            schema_version: self.schema_version()?.unwrap_or(SCHEMA_VERSION),
            next_seq: self.next_seq()?,
            offsets: self.offsets()?,
            created_at: Timestamp::now(),
            source: self.path.clone(),
        })
    }
}

fn write_manifest(dir: &Path, manifest: &BackupManifest) -> Result<()> {
    let text = serde_json::to_string_pretty(manifest)
        .map_err(|e| problem(dir, format!("cannot encode the manifest: {e}")))?;
    let partial = dir.join(format!("{MANIFEST_FILE}.partial"));
    let mut file = fs::File::create(&partial).map_err(io("create", &partial))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io("write", &partial))?;
    let target = dir.join(MANIFEST_FILE);
    fs::rename(&partial, &target).map_err(io("rename into place", &target))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync", dir))
}

/// Reads and checks a backup's manifest: present (so the backup is complete)
/// and of a format this build knows.
pub fn read_manifest(backup: &Path) -> Result<BackupManifest> {
    let path = backup.join(MANIFEST_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(problem(
                backup,
                format!("no {MANIFEST_FILE}: not a touchline backup, or one that did not finish"),
            ));
        }
        Err(e) => return Err(io("read", &path)(e)),
    };
    let manifest: BackupManifest = serde_json::from_str(&text)
        .map_err(|e| problem(&path, format!("not a backup manifest: {e}")))?;
    if manifest.format != BACKUP_FORMAT {
        return Err(problem(
            &path,
            format!(
                "backup format {:?}; this build reads {BACKUP_FORMAT:?}",
                manifest.format
            ),
        ));
    }
    Ok(manifest)
}

/// Restores the backup at `backup` into `target`, which must be missing or an
/// empty directory, unless `force` replaces the store there (never a
/// directory that is not a store, nor one an engine has open). The restored
/// copy is checked against the manifest before it replaces anything. Returns
/// the manifest; a schema version below [`SCHEMA_VERSION`] restores, and then
/// needs `touchline replay` before the engine opens it.
pub fn restore(backup: &Path, target: &Path, force: bool) -> Result<BackupManifest> {
    let manifest = read_manifest(backup)?;
    if manifest.schema_version > SCHEMA_VERSION {
        return Err(problem(
            backup,
            format!(
                "written with schema version {}, newer than this build's {SCHEMA_VERSION}: restore it with that touchline",
                manifest.schema_version
            ),
        ));
    }
    let source = backup.join(DB_DIR);
    if !source.join("CURRENT").is_file() {
        return Err(problem(&source, "holds no RocksDB checkpoint"));
    }
    let occupied = check_target(target, force)?;

    let name = target
        .file_name()
        .ok_or_else(|| problem(target, "names no directory"))?
        .to_string_lossy()
        .into_owned();
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io("create", &parent))?;
    let staging = parent.join(format!(".{name}.restoring-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io("remove", &staging))?;
    }
    let staged = copy_dir(&source, &staging).and_then(|()| verify(&staging, &manifest));
    if let Err(e) = staged {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    if occupied || target.exists() {
        fs::remove_dir_all(target).map_err(io("remove", target))?;
    }
    fs::rename(&staging, target).map_err(io("move the restored store to", target))?;
    sync_dir(&parent)?;
    Ok(manifest)
}

/// Whether `target` holds a store to replace; an error if it may not be touched.
fn check_target(target: &Path, force: bool) -> Result<bool> {
    if !target.exists() {
        return Ok(false);
    }
    if !target.is_dir() {
        return Err(problem(target, "is not a directory"));
    }
    let empty = fs::read_dir(target)
        .map_err(io("list", target))?
        .next()
        .is_none();
    if empty {
        return Ok(false);
    }
    if !target.join("CURRENT").is_file() {
        return Err(problem(
            target,
            "is not empty and holds no store; restore into an empty or new directory",
        ));
    }
    if !force {
        return Err(problem(
            target,
            "holds a store; pass --force to replace it (stop the engine on it first)",
        ));
    }
    // Opening it read-write takes RocksDB's lock: refused while an engine has it.
    let families = DB::list_cf(&Options::default(), target).map_err(|source| StoreError::Open {
        path: target.to_owned(),
        source,
    })?;
    DB::open_cf(&Options::default(), target, families).map_err(|source| {
        problem(
            target,
            format!("cannot be replaced, it is in use or damaged ({source}); stop the engine on it first"),
        )
    })?;
    Ok(true)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir(to).map_err(io("create", to))?;
    for entry in fs::read_dir(from).map_err(io("list", from))? {
        let entry = entry.map_err(io("list", from))?;
        let path = entry.path();
        if !path.is_file() {
            return Err(problem(&path, "unexpected in a checkpoint (not a file)"));
        }
        let dest = to.join(entry.file_name());
        fs::copy(&path, &dest).map_err(io("copy", &path))?;
        fs::File::open(&dest)
            .and_then(|f| f.sync_all())
            .map_err(io("fsync", &dest))?;
    }
    sync_dir(to)
}

/// Opens the restored copy and checks it holds what the manifest says.
fn verify(staging: &Path, manifest: &BackupManifest) -> Result<()> {
    let store = Store::open_with(staging, false)?;
    let found = (
        store.schema_version()?.unwrap_or_default(),
        store.next_seq()?,
        store.offsets()?,
    );
    let expected = (
        manifest.schema_version,
        manifest.next_seq,
        manifest.offsets.clone(),
    );
    if found != expected {
        return Err(problem(
            staging,
            format!(
                "the restored store does not match the manifest: schema, next seq and offsets are {found:?}, the manifest says {expected:?}"
            ),
        ));
    }
    Ok(())
}
