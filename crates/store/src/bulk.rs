//! Bulk writes for a rebuild: a batch of views written as sorted table files
//! and ingested straight into the tree, past the memtable, the write-ahead
//! log, the flushes and the compactions. Written the usual way, a replay's
//! views spent two fifths of its CPU in those (perf, 2.3M events).

use std::sync::atomic::{AtomicU64, Ordering};

use rocksdb::{IngestExternalFileOptions, SstFileWriter};

use super::*;
use families::family_options;

/// Where table files are built before they are ingested, inside the store's
/// directory (ingesting moves a file, which needs the same file system).
const BULK_DIR: &str = "bulk";

/// Names table files apart when several threads write at once.
static NEXT_FILE: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// Removes table files a bulk write left when the process died before
    /// they were ingested (the rebuild they were for is redone anyway).
    pub(crate) fn remove_unfinished_bulk_files(&self) -> Result<()> {
        let dir = self.path.join(BULK_DIR);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Io {
                operation: "remove unfinished bulk table files in",
                path: dir,
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// Writes `commit` as sorted table files, one per column family, ingested
    /// into the store; a later operation on a key wins, as in
    /// [`Store::write`]. For a rebuild's views: what one call writes is
    /// visible at once, but calls are not atomic together (the rebuild's
    /// marker is, see [`Store::begin_rebuild`]), and what is written here
    /// after [`Store::clear_views`] lands in the bottom level unless it
    /// overlaps what an earlier call wrote, so the views need no compaction.
    pub fn write_bulk(&self, commit: Commit) -> Result<()> {
        let _gate = self.write_gate()?;
        let mut ops = commit.ops;
        // Stable: the last operation on a key comes last among its equals.
        commit::sort_ops(&mut ops);
        let dir = self.path.join(BULK_DIR);
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            operation: "create the bulk-write directory",
            path: dir.clone(),
            source,
        })?;
        let mut start = 0;
        while start < ops.len() {
            let cf = ops[start].sort_key().0;
            let end = start + ops[start..].partition_point(|op| op.sort_key().0 == cf);
            self.ingest_family(&dir, cf, &ops[start..end])?;
            start = end;
        }
        Ok(())
    }

    /// Builds one table file of `ops` (sorted, all in family `cf`) and
    /// ingests it.
    fn ingest_family(&self, dir: &Path, cf: &'static str, ops: &[Op]) -> Result<()> {
        let options = family_options(cf);
        let mut writer = SstFileWriter::create(&options);
        let file = dir.join(format!(
            "{cf}-{}-{}.sst",
            std::process::id(),
            NEXT_FILE.fetch_add(1, Ordering::Relaxed)
        ));
        writer
            .open(&file)
            .map_err(rocks("open a bulk table file"))?;
        for (at, op) in ops.iter().enumerate() {
            // A table file takes each key once: the last operation on it wins.
            if ops
                .get(at + 1)
                .is_some_and(|next| next.sort_key().1 == op.sort_key().1)
            {
                continue;
            }
            match op {
                Op::Put { key, value, .. } => writer.put(key, value),
                Op::Delete { key, .. } => writer.delete(key),
            }
            .map_err(rocks("write a bulk table file"))?;
        }
        writer.finish().map_err(rocks("finish a bulk table file"))?;
        let mut ingest = IngestExternalFileOptions::default();
        ingest.set_move_files(true);
        let ingested = self
            .db
            .ingest_external_file_cf_opts(self.cf(cf), &ingest, vec![&file])
            .map_err(rocks("ingest a bulk table file"));
        // Moved on success; on failure the file is of no use.
        let _ = std::fs::remove_file(&file);
        ingested
    }
}
