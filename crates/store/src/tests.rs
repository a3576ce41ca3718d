use touchline_core::{Envelope, StreamKind};
use touchline_fixtures::{self as fixtures, EnvelopeFixture};

use super::*;

/// A touch by `person` in campaign `c` at 1 s, recorded at 2 s.
fn touch(event_id: &str, person: &str) -> Envelope {
    fixtures::envelope(event_id, 1_000, fixtures::touch(person, "c")).recorded_at_ms(2_000)
}

#[test]
fn a_written_batch_survives_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        let mut commit = store.commit();
        commit.append(0, &touch("a", "p-1"));
        commit.append(1, &touch("b", "p-1"));
        commit.set_offset("events", 3, 42);
        commit.set_offset("events", 0, 7);
        commit
            .put_view(Table::Persons, "p-1", &vec![1u32, 2, 3])
            .expect("put");
        commit
            .outbox(5, &OutboxRecord::attribution("k".into()))
            .expect("outbox");
        store.write(commit).expect("write");
    }
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.events(0, 10).expect("events").len(), 2);
    assert_eq!(
        store.event(1).expect("event").map(|e| e.envelope.event_id),
        Some("b".into())
    );
    assert_eq!(
        store.offsets().expect("offsets"),
        vec![
            PartitionOffset {
                topic: "events".into(),
                partition: 0,
                next_offset: 7
            },
            PartitionOffset {
                topic: "events".into(),
                partition: 3,
                next_offset: 42
            },
        ]
    );
    assert_eq!(
        store.get::<Vec<u32>>(Table::Persons, "p-1").expect("get"),
        Some(vec![1, 2, 3])
    );
    assert_eq!(store.outbox(10).expect("outbox").len(), 1);
    store.remove_outbox_through(5).expect("trim");
    assert!(store.outbox(10).expect("outbox").is_empty());
}

#[test]
fn a_stream_never_includes_a_longer_id_with_the_same_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let mut commit = store.commit();
    commit.append(0, &touch("a", "p-1"));
    commit.append(1, &touch("b", "p-10"));
    commit.append(2, &touch("c", "p-1"));
    store.write(commit).expect("write");
    let ids: Vec<_> = store
        .stream(StreamKind::Person, "p-1", 0, 100)
        .expect("stream")
        .into_iter()
        .map(|e| e.envelope.event_id)
        .collect();
    assert_eq!(ids, ["a", "c"]);
    let from_one: Vec<_> = store
        .stream(StreamKind::Person, "p-1", 1, 100)
        .expect("stream");
    assert_eq!(from_one.len(), 1);
    assert_eq!(
        store
            .stream(StreamKind::Campaign, "c", 0, 2)
            .expect("campaign")
            .len(),
        2
    );
    assert_eq!(
        store.known_event_ids(&["a", "zz", "c"]).expect("ids"),
        vec![true, false, true]
    );
}

#[test]
fn scan_pages_by_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let mut commit = store.commit();
    for key in ["x:1", "x:2", "x:3", "y:1"] {
        commit
            .put_view(Table::Campaigns, key, &key.to_owned())
            .expect("put");
    }
    store.write(commit).expect("write");
    let page = store
        .scan::<String>(Table::Campaigns, "x:", None, 2)
        .expect("scan");
    assert_eq!(
        page.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["x:1", "x:2"]
    );
    let next = store
        .scan::<String>(Table::Campaigns, "x:", Some("x:2"), 2)
        .expect("scan");
    assert_eq!(
        next.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["x:3"]
    );
    store.clear_views().expect("clear");
    assert!(
        store
            .scan::<String>(Table::Campaigns, "", None, 10)
            .expect("scan")
            .is_empty()
    );
}

fn parked(id: u64, key: &str, value: Option<Vec<u8>>) -> ParkedRecord {
    ParkedRecord {
        id,
        key: key.into(),
        topic: "attribution".into(),
        size: 1_260_000,
        reason: "Message size too large".into(),
        parked_at_ms: 1_700_000_000_000 + id as i64,
        value,
    }
}

