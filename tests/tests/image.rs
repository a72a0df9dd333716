//! The images `scripts/image` builds without Docker agree with the
//! Dockerfile users with Docker build from: user, entrypoint and command,
//! exposed port, labels, the binary's path and mode, and no shell; the
//! binary inside is static.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One entry of a tar archive.
struct Entry {
    mode: u32,
    uid: u64,
    kind: u8,
    link: String,
    data: Vec<u8>,
}

fn octal(field: &[u8]) -> u64 {
    let s = String::from_utf8_lossy(field);
    u64::from_str_radix(s.trim_matches(|c: char| c == '\0' || c == ' '), 8).unwrap_or(0)
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// The entries of an uncompressed tar (what scripts/image writes), by path
/// without a leading `./`.
fn untar(bytes: &[u8]) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    let mut at = 0;
    while at + 512 <= bytes.len() && bytes[at..at + 512].iter().any(|&b| b != 0) {
        let h = &bytes[at..at + 512];
        let size = octal(&h[124..136]) as usize;
        let name = format!("{}{}", cstr(&h[345..500]), cstr(&h[0..100]));
        let data = bytes[at + 512..at + 512 + size].to_vec();
        let name = name
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        out.insert(
            name,
            Entry {
                mode: octal(&h[100..108]) as u32,
                uid: octal(&h[108..116]),
                kind: h[156],
                link: cstr(&h[157..257]),
                data,
            },
        );
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}

struct Image {
    name: String,
    config: Value,
    files: BTreeMap<String, Entry>,
}

fn blob<'a>(tar: &'a BTreeMap<String, Entry>, digest: &str) -> &'a [u8] {
    let path = format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
    &tar.get(&path)
        .unwrap_or_else(|| panic!("{path} missing"))
        .data
}

fn load(path: &Path) -> Image {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let tar = untar(&bytes);
    let index: Value = serde_json::from_slice(&tar["index.json"].data).unwrap();
    let desc = &index["manifests"][0];
    let manifest: Value =
        serde_json::from_slice(blob(&tar, desc["digest"].as_str().unwrap())).unwrap();
    let config: Value =
        serde_json::from_slice(blob(&tar, manifest["config"]["digest"].as_str().unwrap())).unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "one layer");
    let files = untar(blob(&tar, layers[0]["digest"].as_str().unwrap()));
    Image {
        name: desc["annotations"]["io.containerd.image.name"]
            .as_str()
            .unwrap()
            .to_string(),
        config,
        files,
    }
}

/// What a Dockerfile stage declares.
#[derive(Default, Debug)]
struct Stage {
    labels: BTreeMap<String, String>,
    user: Option<String>,
    expose: Vec<String>,
    entrypoint: Option<Value>,
    cmd: Option<Value>,
    copy: Option<String>,
}

/// The Dockerfile's stages by name (continuation lines joined).
fn dockerfile_stages(text: &str) -> BTreeMap<String, Stage> {
    let joined = text.replace("\\\n", " ");
    let mut stages = BTreeMap::new();
    let mut current = String::new();
    for line in joined.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (inst, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        if inst == "FROM" {
            current = rest.rsplit(" AS ").next().unwrap_or_default().to_string();
            continue;
        }
        let stage: &mut Stage = stages.entry(current.clone()).or_default();
        match inst {
            "LABEL" => {
                for pair in rest.split("\" ") {
                    let (k, v) = pair.split_once('=').unwrap();
                    stage
                        .labels
                        .insert(k.trim().into(), v.trim_matches('"').into());
                }
            }
            "USER" => stage.user = Some(rest.into()),
            "EXPOSE" => stage.expose.push(rest.into()),
            "ENTRYPOINT" => stage.entrypoint = Some(serde_json::from_str(rest).unwrap()),
            "CMD" => stage.cmd = Some(serde_json::from_str(rest).unwrap()),
            "COPY" => stage.copy = rest.split_whitespace().last().map(String::from),
            _ => {}
        }
    }
    stages
}

