//! kubectl_get: any kind, by any of its names, through discovery.
//!
//! Lists are fetched in pages (`limit` + `continue`) and rendered as they
//! arrive; fetching stops once the output reaches the byte bound, and the
//! output says how many items it shows and how to narrow the request.
use super::{Ctx, ToolError, ToolResult};
use crate::discovery::{DiscoveryError, Resource};
use crate::format::jsonpath::{self, Path};
use crate::format::table::{Row, ServerTable, Table, TablePage};
use crate::format::{self, age, describe};
use kube::Client;
use kube::api::{DynamicObject, ListParams};
use kube::core::Request;
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Type of resource to get (e.g., pods, deploy, svc, mcpe, or a CRD's plural/kind/short name)
    pub resource_type: String,
    /// Name of the resource (optional - if not provided, lists all resources of the specified type)
    pub name: Option<String>,
    /// Namespace of the resource (optional - defaults to the server's default namespace)
    pub namespace: Option<String>,
    /// Output format: json (default), yaml, wide, name, table or custom
    pub output: Option<String>,
    /// If true, list across all namespaces in this server's scope
    #[serde(default)]
    pub all_namespaces: bool,
    /// Filter resources by label selector (e.g. 'app=nginx')
    pub label_selector: Option<String>,
    /// Filter resources by field selector (e.g. 'metadata.name=my-pod')
    pub field_selector: Option<String>,
    /// Sort by a JSONPath-like field (e.g. '.metadata.creationTimestamp'); events sort by time by default
    pub sort_by: Option<String>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

const TOOL: ToolId = ToolId::KubectlGet;

/// Items per list request.
pub const PAGE_SIZE: u32 = 500;

/// The Accept header that makes the API server answer with a Table.
pub const ACCEPT_TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/// What each row of a Table answer carries besides its cells
/// (`includeObject`): the less, the less the API server encodes and we parse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TableRows {
    /// Cells only (`includeObject=None`): what a plain table prints.
    Cells,
    /// The object's metadata (the API's default): for a namespace column or a sort by metadata.
    Metadata,
    /// The whole object: for a sort by any other field.
    Object,
}

/// Where the columns of a custom output come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Path(Path),
    /// The age of `.metadata.creationTimestamp`.
    Age,
}

/// What the caller asked to see.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Json,
    Yaml,
    Name,
    Table { wide: bool },
    Custom(Vec<(String, Column)>),
}

impl Output {
    pub fn parse(text: Option<&str>, namespaced: bool) -> Result<Output, ToolError> {
        let t = text.map(str::trim).unwrap_or_default();
        let bad = |reason: String| ToolError::InvalidArgs { tool: TOOL, reason };
        Ok(match t {
            "" | "json" => Output::Json,
            "yaml" => Output::Yaml,
            "name" => Output::Name,
            "wide" => Output::Table { wide: true },
            "table" | "default" => Output::Table { wide: false },
            "custom" => {
                let mut cols = vec![(
                    "NAME".to_string(),
                    Column::Path(Path::parse(".metadata.name").map_err(bad)?),
                )];
                if namespaced {
                    cols.push((
                        "NAMESPACE".into(),
                        Column::Path(Path::parse(".metadata.namespace").map_err(bad)?),
                    ));
                }
                cols.push(("AGE".into(), Column::Age));
                Output::Custom(cols)
            }
            _ => {
                let Some(spec) = t.strip_prefix("custom-columns=") else {
                    return Err(bad(format!(
                        "unknown output {t:?}; use json, yaml, name, wide, table, custom or custom-columns=NAME:.metadata.name,..."
                    )));
                };
                Output::Custom(custom_columns(spec).map_err(bad)?)
            }
        })
    }
}

/// `NAME:.metadata.name,AGE:.metadata.creationTimestamp` (an AGE column
/// on the creation timestamp prints the age, as users expect).
pub fn custom_columns(spec: &str) -> Result<Vec<(String, Column)>, String> {
    let mut cols = vec![];
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, path) = part
            .split_once(':')
            .ok_or_else(|| format!("custom column {part:?} must look like NAME:.json.path"))?;
        let col = if name.eq_ignore_ascii_case("age")
            && path.trim_matches(['{', '}']) == ".metadata.creationTimestamp"
        {
            Column::Age
        } else {
            Column::Path(Path::parse(path)?)
        };
        cols.push((name.to_string(), col));
    }
    if cols.is_empty() {
        return Err("custom-columns needs at least one NAME:.json.path".into());
    }
    Ok(cols)
}

/// One custom-columns row of an object.
pub fn custom_row(cols: &[(String, Column)], obj: &Value, now: jiff::Timestamp) -> Row {
    cols.iter()
        .map(|(_, c)| match c {
            Column::Path(p) => p.cell(obj),
            Column::Age => obj
                .pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str)
                .map(|t| age::since(t, now))
                .unwrap_or_else(|| "<none>".into()),
        })
        .collect()
}

