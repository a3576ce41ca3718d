//! Online backup, restore and secondary (read-only) opening.

use std::path::Path;
use std::sync::Arc;

use touchline_core::Envelope;
use touchline_fixtures::{self as fixtures, EnvelopeFixture};

use super::*;

/// A touch by `person` in campaign `c` at 1 s, recorded at 2 s.
fn touch(event_id: &str, person: &str) -> Envelope {
    fixtures::envelope(event_id, 1_000, fixtures::touch(person, "c")).recorded_at_ms(2_000)
}

/// Batch `n` (from 0) appends `per_batch` events, sets the offset to the count
/// of events so far, a view holding that count, and an outbox record: every
/// family changes in every batch, so a torn checkpoint would show.
fn write_batch(store: &Store, n: u64, per_batch: u64) {
    let mut commit = store.commit();
    for i in 0..per_batch {
        let seq = n * per_batch + i;
        commit.append(seq, &touch(&format!("e-{seq}"), &format!("p-{}", seq % 7)));
    }
    let count = (n + 1) * per_batch;
    commit.set_offset("events", 0, count as i64);
    commit
        .put_view(Table::Persons, "count", &count)
        .expect("put view");
    commit
        .outbox(n, &OutboxRecord::attribution(format!("k-{n}")))
        .expect("outbox");
    commit.set_meta_u64("batches", n + 1);
    store.write(commit).expect("write");
}

fn assert_whole(store: &Store) -> u64 {
    let next_seq = store.next_seq().expect("next seq");
    let offsets = store.offsets().expect("offsets");
    let view: Option<u64> = store.get(Table::Persons, "count").expect("view");
    let batches = store.meta_u64("batches").expect("meta").unwrap_or(0);
    assert_eq!(view.unwrap_or(0), next_seq, "views match the log");
    assert_eq!(
        offsets.first().map_or(0, |o| o.next_offset as u64),
        next_seq,
        "offsets match the log"
    );
    assert_eq!(
        store.outbox(usize::MAX).expect("outbox").len() as u64,
        batches
    );
    assert_eq!(
        store.events(0, usize::MAX).expect("events").len() as u64,
        next_seq
    );
    next_seq
}

#[test]
fn a_checkpoint_of_an_open_store_restores_to_what_it_held_then() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = Store::open(&dir.path().join("live")).expect("open");
    for n in 0..3 {
        write_batch(&live, n, 10);
    }
    let backup = dir.path().join("backups/first");
    let manifest = live.backup(&backup).expect("backup");
    assert_eq!(manifest.format, BACKUP_FORMAT);
    assert_eq!(manifest.schema_version, SCHEMA_VERSION);
    assert_eq!(manifest.next_seq, 30);
    assert_eq!(manifest.offsets, live.offsets().expect("offsets"));
    assert_eq!(read_manifest(&backup).expect("manifest"), manifest);
    // The store stays open and in use.
    write_batch(&live, 3, 10);
    assert_eq!(assert_whole(&live), 40);

    let restored_path = dir.path().join("restored");
    assert_eq!(
        restore(&backup, &restored_path, false).expect("restore"),
        manifest
    );
    let restored = Store::open(&restored_path).expect("open restored");
    assert_eq!(
        assert_whole(&restored),
        30,
        "what the backup held, not what came after"
    );
    assert_eq!(restored.seq_of_event("e-29").expect("id"), Some(29));
    assert_eq!(restored.seq_of_event("e-30").expect("id"), None);
    // A restored store is a store like any other: it takes the next batch.
    write_batch(&restored, 3, 10);
    assert_eq!(assert_whole(&restored), 40);
}

#[test]
fn backups_taken_while_batches_are_written_hold_whole_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = Arc::new(Store::open(&dir.path().join("live")).expect("open"));
    let writer = {
        let live = live.clone();
        std::thread::spawn(move || {
            for n in 0..200 {
                write_batch(&live, n, 25);
            }
        })
    };
    // Wherever each backup lands among the batches, it holds whole ones.
    let mut backups = Vec::new();
    for i in 0..5 {
        let path = dir.path().join(format!("b{i}"));
        backups.push((path.clone(), live.backup(&path).expect("backup")));
    }
    writer.join().expect("writer");
    for (i, (path, manifest)) in backups.iter().enumerate() {
        assert_eq!(manifest.next_seq % 25, 0, "{path:?}");
        let target = dir.path().join(format!("r{i}"));
        restore(path, &target, false).expect("restore");
        let restored = Store::open(&target).expect("open");
        assert_eq!(assert_whole(&restored), manifest.next_seq);
    }
    assert_eq!(assert_whole(&live), 5_000);
}