#[test]
fn finishing_a_page_trims_parks_and_counts_in_one_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        let mut commit = store.commit();
        for id in 0..5 {
            commit
                .outbox(id, &OutboxRecord::attribution(format!("k{id}")))
                .expect("outbox");
        }
        store.write(commit).expect("write");
        assert_eq!(store.outbox_len().expect("len"), 5);
        store
            .finish_page(&PublishedPage {
                through: 2,
                parked: vec![parked(1, "k1", None), parked(2, "k2", Some(b"{}".to_vec()))],
                counters: vec![("published", 7), ("publish_parked", 2)],
            })
            .expect("finish");
        assert_eq!(store.outbox_len().expect("len"), 2);
    }
    // Reopened: the trim, the parked records and the counters are all there.
    let store = Store::open(dir.path()).expect("reopen");
    let left: Vec<u64> = store
        .outbox(10)
        .expect("outbox")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(left, [3, 4]);
    assert_eq!(
        store.parked(None, 10).expect("parked"),
        [parked(1, "k1", None), parked(2, "k2", Some(b"{}".to_vec()))]
    );
    assert_eq!(store.meta_u64("published").expect("meta"), Some(7));
    assert_eq!(store.meta_u64("publish_parked").expect("meta"), Some(2));
}

#[test]
fn parked_records_page_by_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    assert!(store.parked(None, 10).expect("empty").is_empty());
    for (through, id) in [(10, 10), (20, 20), (30, 30)] {
        store
            .finish_page(&PublishedPage {
                through,
                parked: vec![parked(id, &format!("k{id}"), None)],
                counters: Vec::new(),
            })
            .expect("finish");
    }
    let ids = |after, limit| -> Vec<u64> {
        store
            .parked(after, limit)
            .expect("parked")
            .into_iter()
            .map(|p| p.id)
            .collect()
    };
    assert_eq!(ids(None, 2), [10, 20]);
    assert_eq!(ids(Some(20), 2), [30]);
    assert_eq!(ids(Some(10), 10), [20, 30]);
    assert!(ids(Some(30), 10).is_empty());
    assert!(ids(Some(u64::MAX), 10).is_empty());
    // Trimming the outbox leaves parked records alone.
    store.remove_outbox_through(u64::MAX - 1).expect("trim");
    assert_eq!(ids(None, 10), [10, 20, 30]);
}

#[test]
fn a_store_made_before_the_parked_family_opens_and_gains_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        // The column families of a store written by an earlier release.
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let mut names = vec![
            "events",
            "event_ids",
            "streams",
            "offsets",
            "meta",
            "outbox",
        ];
        names.extend(Table::ALL.map(Table::cf_name));
        let db = rocksdb::DB::open_cf(&options, dir.path(), &names).expect("old layout");
        db.put_cf(
            db.cf_handle("meta").expect("meta"),
            "schema_version",
            keys::u64_key(SCHEMA_VERSION),
        )
        .expect("schema");
    }
    let store = Store::open(dir.path()).expect("opens without a schema bump");
    store
        .finish_page(&PublishedPage {
            through: 0,
            parked: vec![parked(0, "k0", None)],
            counters: Vec::new(),
        })
        .expect("parks");
    assert_eq!(store.parked(None, 1).expect("parked").len(), 1);
}

#[test]
fn a_store_whose_rebuild_was_interrupted_is_refused_until_replayed() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        let mut commit = store.commit();
        commit.append(0, &touch("a", "p-1"));
        store.write(commit).expect("write");
        store.begin_rebuild().expect("begin");
        // A page written without fsync, then the process dies.
        let mut page = store.commit();
        page.set_meta_u64("next_outbox_id", 1);
        store.write_unsynced(page).expect("page");
    }
    let refused = Store::open(dir.path()).expect_err("an interrupted rebuild is refused");
    assert!(
        matches!(refused, StoreError::RebuildInterrupted { .. }),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("touchline replay"),
        "{refused}"
    );
    {
        // `touchline replay` opens it, rebuilds and ends the rebuild.
        let store = Store::open_for_replay(dir.path()).expect("replay opens it");
        store.begin_rebuild().expect("begin");
        let mut done = store.commit();
        done.end_rebuild();
        store.write(done).expect("end");
    }
    let store = Store::open(dir.path()).expect("a finished rebuild opens");
    assert_eq!(store.events(0, 10).expect("events").len(), 1);
}

#[test]
fn a_clean_close_leaves_nothing_for_the_next_open_to_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        let mut commit = store.commit();
        commit.append(0, &touch("a", "p-1"));
        commit.set_offset("events", 0, 1);
        commit
            .put_view(Table::Persons, "p-1", &vec![1u32])
            .expect("put");
        store.write(commit).expect("write");
    }
    // A read-only open replays the write-ahead log into memtables and never
    // flushes them: whatever a family holds there was not written out on close.
    let names = family_names();
    let db =
        rocksdb::DB::open_cf_for_read_only(&rocksdb::Options::default(), dir.path(), &names, false)
            .expect("open read-only");
    for name in names {
        let family = db.cf_handle(name).expect("family");
        let in_memtable = db
            .property_int_value_cf(family, "rocksdb.num-entries-active-mem-table")
            .expect("property");
        assert_eq!(
            in_memtable,
            Some(0),
            "{name} was left in the write-ahead log"
        );
    }
}

