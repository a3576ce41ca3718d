//! The touch rows of the people one fold reads or changes: each person's
//! [`TouchHistory`], read by the loader when the fold will need it (a person
//! whose conversions it re-attributes, a merge, a history at its limit) and
//! only appended to otherwise, so that the common batch (a touch more for a
//! person) costs a row put, not a history re-encoded.

use touchline_projection::{TouchEntry, TouchHistory};

use super::*;

/// The touch histories of one fold, by person id.
pub(super) struct TouchRows {
    pub(super) histories: HashMap<String, TouchHistory>,
    /// People whose rows the fold needed unread: the loader reads them and the
    /// fold runs again.
    missing: HashSet<String>,
    /// A world that holds nothing but what it was given: a person not in it
    /// has no rows, and its history is read (empty).
    complete: bool,
}

impl TouchRows {
    /// `histories` as loaded; every person in `absent` (known to have no view)
    /// has no rows either, so its history is read, empty.
    pub(super) fn new<'a>(
        mut histories: HashMap<String, TouchHistory>,
        absent: impl IntoIterator<Item = &'a str>,
        complete: bool,
    ) -> Self {
        for person in absent {
            histories
                .entry_ref(person)
                .or_insert_with(|| TouchHistory::read(Vec::new()));
        }
        TouchRows {
            histories,
            missing: HashSet::new(),
            complete,
        }
    }

    /// The history of `person_id`: unread unless the loader read it (or the
    /// world is complete).
    pub(super) fn history_mut(&mut self, person_id: &str) -> &mut TouchHistory {
        let complete = self.complete;
        self.histories.entry_ref(person_id).or_insert_with(|| {
            if complete {
                TouchHistory::read(Vec::new())
            } else {
                TouchHistory::unread()
            }
        })
    }

    /// Records that the fold needed the rows of `person_id` unread.
    pub(super) fn missed(&mut self, person_id: &str) {
        self.missing.insert(person_id.to_owned());
    }

    /// Whether the rows of `person_id` can be read; if not, they are reported
    /// missing.
    pub(super) fn require(&mut self, person_id: &str) -> bool {
        let read = self.history_mut(person_id).is_read();
        if !read {
            self.missed(person_id);
        }
        read
    }

    /// The rows of `person_id` ([`TouchRows::require`] first); none when unread.
    pub(super) fn rows(&self, person_id: &str) -> &[TouchEntry] {
        self.histories
            .get(person_id)
            .and_then(|h| h.rows().ok())
            .unwrap_or_default()
    }

    pub(super) fn missing(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.missing.iter().cloned().collect();
        keys.sort_unstable();
        keys
    }

    /// Puts the rows the fold added and deletes those it took out.
    pub(super) fn write(&self, commit: &mut Commit) -> Result<(), EngineError> {
        self.write_paged(commit, usize::MAX, &mut |_| Ok(()))
    }

    /// Like [`TouchRows::write`] in key order (by person: a person's rows
    /// are in order, and its id ends its rows' prefix), handing `commit` to
    /// `full` whenever it holds `page` operations.
    pub(super) fn write_paged(
        &self,
        commit: &mut Commit,
        page: usize,
        full: &mut impl FnMut(&mut Commit) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        let mut people: Vec<(&String, &TouchHistory)> = self.histories.iter().collect();
        people.sort_unstable_by_key(|(person, _)| *person);
        for (person, history) in people {
            let (puts, deletes) = history.changes();
            for touch in puts {
                commit.put_touch(person, touch.occurred_at, &touch.event_id, touch)?;
                if commit.len() >= page {
                    full(commit)?;
                }
            }
            for (occurred_at, event_id) in deletes {
                commit.delete_touch(person, *occurred_at, event_id);
            }
        }
        Ok(())
    }
}

/// Reads the touch rows of `keys` into `into`, for people whose views are
/// in `persons`: from the batch ahead when it read them, else from the store
/// (with what the batch ahead appended, which may not be durable yet).
pub(super) fn fetch_rows(
    store: &Store,
    ahead: &mut HashMap<String, TouchHistory>,
    persons: &HashMap<String, Option<PersonView>>,
    into: &mut HashMap<String, TouchHistory>,
    keys: &[&str],
) -> Result<(), EngineError> {
    // What the batch ahead appended to histories it did not read, to lay
    // over the store's rows.
    let mut from_store: Vec<(&str, Option<TouchHistory>)> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::with_capacity(keys.len());
    for &key in keys {
        if into.get(key).is_some_and(TouchHistory::is_read) || !seen.insert(key) {
            continue;
        }
        match (persons.get(key), ahead.remove(key)) {
            // No view, no rows.
            (Some(None), _) => {
                into.insert(key.to_owned(), TouchHistory::read(Vec::new()));
            }
            (_, Some(mut theirs)) if theirs.is_read() => {
                theirs.settle();
                into.insert(key.to_owned(), theirs);
            }
            (_, theirs) => from_store.push((key, theirs)),
        }
    }
    if from_store.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = from_store.iter().map(|(key, _)| *key).collect();
    let rows = store.touches_many::<TouchEntry>(&ids)?;
    for ((key, theirs), rows) in from_store.into_iter().zip(rows) {
        let history = match theirs {
            Some(theirs) => theirs.settled_over(rows),
            None => TouchHistory::read(rows),
        };
        into.insert(key.to_owned(), history);
    }
    Ok(())
}
