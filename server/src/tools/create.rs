//! kubectl_create: from a manifest or the seed's generator arguments.
use super::manifest::{self, Target};
use super::{Ctx, ToolError, ToolResult};
use base64::Engine;
use kube::api::PostParams;
use kube_mcp_catalog::ToolId;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Args {
    /// Server-side dry run
    #[serde(default)]
    pub dry_run: bool,
    /// Output format of the created object: yaml (default), json or name
    pub output: Option<String>,
    /// Validate the object against the schema (the API server always does)
    #[serde(default = "yes")]
    pub validate: bool,
    /// YAML or JSON manifest to create
    pub manifest: Option<String>,
    /// Path to a manifest file inside the server's allowed directory
    pub filename: Option<String>,
    /// Generator: namespace, configmap, secret, service, deployment, job or cronjob
    pub resource_type: Option<String>,
    /// Name of the object to generate
    pub name: Option<String>,
    /// Namespace of the object
    pub namespace: Option<String>,
    /// key=value pairs for configmap/secret
    pub from_literal: Option<Vec<String>>,
    /// key=path pairs for configmap/secret (paths inside the allowed directory)
    pub from_file: Option<Vec<String>>,
    /// key=content pairs: file content given inline
    pub from_file_content: Option<Vec<String>>,
    /// Secret type: generic, docker-registry or tls
    pub secret_type: Option<String>,
    /// Service type: clusterip, nodeport, loadbalancer or externalname
    pub service_type: Option<String>,
    /// Service ports as port or port:targetPort
    pub tcp_port: Option<Vec<String>>,
    /// Container image for deployment/job/cronjob
    pub image: Option<String>,
    /// Replicas for deployment
    pub replicas: Option<i32>,
    /// Container port for deployment
    pub port: Option<i32>,
    /// Cron schedule for cronjob
    pub schedule: Option<String>,
    /// Create the cronjob suspended
    #[serde(default)]
    pub suspend: bool,
    /// Command for job/cronjob containers
    pub command: Option<Vec<String>>,
    /// key=value labels
    pub labels: Option<Vec<String>>,
    /// key=value annotations
    pub annotations: Option<Vec<String>>,
    /// External DNS name for an externalname service
    pub external_name: Option<String>,
    /// Kubeconfig context to use for this call (optional)
    pub context: Option<String>,
}

fn yes() -> bool {
    true
}

const TOOL: ToolId = ToolId::KubectlCreate;

fn invalid(reason: impl Into<String>) -> ToolError {
    ToolError::InvalidArgs {
        tool: TOOL,
        reason: reason.into(),
    }
}

/// Splits `key=value` items (the first `=` separates), refusing empty keys.
pub fn pairs(items: Option<&[String]>, arg: &str) -> Result<Vec<(String, String)>, ToolError> {
    items
        .unwrap_or_default()
        .iter()
        .map(|item| match item.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(invalid(format!("{arg} entry {item:?} is not key=value"))),
        })
        .collect()
}

fn string_map(p: &[(String, String)]) -> Value {
    Value::Object(
        p.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    )
}

/// Parses `80`, `80:8080` or `http:80:8080`-free service ports.
pub fn service_port(spec: &str) -> Result<Value, ToolError> {
    let bad = || {
        invalid(format!(
            "tcpPort {spec:?} is not port or port:targetPort (e.g. 80:8080)"
        ))
    };
    let (port, target) = spec.split_once(':').unwrap_or((spec, spec));
    let port: u16 = port.trim().parse().map_err(|_| bad())?;
    let target_v = match target.trim().parse::<u16>() {
        Ok(n) if n > 0 => json!(n),
        Ok(_) => return Err(bad()),
        Err(_) if !target.trim().is_empty() => json!(target.trim()),
        Err(_) => return Err(bad()),
    };
    if port == 0 {
        return Err(bad());
    }
    Ok(json!({
        "name": format!("{}-{}", port, target.trim()),
        "port": port,
        "protocol": "TCP",
        "targetPort": target_v,
    }))
}

/// The container name kubectl derives from an image: its last path part
/// without tag or digest.
pub fn container_name(image: &str) -> String {
    let base = image.rsplit('/').next().unwrap_or(image);
    let base = base.split('@').next().unwrap_or(base);
    let base = base.split(':').next().unwrap_or(base);
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches('-').to_string();
    if cleaned.is_empty() {
        "app".into()
    } else {
        cleaned
    }
}