/// `kind.group/name`, as `kubectl get -o name` prints it.
pub fn name_line(r: &Resource, obj: &Value) -> String {
    let kind = r.api.kind.to_ascii_lowercase();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if r.api.group.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}.{}/{name}", r.api.group)
    }
}

/// The seed's one-word status of an object in a JSON list summary.
pub fn status_of(obj: &Value) -> String {
    let status = obj.get("status");
    if let Some(phase) = status.and_then(|s| s.get("phase")).and_then(Value::as_str) {
        return phase.to_string();
    }
    if let Some(s) =
        status.filter(|s| s.get("readyReplicas").is_some() || s.get("replicas").is_some())
    {
        let n = |k: &str| s.get(k).and_then(Value::as_i64).unwrap_or(0);
        return format!("{}/{} ready", n("readyReplicas"), n("replicas"));
    }
    if let Some(t) = obj.pointer("/spec/type").and_then(Value::as_str) {
        return t.to_string();
    }
    if let Some(ready) = status
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|c| {
            c.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
        })
    {
        let ok = ready.get("status").and_then(Value::as_str) == Some("True");
        return if ok { "Ready" } else { "NotReady" }.into();
    }
    "Active".into()
}

/// The seed's JSON list entry of an object (events get their own shape).
pub fn summary(r: &Resource, obj: &Value) -> Value {
    let s = |p: &str| obj.pointer(p).cloned().unwrap_or(json!(""));
    if is_event(r) {
        return json!({
            "type": s("/type"),
            "reason": s("/reason"),
            "message": obj.get("message").or_else(|| obj.get("note")).cloned().unwrap_or(json!("")),
            "involvedObject": {
                "kind": obj.pointer("/involvedObject/kind").or_else(|| obj.pointer("/regarding/kind")).cloned().unwrap_or(json!("")),
                "name": obj.pointer("/involvedObject/name").or_else(|| obj.pointer("/regarding/name")).cloned().unwrap_or(json!("")),
                "namespace": obj.pointer("/involvedObject/namespace").or_else(|| obj.pointer("/regarding/namespace")).cloned().unwrap_or(json!("")),
            },
            "firstTimestamp": s("/firstTimestamp"),
            "lastTimestamp": json!(describe::event_time(obj)),
            "count": obj.get("count").or_else(|| obj.pointer("/series/count")).cloned().unwrap_or(json!(1)),
        });
    }
    json!({
        "name": s("/metadata/name"),
        "namespace": s("/metadata/namespace"),
        "kind": r.api.kind,
        "status": status_of(obj),
        "createdAt": obj.pointer("/metadata/creationTimestamp").cloned().unwrap_or(Value::Null),
    })
}

pub fn is_event(r: &Resource) -> bool {
    r.api.kind == "Event" && (r.api.group.is_empty() || r.api.group == "events.k8s.io")
}

/// The URL path of a resource's collection, in one namespace or across all.
pub fn collection_url(r: &Resource, namespace: Option<&str>) -> String {
    <DynamicObject as kube::Resource>::url_path(&r.api, namespace.filter(|_| r.namespaced))
}

/// Fetches one page of a list as JSON, or as a Table when `table` is set,
/// read into `P`.
pub async fn list_page<P: serde::de::DeserializeOwned>(
    client: &Client,
    url: &str,
    lp: &ListParams,
    table: Option<TableRows>,
) -> Result<P, ToolError> {
    let mut req = Request::new(url)
        .list(lp)
        .map_err(kube::Error::BuildRequest)?;
    if let Some(rows) = table {
        accept_table(&mut req, rows)?;
    }
    Ok(client.request::<P>(req).await?)
}

/// Fetches one object as JSON, or as a one-row Table.
pub async fn get_object(
    client: &Client,
    url: &str,
    name: &str,
    table: Option<TableRows>,
) -> Result<Value, ToolError> {
    let mut req = Request::new(url)
        .get(name, &Default::default())
        .map_err(kube::Error::BuildRequest)?;
    if let Some(rows) = table {
        accept_table(&mut req, rows)?;
    }
    Ok(client.request::<Value>(req).await?)
}

fn accept_table(req: &mut http::Request<Vec<u8>>, rows: TableRows) -> Result<(), ToolError> {
    req.headers_mut().insert(
        http::header::ACCEPT,
        http::HeaderValue::from_static(ACCEPT_TABLE),
    );
    let include = match rows {
        TableRows::Cells => "None",
        TableRows::Metadata => return Ok(()),
        TableRows::Object => "Object",
    };
    let uri = req.uri().to_string();
    let sep = if uri.contains('?') { "&" } else { "?" };
    *req.uri_mut() = format!("{uri}{sep}includeObject={include}")
        .parse()
        .map_err(|e| ToolError::Invalid(format!("bad request URL: {e}")))?;
    Ok(())
}

