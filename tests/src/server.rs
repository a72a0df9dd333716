//! Runs the real kube-mcp-server binary over streamable HTTP on a free
//! loopback port, against the test control plane, and stops it on drop.

use crate::mcp::McpClient;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

pub struct ServerProcess {
    child: tokio::process::Child,
    pub port: u16,
    /// http://127.0.0.1:PORT
    pub base: String,
    /// http://127.0.0.1:PORT/mcp
    pub url: String,
    token: Option<String>,
    log: PathBuf,
    stdout: PathBuf,
    _dir: tempfile::TempDir,
}

/// A free loopback port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Whether process `pid` holds the socket listening on IPv4 TCP `port`
/// (Linux: the socket's inode from /proc/net/tcp among the process's fds).
fn listens_on(pid: u32, port: u16) -> bool {
    const LISTEN: &str = "0A";
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    let sockets: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f.get(1)?.rsplit_once(':')?.1;
            let inode = f.get(9)?;
            (u16::from_str_radix(local_port, 16).ok()? == port && *f.get(3)? == LISTEN)
                .then(|| format!("socket:[{inode}]"))
        })
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .is_ok_and(|target| sockets.iter().any(|s| target.as_os_str() == s.as_str()))
    })
}

const CLUSTER_SOURCES: &[&str] = &[
    "KUBECONFIG_YAML",
    "KUBECONFIG_JSON",
    "K8S_SERVER",
    "KUBECONFIG_PATH",
    "KUBECONFIG",
];

impl ServerProcess {
    /// Starts `bin` with `env` on top of: streamable HTTP, HOST=127.0.0.1, a
    /// free PORT, and the test cluster's admin kubeconfig unless `env` names
    /// another cluster source. The parent environment is not inherited
    /// (beyond PATH and HOME) so a developer's KUBECONFIG cannot leak in.
    pub async fn start(bin: &Path, env: &[(&str, &str)]) -> ServerProcess {
        // A port found free can be taken before the server binds it (another
        // test's server or control plane picks the same one): try another.
        for _ in 0..4 {
            match Self::start_once(bin, env).await {
                Ok(server) => return server,
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("kube-mcp-server did not become healthy; log:\n{log}"),
            }
        }
        panic!("kube-mcp-server found no free port in 4 tries")
    }

    async fn start_once(bin: &Path, env: &[(&str, &str)]) -> Result<ServerProcess, String> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let log = dir.path().join("server.log");
        let stdout = dir.path().join("stdout.log");
        let port = free_port();
        let mut cmd = tokio::process::Command::new(bin);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("RUST_LOG", "info")
            .env("ENABLE_UNSAFE_STREAMABLE_HTTP_TRANSPORT", "true")
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string());
        if !env.iter().any(|(k, _)| CLUSTER_SOURCES.contains(k)) {
            cmd.env("KUBECONFIG_PATH", crate::cluster().kubeconfig_path());
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("log file: {e}"));
        let out = std::fs::File::create(&stdout).unwrap_or_else(|e| panic!("stdout file: {e}"));
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(file)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let token = env
            .iter()
            .find(|(k, _)| *k == "MCP_AUTH_TOKEN")
            .map(|(_, v)| v.to_string());
        let base = format!("http://127.0.0.1:{port}");
        let mut server = ServerProcess {
            child,
            port,
            url: format!("{base}/mcp"),
            base,
            token,
            log,
            stdout,
            _dir: dir,
        };
        server.wait_healthy(Duration::from_secs(20)).await?;
        Ok(server)
    }

    /// Waits until this process listens on its port and /health answers; on
    /// failure (the process exited, or the time ran out) returns the
    /// server's log. /health alone is not enough: when another test's server
    /// holds the port, it answers while this one fails to bind, and the test
    /// would talk to a server that goes away with that test. The socket is
    /// looked up in /proc rather than in the log, which says nothing at the
    /// `RUST_LOG=warn` the benchmark runs with.
    async fn wait_healthy(&mut self, within: Duration) -> Result<(), String> {
        let start = Instant::now();
        let http = reqwest::Client::new();
        while start.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("(exited: {status})\n{}", self.log()));
            }
            if self
                .child
                .id()
                .is_some_and(|pid| listens_on(pid, self.port))
                && let Ok(r) = http.get(format!("{}/health", self.base)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("(not healthy in {within:?})\n{}", self.log()))
    }

    /// A connected MCP client carrying the server's token (if it has one).
    pub async fn client(&self) -> McpClient {
        McpClient::connect(&self.url, self.token.as_deref())
            .await
            .unwrap_or_else(|e| panic!("MCP connect failed: {e}; log:\n{}", self.log()))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What the server wrote to stdout (over HTTP: its audit records).
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub async fn terminate(mut self) -> Option<std::process::ExitStatus> {
        self.stop().await
    }

    /// Sends SIGTERM, waits, and returns the exit status and the whole log
    /// (which goes away with the server's temporary directory).
    pub async fn terminate_with_log(mut self) -> (Option<std::process::ExitStatus>, String) {
        let status = self.stop().await;
        (status, self.log())
    }

    async fn stop(&mut self) -> Option<std::process::ExitStatus> {
        if let Some(pid) = self.child.id() {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }
}

#[cfg(test)]
mod tests {
    use super::listens_on;

    #[test]
    fn a_listening_socket_is_found_under_its_process_only() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(listens_on(std::process::id(), port));
        // PID 1 does not hold this test's socket.
        assert!(!listens_on(1, port));
        drop(listener);
        assert!(!listens_on(std::process::id(), port));
    }
}
