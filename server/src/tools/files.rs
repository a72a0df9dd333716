//! The one directory file arguments (filename, valuesFile, patchFile,
//! fromFile) may point into: KUBE_MCP_FILES_DIR. Paths are canonicalized, so
//! `..` and symlinks cannot lead out of it.

use super::ToolError;
use std::path::{Path, PathBuf};

/// Where `path` (absolute, or relative to the allowed directory) really is,
/// refused unless it lies inside `dir`. `arg` names the argument in errors.
pub fn resolve(dir: Option<&Path>, arg: &str, path: &str) -> Result<PathBuf, ToolError> {
    let Some(dir) = dir else {
        return Err(ToolError::Invalid(format!(
            "{arg} {path:?} refused: this server reads no files unless KUBE_MCP_FILES_DIR names a directory for them; \
             pass the content inline instead (manifest, patchData, values, fromFileContent)"
        )));
    };
    let root = dir.canonicalize().map_err(|e| {
        ToolError::Invalid(format!(
            "the allowed files directory {} cannot be used: {e}",
            dir.display()
        ))
    })?;
    let wanted = Path::new(path);
    let joined = if wanted.is_absolute() {
        wanted.to_path_buf()
    } else {
        root.join(wanted)
    };
    let outside = || {
        ToolError::Invalid(format!(
            "{arg} {path:?} refused: it resolves outside the allowed directory {} (KUBE_MCP_FILES_DIR)",
            root.display()
        ))
    };
    // Decided on the path's text first, so a path outside gets the same
    // answer whether or not something exists there.
    if !lexically_normal(&joined).starts_with(&root) {
        return Err(outside());
    }
    let real = joined.canonicalize().map_err(|e| {
        ToolError::Invalid(format!(
            "{arg} {path:?} cannot be read: {e} (paths are relative to the allowed directory {})",
            root.display()
        ))
    })?;
    if !real.starts_with(&root) {
        return Err(outside());
    }
    Ok(real)
}

/// `p` with `.` and `..` resolved on its text alone (no symlinks followed).
fn lexically_normal(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Reads a file inside the allowed directory as UTF-8 text, up to `max` bytes.
pub async fn read(dir: Option<&Path>, arg: &str, path: &str) -> Result<String, ToolError> {
    const MAX: u64 = 8 * 1024 * 1024;
    let real = resolve(dir, arg, path)?;
    let meta = tokio::fs::metadata(&real)
        .await
        .map_err(|e| ToolError::Invalid(format!("{arg} {path:?} cannot be read: {e}")))?;
    if !meta.is_file() {
        return Err(ToolError::Invalid(format!("{arg} {path:?} is not a file")));
    }
    if meta.len() > MAX {
        return Err(ToolError::Invalid(format!(
            "{arg} {path:?} is {} bytes; the limit is {MAX}",
            meta.len()
        )));
    }
    let bytes = tokio::fs::read(&real)
        .await
        .map_err(|e| ToolError::Invalid(format!("{arg} {path:?} cannot be read: {e}")))?;
    String::from_utf8(bytes)
        .map_err(|_| ToolError::Invalid(format!("{arg} {path:?} is not UTF-8 text")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_outside_and_escapes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("allowed");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("a.yaml"), "x").unwrap();
        std::fs::write(tmp.path().join("outside.yaml"), "x").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside.yaml"), dir.join("link.yaml")).unwrap();
        let d = Some(dir.as_path());
        let abs = dir.join("a.yaml");
        let cases: &[(&str, bool)] = &[
            ("a.yaml", true),
            (abs.to_str().unwrap(), true),
            ("../outside.yaml", false),
            ("link.yaml", false),
            ("/etc/passwd", false),
            ("missing.yaml", false),
        ];
        for (path, ok) in cases {
            assert_eq!(resolve(d, "filename", path).is_ok(), *ok, "{path}");
        }
        let err = resolve(None, "filename", "a.yaml").unwrap_err().to_string();
        assert!(err.contains("KUBE_MCP_FILES_DIR"), "{err}");
        let err = resolve(d, "filename", "../outside.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("outside the allowed directory"), "{err}");
    }

    #[test]
    fn outside_paths_answer_alike_whether_or_not_they_exist() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("allowed");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(tmp.path().join("there.yaml"), "x").unwrap();
        let d = Some(dir.as_path());
        let msg = |p: &str| {
            resolve(d, "filename", p)
                .unwrap_err()
                .to_string()
                .replace(p, "<path>")
        };
        assert_eq!(msg("../there.yaml"), msg("../not-there.yaml"));
        assert_eq!(msg("/etc/passwd"), msg("/etc/no-such-file"));
        assert_eq!(msg("/etc/passwd"), msg("../there.yaml"));
    }
}
