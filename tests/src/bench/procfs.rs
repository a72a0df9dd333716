//! Resident memory and CPU time of a process (and its descendants) from /proc.

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

/// CPU time (user + system) `pid` has used, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces), from field 3 on.
    let rest = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .collect::<Vec<_>>();
    let ticks = rest.get(11)?.parse::<f64>().ok()? + rest.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks())
}

/// CPU time this process has used, at nanosecond resolution (the /proc
/// figures count clock ticks, too coarse to split one call's cost).
pub fn own_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Time `pid`'s live threads have spent on a CPU, in seconds, at nanosecond
/// resolution (/proc/<pid>/task/*/schedstat): fine enough for one call of
/// a server whose threads live as long as it does.
pub fn thread_cpu_seconds(pid: u32) -> Option<f64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    Some(tasks.flatten().filter_map(|t| on_cpu(&t.path())).sum())
}

/// One thread's time on a CPU, in seconds, from its /proc task directory.
fn on_cpu(task: &std::path::Path) -> Option<f64> {
    let stat = std::fs::read_to_string(task.join("schedstat")).ok()?;
    let ns = stat.split_whitespace().next()?.parse::<u64>().ok()?;
    Some(ns as f64 / 1e9)
}

/// CPU time the whole machine spent busy (all but idle and iowait), in seconds.
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<f64> = cpu
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let (idle, iowait) = (v.get(3)?, v.get(4)?);
    Some((v.iter().sum::<f64>() - idle - iowait) / clock_ticks())
}

/// Where the CPU went during a measured window: the whole machine, this
/// process (the driver: the MCP client or the floor's kube::Client) and the
/// server under test. What the machine spent beyond those two is the rest:
/// the API server, etcd and kwok.
pub struct CpuMark {
    server_pid: Option<u32>,
    machine: Option<f64>,
    client: Option<f64>,
    server: Option<f64>,
}

impl CpuMark {
    pub fn now(server: Option<u32>) -> CpuMark {
        CpuMark {
            server_pid: server,
            machine: machine_busy_seconds(),
            client: cpu_seconds(std::process::id()),
            server: server.and_then(cpu_seconds),
        }
    }

    /// Milliseconds of CPU per call since `self` was taken.
    pub fn per_call(&self, calls: usize) -> serde_json::Value {
        let end = CpuMark::now(self.server_pid);
        let ms = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if calls > 0 => Some((b - a) * 1e3 / calls as f64),
            _ => None,
        };
        let machine = ms(self.machine, end.machine);
        let client = ms(self.client, end.client);
        let server = ms(self.server, end.server);
        let rest = match (machine, client) {
            (Some(m), Some(c)) => Some(m - c - server.unwrap_or(0.0)),
            _ => None,
        };
        let r = |v: Option<f64>| v.map(|v| (v * 1e3).round() / 1e3);
        serde_json::json!({
            "machine": r(machine),
            "client": r(client),
            "server": r(server),
            "rest": r(rest),
        })
    }
}

/// CPU time of the whole machine and of named processes (the control
/// plane's components, the operator) at one moment: what a window between
/// two of them spent, and on whom.
pub struct ProcessCpu {
    at: std::time::Instant,
    machine: Option<f64>,
    processes: Vec<(String, u32, Option<f64>)>,
}

impl ProcessCpu {
    pub fn now(processes: &[(String, u32)]) -> ProcessCpu {
        ProcessCpu {
            at: std::time::Instant::now(),
            machine: machine_busy_seconds(),
            processes: processes
                .iter()
                .map(|(name, pid)| (name.clone(), *pid, cpu_seconds(*pid)))
                .collect(),
        }
    }

