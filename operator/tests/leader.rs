//! Leader election of the `kube-mcp-operator` binary: two replicas against the
//! local control plane, one Lease, one reconciling controller; the standby
//! takes over when the leader dies, and a leader that loses the Lease exits.

use kube_mcp_tests::fixture::until as eventually;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use kube_mcp_operator::crd::{McpEndpoint, McpEndpointSpec};
use kube_mcp_operator::{leader, reconcile};
use kube_mcp_tests::{cluster, test_namespace};

const BIN: &str = env!("CARGO_BIN_EXE_kube-mcp-operator");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One operator replica; killed on drop.
struct Replica {
    name: String,
    port: u16,
    log: std::path::PathBuf,
    child: Child,
}

impl Replica {
    fn start(name: &str, ns: &str, dir: &std::path::Path) -> Replica {
        let port = free_port();
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(BIN)
            .args([
                "run",
                "--leader-elect=true",
                "--lease-namespace",
                ns,
                "--watch-namespaces",
                ns,
                "--verify=false",
                "--metrics-addr",
                &format!("127.0.0.1:{port}"),
            ])
            .env("KUBECONFIG", cluster().kubeconfig_path())
            .env("POD_NAME", name)
            .env("RUST_LOG", "info,kube=warn")
            // tracing logs go to stdout, fatal messages to stderr.
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Replica {
            name: name.into(),
            port,
            log,
            child,
        }
    }

    /// `kube_mcp_operator_reconciles_total`, None while the admin server is not up.
    async fn reconciles(&self) -> Option<u64> {
        let body = reqwest::get(format!("http://127.0.0.1:{}/metrics", self.port))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        body.lines()
            .find_map(|l| l.strip_prefix("kube_mcp_operator_reconciles_total "))
            .and_then(|v| v.trim().parse().ok())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log)
            .unwrap_or_else(|e| format!("{}: {e}", self.log.display()))
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn holder(client: &Client, ns: &str) -> Option<String> {
    Api::<Lease>::namespaced(client.clone(), ns)
        .get_opt(leader::LEASE_NAME)
        .await
        .ok()??
        .spec?
        .holder_identity
        .filter(|h| !h.is_empty())
}

async fn reconciled(client: &Client, ns: &str, name: &str) -> Option<()> {
    let ep = Api::<McpEndpoint>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .ok()?;
    ep.status?
        .conditions
        .iter()
        .any(|c| c.type_ == "RbacReady" && c.status == "True")
        .then_some(())
}

async fn create(client: &Client, ns: &str, name: &str) {
    Api::<McpEndpoint>::namespaced(client.clone(), ns)
        .create(
            &PostParams::default(),
            &McpEndpoint::new(name, McpEndpointSpec::default()),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn one_leader_reconciles_and_a_standby_takes_over() {
    let ns = test_namespace("op-lead").await;
    let client = ns.client.clone();
    reconcile::install_crd(&client).await.unwrap();
    eventually("the McpEndpoint API", Duration::from_secs(60), || async {
        Api::<McpEndpoint>::all(client.clone())
            .list(&kube::api::ListParams::default().limit(1))
            .await
            .ok()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut replicas = vec![
        Replica::start("op-a", &ns.name, dir.path()),
        Replica::start("op-b", &ns.name, dir.path()),
    ];
    let first = eventually("a Lease holder", Duration::from_secs(60), || {
        holder(&client, &ns.name)
    })
    .await;
    let leader_at = replicas.iter().position(|r| r.name == first).unwrap();
    create(&client, &ns.name, "first").await;
    eventually("the leader to reconcile", Duration::from_secs(60), || {
        reconciled(&client, &ns.name, "first")
    })
    .await;
    // Only the leader runs the controller.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let standby = &replicas[1 - leader_at];
    let counts = (
        replicas[leader_at].reconciles().await,
        standby.reconciles().await,
    );
    assert!(
        counts.0.unwrap_or(0) > 0,
        "leader {first}: {counts:?}\n{}",
        replicas[leader_at].log()
    );
    assert_eq!(
        counts.1,
        Some(0),
        "standby {}: {counts:?}\n{}",
        standby.name,
        standby.log()
    );
    assert_eq!(
        holder(&client, &ns.name).await.as_deref(),
        Some(first.as_str())
    );
    assert!(
        standby.log().contains("waiting to become the leader"),
        "{}: {:?}",
        standby.name,
        standby.log()
    );

    // The leader dies without releasing the Lease: the standby takes over when it expires.
    let killed_at = Instant::now();
    let dead = replicas.remove(leader_at);
    drop(dead);
    let second = eventually(
        "the standby to hold the Lease",
        Duration::from_secs(60),
        || async { holder(&client, &ns.name).await.filter(|h| *h != first) },
    )
    .await;
    let took_over = killed_at.elapsed();
    let survivor = &replicas[0];
    assert_eq!(second, survivor.name);
    create(&client, &ns.name, "second").await;
    eventually(
        "the new leader to reconcile a new endpoint",
        Duration::from_secs(60),
        || reconciled(&client, &ns.name, "second"),
    )
    .await;
    let reconciled_after = killed_at.elapsed();
    assert!(
        reconciled_after < Duration::from_secs(45),
        "takeover took {reconciled_after:?}"
    );
    eprintln!(
        "leader {first} killed: {second} held the Lease after {took_over:?}, reconciled a new endpoint after {reconciled_after:?}"
    );

    // A leader that loses the Lease stops: exit status 1 and a clear log line.
    let lost_at = Instant::now();
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(jiff::Timestamp::now());
    let patch = serde_json::json!({"spec": {"holderIdentity": "intruder", "renewTime": now, "leaseDurationSeconds": 300}});
    Api::<Lease>::namespaced(client.clone(), &ns.name)
        .patch(
            leader::LEASE_NAME,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .unwrap();
    let mut survivor = replicas.remove(0);
    let status = eventually(
        "the deposed leader to exit",
        Duration::from_secs(60),
        || {
            let st = survivor.child.try_wait().unwrap();
            async move { st }
        },
    )
    .await;
    let log = survivor.log();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("lost the Lease"), "{log}");
    eprintln!("deposed leader exited after {:?}", lost_at.elapsed());
    ns.delete().await;
}