/// Builds the object a generator describes. `files` are the fromFile and
/// fromFileContent entries, already read.
pub fn generate(args: &Args, files: &[(String, String)]) -> Result<Value, ToolError> {
    let kind_arg = args
        .resource_type
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let name = args
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid(format!("name is required to create a {kind_arg}")))?;
    let literals = pairs(args.from_literal.as_deref(), "fromLiteral")?;
    let need_image = || {
        args.image
            .as_deref()
            .filter(|i| !i.is_empty())
            .ok_or_else(|| invalid(format!("image is required to create a {kind_arg}")))
    };
    let labels = pairs(args.labels.as_deref(), "labels")?;
    let annotations = pairs(args.annotations.as_deref(), "annotations")?;
    let mut obj = match kind_arg.as_str() {
        "namespace" | "ns" => {
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        }
        "configmap" | "cm" => {
            let mut data = literals.clone();
            data.extend(files.iter().cloned());
            check_unique(&data)?;
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": string_map(&data)})
        }
        "secret" => secret(name, args.secret_type.as_deref(), &literals, files)?,
        "service" | "svc" => service(name, args)?,
        "deployment" | "deploy" => deployment(name, need_image()?, args)?,
        "job" => {
            let image = need_image()?;
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
                "spec": {"template": {"spec": {"restartPolicy": "Never",
                    "containers": [container(name, image, args.command.as_deref())]}}}})
        }
        "cronjob" | "cj" => cronjob(name, need_image()?, args)?,
        "" => {
            return Err(invalid(
                "give a manifest/filename, or resourceType (namespace, configmap, secret, service, deployment, job or cronjob) with name",
            ));
        }
        other => {
            return Err(invalid(format!(
                "resourceType {other:?} has no generator; use namespace, configmap, secret, service, deployment, job or cronjob, or pass a manifest"
            )));
        }
    };
    for (field, list) in [("labels", &labels), ("annotations", &annotations)] {
        add_metadata(&mut obj, field, list);
    }
    Ok(obj)
}

/// Adds `list` to the object's `metadata.<field>` map, keeping what the
/// generator put there (a Service's or Deployment's `app` label).
fn add_metadata(obj: &mut Value, field: &str, list: &[(String, String)]) {
    if list.is_empty() {
        return;
    }
    let entry = obj["metadata"]
        .as_object_mut()
        .map(|m| m.entry(field).or_insert_with(|| json!({})));
    if let Some(Value::Object(m)) = entry {
        for (k, v) in list {
            m.insert(k.clone(), json!(v));
        }
    }
}

/// `kubectl create service <type>`: the ports select pods labelled `app: <name>`.
fn service(name: &str, args: &Args) -> Result<Value, ToolError> {
    let app = json!({"app": name});
    let t = args
        .service_type
        .as_deref()
        .unwrap_or("clusterip")
        .to_ascii_lowercase();
    let (svc_type, external) = match t.as_str() {
        "clusterip" => ("ClusterIP", false),
        "nodeport" => ("NodePort", false),
        "loadbalancer" => ("LoadBalancer", false),
        "externalname" => ("ExternalName", true),
        other => {
            return Err(invalid(format!(
                "serviceType {other:?} is not one of clusterip, nodeport, loadbalancer or externalname"
            )));
        }
    };
    let mut spec = json!({"type": svc_type});
    if external {
        let ext = args
            .external_name
            .as_deref()
            .filter(|e| !e.is_empty())
            .ok_or_else(|| {
                invalid("an externalname service needs externalName (the DNS name it points to)")
            })?;
        spec["externalName"] = json!(ext);
    } else {
        let ports = args
            .tcp_port
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|p| service_port(p))
            .collect::<Result<Vec<_>, _>>()?;
        if ports.is_empty() {
            return Err(invalid(
                "a service needs at least one tcpPort, e.g. [\"80:8080\"]",
            ));
        }
        spec["ports"] = json!(ports);
        spec["selector"] = app.clone();
    }
    Ok(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": app}, "spec": spec}),
    )
}

/// `kubectl create deployment`: one container named after its image, pods labelled `app: <name>`.
fn deployment(name: &str, image: &str, args: &Args) -> Result<Value, ToolError> {
    let app = json!({"app": name});
    let replicas = args.replicas.unwrap_or(1);
    if replicas < 0 {
        return Err(invalid("replicas must be 0 or more"));
    }
    let mut container = json!({"name": container_name(image), "image": image});
    if let Some(p) = args.port {
        container["ports"] = json!([{"containerPort": p}]);
    }
    if let Some(c) = args.command.as_ref().filter(|c| !c.is_empty()) {
        container["command"] = json!(c);
    }
    Ok(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": app},
        "spec": {"replicas": replicas, "selector": {"matchLabels": app},
            "template": {"metadata": {"labels": app}, "spec": {"containers": [container]}}}}))
}

