//! Each MCP client's configuration for one endpoint: what `connect` prints,
//! and the merge of that entry into the client's file (`--write`), keeping
//! everything else in the file.

use serde_json::{Map, Value, json};

/// The header the server reads the token from (docs/server.md).
pub const TOKEN_HEADER: &str = "X-MCP-AUTH";

/// Stands in for the token when the caller may not read it.
pub const PLACEHOLDER: &str = "<token>";

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// Claude Code: `claude mcp add` and the project's .mcp.json.
    Claude,
    /// VS Code: .vscode/mcp.json.
    Vscode,
    /// OpenAI Codex CLI: ~/.codex/config.toml.
    Codex,
    /// Gemini CLI: ~/.gemini/settings.json.
    Gemini,
}

impl ClientKind {
    /// The file the entry belongs in (what `--write` is usually given).
    pub fn file(self) -> &'static str {
        match self {
            ClientKind::Claude => ".mcp.json",
            ClientKind::Vscode => ".vscode/mcp.json",
            ClientKind::Codex => "~/.codex/config.toml",
            ClientKind::Gemini => "~/.gemini/settings.json",
        }
    }
}

/// One server entry: its name in the client, the local URL, and the token
/// header's value (None: no header, `--no-token`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub url: String,
    pub token: Option<String>,
}

impl Entry {
    fn headers(&self) -> Option<Value> {
        self.token
            .as_ref()
            .map(|t| json!({ TOKEN_HEADER: t.as_str() }))
    }

    /// The entry's JSON object in the client's dialect.
    fn json(&self, kind: ClientKind) -> Value {
        let mut obj = Map::new();
        match kind {
            // Gemini CLI names the streamable HTTP URL `httpUrl` (`url` is SSE there).
            ClientKind::Gemini => {
                obj.insert("httpUrl".into(), json!(self.url));
            }
            _ => {
                obj.insert("type".into(), json!("http"));
                obj.insert("url".into(), json!(self.url));
            }
        }
        if let Some(h) = self.headers() {
            obj.insert("headers".into(), h);
        }
        Value::Object(obj)
    }

    fn toml_table(&self) -> toml_edit::Table {
        let mut t = toml_edit::Table::new();
        t["url"] = toml_edit::value(self.url.as_str());
        if let Some(token) = &self.token {
            let mut h = toml_edit::InlineTable::new();
            h.insert(TOKEN_HEADER, token.as_str().into());
            t["http_headers"] = toml_edit::value(h);
        }
        t
    }
}

/// Top-level key of the server map in a JSON client file.
fn json_key(kind: ClientKind) -> &'static str {
    match kind {
        ClientKind::Vscode => "servers",
        _ => "mcpServers",
    }
}

/// What `connect` prints for `kind`.
pub fn render(kind: ClientKind, e: &Entry) -> String {
    match kind {
        ClientKind::Claude => {
            let mut cmd = format!("claude mcp add --transport http {} {}", e.name, e.url);
            if let Some(t) = &e.token {
                cmd.push_str(&format!(" --header \"{TOKEN_HEADER}: {t}\""));
            }
            format!(
                "# Claude Code: run\n{cmd}\n\n# or put this in {}:\n{}",
                kind.file(),
                file_text(kind, e)
            )
        }
        _ => format!("# {}:\n{}", kind.file(), file_text(kind, e)),
    }
}

/// The whole file holding only this entry.
fn file_text(kind: ClientKind, e: &Entry) -> String {
    // Merging into nothing cannot fail.
    merge(kind, "", e).unwrap_or_default()
}

/// `existing` (a client file's text, possibly empty) with the entry added or
/// replaced; everything else in it stays. Err says what is wrong with the file.
pub fn merge(kind: ClientKind, existing: &str, e: &Entry) -> Result<String, String> {
    match kind {
        ClientKind::Codex => merge_toml(existing, e),
        _ => merge_json(kind, existing, e),
    }
}

fn merge_json(kind: ClientKind, existing: &str, e: &Entry) -> Result<String, String> {
    let mut doc: Value = if existing.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(existing).map_err(|err| format!("not valid JSON: {err}"))?
    };
    let key = json_key(kind);
    let root = doc
        .as_object_mut()
        .ok_or("the file's top level is not a JSON object")?;
    let servers = root.entry(key).or_insert_with(|| json!({}));
    let servers = servers
        .as_object_mut()
        .ok_or_else(|| format!("{key:?} is not a JSON object"))?;
    servers.insert(e.name.clone(), e.json(kind));
    let mut text = serde_json::to_string_pretty(&doc).map_err(|err| err.to_string())?;
    text.push('\n');
    Ok(text)
}

