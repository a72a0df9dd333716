//! Where audit records go: one JSON object a line on stdout, stderr, or a
//! file rotated by size to `<file>.1` (one rotated file is kept).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot open the audit file {path} (KUBE_MCP_AUDIT_FILE): {source}; point it at a writable file, or leave it unset for stdout"
)]
pub struct SinkError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

pub enum Sink {
    Stdout,
    /// With the stdio transport, whose messages own stdout.
    Stderr,
    File(Mutex<Rotating>),
    /// Nowhere (a handler built without an audit log).
    Discard,
}

/// A file that moves to `<file>.1` before it would pass `max` bytes.
pub struct Rotating {
    path: PathBuf,
    max: u64,
    file: File,
    size: u64,
}

fn open(path: &Path) -> std::io::Result<File> {
    // Records name resources and callers: readable by the server's user only.
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

impl Rotating {
    pub fn open(path: PathBuf, max: u64) -> Result<Self, SinkError> {
        let file = open(&path).map_err(|source| SinkError {
            path: path.clone(),
            source,
        })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Self {
            path,
            max: max.max(1),
            file,
            size,
        })
    }

    pub fn rotated_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".1");
        p.into()
    }

    fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        if self.size > 0 && self.size + line.len() as u64 > self.max {
            std::fs::rename(&self.path, self.rotated_path())?;
            self.file = open(&self.path)?;
            self.size = 0;
        }
        self.file.write_all(line)?;
        self.size += line.len() as u64;
        Ok(())
    }
}

impl Sink {
    /// Writes one record; a failure is logged once until writes work again.
    pub fn write(&self, line: &[u8], failing: &AtomicBool) {
        let result = match self {
            Sink::Stdout => std::io::stdout().lock().write_all(line),
            Sink::Stderr => std::io::stderr().lock().write_all(line),
            Sink::File(f) => f.lock().unwrap_or_else(|e| e.into_inner()).write_line(line),
            Sink::Discard => Ok(()),
        };
        match result {
            Ok(()) => {
                if failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("audit records are written again");
                }
            }
            Err(e) => {
                if !failing.swap(true, Ordering::Relaxed) {
                    tracing::error!(error = %e, "cannot write audit records; records are lost until this is fixed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_before_passing_the_limit_and_keeps_one_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let sink = Sink::File(Mutex::new(Rotating::open(path.clone(), 25).unwrap()));
        let failing = AtomicBool::new(false);
        for i in 0..5 {
            sink.write(format!("record number {i}\n").as_bytes(), &failing);
        }
        let now = std::fs::read_to_string(&path).unwrap();
        let old = std::fs::read_to_string(dir.path().join("audit.log.1")).unwrap();
        assert_eq!(now, "record number 4\n");
        assert_eq!(old, "record number 3\n");
        assert!(!failing.load(Ordering::Relaxed));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn an_unwritable_path_is_a_start_up_error_naming_it() {
        let err = Rotating::open("/nonexistent-dir/audit.log".into(), 10)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("/nonexistent-dir/audit.log") && err.contains("KUBE_MCP_AUDIT_FILE"),
            "{err}"
        );
    }
}