/// True for an ELF executable with no program interpreter (statically linked).
fn is_static_elf(bytes: &[u8]) -> bool {
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap()) as usize;
    assert_eq!(&bytes[..5], b"\x7fELF\x02", "a 64-bit ELF");
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    const PT_INTERP: u32 = 3;
    !(0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap()) == PT_INTERP
    })
}

/// The image tars, built once per test process (scripts/image unless
/// `$KUBE_MCP_IMAGES` names them).
fn images_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        kube_mcp_tests::node::ensure_images().unwrap_or_else(|e| panic!("scripts/image: {e}"))
    })
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn images_agree_with_the_dockerfile() {
    let stages = dockerfile_stages(&std::fs::read_to_string(repo().join("Dockerfile")).unwrap());
    let runtime = &stages["runtime"];
    let dir = images_dir();
    let version = env!("CARGO_PKG_VERSION");
    for bin in ["kube-mcp-server", "kube-mcp-operator"] {
        let stage = &stages[bin];
        let img = load(&dir.join(format!("{bin}.tar")));
        let c = &img.config["config"];
        assert_eq!(img.name, format!("ghcr.io/kube-mcp/{bin}:{version}"));
        assert_eq!(
            c["User"],
            runtime.user.clone().unwrap().as_str(),
            "{bin}: USER"
        );
        assert_eq!(
            &c["Entrypoint"],
            stage.entrypoint.as_ref().unwrap(),
            "{bin}: ENTRYPOINT"
        );
        assert_eq!(
            c.get("Cmd").filter(|v| !v.is_null()),
            stage.cmd.as_ref(),
            "{bin}: CMD"
        );
        let ports: Vec<String> = c["ExposedPorts"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let want: Vec<String> = stage.expose.iter().map(|p| format!("{p}/tcp")).collect();
        assert_eq!(ports, want, "{bin}: EXPOSE");
        for (k, v) in runtime.labels.iter().chain(&stage.labels) {
            assert_eq!(c["Labels"][k], v.as_str(), "{bin}: LABEL {k}");
        }
        assert_eq!(c["Labels"]["org.opencontainers.image.version"], version);

        let path = stage.copy.clone().unwrap();
        assert_eq!(
            c["Entrypoint"][0],
            path.as_str(),
            "COPY puts the entrypoint there"
        );
        let exe = &img.files[path.trim_start_matches('/')];
        assert_eq!(
            (exe.mode & 0o7777, exe.uid),
            (0o555, 0),
            "--chmod=0555 --chown=0:0"
        );
        assert!(is_static_elf(&exe.data), "{bin} is statically linked");
        for shell in ["bin/sh", "bin/bash", "bin/busybox", "usr/bin/sh"] {
            assert!(!img.files.contains_key(shell), "{bin}: no shell ({shell})");
        }
        let passwd = String::from_utf8_lossy(&img.files["etc/passwd"].data).into_owned();
        assert!(passwd.contains("nonroot:x:65532:65532:"), "{passwd}");
        assert_eq!(img.files["tmp"].mode & 0o7777, 0o1777);
        assert_eq!(img.files["home/nonroot"].uid, 65532);
        assert!(img.files.contains_key("etc/ssl/certs/ca-certificates.crt"));
    }
}

#[test]
fn test_images_are_static_and_minimal() {
    let dir = images_dir();
    let pause = load(&dir.join("test/pause.tar"));
    assert_eq!(pause.name, kube_mcp_tests::node::PAUSE_IMAGE);
    assert!(is_static_elf(&pause.files["pause"].data));
    let busybox = load(&dir.join("test/busybox.tar"));
    assert_eq!(busybox.name, kube_mcp_tests::node::BUSYBOX_IMAGE);
    assert!(is_static_elf(&busybox.files["bin/busybox"].data));
    assert_eq!(busybox.files["bin/sh"].link, "busybox");
    assert_eq!(busybox.files["bin/sh"].kind, b'2', "a symlink");
}