/// One rendered entry of a listing, with the value it sorts by.
pub struct Entry<R> {
    pub key: Option<Value>,
    pub row: R,
    pub bytes: usize,
}

/// What a bounded listing gathered.
pub struct Gathered<R> {
    pub entries: Vec<Entry<R>>,
    /// Set when fetching stopped at the byte bound: how many more items are
    /// known to exist (at least).
    pub cut: Option<u64>,
}

/// What one listing reads: a collection, page by page.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    List(String),
}

/// A page of a listing as a tool reads it: a JSON value, or a Table read
/// straight into its typed shape.
pub trait Page: serde::de::DeserializeOwned {
    /// Masks what the page holds (see [`crate::mask`]).
    fn redact(&mut self, ctx: &Ctx);
    /// Refuses a page that is not what was asked for.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
    /// The continue token of the next page, if any.
    fn next(&self) -> Option<&str>;
    /// How many items are known to be left after this page.
    fn remaining(&self) -> u64;
}

impl Page for Value {
    fn redact(&mut self, ctx: &Ctx) {
        ctx.redact(self);
    }
    fn next(&self) -> Option<&str> {
        self.pointer("/metadata/continue")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
    }
    fn remaining(&self) -> u64 {
        self.pointer("/metadata/remainingItemCount")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }
}

impl Page for TablePage {
    /// Cells are the server's printed columns; only the row objects can
    /// carry what masking cuts (a Secret, a last-applied annotation).
    fn redact(&mut self, ctx: &Ctx) {
        for row in &mut self.rows {
            ctx.redact(&mut row.object);
        }
    }
    fn check(&self) -> Result<(), String> {
        TablePage::check(self)
    }
    fn next(&self) -> Option<&str> {
        self.metadata.continue_.as_deref().filter(|c| !c.is_empty())
    }
    fn remaining(&self) -> u64 {
        self.metadata.remaining_item_count.unwrap_or(0)
    }
}

/// Lists every target page by page, turning each redacted page into entries
/// with `render`, until `budget` bytes are gathered. Nothing beyond one
/// page is held unrendered.
pub async fn gather<P: Page, R>(
    ctx: &Ctx,
    client: &Client,
    targets: &[Target],
    base: &ListParams,
    table: Option<TableRows>,
    budget: usize,
    mut render: impl FnMut(&mut P) -> Vec<Entry<R>>,
) -> Result<Gathered<R>, ToolError> {
    let mut out = Gathered {
        entries: vec![],
        cut: None,
    };
    let mut used = 0usize;
    for target in targets {
        let mut lp = base.clone();
        lp.limit = Some(PAGE_SIZE);
        loop {
            let mut page: P = match target {
                Target::List(url) => list_page(client, url, &lp, table).await?,
            };
            page.redact(ctx);
            page.check().map_err(ToolError::Invalid)?;
            let next = page.next().map(str::to_string);
            let remaining = page.remaining();
            let entries = render(&mut page);
            let n = entries.len();
            for (i, e) in entries.into_iter().enumerate() {
                if used + e.bytes > budget && !out.entries.is_empty() {
                    out.cut = Some((n - i) as u64 + remaining);
                    return Ok(out);
                }
                used += e.bytes;
                out.entries.push(e);
            }
            match next {
                Some(c) => lp.continue_token = Some(c),
                None => break,
            }
        }
    }
    Ok(out)
}