fn cronjob(name: &str, image: &str, args: &Args) -> Result<Value, ToolError> {
    let schedule = args
        .schedule
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid("schedule is required to create a cronjob, e.g. \"*/5 * * * *\""))?;
    Ok(
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
        "spec": {"schedule": schedule, "suspend": args.suspend,
            "jobTemplate": {"metadata": {"name": name}, "spec": {"template": {"spec": {
                "restartPolicy": "OnFailure",
                "containers": [container(name, image, args.command.as_deref())]}}}}}}),
    )
}

fn container(name: &str, image: &str, command: Option<&[String]>) -> Value {
    let mut c = json!({"name": name, "image": image});
    if let Some(cmd) = command.filter(|c| !c.is_empty()) {
        c["command"] = json!(cmd);
    }
    c
}

fn check_unique(data: &[(String, String)]) -> Result<(), ToolError> {
    let mut seen = std::collections::BTreeSet::new();
    for (k, _) in data {
        if !seen.insert(k) {
            return Err(invalid(format!("key {k:?} is given more than once")));
        }
    }
    Ok(())
}

fn secret(
    name: &str,
    secret_type: Option<&str>,
    literals: &[(String, String)],
    files: &[(String, String)],
) -> Result<Value, ToolError> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let mut all = literals.to_vec();
    all.extend(files.iter().cloned());
    check_unique(&all)?;
    let lookup = |keys: &[&str]| {
        all.iter()
            .find(|(k, _)| keys.contains(&k.as_str()))
            .map(|(_, v)| v.clone())
    };
    let (t, data) = match secret_type
        .unwrap_or("generic")
        .to_ascii_lowercase()
        .as_str()
    {
        "generic" => (
            "Opaque",
            all.iter()
                .map(|(k, v)| (k.clone(), b64(v)))
                .collect::<Vec<_>>(),
        ),
        "tls" => {
            let cert = lookup(&["tls.crt", "cert"]).ok_or_else(|| {
                invalid(
                    "a tls secret needs the certificate as fromFile/fromFileContent tls.crt=...",
                )
            })?;
            let key = lookup(&["tls.key", "key"]).ok_or_else(|| {
                invalid(
                    "a tls secret needs the private key as fromFile/fromFileContent tls.key=...",
                )
            })?;
            (
                "kubernetes.io/tls",
                vec![
                    ("tls.crt".into(), b64(&cert)),
                    ("tls.key".into(), b64(&key)),
                ],
            )
        }
        "docker-registry" => {
            let config = match lookup(&[".dockerconfigjson"]) {
                Some(c) => c,
                None => {
                    let need = |k: &str| {
                        lookup(&[k]).ok_or_else(|| {
                            invalid(format!(
                                "a docker-registry secret needs fromLiteral {k}=... (docker-server, docker-username, docker-password; docker-email optional) or .dockerconfigjson"
                            ))
                        })
                    };
                    let server = lookup(&["docker-server"])
                        .unwrap_or_else(|| "https://index.docker.io/v1/".into());
                    let user = need("docker-username")?;
                    let pass = need("docker-password")?;
                    let mut entry = json!({"username": user, "password": pass, "auth": b64(&format!("{user}:{pass}"))});
                    if let Some(email) = lookup(&["docker-email"]) {
                        entry["email"] = json!(email);
                    }
                    json!({"auths": {server: entry}}).to_string()
                }
            };
            (
                "kubernetes.io/dockerconfigjson",
                vec![(".dockerconfigjson".into(), b64(&config))],
            )
        }
        other => {
            return Err(invalid(format!(
                "secretType {other:?} is not one of generic, docker-registry or tls"
            )));
        }
    };
    Ok(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": t, "data": string_map(&data)}),
    )
}

