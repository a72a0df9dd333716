//! A program run the way a Deployment runs it: restarted when it exits,
//! killable at any moment, with one log across its lives (each life opens
//! with a marker line) and every exit recorded.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// Why a life ended.
#[derive(Debug, Clone)]
pub struct Exit {
    /// When it was seen (since the supervisor started).
    pub at: Duration,
    pub status: Option<ExitStatus>,
    /// Killed by the test (SIGKILL), not exited by itself.
    pub killed: bool,
}

pub struct Supervised {
    name: String,
    bin: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
    started: Instant,
    /// When the current life started.
    life_started: Instant,
    /// Lives in a row that ended within [`QUICK_EXIT`].
    quick_exits: u32,
    /// A restart waiting out its back-off.
    restart_at: Option<Instant>,
    pub exits: Vec<Exit>,
}

/// A life shorter than this counts towards the back-off, as a kubelet's
/// CrashLoopBackOff does (scaled down: 200 ms doubling to 3.2 s).
const QUICK_EXIT: Duration = Duration::from_secs(10);

/// The delay before restarting after `quick` quick exits in a row.
fn back_off(quick: u32) -> Duration {
    Duration::from_millis(100) * 2u32.pow(quick.clamp(1, 5))
}

impl Supervised {
    /// Starts `bin` with exactly `env` (nothing inherited but PATH), its
    /// stdout and stderr appended to `log`.
    pub fn start(
        name: &str,
        bin: &Path,
        args: &[String],
        env: &[(&str, &str)],
        log: &Path,
    ) -> Supervised {
        let mut s = Supervised {
            name: name.into(),
            bin: bin.into(),
            args: args.to_vec(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            log: log.into(),
            child: None,
            started: Instant::now(),
            life_started: Instant::now(),
            quick_exits: 0,
            restart_at: None,
            exits: vec![],
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("{}: {e}", self.log.display()));
        let _ = writeln!(
            file,
            "==== {} life {} ====",
            self.name,
            self.exits.len() + 1
        );
        let mut cmd = Command::new(&self.bin);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(
                file.try_clone()
                    .unwrap_or_else(|e| panic!("log handle: {e}")),
            )
            .stderr(file)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.bin.display()));
        self.child = Some(child);
        self.life_started = Instant::now();
        self.restart_at = None;
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Lives so far (1 + restarts).
    pub fn lives(&self) -> usize {
        self.exits.len() + usize::from(self.child.is_some())
    }

    /// SIGKILL, as the kernel's OOM killer or a node loss would; then starts
    /// it again at once (a restarting pod).
    pub async fn kill_and_restart(&mut self) {
        self.kill().await;
        self.spawn();
    }

    /// SIGKILL; not restarted.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .ok()
                .and_then(Result::ok);
            self.exits.push(Exit {
                at: self.started.elapsed(),
                status,
                killed: true,
            });
        }
    }

    /// Records an exit and restarts after a back-off, as a Deployment's
    /// pod would be; returns the exit when one was seen now.
    pub fn restart_if_exited(&mut self) -> Option<Exit> {
        if let Some(at) = self.restart_at {
            if Instant::now() >= at {
                self.spawn();
            }
            return None;
        }
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        let exit = Exit {
            at: self.started.elapsed(),
            status: Some(status),
            killed: false,
        };
        self.exits.push(exit.clone());
        self.quick_exits = match self.life_started.elapsed() < QUICK_EXIT {
            true => self.quick_exits + 1,
            false => 0,
        };
        self.restart_at = Some(Instant::now() + back_off(self.quick_exits));
        Some(exit)
    }

    /// Has the current life ended (without a restart)?
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok()?
    }

    /// Exits the program made by itself (not killed by the test).
    pub fn own_exits(&self) -> usize {
        self.exits.iter().filter(|e| !e.killed).count()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_caps() {
        let ms = |q| back_off(q).as_millis();
        assert_eq!(
            [ms(0), ms(1), ms(2), ms(5), ms(9)],
            [200, 200, 400, 3200, 3200]
        );
    }
}
