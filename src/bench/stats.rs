//! Latency percentiles and the process's memory high-water mark.

use serde::Serialize;

/// p50/p90/p99/max of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub count: usize,
}

impl Percentiles {
    /// Nearest-rank percentiles over microsecond samples; sorts in place.
    pub fn of_micros(samples: &mut [u64]) -> Percentiles {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_unstable();
        let rank = |p: f64| {
            let i = ((p / 100.0) * samples.len() as f64).ceil() as usize;
            samples[i.clamp(1, samples.len()) - 1] as f64 / 1000.0
        };
        Percentiles {
            p50: rank(50.0),
            p90: rank(90.0),
            p99: rank(99.0),
            max: samples[samples.len() - 1] as f64 / 1000.0,
            count: samples.len(),
        }
    }
}

/// Resets the kernel's peak-RSS counter for this process (Linux ≥ 4.0), so each run reports
/// its own peak. Returns false where that is not possible; the peak is then cumulative.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident set size of this process in MiB (`VmHWM`), if the platform reports it.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU time used so far (user + system), in nanoseconds: by the whole process, and by its
/// threads named `thread` (the SQLite writer is `skipline-db-wri`, the kernel's 15 bytes).
/// Read from `/proc`, in the kernel's 10 ms ticks: enough over a run of seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTime {
    pub process_ns: u64,
    pub thread_ns: u64,
}

/// `USER_HZ`: what `/proc/*/stat` counts in, fixed at 100 by Linux's ABI.
const TICK_NS: u64 = 10_000_000;

/// utime + stime of one `/proc/.../stat` line, and its thread name.
fn stat_ticks(line: &str) -> Option<(&str, u64)> {
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    let comm = line.get(open + 1..close)?;
    let fields: Vec<&str> = line.get(close + 2..)?.split_whitespace().collect();
    // After "pid (comm) ", fields start at `state` (the 3rd); utime and stime are the 14th and 15th.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

pub fn cpu_time(thread: &str) -> Option<CpuTime> {
    let (_, process) = stat_ticks(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    let mut threads = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        if let Ok(line) = std::fs::read_to_string(task.path().join("stat"))
            && let Some((comm, ticks)) = stat_ticks(&line)
            && comm == thread
        {
            threads += ticks;
        }
    }
    Some(CpuTime {
        process_ns: process * TICK_NS,
        thread_ns: threads * TICK_NS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let mut v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        let p = Percentiles::of_micros(&mut v);
        assert_eq!((p.p50, p.p90, p.p99, p.max, p.count), (50.0, 90.0, 99.0, 100.0, 100));
        assert_eq!(Percentiles::of_micros(&mut []).count, 0);
        let mut one = vec![2500];
        assert_eq!(Percentiles::of_micros(&mut one).p99, 2.5);
    }

    #[test]
    fn cpu_time_reads_stat_lines_with_spaces_in_the_name() {
        let line = "42 (skipline db (x)) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 1 2 3";
        assert_eq!(stat_ticks(line), Some(("skipline db (x)", 325)));
        // Spin a little, so that this process has used some CPU.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        let t = cpu_time("no-such-thread").expect("/proc is readable on Linux");
        assert!(t.process_ns > 0);
        assert_eq!(t.thread_ns, 0);
    }
}