/// The list items of a page, each given the kind and apiVersion the list
/// omits (so masking and `-o yaml` see whole objects).
/// The items are moved out of the page, not copied.
pub fn page_items(r: &Resource, page: &mut Value) -> Vec<Value> {
    page.get_mut("items")
        .and_then(Value::as_array_mut)
        .map(|items| {
            std::mem::take(items)
                .into_iter()
                .map(|mut i| {
                    if let Some(o) = i.as_object_mut() {
                        o.entry("apiVersion")
                            .or_insert_with(|| json!(r.api.api_version));
                        o.entry("kind").or_insert_with(|| json!(r.api.kind));
                    }
                    i
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Sorts entries by key (stable), for `sortBy` or the events' default.
fn sort<R>(entries: &mut [Entry<R>]) {
    entries.sort_by(|a, b| jsonpath::compare(a.key.as_ref(), b.key.as_ref()));
}

/// How a listing orders its items: by the caller's path, or events by time.
enum SortKey {
    None,
    Path(Path),
    EventTime,
}

impl SortKey {
    fn of(&self, obj: &Value) -> Option<Value> {
        match self {
            SortKey::None => None,
            SortKey::Path(p) => p.eval(obj).first().map(|v| (*v).clone()),
            SortKey::EventTime => Some(Value::String(describe::event_time(obj))),
        }
    }

    fn needs_full_object(&self) -> bool {
        match self {
            SortKey::None => false,
            SortKey::Path(p) => !p.is_under("metadata"),
            SortKey::EventTime => true,
        }
    }
}

/// The note that ends a listing cut at the byte bound.
pub fn cut_note(shown: usize, more: u64, max: usize, sorted: bool) -> String {
    let more = if more > 0 {
        format!("at least {more} more were not fetched")
    } else {
        "more were not fetched".into()
    };
    let sorted = if sorted {
        " Sorting covers only the items shown."
    } else {
        ""
    };
    format!(
        "output bounded: showing {shown} items; {more} because the output reached SPAWN_MAX_BUFFER={max} bytes. \
         Narrow it with namespace, labelSelector, fieldSelector or name, or raise SPAWN_MAX_BUFFER.{sorted}"
    )
}

/// Where a call lists, whether rows need a NAMESPACE column, and the one
/// namespace listed (for the "No resources found" line).
async fn targets(
    ctx: &Ctx,
    r: &Resource,
    args: &Args,
) -> Result<(Vec<Target>, bool, Option<String>), ToolError> {
    if !r.namespaced {
        if ctx.scope.allows_cluster_scoped() {
            return Ok((vec![Target::List(collection_url(r, None))], false, None));
        }
        return Err(cluster_scoped_refused(ctx, r));
    }
    if args.all_namespaces {
        return Ok(match ctx.scope.list_targets() {
            None => (vec![Target::List(collection_url(r, None))], true, None),
            Some(nss) => (
                nss.iter()
                    .map(|n| Target::List(collection_url(r, Some(n))))
                    .collect(),
                true,
                None,
            ),
        });
    }
    let ns = ctx.namespace(args.namespace.as_deref()).await?;
    Ok((
        vec![Target::List(collection_url(r, Some(&ns)))],
        false,
        Some(ns),
    ))
}

/// A namespace-scoped server does not read cluster-scoped kinds.
pub fn cluster_scoped_refused(ctx: &Ctx, r: &Resource) -> ToolError {
    let allowed = ctx.scope.list_targets().unwrap_or_default().join(", ");
    ToolError::Invalid(format!(
        "{} is cluster-scoped, and this server is limited to the namespaces {allowed}; \
         only a cluster-wide server (KUBE_MCP_NAMESPACES unset or '*') reads cluster-scoped kinds",
        r.qualified_plural()
    ))
}

/// The listing or object as text; with JSON output (the default) also as
/// the structured result, exactly the JSON the text holds.
pub async fn run(ctx: &Ctx, args: Args) -> super::CallResult {
    let json = matches!(
        Output::parse(args.output.as_deref(), true),
        Ok(Output::Json)
    );
    let text = text(ctx, args).await?;
    Ok(if json {
        super::Output::json_text(text)
    } else {
        text.into()
    })
}

async fn text(ctx: &Ctx, args: Args) -> ToolResult {
    let client = ctx.client(args.context.as_deref()).await?;
    let r = match ctx.resolve(&client, &args.resource_type).await {
        // `all` (or another category) lists every kind in it, like kubectl.
        Err(ToolError::Discovery(DiscoveryError::Unknown(name))) => {
            let members = category(&ctx.discovery.all(&client).await?, &name);
            if members.is_empty() || args.name.as_deref().is_some_and(|n| !n.trim().is_empty()) {
                return Err(DiscoveryError::Unknown(name).into());
            }
            return get_category(ctx, &client, &members, &args).await;
        }
        other => other?,
    };
    let output = Output::parse(args.output.as_deref(), r.namespaced)?;
    let sort = sort_key(&args, &r)?;
    match args
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(name) => get_one(ctx, &client, &r, &args, name, &output).await,
        None => list(ctx, &client, &r, &args, &output, &sort).await,
    }
}

fn sort_key(args: &Args, r: &Resource) -> Result<SortKey, ToolError> {
    Ok(
        match args
            .sort_by
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(p) => SortKey::Path(
                Path::parse(p).map_err(|reason| ToolError::InvalidArgs { tool: TOOL, reason })?,
            ),
            None if is_event(r) => SortKey::EventTime,
            None => SortKey::None,
        },
    )
}

/// The listable kinds of a category (`all`: the workloads and services),
/// never Secrets.
pub fn category(all: &[Resource], name: &str) -> Vec<Resource> {
    let name = name.trim().to_ascii_lowercase();
    all.iter()
        .filter(|r| r.preferred && r.supports("list") && r.categories.contains(&name))
        .filter(|r| !(r.api.group.is_empty() && r.api.plural == crate::catalog::SECRETS))
        .cloned()
        .collect()
}

/// Each kind of a category listed in turn: one section per kind that has
/// items (tables, names, YAML), or one JSON summary of them all.
async fn get_category(ctx: &Ctx, client: &Client, members: &[Resource], args: &Args) -> ToolResult {
    let mut sections = vec![];
    let mut items = vec![];
    let mut notes = vec![];
    for r in members {
        let output = Output::parse(args.output.as_deref(), r.namespaced)?;
        let sort = sort_key(args, r)?;
        let text = match list(ctx, client, r, args, &output, &sort).await {
            Ok(t) => t,
            Err(e) => {
                notes.push(format!("{}: {e}", r.qualified_plural()));
                continue;
            }
        };
        if output == Output::Json {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                if let Some(a) = v.get("items").and_then(Value::as_array) {
                    items.extend(a.iter().cloned());
                }
                if let Some(n) = v.get("note").and_then(Value::as_str) {
                    notes.push(format!("{}: {n}", r.qualified_plural()));
                }
            }
        } else if !text.starts_with("No resources found")
            && !text.ends_with("items: []\n")
            && !text.is_empty()
        {
            sections.push(format!("# {}\n{text}", r.qualified_plural()));
        }
    }
    let text = match Output::parse(args.output.as_deref(), true)? {
        Output::Json => {
            let mut v = json!({ "items": items });
            if !notes.is_empty() {
                v["notes"] = json!(notes);
            }
            format::json(&v)
        }
        _ => {
            let mut t = if sections.is_empty() {
                "No resources found\n".to_string()
            } else {
                sections.join("\n")
            };
            for n in notes {
                t.push_str(&format!("[{n}]\n"));
            }
            t
        }
    };
    Ok(ctx.bound(text))
}

async fn get_one(
    ctx: &Ctx,
    client: &Client,
    r: &Resource,
    args: &Args,
    name: &str,
    output: &Output,
) -> ToolResult {
    let url = if r.namespaced {
        let ns = if args.all_namespaces {
            find_namespace(ctx, client, r, name).await?
        } else {
            ctx.namespace(args.namespace.as_deref()).await?
        };
        collection_url(r, Some(&ns))
    } else {
        if !ctx.scope.allows_cluster_scoped() {
            return Err(cluster_scoped_refused(ctx, r));
        }
        collection_url(r, None)
    };
    let now = jiff::Timestamp::now();
    let text = match output {
        Output::Table { wide } => {
            let mut v = get_object(client, &url, name, Some(TableRows::Cells)).await?;
            ctx.redact(&mut v);
            let t = ServerTable::parse(&mut v).map_err(ToolError::Invalid)?;
            t.into_table(*wide, false).render(true)
        }
        _ => {
            let mut v = get_object(client, &url, name, None).await?;
            ctx.redact(&mut v);
            match output {
                Output::Yaml => format::yaml(&v),
                Output::Name => format!("{}\n", name_line(r, &v)),
                Output::Custom(cols) => {
                    let mut t = Table::new(cols.iter().map(|(h, _)| h.clone()));
                    t.rows.push(custom_row(cols, &v, now));
                    t.render(true)
                }
                _ => format::json(&v),
            }
        }
    };
    Ok(ctx.bound(text))
}

/// The first namespace in scope that has a `r` named `name`.
pub async fn find_namespace(
    ctx: &Ctx,
    client: &Client,
    r: &Resource,
    name: &str,
) -> Result<String, ToolError> {
    let lp = ListParams {
        field_selector: Some(format!("metadata.name={name}")),
        limit: Some(1),
        ..Default::default()
    };
    let urls: Vec<String> = match ctx.scope.list_targets() {
        None => vec![collection_url(r, None)],
        Some(nss) => nss.iter().map(|n| collection_url(r, Some(n))).collect(),
    };
    for url in urls {
        let page: Value = list_page(client, &url, &lp, None).await?;
        if let Some(ns) = page
            .pointer("/items/0/metadata/namespace")
            .and_then(Value::as_str)
        {
            return Ok(ns.to_string());
        }
    }
    Err(ToolError::Invalid(format!(
        "{} {name:?} was not found in any namespace in scope",
        r.qualified_plural()
    )))
}

/// Bytes kept free for the closing note.
const NOTE_RESERVE: usize = 512;

pub fn budget(max: usize) -> usize {
    max.saturating_sub(NOTE_RESERVE).max(max / 2)
}

async fn list(
    ctx: &Ctx,
    client: &Client,
    r: &Resource,
    args: &Args,
    output: &Output,
    sort: &SortKey,
) -> ToolResult {
    let (targets, ns_column, ns) = targets(ctx, r, args).await?;
    let max = ctx.settings.max_output_bytes;
    let l = Listing {
        ctx,
        client,
        r,
        targets,
        base: ListParams {
            label_selector: args.label_selector.clone().filter(|s| !s.is_empty()),
            field_selector: args.field_selector.clone().filter(|s| !s.is_empty()),
            ..Default::default()
        },
        ns_column,
        ns,
        sort,
        max,
        budget: budget(max),
    };
    let text = match output {
        Output::Table { wide } => l.table(*wide).await?,
        Output::Custom(cols) => l.custom(cols).await?,
        Output::Name => l.names().await?,
        Output::Yaml => l.yaml().await?,
        Output::Json => l.json().await?,
    };
    Ok(ctx.bound(text))
}

/// One listing: what it reads, and what each output form shares (the byte
/// budget, the sort, the note for a cut).
struct Listing<'a> {
    ctx: &'a Ctx,
    client: &'a Client,
    r: &'a Resource,
    targets: Vec<Target>,
    base: ListParams,
    /// Set for listings across namespaces: tables gain a NAMESPACE column.
    ns_column: bool,
    /// The one namespace listed, for the "No resources found" line.
    ns: Option<String>,
    sort: &'a SortKey,
    max: usize,
    budget: usize,
}

impl Listing<'_> {
    fn sorted(&self) -> bool {
        !matches!(self.sort, SortKey::None)
    }

    fn cut_note(&self, shown: usize, more: u64) -> String {
        cut_note(shown, more, self.max, self.sorted())
    }

    /// Gathers the pages' items as JSON, each rendered by `row`, in the
    /// listing's order. `sep` is what joining adds to each row's size (a
    /// newline, a comma), so the byte budget counts the text as sent.
    async fn items<R: Measured>(
        &self,
        sep: usize,
        row: impl Fn(&Value) -> R,
    ) -> Result<Gathered<R>, ToolError> {
        self.gather(None, |page: &mut Value| {
            page_items(self.r, page)
                .iter()
                .map(|o| {
                    let row = row(o);
                    Entry {
                        key: self.sort.of(o),
                        bytes: row.measure() + sep,
                        row,
                    }
                })
                .collect()
        })
        .await
    }

    /// [`gather`] over this listing's targets, in the listing's order.
    async fn gather<P: Page, R>(
        &self,
        rows: Option<TableRows>,
        render: impl FnMut(&mut P) -> Vec<Entry<R>>,
    ) -> Result<Gathered<R>, ToolError> {
        let (ctx, client, budget) = (self.ctx, self.client, self.budget);
        let mut g = gather(ctx, client, &self.targets, &self.base, rows, budget, render).await?;
        if self.sorted() {
            sort(&mut g.entries);
        }
        Ok(g)
    }

    /// The API server's own columns (a Table), as kubectl prints them.
    async fn table(&self, wide: bool) -> Result<String, ToolError> {
        let rows = if self.sort.needs_full_object() {
            TableRows::Object
        } else if self.sorted() || self.ns_column {
            TableRows::Metadata
        } else {
            TableRows::Cells
        };
        let ns_column = self.ns_column;
        // The columns, kept from the first page for the header.
        let mut columns: Option<ServerTable> = None;
        let g = self
            .gather(Some(rows), |page: &mut TablePage| {
                let Ok(t) = ServerTable::from_page(std::mem::take(page)) else {
                    return vec![];
                };
                if columns.is_none() {
                    columns = Some(ServerTable {
                        columns: t.columns.clone(),
                        rows: vec![],
                    });
                }
                let keys: Vec<Option<Value>> =
                    t.rows.iter().map(|row| self.sort.of(&row.object)).collect();
                let table = t.into_table(wide, ns_column);
                table
                    .rows
                    .into_iter()
                    .zip(keys)
                    .map(|(row, key)| Entry {
                        bytes: row.bytes(),
                        key,
                        row,
                    })
                    .collect()
            })
            .await?;
        let header = columns
            .map(|t| t.into_table(wide, ns_column))
            .unwrap_or_default();
        Ok(self.rendered(header, g))
    }

    /// `custom-columns=`: one row per item, cells picked by path.
    async fn custom(&self, cols: &[(String, Column)]) -> Result<String, ToolError> {
        let now = jiff::Timestamp::now();
        let g = self.items(0, |o| custom_row(cols, o, now)).await?;
        let header = Table::new(cols.iter().map(|(h, _)| h.clone()));
        Ok(self.rendered(header, g))
    }

    /// A table's text from its header and gathered rows, or kubectl's line
    /// for an empty listing.
    fn rendered(&self, mut t: Table, g: Gathered<Row>) -> String {
        if g.entries.is_empty() {
            return no_resources(self.ns.as_deref());
        }
        let n = g.entries.len();
        t.rows = g.entries.into_iter().map(|e| e.row).collect();
        let mut text = t.render(true);
        if let Some(more) = g.cut {
            text.push_str(&format!("\n[{}]\n", self.cut_note(n, more)));
        }
        text
    }

    /// `-o name`: `kind.group/name`, one a line.
    async fn names(&self) -> Result<String, ToolError> {
        let g = self.items(1, |o| name_line(self.r, o)).await?;
        let n = g.entries.len();
        let mut text: String = g
            .entries
            .into_iter()
            .map(|e| format!("{}\n", e.row))
            .collect();
        if let Some(more) = g.cut {
            text.push_str(&format!("[{}]\n", self.cut_note(n, more)));
        }
        Ok(text)
    }

    /// `-o yaml`: a `kind: List` of whole (masked) objects.
    async fn yaml(&self) -> Result<String, ToolError> {
        let g = self
            .items(0, |o| format::list_item("- ", "  ", &format::yaml(o)))
            .await?;
        let n = g.entries.len();
        let mut text = String::from("apiVersion: v1\nkind: List\n");
        if n == 0 {
            text.push_str("items: []\n");
        } else {
            text.push_str("items:\n");
            for e in g.entries {
                text.push_str(&e.row);
            }
        }
        if let Some(more) = g.cut {
            text.push_str(&format!("# {}\n", self.cut_note(n, more)));
        }
        Ok(text)
    }

    /// `-o json`: the seed's summary of each item (events keep their own
    /// field name), with the cut stated in the document itself.
    async fn json(&self) -> Result<String, ToolError> {
        let g = self
            .items(2, |o| indent(&format::json(&summary(self.r, o)), "    "))
            .await?;
        let n = g.entries.len();
        let field = if is_event(self.r) { "events" } else { "items" };
        let rows: Vec<String> = g.entries.into_iter().map(|e| e.row).collect();
        let mut text = if rows.is_empty() {
            format!("{{\n  \"{field}\": []")
        } else {
            format!("{{\n  \"{field}\": [\n{}\n  ]", rows.join(",\n"))
        };
        if let Some(more) = g.cut {
            text.push_str(&format!(
                ",\n  \"truncated\": true,\n  \"note\": {}",
                Value::String(self.cut_note(n, more))
            ));
        }
        text.push_str("\n}\n");
        Ok(text)
    }
}