#[test]
fn an_event_appended_with_its_stored_bytes_reads_back_as_they_say() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let envelope = touch("a", "p-1");
    let received = touchline_proto::encode_protobuf(&envelope);
    let mut commit = store.commit();
    commit.append_stored(0, &envelope, received.clone());
    store.write(commit).expect("write");
    // Stored as given, not encoded again.
    let raw = store
        .db
        .get_cf(store.cf(CF_EVENTS), keys::u64_key(0))
        .expect("get");
    assert_eq!(raw.as_deref(), Some(received.as_slice()));
    assert_eq!(
        store.event(0).expect("event").map(|e| e.envelope),
        Some(envelope)
    );
    assert_eq!(
        store.known_event_ids(&["a", "b"]).expect("ids"),
        [true, false]
    );
    let person: Vec<_> = store
        .stream(StreamKind::Person, "p-1", 0, 10)
        .expect("stream");
    assert_eq!(person.len(), 1);
}

#[test]
fn pages_of_the_outbox_start_after_the_last_trim() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let write = |ids: std::ops::Range<u64>| {
        let mut commit = store.commit();
        for id in ids {
            commit
                .outbox(id, &OutboxRecord::attribution(format!("k-{id}")))
                .expect("outbox");
        }
        store.write(commit).expect("write");
    };
    write(0..10);
    store.remove_outbox_through(3).expect("trim");
    let ids =
        |page: Vec<(u64, OutboxRecord)>| page.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    assert_eq!(ids(store.outbox(3).expect("page")), [4, 5, 6]);
    // A trim behind the last one changes nothing.
    store.remove_outbox_through(1).expect("trim");
    assert_eq!(store.outbox_len().expect("len"), 6);
    store.remove_outbox_through(9).expect("trim");
    assert!(store.outbox(10).expect("page").is_empty());
    write(10..12);
    assert_eq!(ids(store.outbox(10).expect("page")), [10, 11]);
    drop(store);
    // A reopened store reads from the start, and finds what was left.
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(ids(store.outbox(10).expect("page")), [10, 11]);
}

#[test]
fn touch_rows_read_in_attribution_order_per_person_and_clear_with_the_views() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let at = Timestamp::from_millis;
    let mut commit = store.commit();
    // "p" is a prefix of "pa": their rows must not mix.
    for (person, ms, id) in [
        ("pa", 5, "x"),
        ("p", 20, "b"),
        ("p", -7, "z"),
        ("p", 20, "a"),
        ("orphan", 1, "o"),
    ] {
        commit
            .put_touch(person, at(ms), id, &format!("{person}/{id}"))
            .expect("put");
    }
    commit.put_view(Table::Persons, "p", &1u8).expect("put");
    commit.put_view(Table::Persons, "pa", &2u8).expect("put");
    commit.put_view(Table::Persons, "q", &3u8).expect("put");
    store.write(commit).expect("write");

    let rows: Vec<String> = store.touches("p").expect("rows");
    assert_eq!(rows, ["p/z", "p/a", "p/b"]);
    let mut walked = Vec::new();
    store
        .for_each_person_with_touches(|id, view: u8, rows: Vec<String>| {
            walked.push((id.to_owned(), view, rows))
        })
        .expect("walk");
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        walked,
        [
            ("p".to_owned(), 1, strings(&["p/z", "p/a", "p/b"])),
            ("pa".to_owned(), 2, strings(&["pa/x"])),
            ("q".to_owned(), 3, Vec::new()),
        ]
    );
    let (view, rows): (u8, Vec<String>) =
        store.person_with_touches("pa").expect("read").expect("pa");
    assert_eq!((view, rows), (2, strings(&["pa/x"])));

    let mut commit = store.commit();
    commit.delete_touch("p", at(20), "a");
    store.write(commit).expect("write");
    assert_eq!(store.touches::<String>("p").expect("rows"), ["p/z", "p/b"]);

    store.clear_views().expect("clear");
    assert!(store.touches::<String>("p").expect("rows").is_empty());
    assert!(store.touches::<String>("orphan").expect("rows").is_empty());
}

