//! The server image of an endpoint and the image policy. Pure.
//!
//! The server runs under the endpoint's ServiceAccount, which may read
//! Secrets: an image of the endpoint creator's choosing would hold those
//! rights with none of the server's rules. So `spec.image` is accepted only
//! when the operator admin allowed it (`--allowed-images`); the operator's own
//! `--server-image` always is.

use crate::config::Config;
use crate::crd::McpEndpoint;

/// The image the endpoint asks for, if any (an empty string means none).
pub fn requested(ep: &McpEndpoint) -> Option<&str> {
    ep.spec.image.as_deref().filter(|i| !i.is_empty())
}

/// The image the endpoint's Deployment runs.
pub fn effective(ep: &McpEndpoint, cfg: &Config) -> String {
    requested(ep).unwrap_or(&cfg.server_image).to_string()
}

/// Whether `image` matches an allowlist entry: the same reference, or a
/// prefix given as an entry ending in `*`.
pub fn matches(image: &str, entry: &str) -> bool {
    match entry.strip_suffix('*') {
        Some(prefix) => image.starts_with(prefix),
        None => image == entry,
    }
}

/// Whether `image` may run: the operator's server image or an allowed one.
pub fn allowed(image: &str, cfg: &Config) -> bool {
    image == cfg.server_image
        || cfg
            .allowed_images
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
            .any(|e| matches(image, e))
}

/// Why `spec.image` is refused, or None when the endpoint may run its image.
pub fn refusal(ep: &McpEndpoint, cfg: &Config) -> Option<String> {
    let image = requested(ep)?;
    if allowed(image, cfg) {
        return None;
    }
    let list = if cfg.allowed_images.is_empty() {
        "only the operator's default image".to_string()
    } else {
        cfg.allowed_images.join(", ")
    };
    Some(format!(
        "spec.image {image:?} is not allowed by the operator's image policy (--allowed-images: {list}); \
         remove spec.image to run the default image {:?}, or ask the operator's admins to allow it",
        cfg.server_image
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::McpEndpointSpec;
    use crate::guard::tests::ep;

    fn cfg(allowed: &[&str]) -> Config {
        Config {
            server_image: "ghcr.io/kube-mcp/kube-mcp-server:1.0".into(),
            allowed_images: allowed.iter().map(|s| s.to_string()).collect(),
            ..Config::default()
        }
    }

    #[test]
    fn policy_table() {
        let corp = ["registry.example.com/kube-mcp/*", "ghcr.io/x/server:2"];
        // (allowlist, image, allowed?)
        let cases: &[(&[&str], &str, bool)] = &[
            (&[], "ghcr.io/kube-mcp/kube-mcp-server:1.0", true),
            (&[], "ghcr.io/kube-mcp/kube-mcp-server:1.1", false),
            (&[], "attacker.example/exfil", false),
            (&corp, "ghcr.io/kube-mcp/kube-mcp-server:1.0", true),
            (&corp, "registry.example.com/kube-mcp/server:3", true),
            (&corp, "registry.example.com/kube-mcp/a/b@sha256:00", true),
            (&corp, "registry.example.com/other/server:3", false),
            (&corp, "registry.example.com/kube-mcp", false),
            (&corp, "ghcr.io/x/server:2", true),
            (&corp, "ghcr.io/x/server:20", false),
            (&corp, "ghcr.io/x/server", false),
            (&["*"], "anything.example/at-all", true),
            (&[" ", ""], "attacker.example/exfil", false),
        ];
        for (list, image, want) in cases {
            assert_eq!(allowed(image, &cfg(list)), *want, "{list:?} {image}");
        }
    }

    #[test]
    fn refusal_says_what_to_do() {
        let with = |image: Option<&str>| {
            ep(
                "a",
                McpEndpointSpec {
                    image: image.map(String::from),
                    ..Default::default()
                },
            )
        };
        let c = cfg(&[]);
        assert_eq!(refusal(&with(None), &c), None);
        assert_eq!(
            refusal(&with(Some("")), &c),
            None,
            "empty means the default"
        );
        assert_eq!(effective(&with(Some("")), &c), c.server_image);
        let msg = refusal(&with(Some("attacker.example/exfil")), &c).unwrap();
        assert!(
            msg.contains("attacker.example/exfil") && msg.contains("remove spec.image"),
            "{msg}"
        );
        assert!(msg.contains("only the operator's default image"), "{msg}");
        assert_eq!(
            effective(&with(Some("attacker.example/exfil")), &c),
            "attacker.example/exfil"
        );
    }
}