/// A rendered entry's size in bytes, as the byte budget counts it.
trait Measured {
    fn measure(&self) -> usize;
}

impl Measured for Row {
    fn measure(&self) -> usize {
        self.bytes()
    }
}

impl Measured for String {
    fn measure(&self) -> usize {
        self.len()
    }
}

fn no_resources(ns: Option<&str>) -> String {
    match ns {
        Some(ns) => format!("No resources found in {ns} namespace.\n"),
        None => "No resources found\n".into(),
    }
}

fn indent(text: &str, pad: &str) -> String {
    text.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::discovery::ApiResource;

    fn res(group: &str, kind: &str, plural: &str) -> Resource {
        Resource {
            api: ApiResource {
                group: group.into(),
                version: "v1".into(),
                api_version: if group.is_empty() {
                    "v1".into()
                } else {
                    format!("{group}/v1")
                },
                kind: kind.into(),
                plural: plural.into(),
            },
            namespaced: true,
            singular: kind.to_ascii_lowercase(),
            short_names: vec![],
            verbs: vec![],
            categories: vec![],
            preferred: true,
        }
    }

    #[test]
    fn outputs_parse() {
        let p = |t: Option<&str>| Output::parse(t, true);
        assert_eq!(p(None).unwrap(), Output::Json);
        assert_eq!(p(Some("yaml")).unwrap(), Output::Yaml);
        assert_eq!(p(Some("name")).unwrap(), Output::Name);
        assert_eq!(p(Some("wide")).unwrap(), Output::Table { wide: true });
        assert_eq!(p(Some("table")).unwrap(), Output::Table { wide: false });
        let Output::Custom(cols) = p(Some("custom")).unwrap() else {
            panic!("custom")
        };
        let names: Vec<&str> = cols.iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(names, ["NAME", "NAMESPACE", "AGE"]);
        let Output::Custom(cols) = Output::parse(Some("custom"), false).unwrap() else {
            panic!("custom")
        };
        assert_eq!(cols.len(), 2, "no NAMESPACE for cluster-scoped kinds");
        let Output::Custom(cols) = p(Some(
            "custom-columns=N:.metadata.name,AGE:.metadata.creationTimestamp",
        ))
        .unwrap() else {
            panic!("custom-columns")
        };
        assert_eq!(cols[1].1, Column::Age);
        for bad in [
            "xml",
            "custom-columns=",
            "custom-columns=NAME",
            "custom-columns=X:.a[",
        ] {
            assert!(p(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn custom_rows() {
        let cols = custom_columns("NAME:.metadata.name,IMG:.spec.containers[*].image,AGE:.metadata.creationTimestamp,X:.nope").unwrap();
        let obj = json!({"metadata": {"name": "p", "creationTimestamp": "2026-01-01T00:00:00Z"},
                         "spec": {"containers": [{"image": "a"}, {"image": "b"}]}});
        let now: jiff::Timestamp = "2026-01-01T00:05:00Z".parse().unwrap();
        assert_eq!(
            custom_row(&cols, &obj, now).iter().collect::<Vec<_>>(),
            ["p", "a,b", "5m", "<none>"]
        );
    }

    #[test]
    fn names_and_statuses() {
        let obj = json!({"metadata": {"name": "x"}});
        assert_eq!(name_line(&res("", "Pod", "pods"), &obj), "pod/x");
        assert_eq!(
            name_line(&res("apps", "Deployment", "deployments"), &obj),
            "deployment.apps/x"
        );
        for (obj, want) in [
            (json!({"status": {"phase": "Running"}}), "Running"),
            (
                json!({"status": {"replicas": 3, "readyReplicas": 2}}),
                "2/3 ready",
            ),
            (json!({"status": {"replicas": 1}}), "0/1 ready"),
            (json!({"spec": {"type": "ClusterIP"}}), "ClusterIP"),
            (
                json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
                "Ready",
            ),
            (
                json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
                "NotReady",
            ),
            (json!({"data": {}}), "Active"),
        ] {
            assert_eq!(status_of(&obj), want, "{obj}");
        }
    }

    #[test]
    fn summaries_follow_the_seed() {
        let pod = json!({"metadata": {"name": "p", "namespace": "n", "creationTimestamp": "t"},
                         "status": {"phase": "Pending"}});
        assert_eq!(
            summary(&res("", "Pod", "pods"), &pod),
            json!({"name": "p", "namespace": "n", "kind": "Pod", "status": "Pending", "createdAt": "t"})
        );
        let ev = json!({"type": "Warning", "reason": "BackOff", "message": "m", "count": 3,
                        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "n"},
                        "firstTimestamp": "t1", "lastTimestamp": "t2"});
        let s = summary(&res("", "Event", "events"), &ev);
        assert_eq!(s["involvedObject"]["name"], "p");
        assert_eq!(
            (s["count"].clone(), s["lastTimestamp"].clone()),
            (json!(3), json!("t2"))
        );
    }

    #[test]
    fn categories_list_their_kinds_but_never_secrets() {
        let mut pods = res("", "Pod", "pods");
        pods.categories = vec!["all".into()];
        pods.verbs = vec!["list".into()];
        let mut secrets = res("", "Secret", "secrets");
        secrets.categories = vec!["all".into()];
        secrets.verbs = vec!["list".into()];
        let mut old = pods.clone();
        old.preferred = false;
        let mut unlistable = res("x.io", "Thing", "things");
        unlistable.categories = vec!["all".into()];
        let all = [pods, secrets, old, unlistable];
        let got: Vec<String> = category(&all, "All")
            .iter()
            .map(|r| r.qualified_plural())
            .collect();
        assert_eq!(got, ["pods"]);
        assert!(category(&all, "nothing").is_empty());
    }

    #[test]
    fn notes_say_how_to_narrow() {
        let n = cut_note(10, 90, 2000, true);
        for want in [
            "showing 10 items",
            "at least 90 more",
            "SPAWN_MAX_BUFFER=2000",
            "labelSelector",
            "Sorting covers",
        ] {
            assert!(n.contains(want), "{want}: {n}");
        }
        assert!(cut_note(1, 0, 5, false).contains("more were not fetched"));
        assert_eq!(budget(1 << 20), (1 << 20) - 512);
        assert_eq!(budget(600), 300);
    }

    #[test]
    fn items_get_their_kind_and_urls_their_scope() {
        let r = res("apps", "Deployment", "deployments");
        let mut page =
            json!({"items": [{"metadata": {"name": "a"}}, {"kind": "Other", "metadata": {}}]});
        let items = page_items(&r, &mut page);
        assert_eq!(items[0]["kind"], "Deployment");
        assert_eq!(items[0]["apiVersion"], "apps/v1");
        assert_eq!(items[1]["kind"], "Other");
        assert_eq!(
            collection_url(&r, Some("ns")),
            "/apis/apps/v1/namespaces/ns/deployments"
        );
        assert_eq!(collection_url(&r, None), "/apis/apps/v1/deployments");
        let mut node = res("", "Node", "nodes");
        node.namespaced = false;
        assert_eq!(collection_url(&node, Some("ns")), "/api/v1/nodes");
    }
}
