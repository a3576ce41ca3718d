//! A person's kept touches as rows of their own: read when a fold needs them
//! (attribution, a merge, the history limit), appended to otherwise, and
//! written back row by row, never re-encoded whole.

use touchline_core::Timestamp;

use crate::TouchEntry;

/// A touch's place in attribution order: when it happened, then its event id.
pub type TouchKey = (Timestamp, String);

fn key_of(touch: &TouchEntry) -> (Timestamp, &str) {
    (touch.occurred_at, touch.event_id.as_str())
}

/// Asked for a person's rows that were not read: the fold that asked is to be
/// run again with them read ([`TouchHistory::read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowsNotRead;

/// One person's kept touches for one fold, and the rows the fold changed.
///
/// Read, it holds every kept touch in attribution order. Unread, it can only
/// be appended to (the common case: a touch on a person whose touches nothing
/// in the batch attributes), and anything that needs the rows gets
/// [`RowsNotRead`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TouchHistory {
    /// Every kept touch, in attribution order; `None` while unread.
    rows: Option<Vec<TouchEntry>>,
    /// Unread: the touches appended, to write.
    appended: Vec<TouchEntry>,
    /// Read: the keys put since the read (written if still kept).
    written: Vec<TouchKey>,
    /// Read: the keys removed since the read (deleted if not kept again).
    removed: Vec<TouchKey>,
}

impl TouchHistory {
    /// A history whose rows were not read.
    pub fn unread() -> Self {
        TouchHistory::default()
    }

    /// A history read from its rows, in attribution order.
    pub fn read(rows: Vec<TouchEntry>) -> Self {
        debug_assert!(rows.is_sorted_by_key(|t| (t.occurred_at, t.event_id.clone())));
        TouchHistory {
            rows: Some(rows),
            ..TouchHistory::default()
        }
    }

    pub fn is_read(&self) -> bool {
        self.rows.is_some()
    }

    /// Every kept touch in attribution order, if read.
    pub fn rows(&self) -> Result<&[TouchEntry], RowsNotRead> {
        self.rows.as_deref().ok_or(RowsNotRead)
    }

    /// This history read from `rows` (the store's), with what this unread
    /// history appended and the store may not hold yet (a write in flight).
    /// The result has nothing left to write.
    pub fn settled_over(self, rows: Vec<TouchEntry>) -> Self {
        let mut rows = rows;
        for touch in self.appended {
            if let Err(at) = rows.binary_search_by(|t| key_of(t).cmp(&key_of(&touch))) {
                rows.insert(at, touch);
            }
        }
        TouchHistory::read(rows)
    }

    /// Forgets the changes (they are being written): what another fold over
    /// this history, started after, has to write is only its own.
    pub fn settle(&mut self) {
        self.appended.clear();
        self.written.clear();
        self.removed.clear();
    }

    /// The rows to put and the keys to delete.
    pub fn changes(&self) -> (Vec<&TouchEntry>, Vec<&TouchKey>) {
        let Some(rows) = &self.rows else {
            return (self.appended.iter().collect(), Vec::new());
        };
        let find = |key: &TouchKey| {
            rows.binary_search_by(|t| key_of(t).cmp(&(key.0, key.1.as_str())))
                .ok()
        };
        let puts = self
            .written
            .iter()
            .filter_map(|key| find(key).map(|at| &rows[at]))
            .collect();
        let deletes = self
            .removed
            .iter()
            .filter(|key| find(key).is_none())
            .collect();
        (puts, deletes)
    }

    /// Inserts a touch in attribution order; a repeated key is ignored.
    /// Returns whether it was new. Unread, the touch is appended: the caller
    /// knows the rows stay within the limit.
    pub(crate) fn insert(&mut self, touch: TouchEntry) -> bool {
        let Some(rows) = &mut self.rows else {
            self.appended.push(touch);
            return true;
        };
        match rows.binary_search_by(|t| key_of(t).cmp(&key_of(&touch))) {
            Ok(_) => false,
            Err(at) => {
                self.written
                    .push((touch.occurred_at, touch.event_id.clone()));
                rows.insert(at, touch);
                true
            }
        }
    }

    /// Removes the touch at `index` of the read rows.
    pub(crate) fn remove_at(&mut self, index: usize) -> Result<(), RowsNotRead> {
        let rows = self.rows.as_mut().ok_or(RowsNotRead)?;
        let touch = rows.remove(index);
        self.removed.push((touch.occurred_at, touch.event_id));
        Ok(())
    }

    /// How many rows a read history holds.
    pub(crate) fn len(&self) -> Option<usize> {
        self.rows.as_ref().map(Vec::len)
    }

    /// Takes every row out (a merge moves them to the survivor), recording
    /// their deletion.
    pub fn take_all(&mut self) -> Result<Vec<TouchEntry>, RowsNotRead> {
        let rows = std::mem::take(self.rows.as_mut().ok_or(RowsNotRead)?);
        self.removed
            .extend(rows.iter().map(|t| (t.occurred_at, t.event_id.clone())));
        Ok(rows)
    }
}
