//! Resident memory of a process (and its descendants) from /proc.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// A `kB` field of /proc/<pid>/status (VmRSS, VmHWM, ...), in bytes.
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

pub fn rss(pid: u32) -> Option<u64> {
    status_kb(pid, "VmRSS")
}

/// Every live descendant of `pid` (children, grandchildren, ...).
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parent: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            // pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            if let Some(ppid) = rest
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse::<u32>().ok())
            {
                parent.entry(ppid).or_default().push(p);
            }
        }
    }
    let mut out = vec![];
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        if out.len() > 10_000 {
            break;
        }
        if let Some(kids) = parent.get(&p) {
            for &k in kids {
                out.push(k);
                stack.push(k);
            }
        }
    }
    out
}

/// VmRSS of `pid` plus, with `tree`, every descendant.
pub fn tree_rss(pid: u32, tree: bool) -> u64 {
    let mut total = rss(pid).unwrap_or(0);
    if tree {
        total += descendants(pid).into_iter().filter_map(rss).sum::<u64>();
    }
    total
}

/// Samples the resident memory of a process (tree) in the background and
/// keeps the highest value seen.
pub struct PeakSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl PeakSampler {
    pub fn start(pid: u32, tree: bool, every: Duration) -> PeakSampler {
        let peak = Arc::new(AtomicU64::new(tree_rss(pid, tree)));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let handle = std::thread::Builder::new()
            .name("rss-sampler".into())
            .spawn(move || {
                // Bounded: at most 24 h of samples even if never stopped.
                let max = (86_400_000 / every.as_millis().max(1)) as u64;
                for _ in 0..max {
                    if s.load(Ordering::Relaxed) {
                        break;
                    }
                    p.fetch_max(tree_rss(pid, tree), Ordering::Relaxed);
                    std::thread::sleep(every);
                }
            })
            .ok();
        PeakSampler { peak, stop, handle }
    }

    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.peak()
    }
}

impl Drop for PeakSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

pub fn mib(bytes: u64) -> f64 {
    (bytes as f64 / (1024.0 * 1024.0) * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_rss_is_read() {
        let me = std::process::id();
        assert!(rss(me).unwrap_or(0) > 0);
        assert!(status_kb(me, "VmHWM").unwrap_or(0) >= rss(me).unwrap_or(0) / 2);
        // RSS moves between reads: compare loosely.
        let before = rss(me).unwrap_or(0);
        assert!(tree_rss(me, true) >= before / 2);
        assert!(descendants(1).len() > 1, "pid 1 has descendants");
    }
}
