//! Screening of free-form kubectl flags and arguments (kubectl_generic): any
//! flag that would redirect the client to another API server, swap or reveal
//! credentials, impersonate, weaken TLS, read files outside the allowed
//! directory or write files is refused, naming the flag and the reason.

use super::ToolError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Why a flag (without leading dashes) is refused, or None when it is allowed.
pub fn danger(flag: &str) -> Option<&'static str> {
    let f = flag.trim_start_matches('-').to_ascii_lowercase();
    let f = f.split_once('=').map_or(f.as_str(), |(k, _)| k);
    Some(match f {
        "server" | "s" | "proxy-url" | "tls-server-name" | "cluster" => {
            "it would send the request to another API server than the one this server is configured for"
        }
        "kubeconfig" | "token" | "user" | "username" | "password" | "client-certificate"
        | "client-key" | "auth-provider" | "auth-provider-arg" | "exec-command" | "exec-arg"
        | "exec-env" | "exec-api-version" => "it would swap the credentials this server uses",
        "as" | "as-group" | "as-uid" | "as-user-extra" => "it would impersonate another identity",
        "context" => {
            "it would switch cluster credentials; use the tool's context argument, which this server checks"
        }
        "insecure-skip-tls-verify" | "certificate-authority" => {
            "it would change how the API server's certificate is verified"
        }
        "output-directory" | "log-file" | "log-dir" | "cache-dir" | "profile-output"
        | "log-file-max-size" | "alsologtostderr" => "it would write files on the server's host",
        "raw" => "raw API paths bypass resource and namespace checks",
        "proxy" | "port" | "address" | "accept-hosts" | "accept-paths" | "www" | "unix-socket" => {
            "it would open a proxy to the API server"
        }
        "kustomize" | "k" => "kustomize directories are not supported; pass a manifest",
        "template" | "template-file" => "templates read local files",
        _ => return None,
    })
}

/// Output formats that read a template file from the server's host.
fn output_reads_file(value: &str) -> bool {
    let v = value.to_ascii_lowercase();
    ["go-template-file", "templatefile", "jsonpath-file"]
        .iter()
        .any(|p| v.starts_with(p))
}

fn refuse(flag: &str, why: &str) -> ToolError {
    ToolError::Invalid(format!("flag {flag} is not allowed: {why}"))
}

/// Checks one flag with its value (if any).
fn check_one(flag: &str, value: Option<&str>, files_dir: Option<&Path>) -> Result<(), ToolError> {
    let shown = if flag.starts_with('-') {
        flag.to_string()
    } else if flag.len() == 1 {
        format!("-{flag}")
    } else {
        format!("--{flag}")
    };
    let name = flag.trim_start_matches('-').to_ascii_lowercase();
    let (name, inline) = match name.split_once('=') {
        Some((k, v)) => (k.to_string(), Some(v.to_string())),
        None => (name, None),
    };
    let value = inline.as_deref().or(value);
    if let Some(why) = danger(&name) {
        return Err(refuse(&shown, why));
    }
    match name.as_str() {
        "o" | "output" if value.is_some_and(output_reads_file) => Err(refuse(
            &shown,
            "template files are read from the server's host; use json, yaml, wide or name",
        )),
        "f" | "filename" => match value {
            Some(v) if v.starts_with("http://") || v.starts_with("https://") => Err(refuse(
                &shown,
                "remote manifests are not fetched; pass the manifest text",
            )),
            Some("-") => Err(refuse(
                &shown,
                "stdin is not available; pass the manifest text",
            )),
            Some(v) => super::files::resolve(files_dir, "filename", v).map(|_| ()),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Screens a flags map and positional arguments. Positional arguments that
/// look like flags (`-x`, `--x[=v]`) are screened too, taking the next
/// argument as their value when they carry none.
pub fn screen(
    flags: Option<&BTreeMap<String, Value>>,
    args: &[String],
    files_dir: Option<&Path>,
) -> Result<(), ToolError> {
    for (k, v) in flags.into_iter().flatten() {
        let value = match v {
            Value::String(s) => Some(s.clone()),
            Value::Null | Value::Bool(_) => None,
            other => Some(other.to_string()),
        };
        check_one(k, value.as_deref(), files_dir)?;
    }
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a.starts_with('-') && a.len() > 1 {
            let next = args.get(i + 1).filter(|n| !n.starts_with('-'));
            check_one(a, next.map(String::as_str), files_dir)?;
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flags(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn dangerous_flags_are_refused_with_a_reason() {
        let cases: &[(Value, &[&str], Option<&str>)] = &[
            (json!({"server": "https://evil"}), &[], Some("--server")),
            (json!({"s": "https://evil"}), &[], Some("-s")),
            (json!({"--kubeconfig": "/x"}), &[], Some("--kubeconfig")),
            (json!({"token": "t"}), &[], Some("--token")),
            (json!({"as": "admin"}), &[], Some("--as")),
            (
                json!({"as-group": "system:masters"}),
                &[],
                Some("--as-group"),
            ),
            (json!({"as-uid": "1"}), &[], Some("--as-uid")),
            (json!({"user": "u"}), &[], Some("--user")),
            (json!({"cluster": "c"}), &[], Some("--cluster")),
            (json!({"context": "c"}), &[], Some("--context")),
            (
                json!({"insecure-skip-tls-verify": true}),
                &[],
                Some("--insecure-skip-tls-verify"),
            ),
            (
                json!({"certificate-authority": "/ca"}),
                &[],
                Some("--certificate-authority"),
            ),
            (
                json!({"client-certificate": "/c"}),
                &[],
                Some("--client-certificate"),
            ),
            (json!({"client-key": "/k"}), &[], Some("--client-key")),
            (json!({"username": "u"}), &[], Some("--username")),
            (json!({"password": "p"}), &[], Some("--password")),
            (
                json!({"output-directory": "/tmp"}),
                &[],
                Some("--output-directory"),
            ),
            (json!({"raw": "/api"}), &[], Some("--raw")),
            (json!({"o": "go-template-file=/etc/x"}), &[], Some("-o")),
            (json!({}), &["--token=abc"], Some("--token=abc")),
            (json!({}), &["--as", "admin"], Some("--as")),
            (json!({}), &["-s", "https://evil"], Some("-s")),
            (json!({}), &["--filename", "/etc/passwd"], Some("")),
            (json!({"f": "https://x/y.yaml"}), &[], Some("-f")),
            (
                json!({"o": "json", "l": "app=x"}),
                &["web", "--selector=app=x"],
                None,
            ),
            (
                json!({"overwrite": true, "replicas": 3}),
                &["app=web"],
                None,
            ),
        ];
        for (f, args, refused) in cases {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            let r = screen(Some(&flags(f.clone())), &args, None);
            match refused {
                None => assert!(r.is_ok(), "{f} {args:?}: {r:?}"),
                Some(flag) => {
                    let e = r.expect_err(&format!("{f} {args:?}")).to_string();
                    assert!(e.contains(flag), "{e} should name {flag}");
                }
            }
        }
    }
}
