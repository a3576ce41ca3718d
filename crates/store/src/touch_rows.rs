//! Reading the `person_touches` family: one person's kept touches (a prefix
//! scan, in attribution order), a person's view with its rows, and every
//! person with its rows, each from one consistent state of the store.

use super::*;

impl Store {
    /// Every touch row of `person_id`, in attribution order (one prefix scan).
    pub fn touches<T: DeserializeOwned>(&self, person_id: &str) -> Result<Vec<T>> {
        // One iterator reads one implicit snapshot: no explicit one needed.
        self.touches_in(&ReadView::Latest(&self.db), person_id)
    }

    /// What one read of several keys sees: a snapshot of the primary, or the
    /// secondary's state as of its last catch-up (which only
    /// [`Store::catch_up`] moves, and which has no snapshots).
    fn read_view(&self) -> ReadView<'_> {
        if self.is_secondary() {
            ReadView::Latest(&self.db)
        } else {
            ReadView::Snapshot(self.db.snapshot())
        }
    }

    /// The touch rows of each of `person_ids`, in that order: one iterator
    /// that seeks from person to person (in key order), not one per person.
    pub fn touches_many<T: DeserializeOwned>(&self, person_ids: &[&str]) -> Result<Vec<Vec<T>>> {
        let mut order: Vec<usize> = (0..person_ids.len()).collect();
        order.sort_by_key(|&i| person_ids[i]);
        let mut out: Vec<Vec<T>> = person_ids.iter().map(|_| Vec::new()).collect();
        let mut rows = self.db.raw_iterator_cf(self.cf(CF_PERSON_TOUCHES));
        for i in order {
            let prefix = keys::touch_prefix(person_ids[i]);
            rows.seek(&prefix);
            while let (Some(key), Some(value)) = (rows.key(), rows.value()) {
                if !key.starts_with(&prefix) {
                    break;
                }
                out[i].push(decode_touch(person_ids[i], value)?);
                rows.next();
            }
            rows.status().map_err(rocks("scan touch rows"))?;
        }
        Ok(out)
    }

    /// A person's view and its touch rows, read from one snapshot: the count
    /// in the view and the rows agree, whatever is written meanwhile.
    pub fn person_with_touches<V: DeserializeOwned, T: DeserializeOwned>(
        &self,
        person_id: &str,
    ) -> Result<Option<(V, Vec<T>)>> {
        let view = self.read_view();
        let table = Table::Persons;
        let Some(bytes) = view
            .get(self.cf(table.cf_name()), person_id.as_bytes())
            .map_err(rocks("get view"))?
        else {
            return Ok(None);
        };
        let person = decode_view(table, person_id, &bytes)?;
        Ok(Some((person, self.touches_in(&view, person_id)?)))
    }

    fn touches_in<T: DeserializeOwned>(
        &self,
        view: &ReadView<'_>,
        person_id: &str,
    ) -> Result<Vec<T>> {
        self.touch_rows_in(view, person_id, |bytes| decode_touch(person_id, bytes))
    }

    /// Each touch row of `person_id` in `view`, in attribution order, as
    /// `read` makes it of its bytes.
    pub(crate) fn touch_rows_in<T>(
        &self,
        view: &ReadView<'_>,
        person_id: &str,
        mut read: impl FnMut(&[u8]) -> Result<T>,
    ) -> Result<Vec<T>> {
        let prefix = keys::touch_prefix(person_id);
        let mut out = Vec::new();
        for item in view.iterator_opt(
            self.cf(CF_PERSON_TOUCHES),
            bounded(&prefix),
            IteratorMode::From(&prefix, Direction::Forward),
        ) {
            let (key, value) = item.map_err(rocks("scan touch rows"))?;
            if !key.starts_with(&prefix) {
                break;
            }
            out.push(read(&value)?);
        }
        Ok(out)
    }

    /// Calls `visit` for every person view with its touch rows in attribution
    /// order: one ordered walk of both families (a person's rows sort with its
    /// id), not a scan per person.
    pub fn for_each_person_with_touches<V: DeserializeOwned, T: DeserializeOwned>(
        &self,
        mut visit: impl FnMut(&str, V, Vec<T>),
    ) -> Result<()> {
        let view = self.read_view();
        let mut rows = view.iterator(self.cf(CF_PERSON_TOUCHES), IteratorMode::Start);
        // The first row not yet handed to a person.
        let mut next_row = rows.next().transpose().map_err(rocks("scan touch rows"))?;
        let table = Table::Persons;
        for item in view.iterator(self.cf(table.cf_name()), IteratorMode::Start) {
            let (key, value) = item.map_err(rocks("scan views"))?;
            let mut touches = Vec::new();
            while let Some((row_key, row_value)) = &next_row {
                let owner = keys::touch_person(row_key);
                match owner.cmp(&key) {
                    // Rows of a person without a view: none are written so.
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => {
                        touches.push(decode_touch(&String::from_utf8_lossy(owner), row_value)?);
                    }
                    std::cmp::Ordering::Greater => break,
                }
                next_row = rows.next().transpose().map_err(rocks("scan touch rows"))?;
            }
            let key = String::from_utf8_lossy(&key);
            visit(&key, decode_view(table, &key, &value)?, touches);
        }
        Ok(())
    }
}

/// See [`Store::read_view`].
pub(crate) enum ReadView<'a> {
    Snapshot(rocksdb::Snapshot<'a>),
    /// What the store holds as each read runs.
    Latest(&'a DB),
}

impl ReadView<'_> {
    fn get(&self, cf: &ColumnFamily, key: &[u8]) -> Result<Option<Vec<u8>>, rocksdb::Error> {
        match self {
            ReadView::Snapshot(snapshot) => snapshot.get_cf(cf, key),
            ReadView::Latest(db) => db.get_cf(cf, key),
        }
    }

    fn iterator<'b>(
        &'b self,
        cf: &ColumnFamily,
        mode: IteratorMode<'_>,
    ) -> rocksdb::DBIterator<'b> {
        match self {
            ReadView::Snapshot(snapshot) => snapshot.iterator_cf(cf, mode),
            ReadView::Latest(db) => db.iterator_cf(cf, mode),
        }
    }

    fn iterator_opt<'b>(
        &'b self,
        cf: &ColumnFamily,
        options: rocksdb::ReadOptions,
        mode: IteratorMode<'_>,
    ) -> rocksdb::DBIterator<'b> {
        match self {
            ReadView::Snapshot(snapshot) => snapshot.iterator_cf_opt(cf, options, mode),
            ReadView::Latest(db) => db.iterator_cf_opt(cf, options, mode),
        }
    }
}

/// A touch row as [`Store::touches_raw`] gave its bytes.
pub fn decode_touch<T: DeserializeOwned>(person_id: &str, bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt {
        what: CF_PERSON_TOUCHES,
        key: person_id.to_owned(),
        detail: e.to_string(),
    })
}
