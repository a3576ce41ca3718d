//! touchline's allocator: [mimalloc](https://github.com/microsoft/mimalloc),
//! tuned once at start-up.
//!
//! mimalloc "purges" memory that has been free for a while (a second, by
//! default). Out of the box a purge *decommits* it (`MADV_DONTNEED`): the
//! kernel drops the pages, and the next allocation there takes a page fault
//! and has the kernel zero the page, a whole 2 MiB transparent huge page at a
//! time. touchline frees and reuses memory in large waves (a replay round's
//! views, a batch's snapshot): with the default a replay of 2.3M events took
//! about 240k page faults. [`tune`] makes a purge *reset* the memory instead
//! (`MADV_FREE`): the pages stay mapped and are reused without a fault (about
//! 64k faults for the same replay), and the kernel still takes them back when
//! it runs short. The price is that freed memory keeps counting in RSS (as
//! `LazyFree` in `/proc/PID/smaps`) until the kernel wants it.
//!
//! ```no_run
//! #[global_allocator]
//! static ALLOCATOR: touchline_alloc::Allocator = touchline_alloc::Allocator;
//!
//! fn main() {
//!     touchline_alloc::tune();
//!     // ...
//! }
//! ```
//!
//! mimalloc reads its `MIMALLOC_*` environment variables as the process
//! starts; [`tune`] leaves the option alone when `MIMALLOC_PURGE_DECOMMITS` is
//! set, so an operator who wants the default back sets it to 1.

use std::ffi::c_int;

/// The global allocator type of touchline's binary and benchmarks.
pub use mimalloc::MiMalloc as Allocator;

/// `mi_option_purge_decommits` in mimalloc 3's `mi_option_e` (`mimalloc.h`):
/// the bindings of `libmimalloc-sys` name the options of mimalloc 2 only.
/// The test below checks this number against the option's documented default.
const MI_OPTION_PURGE_DECOMMITS: c_int = 5;

/// The environment variable with which an operator keeps mimalloc's default
/// (`MIMALLOC_PURGE_DECOMMITS=1`) or any other value of theirs.
const OVERRIDE: &str = "MIMALLOC_PURGE_DECOMMITS";

/// Makes mimalloc reset purged memory instead of decommitting it, unless the
/// environment sets `MIMALLOC_PURGE_DECOMMITS` (then mimalloc has read it
/// already, and it stands). Call it first thing in `main`, before any thread
/// starts: mimalloc's option setter is not thread safe.
pub fn tune() {
    if std::env::var_os(OVERRIDE).is_some() {
        return;
    }
    // SAFETY: `mi_option_set` takes an option number and a value and writes
    // one word of mimalloc's option table; the number is checked by the test
    // below, and the caller is single-threaded (see above).
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DECOMMITS, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// mimalloc 3's `mi_option_purge_delay`, whose default is 1000 ms.
    const MI_OPTION_PURGE_DELAY: c_int = 15;

    fn purge_decommits() -> bool {
        // SAFETY: reads one word of mimalloc's option table.
        #[allow(unsafe_code)]
        let value = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DECOMMITS) };
        value != 0
    }

    #[test]
    fn the_option_number_is_mimallocs_purge_decommits_and_tune_clears_it() {
        // Skip when the environment sets either option: then the defaults
        // below are not what mimalloc holds.
        if std::env::var_os(OVERRIDE).is_some()
            || std::env::var_os("MIMALLOC_PURGE_DELAY").is_some()
        {
            return;
        }
        // The documented defaults of mimalloc 3: decommit on purge, after a
        // second. A renumbered option table fails here.
        // SAFETY: reads one word of mimalloc's option table.
        #[allow(unsafe_code)]
        let delay = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(
            delay, 1000,
            "purge_delay is not option {MI_OPTION_PURGE_DELAY}"
        );
        assert!(purge_decommits(), "purge_decommits defaults to 1");
        tune();
        assert!(!purge_decommits());
        // The allocator still works after the change.
        let v: Vec<u64> = (0..1_000_000).collect();
        assert_eq!(v.iter().sum::<u64>(), 499_999_500_000);
    }
}
