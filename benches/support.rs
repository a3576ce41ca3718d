//! Shared by the benchmarks: memory readings and percentiles.

#![allow(dead_code)]

/// Peak resident set size of this process so far, in MiB (VmHWM).
pub fn peak_rss_mib() -> f64 {
    read_status_kib("VmHWM:") / 1024.0
}

/// Current resident set size, in MiB (VmRSS).
pub fn rss_mib() -> f64 {
    read_status_kib("VmRSS:") / 1024.0
}

fn read_status_kib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0.0)
}

/// Resets the peak RSS to the current RSS (Linux `clear_refs` 5), so a phase can
/// be measured on its own.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The `q`-quantile (0..=1) of sorted values, nearest rank.
pub fn quantile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not valid")),
        Err(_) => default,
    }
}