pub async fn run(ctx: &Ctx, args: Args) -> ToolResult {
    let output = args
        .output
        .as_deref()
        .unwrap_or("yaml")
        .to_ascii_lowercase();
    if !matches!(output.as_str(), "yaml" | "json" | "name") {
        return Err(invalid(format!(
            "output {output:?} is not supported here; use yaml, json or name"
        )));
    }
    let client = ctx.client(args.context.as_deref()).await?;
    let has_manifest = args
        .manifest
        .as_deref()
        .is_some_and(|m| !m.trim().is_empty())
        || args.filename.as_deref().is_some_and(|f| !f.is_empty());
    let objects = if has_manifest {
        if args.resource_type.as_deref().is_some_and(|r| !r.is_empty()) {
            return Err(invalid(
                "give either a manifest/filename or a resourceType generator, not both",
            ));
        }
        let text = manifest::text(
            ctx,
            TOOL,
            args.manifest.as_deref(),
            args.filename.as_deref(),
        )
        .await?;
        manifest::parse(&text)?
    } else {
        let mut files = vec![];
        for (k, path) in pairs(args.from_file.as_deref(), "fromFile")? {
            let text =
                super::files::read(ctx.settings.files_dir.as_deref(), "fromFile", &path).await?;
            files.push((k, text));
        }
        files.extend(pairs(args.from_file_content.as_deref(), "fromFileContent")?);
        vec![generate(&args, &files)?]
    };
    let targets = manifest::resolve_all(ctx, &client, objects, args.namespace.as_deref()).await?;
    let created = create_targets(&client, &targets, args.dry_run).await?;
    let mut out = vec![];
    for (t, mut obj) in targets.iter().zip(created) {
        ctx.redact(&mut obj);
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or(&t.name)
            .to_string();
        let shown = manifest::object_ref(&t.resource, &name);
        out.push(match output.as_str() {
            "name" => shown,
            "json" => serde_json::to_string_pretty(&obj).unwrap_or_default(),
            _ => manifest::to_yaml(&obj),
        });
    }
    let mut text = out.join(if output == "yaml" { "---\n" } else { "\n" });
    if args.dry_run {
        text.push_str("\n(server dry run: nothing was created)");
    }
    Ok(ctx.bound(text))
}

