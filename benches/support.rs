//! Shared by the benchmarks: memory readings, percentiles and where a run's
//! broker, stores and topic names are.

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

/// CPU seconds used so far by this process's threads, summed by thread name.
pub fn cpu_by_thread() -> Vec<(String, f64)> {
    let mut totals: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    for task in tasks.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let Some(cpu) = stat_cpu_seconds(&path.join("stat")) else {
            continue;
        };
        let name = if name.starts_with("rdk:") {
            "librdkafka".to_owned()
        } else if name.starts_with("rocksdb:") {
            "rocksdb background".to_owned()
        } else {
            name
        };
        *totals.entry(name).or_default() += cpu;
    }
    let mut out: Vec<_> = totals.into_iter().filter(|(_, s)| *s >= 0.05).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// CPU seconds used so far by the local Kafka broker started by deploy/kafka.sh, if found.
pub fn broker_cpu_seconds() -> Option<f64> {
    let dir = std::env::var("TOUCHLINE_KAFKA_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|_| {
            std::env::var("HOME")
                .map(|h| std::path::Path::new(&h).join(".cache/touchline/kafka-data"))
        })
        .ok()?;
    let pid = std::fs::read_to_string(dir.join("kafka.pid")).ok()?;
    stat_cpu_seconds(std::path::Path::new(&format!("/proc/{}/stat", pid.trim())))
}

/// CPU seconds used so far by this whole process, threads that ended
/// included (`/proc/self/stat`'s utime and stime).
pub fn process_cpu_seconds() -> f64 {
    stat_cpu_seconds(std::path::Path::new("/proc/self/stat")).unwrap_or(0.0)
}

/// The user and system CPU seconds a `/proc` `stat` file (a process's or a
/// thread's) reports: its 14th and 15th fields, after the parenthesised
/// name, in ticks of USER_HZ (100 on Linux).
fn stat_cpu_seconds(path: &std::path::Path) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    Some(ticks / 100.0)
}

/// The machine's CPU time so far, every core and process: (busy, all) in
/// seconds from `/proc/stat`, where busy is all but idle and I/O wait. Two
/// readings give how many cores a phase kept busy.
pub fn machine_cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return (0.0, 0.0);
    };
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is in user).
    let all: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    ((all - idle) / 100.0, all / 100.0)
}

/// The broker the Kafka benchmarks use (`TOUCHLINE_TEST_KAFKA_BROKERS`).
pub fn brokers() -> String {
    std::env::var("TOUCHLINE_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// Where the benchmarks' stores go (`TOUCHLINE_BENCH_DIR`, else the temporary
/// directory).
pub fn bench_dir() -> std::path::PathBuf {
    std::env::var("TOUCHLINE_BENCH_DIR").map_or_else(|_| std::env::temp_dir(), Into::into)
}

/// A name for this run's topics and groups: `prefix` and the time, so runs
/// never share a topic.
pub fn run_name(prefix: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{prefix}.{now}")
}
