//! Faults a reliability test injects into a control plane it started
//! itself: a component restarted on the same port and data, or frozen
//! (SIGSTOP) and thawed. An attached cluster (`attach`) has no processes
//! here, so every fault on it is an error, never a fault on someone's
//! shared cluster.

use std::time::{Duration, Instant};

use super::{ControlPlane, Error, Proc, io_err};

/// How long a stopped component may take to exit before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// Bound on a restarted API server becoming ready again.
const READY_WITHIN: Duration = Duration::from_secs(90);

impl ControlPlane {
    fn component(&self, name: &str) -> Result<&Proc, Error> {
        let running = self.running.as_ref().ok_or_else(|| not_owned(name))?;
        running
            .procs
            .iter()
            .rev()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::State(format!("no component {name:?} in this control plane")))
    }

    /// The process id of a running component (`etcd`, `kube-apiserver`, ...).
    pub fn component_pid(&self, name: &str) -> Result<u32, Error> {
        Ok(self.component(name)?.child.id())
    }

    /// Freezes a component (SIGSTOP): it holds its sockets but answers nothing.
    pub fn pause(&self, name: &str) -> Result<(), Error> {
        self.signal(name, libc::SIGSTOP)
    }

    /// Thaws a component [`Self::pause`] froze (SIGCONT).
    pub fn resume(&self, name: &str) -> Result<(), Error> {
        self.signal(name, libc::SIGCONT)
    }

    fn signal(&self, name: &str, sig: libc::c_int) -> Result<(), Error> {
        let pid = self.component_pid(name)? as i32;
        // SAFETY: plain kill(2) on a child this control plane started.
        if unsafe { libc::kill(pid, sig) } != 0 {
            return Err(io_err(format!("signalling {name} (pid {pid})"))(
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Stops a component (SIGTERM, SIGKILL after a grace period) and starts
    /// it again with the same arguments: same port, certificates and data.
    /// For `kube-apiserver`, returns once `/readyz` answers `ok` again.
    /// Returns how long the component was down.
    pub async fn restart(&mut self, name: &str) -> Result<Duration, Error> {
        let down_at = Instant::now();
        let (args, pgid, detached) = {
            let running = self.running.as_mut().ok_or_else(|| not_owned(name))?;
            let (pgid, detached) = (running.pgid, running.detached);
            let proc = running
                .procs
                .iter_mut()
                .rev()
                .find(|p| p.name == name)
                .ok_or_else(|| {
                    Error::State(format!("no component {name:?} in this control plane"))
                })?;
            stop(proc).await;
            (proc.args.clone(), pgid, detached)
        };
        let fresh = self.spawn(name, &args, pgid, detached)?;
        if let Some(running) = self.running.as_mut()
            && let Some(slot) = running.procs.iter_mut().rev().find(|p| p.name == name)
        {
            *slot = fresh;
        }
        self.write_state()?;
        if name == "kube-apiserver" {
            self.wait_ready(down_at, Instant::now() + READY_WITHIN)
                .await?;
        }
        Ok(down_at.elapsed())
    }
}

fn not_owned(name: &str) -> Error {
    Error::State(format!(
        "cannot inject a fault into {name}: this control plane was attached to, not started by this process"
    ))
}

/// SIGTERM, then SIGKILL after [`STOP_GRACE`]; waits for the exit. A
/// frozen process is thawed first, or SIGTERM would wait for ever.
async fn stop(proc: &mut Proc) {
    let pid = proc.child.id() as i32;
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(pid, libc::SIGCONT);
        libc::kill(pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if !matches!(proc.child.try_wait(), Ok(None)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = proc.child.kill();
    let _ = proc.child.wait();
}