#[test]
fn views_written_in_bulk_after_a_clear_read_back_and_the_last_write_of_a_key_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        // Old views: some flushed to files, one still in the memtable.
        let mut old = store.commit();
        old.put_view(Table::Persons, "p-old", &"old").expect("put");
        old.put_view(Table::Persons, "p-1", &"stale").expect("put");
        store.write(old).expect("write");
        store
            .db
            .flush_cf(store.cf(Table::Persons.cf_name()))
            .expect("flush");
        let mut memtable = store.commit();
        memtable
            .put_view(Table::Campaigns, "c-old", &"old")
            .expect("put");
        store.write(memtable).expect("write");

        store.begin_rebuild().expect("begin");
        assert_eq!(
            store.get::<String>(Table::Persons, "p-old").expect("get"),
            None
        );
        assert_eq!(
            store.get::<String>(Table::Campaigns, "c-old").expect("get"),
            None
        );

        let mut bulk = store.commit();
        bulk.put_view(Table::Persons, "p-2", &"two").expect("put");
        bulk.put_view(Table::Persons, "p-1", &"first").expect("put");
        bulk.put_view(Table::Persons, "p-1", &"last").expect("put");
        bulk.put_view(Table::Campaigns, "c-1", &"campaign")
            .expect("put");
        bulk.put_view(Table::Campaigns, "c-2", &"gone")
            .expect("put");
        bulk.delete(Table::Campaigns, "c-2");
        store.write_bulk(bulk).expect("bulk");
        // A second bulk write over keys of the first wins over it.
        let mut again = store.commit();
        again
            .put_view(Table::Persons, "p-2", &"two again")
            .expect("put");
        store.write_bulk(again).expect("bulk");
        let mut done = store.commit();
        done.end_rebuild();
        store.write(done).expect("end");
    }
    let store = Store::open(dir.path()).expect("reopen");
    let persons: Vec<(String, String)> = store.scan(Table::Persons, "", None, 10).expect("scan");
    assert_eq!(
        persons,
        [
            ("p-1".to_owned(), "last".to_owned()),
            ("p-2".to_owned(), "two again".to_owned())
        ]
    );
    let campaigns: Vec<(String, String)> =
        store.scan(Table::Campaigns, "", None, 10).expect("scan");
    assert_eq!(campaigns, [("c-1".to_owned(), "campaign".to_owned())]);
    // Nothing of the table files is left beside the store.
    let bulk = dir.path().join("bulk");
    assert!(
        !bulk.exists() || std::fs::read_dir(&bulk).expect("dir").next().is_none(),
        "leftover table files"
    );
}

#[test]
fn table_files_a_dead_bulk_write_left_are_removed_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(Store::open(dir.path()).expect("open"));
    let bulk = dir.path().join("bulk");
    std::fs::create_dir_all(&bulk).expect("mkdir");
    std::fs::write(bulk.join("persons-1-0.sst"), b"half a file").expect("write");
    let store = Store::open(dir.path()).expect("reopen");
    assert!(!bulk.exists());
    // And bulk writes still work after.
    let mut commit = store.commit();
    commit.put_view(Table::Persons, "p-1", &"one").expect("put");
    store.write_bulk(commit).expect("bulk");
    assert_eq!(
        store.get::<String>(Table::Persons, "p-1").expect("get"),
        Some("one".to_owned())
    );
}

#[test]
fn the_stream_index_names_every_stream_of_every_event_without_decoding_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let mut commit = store.commit();
    commit.append(0, &touch("a", "p-10"));
    commit.append(1, &touch("b", "p-1"));
    commit.append(2, &touch("c", "p-1"));
    store.write(commit).expect("write");
    let mut removed = store.commit();
    removed.remove(2, &touch("c", "p-1"));
    store.write(removed).expect("remove");
    let mut entries = Vec::new();
    store
        .for_each_stream_entry(&StreamKind::ALL, |kind, id, seq| {
            entries.push((kind, id.to_owned(), seq))
        })
        .expect("index");
    // By kind (tag order), then id, then log position; a removed event is gone.
    assert_eq!(
        entries,
        [
            (StreamKind::Campaign, "c".to_owned(), 0),
            (StreamKind::Campaign, "c".to_owned(), 1),
            (StreamKind::Person, "p-1".to_owned(), 1),
            (StreamKind::Person, "p-10".to_owned(), 0),
        ]
    );
    // Only the kinds asked for.
    let mut people = Vec::new();
    store
        .for_each_stream_entry(&[StreamKind::Person], |kind, id, seq| {
            people.push((kind, id.to_owned(), seq))
        })
        .expect("index");
    assert_eq!(people, entries[2..]);
}