#[test]
fn restore_refuses_what_it_must_not_replace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |p: &str| dir.path().join(p);
    let live = Store::open(&path("live")).expect("open");
    write_batch(&live, 0, 5);
    let backup = path("backup");
    live.backup(&backup).expect("backup");
    let problem = |e: StoreError| match e {
        StoreError::Backup { problem, .. } => problem,
        other => panic!("expected a backup problem, got {other}"),
    };

    // A backup never goes into an existing directory.
    assert!(problem(live.backup(&backup).expect_err("exists")).contains("already exists"));

    // A store in the way needs --force; a directory of other things is never replaced.
    std::fs::create_dir(path("other")).expect("mkdir");
    std::fs::write(path("other/notes.txt"), "keep me").expect("write");
    assert!(
        problem(restore(&backup, &path("other"), true).expect_err("not a store"))
            .contains("holds no store")
    );
    assert!(path("other/notes.txt").exists());
    assert!(
        problem(restore(&backup, &path("live"), false).expect_err("no force")).contains("--force")
    );
    // Nor a store an engine has open, even with --force.
    assert!(problem(restore(&backup, &path("live"), true).expect_err("open")).contains("in use"));
    write_batch(&live, 1, 5);
    drop(live);
    restore(&backup, &path("live"), true).expect("forced restore of a stopped store");
    assert_eq!(assert_whole(&Store::open(&path("live")).expect("open")), 5);

    // An empty directory is fine; a backup without its manifest is not one.
    std::fs::create_dir(path("empty")).expect("mkdir");
    restore(&backup, &path("empty"), false).expect("restore into an empty directory");
    std::fs::remove_file(backup.join(MANIFEST_FILE)).expect("rm manifest");
    assert!(
        problem(restore(&backup, &path("again"), false).expect_err("no manifest"))
            .contains("no manifest.json")
    );
    assert!(!path("again").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("restoring"))
        .collect();
    assert!(leftovers.is_empty(), "no staging directory is left behind");
}

#[test]
fn a_manifest_that_does_not_match_its_checkpoint_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = Store::open(&dir.path().join("live")).expect("open");
    write_batch(&live, 0, 5);
    let backup = dir.path().join("backup");
    let mut manifest = live.backup(&backup).expect("backup");
    manifest.next_seq += 1;
    std::fs::write(
        backup.join(MANIFEST_FILE),
        serde_json::to_string(&manifest).expect("json"),
    )
    .expect("write");
    let target = dir.path().join("restored");
    let err = restore(&backup, &target, false).expect_err("mismatch");
    assert!(
        err.to_string().contains("does not match the manifest"),
        "{err}"
    );
    assert!(!target.exists());

    manifest.next_seq -= 1;
    manifest.schema_version = SCHEMA_VERSION + 1;
    std::fs::write(
        backup.join(MANIFEST_FILE),
        serde_json::to_string(&manifest).expect("json"),
    )
    .expect("write");
    let err = restore(&backup, &target, false).expect_err("newer schema");
    assert!(err.to_string().contains("newer than this build"), "{err}");
}

#[test]
fn a_secondary_reads_beside_the_open_store_and_catches_up_on_demand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let primary = Store::open(dir.path()).expect("open");
    write_batch(&primary, 0, 10);
    let secondary = Store::open_secondary(dir.path()).expect("open secondary");
    assert!(secondary.is_secondary());
    assert_eq!(assert_whole(&secondary), 10);

    // It holds its state until asked to catch up: one report, one state.
    write_batch(&primary, 1, 10);
    assert_eq!(assert_whole(&secondary), 10);
    secondary.catch_up().expect("catch up");
    assert_eq!(assert_whole(&secondary), 20);

    assert!(matches!(
        secondary.write(secondary.commit()),
        Err(StoreError::ReadOnly { .. })
    ));
    assert!(matches!(
        secondary.backup(&dir.path().join("b")),
        Err(StoreError::ReadOnly { .. })
    ));
    drop(primary);
    // And without any primary.
    let alone = Store::open_secondary(dir.path()).expect("open secondary of a closed store");
    assert_eq!(assert_whole(&alone), 20);
}

#[test]
fn a_secondary_refuses_what_is_not_a_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(matches!(
        Store::open_secondary(dir.path()),
        Err(StoreError::NotAStore { .. })
    ));
    assert!(matches!(
        Store::open_secondary(&dir.path().join("missing")),
        Err(StoreError::NotAStore { .. })
    ));
    assert!(
        !Path::new(&dir.path().join("missing")).exists(),
        "creates nothing"
    );
}

#[test]
fn a_secondary_beside_a_busy_writer_only_ever_sees_whole_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let primary = Arc::new(Store::open(dir.path()).expect("open"));
    write_batch(&primary, 0, 25);
    let secondary = Store::open_secondary(dir.path()).expect("open secondary");
    let writer = {
        let primary = primary.clone();
        std::thread::spawn(move || {
            for n in 1..300 {
                write_batch(&primary, n, 25);
            }
        })
    };
    // Wherever each catch-up lands, the state it shows is one batch's whole.
    let mut seen = 0;
    for _ in 0..50 {
        secondary.catch_up().expect("catch up");
        let next_seq = assert_whole(&secondary);
        assert_eq!(next_seq % 25, 0);
        assert!(next_seq >= seen, "a secondary never goes back");
        seen = next_seq;
    }
    writer.join().expect("writer");
    secondary.catch_up().expect("catch up");
    assert_eq!(assert_whole(&secondary), 300 * 25);
}
