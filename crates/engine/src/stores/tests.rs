use super::*;

fn shard(views: &[(&str, u64)], people: &[&str]) -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("store"));
    let mut commit = store.commit();
    for (id, touches) in views {
        let mut view = CampaignView::new(id);
        view.touches = *touches;
        view.members = 1;
        commit
            .put_view(Table::Campaigns, id, &view)
            .expect("campaign");
    }
    for id in people {
        commit
            .put_view(Table::Persons, id, &PersonView::new(id))
            .expect("person");
    }
    store.write(commit).expect("write");
    (dir, store)
}

fn held(shards: &[&(tempfile::TempDir, Arc<Store>)]) -> Stores {
    let held = Arc::new(HeldShards::default());
    for (i, (_, store)) in shards.iter().enumerate() {
        held.hold(i as u32, store.clone());
    }
    Stores::Shards(held)
}

#[test]
fn the_shards_read_as_one_table_in_key_order_with_copies_combined() {
    let a = shard(&[("ads", 2), ("mail", 1)], &["ann", "cat", "eve"]);
    let b = shard(&[("ads", 3), ("web", 4)], &["bob", "dan"]);
    let stores = held(&[&a, &b]);

    let mut campaigns = Vec::new();
    stores
        .for_each(|id, v: CampaignView| campaigns.push(format!("{id} {} {}", v.touches, v.members)))
        .expect("scan");
    assert_eq!(campaigns, ["ads 5 2", "mail 1 1", "web 4 1"]);

    let mut people = Vec::new();
    stores
        .for_each(|id, _: PersonView| people.push(id.to_owned()))
        .expect("scan");
    assert_eq!(people, ["ann", "bob", "cat", "dan", "eve"]);

    let page: Vec<String> = stores
        .scan::<PersonView>("", Some("bob"), 2)
        .expect("page")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(page, ["cat", "dan"]);

    let ads: CampaignView = stores.get("ads").expect("get").expect("ads");
    assert_eq!(ads.touches, 5);
    let many: Vec<Option<PersonView>> = stores.get_many(&["eve", "zed", "bob"]).expect("many");
    let found: Vec<bool> = many.iter().map(Option::is_some).collect();
    assert_eq!(found, [true, false, true]);
}

#[test]
fn a_released_shard_is_unseen_and_reclaimed_while_a_reader_has_it_open() {
    let a = shard(&[], &["ann"]);
    let b = shard(&[], &["bob"]);
    let held = Arc::new(HeldShards::default());
    held.hold(0, a.1.clone());
    held.hold(1, b.1.clone());
    let stores = Stores::Shards(held.clone());
    held.release(1);
    assert!(stores.get::<PersonView>("bob").expect("get").is_none());
    // `b.1` is still open here, as a query's clone would be.
    let reclaimed = held.reclaim(1).expect("reclaimed");
    assert!(Arc::ptr_eq(&reclaimed, &b.1));
    held.hold(1, reclaimed);
    assert!(stores.get::<PersonView>("bob").expect("get").is_some());
}

#[test]
fn gets_of_another_instance_are_cut_by_count_and_bytes() {
    let short: Vec<String> = (0..10_000).map(|i| format!("p{i}")).collect();
    let short: Vec<&str> = short.iter().map(String::as_str).collect();
    let chunks = get_chunks(&short);
    assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), 10_000);
    assert!(chunks.iter().all(|c| c.len() <= MAX_GET_KEYS));
    let long = "x".repeat(20_000);
    let keys = ["a", long.as_str(), "b"];
    let chunks = get_chunks(&keys);
    assert_eq!(chunks, [&["a"][..], &[long.as_str()][..], &["b"][..]]);
    assert!(get_chunks(&[]).is_empty());
}