fn merge_toml(existing: &str, e: &Entry) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = existing
        .parse()
        .map_err(|err| format!("not valid TOML: {err}"))?;
    let servers = doc
        .entry("mcp_servers")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            // `[mcp_servers.<name>]` headers only, no empty `[mcp_servers]`.
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_mut()
        .ok_or("mcp_servers is not a table")?;
    servers.insert(&e.name, toml_edit::Item::Table(e.toml_table()));
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(token: Option<&str>) -> Entry {
        Entry {
            name: "ops".into(),
            url: "http://127.0.0.1:4000/mcp".into(),
            token: token.map(String::from),
        }
    }

    #[test]
    fn renders_each_client() {
        let cases = [
            (
                ClientKind::Claude,
                Some("s3cr3t"),
                "# Claude Code: run\n\
                 claude mcp add --transport http ops http://127.0.0.1:4000/mcp --header \"X-MCP-AUTH: s3cr3t\"\n\n\
                 # or put this in .mcp.json:\n\
                 {\n  \"mcpServers\": {\n    \"ops\": {\n      \"headers\": {\n        \"X-MCP-AUTH\": \"s3cr3t\"\n      },\n      \
                 \"type\": \"http\",\n      \"url\": \"http://127.0.0.1:4000/mcp\"\n    }\n  }\n}\n",
            ),
            (
                ClientKind::Claude,
                None,
                "# Claude Code: run\n\
                 claude mcp add --transport http ops http://127.0.0.1:4000/mcp\n\n\
                 # or put this in .mcp.json:\n\
                 {\n  \"mcpServers\": {\n    \"ops\": {\n      \"type\": \"http\",\n      \"url\": \"http://127.0.0.1:4000/mcp\"\n    }\n  }\n}\n",
            ),
            (
                ClientKind::Vscode,
                Some("s3cr3t"),
                "# .vscode/mcp.json:\n\
                 {\n  \"servers\": {\n    \"ops\": {\n      \"headers\": {\n        \"X-MCP-AUTH\": \"s3cr3t\"\n      },\n      \
                 \"type\": \"http\",\n      \"url\": \"http://127.0.0.1:4000/mcp\"\n    }\n  }\n}\n",
            ),
            (
                ClientKind::Codex,
                Some("s3cr3t"),
                "# ~/.codex/config.toml:\n\
                 [mcp_servers.ops]\n\
                 url = \"http://127.0.0.1:4000/mcp\"\n\
                 http_headers = { X-MCP-AUTH = \"s3cr3t\" }\n",
            ),
            (
                ClientKind::Codex,
                None,
                "# ~/.codex/config.toml:\n[mcp_servers.ops]\nurl = \"http://127.0.0.1:4000/mcp\"\n",
            ),
            (
                ClientKind::Gemini,
                Some(PLACEHOLDER),
                "# ~/.gemini/settings.json:\n\
                 {\n  \"mcpServers\": {\n    \"ops\": {\n      \"headers\": {\n        \"X-MCP-AUTH\": \"<token>\"\n      },\n      \
                 \"httpUrl\": \"http://127.0.0.1:4000/mcp\"\n    }\n  }\n}\n",
            ),
        ];
        for (kind, token, want) in cases {
            assert_eq!(render(kind, &entry(token)), want, "{kind:?} {token:?}");
        }
    }

    #[test]
    fn merging_keeps_what_is_there() {
        let json_before = r#"{"theme": "dark", "mcpServers": {"other": {"command": "x"}, "ops": {"url": "old"}}}"#;
        let got: Value = serde_json::from_str(
            &merge(ClientKind::Gemini, json_before, &entry(Some("t"))).unwrap(),
        )
        .unwrap();
        assert_eq!(got["theme"], "dark");
        assert_eq!(got["mcpServers"]["other"]["command"], "x");
        assert_eq!(
            got["mcpServers"]["ops"]["httpUrl"],
            "http://127.0.0.1:4000/mcp"
        );
        assert_eq!(
            got["mcpServers"]["ops"].get("url"),
            None,
            "the old entry is replaced"
        );

        let toml_before =
            "# my settings\nmodel = \"o3\"\n\n[mcp_servers.other]\ncommand = \"x\" # keep me\n";
        let got = merge(ClientKind::Codex, toml_before, &entry(Some("t"))).unwrap();
        assert_eq!(
            got,
            "# my settings\nmodel = \"o3\"\n\n[mcp_servers.other]\ncommand = \"x\" # keep me\n\n\
             [mcp_servers.ops]\nurl = \"http://127.0.0.1:4000/mcp\"\nhttp_headers = { X-MCP-AUTH = \"t\" }\n"
        );
    }

    #[test]
    fn a_file_that_cannot_hold_the_entry_is_refused_saying_why() {
        let cases = [
            (
                ClientKind::Vscode,
                "[1, 2]",
                "top level is not a JSON object",
            ),
            (
                ClientKind::Vscode,
                "{\"servers\": []}",
                "\"servers\" is not a JSON object",
            ),
            (ClientKind::Claude, "{nope", "not valid JSON"),
            (
                ClientKind::Codex,
                "mcp_servers = 3",
                "mcp_servers is not a table",
            ),
            (ClientKind::Codex, "[[x", "not valid TOML"),
        ];
        for (kind, text, want) in cases {
            let err = merge(kind, text, &entry(None)).unwrap_err();
            assert!(err.contains(want), "{kind:?} {text:?}: {err}");
        }
    }
}