    /// Since `self`: the machine's busy and available CPU seconds, and each
    /// process's (busiest first; those that used under 10 ms left out).
    pub fn since(&self) -> serde_json::Value {
        let end_machine = machine_busy_seconds();
        let wall = self.at.elapsed().as_secs_f64();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let r = |v: f64| (v * 1e3).round() / 1e3;
        let mut used: Vec<(String, f64)> = self
            .processes
            .iter()
            .filter_map(|(name, pid, before)| Some((name.clone(), cpu_seconds(*pid)? - (*before)?)))
            .filter(|(_, s)| *s >= 0.01)
            .collect();
        used.sort_by(|a, b| b.1.total_cmp(&a.1));
        serde_json::json!({
            "wall_seconds": r(wall),
            "available_seconds": r(wall * cores as f64),
            "machine_busy_seconds": self.machine.zip(end_machine).map(|(a, b)| r(b - a)),
            "by_process": used.into_iter().map(|(n, s)| serde_json::json!([n, r(s)])).collect::<Vec<_>>(),
        })
    }
}

/// Waits until the machine has been nearly idle (under a quarter of a core
/// busy) for two seconds running, or `within` has passed; returns the
/// seconds waited. After seeding, kwok keeps marking pods Ready for a while,
/// and a scenario measured meanwhile would measure kwok too.
pub async fn wait_quiet(within: Duration) -> f64 {
    let start = std::time::Instant::now();
    let mut quiet = 0;
    let mut last = machine_busy_seconds();
    while quiet < 2 && start.elapsed() < within {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = machine_busy_seconds();
        quiet = match (last, now) {
            (Some(a), Some(b)) if b - a < 0.25 => quiet + 1,
            (Some(_), Some(_)) => 0,
            _ => 2,
        };
        last = now;
    }
    start.elapsed().as_secs_f64()
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf reads a constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
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
    fn cpu_time_grows_with_work() {
        let me = std::process::id();
        let (a, m) = (cpu_seconds(me).unwrap(), machine_busy_seconds().unwrap());
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        let task = std::path::PathBuf::from(format!("/proc/{me}/task/{tid}"));
        let (own_at, thread) = (own_cpu(), on_cpu(&task).unwrap());
        // Spin until this process has 0.3 s of CPU more, however busy the
        // machine is (on a loaded machine 300 ms of wall time gave 0.13 s).
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while cpu_seconds(me).unwrap() - a < 0.3 && t.elapsed() < Duration::from_secs(30) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        let (b, n) = (cpu_seconds(me).unwrap(), machine_busy_seconds().unwrap());
        // The clock ticks at 100 Hz; the machine was busy at least as long.
        assert!(b - a >= 0.3, "{a} -> {b} in {:?}", t.elapsed());
        assert!(n - m >= 0.25, "{m} -> {n}");
        // The fine-grained clocks saw the same spin (within a tick of it).
        let own = (own_cpu() - own_at).as_secs_f64();
        // Other tests' threads share the process clock: spin this thread on.
        while on_cpu(&task).unwrap() - thread < 0.3 && t.elapsed() < Duration::from_secs(30) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        let thread_now = on_cpu(&task).unwrap();
        assert!(
            own >= 0.29 && own <= b - a + 0.05,
            "own {own}, ticks {}",
            b - a
        );
        assert!(thread_now - thread >= 0.3, "{thread} -> {thread_now}");
        let own_now = (own_cpu() - own_at).as_secs_f64();
        assert!(own_now >= thread_now - thread, "process {own_now} < thread");
        // The live threads' sum holds this one's.
        assert!(thread_cpu_seconds(me).unwrap() >= thread_now);
    }

    #[test]
    fn process_cpu_names_who_used_it() {
        let me = std::process::id();
        let procs = [("me".to_string(), me), ("gone".to_string(), u32::MAX)];
        let mark = ProcessCpu::now(&procs);
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while cpu_seconds(me).unwrap() - mark.processes[0].2.unwrap() < 0.1
            && t.elapsed() < Duration::from_secs(30)
        {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        let v = mark.since();
        let by = v["by_process"].as_array().unwrap();
        // A pid that is not there is left out, not counted as zero.
        assert_eq!(by.len(), 1, "{v}");
        assert_eq!(by[0][0], "me");
        assert!(by[0][1].as_f64().unwrap() >= 0.1, "{v}");
        let busy = v["machine_busy_seconds"].as_f64().unwrap();
        assert!(
            busy >= 0.05 && busy <= v["available_seconds"].as_f64().unwrap() + 0.05,
            "{v}"
        );
    }

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