/// Creates every object; with more than one, a server dry run of all comes
/// first so an invalid one stops the manifest before anything is written.
pub async fn create_targets(
    client: &kube::Client,
    targets: &[Target],
    dry_run: bool,
) -> Result<Vec<Value>, ToolError> {
    let fail = |t: &Target, e: kube::Error, i: usize| {
        let note = if i == 0 {
            "nothing was created".to_string()
        } else {
            format!("the {i} object(s) before it were created")
        };
        ToolError::Invalid(format!(
            "{} {}: {}; {note}",
            t.resource.api.kind,
            t.name,
            ToolError::Api(e)
        ))
    };
    let to_obj = |t: &Target| serde_json::from_value::<kube::api::DynamicObject>(t.object.clone());
    let mut objs = vec![];
    for t in targets {
        objs.push(
            to_obj(t).map_err(|e| {
                ToolError::Invalid(format!("{} {}: {e}", t.resource.api.kind, t.name))
            })?,
        );
    }
    let new_namespaces: Vec<&str> = targets
        .iter()
        .filter(|t| t.resource.api.group.is_empty() && t.resource.api.kind == "Namespace")
        .map(|t| t.name.as_str())
        .collect();
    if !dry_run && targets.len() > 1 {
        let pp = PostParams {
            dry_run: true,
            field_manager: Some(super::apply::FIELD_MANAGER.into()),
        };
        for (t, o) in targets.iter().zip(&objs) {
            if t.namespace
                .as_deref()
                .is_some_and(|n| new_namespaces.contains(&n))
            {
                continue;
            }
            t.api(client)
                .create(&pp, o)
                .await
                .map_err(|e| fail(t, e, 0))?;
        }
    }
    let pp = PostParams {
        dry_run,
        field_manager: Some(super::apply::FIELD_MANAGER.into()),
    };
    let mut out = vec![];
    for (i, (t, o)) in targets.iter().zip(&objs).enumerate() {
        let created = t
            .api(client)
            .create(&pp, o)
            .await
            .map_err(|e| fail(t, e, i))?;
        out.push(serde_json::to_value(created).unwrap_or_default());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> Args {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn generators() {
        let files = vec![("conf.txt".to_string(), "hello".to_string())];
        let cases: Vec<(Value, Result<Value, &str>)> = vec![
            (
                json!({"resourceType": "namespace", "name": "n1", "labels": ["team=a"]}),
                Ok(
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n1", "labels": {"team": "a"}}}),
                ),
            ),
            (
                json!({"resourceType": "configmap", "name": "c", "fromLiteral": ["a=1", "b=x=y"]}),
                Ok(
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "x=y", "conf.txt": "hello"}}),
                ),
            ),
            (
                json!({"resourceType": "secret", "name": "s", "fromLiteral": ["p=pw"]}),
                Ok(
                    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque", "data": {"p": "cHc=", "conf.txt": "aGVsbG8="}}),
                ),
            ),
            (
                json!({"resourceType": "service", "name": "web", "tcpPort": ["80:8080"], "serviceType": "nodeport"}),
                Ok(
                    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"app": "web"}},
               "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}]}}),
                ),
            ),
            (
                json!({"resourceType": "deployment", "name": "web", "image": "nginx:1.27", "replicas": 2, "port": 80}),
                Ok(
                    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
               "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}}),
                ),
            ),
            (
                // The caller's labels join the generator's `app` label.
                json!({"resourceType": "service", "name": "ext", "serviceType": "ExternalName",
                    "externalName": "db.example.com", "labels": ["team=a"], "annotations": ["note=x"]}),
                Ok(json!({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": "ext", "labels": {"app": "ext", "team": "a"}, "annotations": {"note": "x"}},
                    "spec": {"type": "ExternalName", "externalName": "db.example.com"}})),
            ),
            (
                json!({"resourceType": "deployment", "name": "web"}),
                Err("image is required"),
            ),
            (
                json!({"resourceType": "deployment", "name": "web", "image": "nginx", "replicas": -1}),
                Err("replicas must be 0 or more"),
            ),
            (
                json!({"resourceType": "cronjob", "name": "c", "image": "busybox"}),
                Err("schedule is required"),
            ),
            (
                json!({"resourceType": "service", "name": "web"}),
                Err("at least one tcpPort"),
            ),
            (
                json!({"resourceType": "service", "name": "web", "tcpPort": ["x:y:z"]}),
                Err("not port or port:targetPort"),
            ),
            (
                json!({"resourceType": "service", "name": "w", "serviceType": "externalname"}),
                Err("externalName"),
            ),
            (
                json!({"resourceType": "secret", "name": "s", "secretType": "tls"}),
                Err("tls.crt"),
            ),
            (
                json!({"resourceType": "secret", "name": "s", "secretType": "weird"}),
                Err("not one of"),
            ),
            (
                json!({"resourceType": "configmap", "name": "c", "fromLiteral": ["novalue"]}),
                Err("not key=value"),
            ),
            (
                json!({"resourceType": "configmap", "name": "c", "fromLiteral": ["conf.txt=1"]}),
                Err("more than once"),
            ),
            (
                json!({"resourceType": "widget", "name": "w"}),
                Err("no generator"),
            ),
            (
                json!({"resourceType": "configmap"}),
                Err("name is required"),
            ),
        ];
        for (a, want) in cases {
            let uses_files = a["resourceType"] == "configmap"
                && a["fromLiteral"] != json!(["conf.txt=1"])
                || a["resourceType"] == "secret" && a.get("secretType").is_none();
            let f: &[(String, String)] = if uses_files || a["fromLiteral"] == json!(["conf.txt=1"])
            {
                &files
            } else {
                &[]
            };
            match (generate(&args(a.clone()), f), want) {
                (Ok(got), Ok(w)) => assert_eq!(got, w, "{a}"),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{a}: {e}"),
                (got, w) => panic!("{a}: got {:?}, want {w:?}", got.map_err(|e| e.to_string())),
            }
        }
    }

    #[test]
    fn cronjob_job_and_docker_registry() {
        let cj = generate(&args(json!({"resourceType": "cronjob", "name": "c", "image": "busybox", "schedule": "*/5 * * * *", "suspend": true, "command": ["echo", "hi"]})), &[]).unwrap();
        assert_eq!(cj["spec"]["suspend"], json!(true));
        assert_eq!(
            cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"],
            json!(["echo", "hi"])
        );
        let job = generate(
            &args(json!({"resourceType": "job", "name": "j", "image": "busybox"})),
            &[],
        )
        .unwrap();
        assert_eq!(
            job["spec"]["template"]["spec"]["restartPolicy"],
            json!("Never")
        );
        let s = generate(
            &args(
                json!({"resourceType": "secret", "name": "r", "secretType": "docker-registry",
            "fromLiteral": ["docker-server=r.example", "docker-username=u", "docker-password=p"]}),
            ),
            &[],
        )
        .unwrap();
        assert_eq!(s["type"], json!("kubernetes.io/dockerconfigjson"));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(s["data"][".dockerconfigjson"].as_str().unwrap())
            .unwrap();
        let cfg: Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(cfg["auths"]["r.example"]["auth"], json!("dTpw"));
    }

    #[test]
    fn container_names() {
        for (image, want) in [
            ("nginx", "nginx"),
            ("nginx:1.27", "nginx"),
            ("registry.k8s.io/pause:3.10", "pause"),
            ("ghcr.io/a/b_c@sha256:abc", "b-c"),
            ("localhost:5000/app", "app"),
        ] {
            assert_eq!(container_name(image), want, "{image}");
        }
    }
}
