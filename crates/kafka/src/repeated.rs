//! Logging a repeated error once per interval, with its count.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A repeated error is logged once per interval with how often it occurred,
/// not once per occurrence (a stalled partition errs every ~0.5 s).
#[derive(Debug)]
pub(crate) struct Repeated {
    pub(crate) interval: Duration,
    /// Per key: when it was last logged and how often it occurred since.
    seen: HashMap<String, (Instant, u64)>,
}

impl Repeated {
    pub(crate) fn new(interval: Duration) -> Self {
        Repeated {
            interval,
            seen: HashMap::new(),
        }
    }

    /// Counts one occurrence; `Some(n)` when it is to be logged now, `n`
    /// being the occurrences since it was last logged, this one included.
    pub(crate) fn occurred(&mut self, key: &str) -> Option<u64> {
        let now = Instant::now();
        match self.seen.get_mut(key) {
            Some((last, count)) => {
                *count += 1;
                if now.duration_since(*last) < self.interval {
                    return None;
                }
                let n = *count;
                *last = now;
                *count = 0;
                Some(n)
            }
            None => {
                self.seen.insert(key.to_owned(), (now, 0));
                Some(1)
            }
        }
    }
}
