//! The stored bytes of views and touch rows, undecoded: what an instance
//! serves of the shards it holds to the instances that read them remotely,
//! which decode them with [`decode_view`](crate::decode_view) and
//! [`decode_touch`](crate::decode_touch). Instances of one group run one
//! version, so the bytes mean the same on both sides.

use super::*;

impl Store {
    /// The bytes of many views at once, in the order of `keys`.
    pub fn get_many_raw(&self, table: Table, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>> {
        let cf = self.cf(table.cf_name());
        self.db
            .multi_get_cf(keys.iter().map(|k| (cf, k.as_bytes())))
            .into_iter()
            .map(|value| value.map_err(rocks("multi-get views")))
            .collect()
    }

    /// The keys and bytes of the views under `prefix`, in key order, after
    /// `after` (exclusive) when given, at most `limit`.
    pub fn scan_raw(
        &self,
        table: Table,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        let start = after.unwrap_or(prefix);
        let mut out = Vec::new();
        for item in self.db.iterator_cf_opt(
            self.cf(table.cf_name()),
            bounded(prefix.as_bytes()),
            IteratorMode::From(start.as_bytes(), Direction::Forward),
        ) {
            let (key, value) = item.map_err(rocks("scan views"))?;
            if !key.starts_with(prefix.as_bytes()) || out.len() >= limit {
                break;
            }
            if after.is_some_and(|a| *key == *a.as_bytes()) {
                continue;
            }
            out.push((String::from_utf8_lossy(&key).into_owned(), value.into_vec()));
        }
        Ok(out)
    }

    /// The bytes of every touch row of `person_id`, in attribution order.
    pub fn touches_raw(&self, person_id: &str) -> Result<Vec<Vec<u8>>> {
        self.touch_rows_in(
            &touch_rows::ReadView::Latest(&self.db),
            person_id,
            |bytes| Ok(bytes.to_vec()),
        )
    }
}
