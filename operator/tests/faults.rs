//! Operator fault injection: the real `kube-mcp-operator` binary (leader
//! election on, restarted by a supervisor as its Deployment would be)
//! against a control plane of this test process's own, while a batch of
//! endpoint creates, access and scope changes, token rotations and deletes
//! goes in. Faults: the API server restarted mid-batch, the operator
//! SIGKILLed at random points in its reconciles, etcd frozen for longer
//! than the Lease, and the leader partitioned from the API server while a
//! standby runs.
//!
//! Each scenario ends with the same checks: every endpoint converges to its
//! spec (status, and SubjectAccessReview answers equal to the hand-written
//! table in grants/table.rs); no RBAC object is left that no endpoint wants
//! (and none at all once the endpoints are deleted); no generated token
//! changed without a rotation; and no endpoint was ever granted more than
//! some spec it had, at any sampled moment during the run.
//!
//! Sizes: `KUBE_MCP_RELIABILITY=ci` (default) or `long`; figures go to
//! `$KUBE_MCP_RELIABILITY_OUT` (scripts/reliability).

#[path = "faults/checks.rs"]
mod checks;
#[path = "faults/model.rs"]
mod model;
#[allow(dead_code)] // the grants test uses the rest
#[path = "grants/table.rs"]
mod table;
#[path = "faults/world.rs"]
mod world;

use checks::Samplers;
use kube_mcp_operator::leader;
use kube_mcp_tests::controlplane::ControlPlane;
use kube_mcp_tests::reliability::{self, Budget, cluster};
use rand::Rng as _;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use world::World;

/// Time between two operations of a batch.
const PACE: Duration = Duration::from_millis(150);
/// Bound on convergence after a fault.
const RECOVER_WITHIN: Duration = Duration::from_secs(240);

/// A scenario under way.
struct Run {
    name: &'static str,
    budget: Budget,
    world: Arc<World>,
    samplers: Samplers,
    /// Token digests after the seed endpoints were granted.
    before: BTreeMap<String, String>,
    started: Instant,
}

async fn begin(cp: &ControlPlane, name: &'static str, replicas: usize, proxied: bool) -> Run {
    let budget = Budget::from_env();
    let started = Instant::now();
    let world = World::new(cp, name, replicas, proxied).await;
    let seeded = world
        .seed_endpoints(budget.seed_endpoints, RECOVER_WITHIN)
        .await;
    eprintln!(
        "{name}: {} endpoints granted in {seeded:?}",
        budget.seed_endpoints
    );
    let before = checks::tokens(&world.client, &world.places())
        .await
        .unwrap();
    let samplers = Samplers::start(&world.client, &world.model);
    Run {
        name,
        budget,
        world: Arc::new(world),
        samplers,
        before,
        started,
    }
}

/// Waits for the batch, recovery and every check; records the figures,
/// then asserts.
async fn end(run: Run, batch: tokio::task::JoinHandle<()>, fault: Value) {
    let Run {
        name,
        budget,
        world,
        samplers,
        before,
        started,
    } = run;
    batch.await.unwrap();
    let recovered_at = Instant::now();
    let converged = world.converge(RECOVER_WITHIN).await;
    let after = checks::tokens(&world.client, &world.places())
        .await
        .unwrap();
    let seen = samplers.finish().await;
    let model = world.model.lock().unwrap().clone();
    let orphans = checks::settle(Duration::from_secs(60), || {
        checks::orphans(&world.client, &model)
    })
    .await
    .err()
    .unwrap_or_default();
    let replaced = checks::replaced_tokens(&model, &seen, &before, &after);
    let (lives, own_exits, killed) = {
        let replicas = world.replicas.lock().await;
        let lives: usize = replicas.iter().map(|r| r.proc.lives()).sum();
        let own: usize = replicas.iter().map(|r| r.proc.own_exits()).sum();
        let all: usize = replicas.iter().map(|r| r.proc.exits.len()).sum();
        (lives, own, all - own)
    };
    let logs = world.logs().await;
    let world =
        Arc::try_unwrap(world).unwrap_or_else(|_| panic!("the batch still holds the world"));
    let seed = world.seed;
    let left = world.tear_down().await;
    let figures = json!({
        "scenario": name,
        "size": budget.size,
        "seed": seed,
        "fault": fault,
        "operations": world_ops(&model),
        "endpoints": model.endpoints.len(),
        "live_at_end": model.live().count(),
        "operator": {"lives": lives, "exits_on_its_own": own_exits, "killed": killed},
        "recovered": true,
        "converged_seconds": secs(converged),
        "recovery_seconds": secs(recovered_at.elapsed()),
        "sar": {"questions": seen.questions, "unanswered": seen.unanswered, "over_grants": seen.over.len()},
        "tokens": {"reads": seen.token_reads, "replaced": replaced.len()},
        "orphans": orphans.len(),
        "orphans_after_delete": left.len(),
        "seconds": secs(started.elapsed()),
        "loadavg": kube_mcp_tests::machine::loadavg(),
    });
    reliability::record(&format!("operator-{name}"), &figures);
    assert!(
        seen.over.is_empty(),
        "granted more than any spec:\n{}",
        seen.over.join("\n")
    );
    assert!(
        replaced.is_empty(),
        "tokens replaced:\n{}",
        replaced.join("\n")
    );
    assert!(
        orphans.is_empty(),
        "RBAC no endpoint wants:\n{}\n{logs}",
        orphans.join("\n")
    );
    assert!(
        left.is_empty(),
        "RBAC left after every endpoint was deleted:\n{}",
        left.join("\n")
    );
    assert!(
        seen.questions > seen.unanswered,
        "no SubjectAccessReview was answered"
    );
}

fn world_ops(m: &model::Model) -> usize {
    m.endpoints
        .iter()
        .map(|e| e.shapes.len() + e.rotations as usize + usize::from(e.deleted))
        .sum()
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 10.0).round() / 10.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apiserver_restarted_mid_batch() {
    let mut cp = cluster::exclusive().await;
    let run = begin(&cp, "fapi", 1, false).await;
    let batch = run.world.batch(run.budget.ops, PACE);
    run.world.wait_sent(run.budget.ops * 2 / 5).await;
    let at = run.world.sent.load(std::sync::atomic::Ordering::Relaxed);
    let down = cp.restart("kube-apiserver").await.unwrap();
    let fault = json!({
        "kind": "kube-apiserver restarted (same port and data) in the middle of the batch",
        "injected": 1,
        "at_operation": at,
        "down_seconds": secs(down),
    });
    end(run, batch, fault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_sigkilled_in_its_reconciles() {
    let cp = cluster::exclusive().await;
    let run = begin(&cp, "fkill", 1, false).await;
    let batch = run.world.batch(run.budget.ops, PACE * 2);
    let mut kills = 0;
    for _ in 0..run.budget.kills {
        // Kill only a life that is reconciling, at a random moment in it.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            let busy = run.world.replicas.lock().await[0].reconciles().await;
            if busy.is_some_and(|n| n > 0) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let wait = rand::rng().random_range(0..1500);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        run.world.replicas.lock().await[0]
            .proc
            .kill_and_restart()
            .await;
        kills += 1;
    }
    let fault = json!({
        "kind": "kube-mcp-operator SIGKILLed at random points in its reconciles, restarted at once",
        "injected": kills,
    });
    end(run, batch, fault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_frozen_longer_than_the_lease() {
    let cp = cluster::exclusive().await;
    let run = begin(&cp, "fetcd", 1, false).await;
    let batch = run.world.batch(run.budget.ops, PACE);
    run.world.wait_sent(run.budget.ops * 2 / 5).await;
    let frozen = Duration::from_secs(leader::LEASE_DURATION_SECONDS + 5);
    cp.pause("etcd").unwrap();
    tokio::time::sleep(frozen).await;
    cp.resume("etcd").unwrap();
    // The leader could not renew: it stopped by itself before its Lease expired.
    let stopped = run.world.replicas.lock().await[0].proc.own_exits();
    let log = run.world.replicas.lock().await[0].proc.log();
    assert!(
        stopped >= 1 && log.contains("lost the Lease"),
        "the leader kept running with etcd frozen for {frozen:?}:\n{}",
        run.world.logs().await
    );
    let fault = json!({
        "kind": "etcd frozen (SIGSTOP) for longer than the Lease, then thawed",
        "injected": 1,
        "frozen_seconds": frozen.as_secs(),
        "leader_stopped_by_itself": stopped,
    });
    end(run, batch, fault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_leader_stops_before_the_standby_starts() {
    let cp = cluster::exclusive().await;
    let run = begin(&cp, "fpart", 2, true).await;
    let world = run.world.clone();
    let old = settle_value(Duration::from_secs(60), || world.holder()).await;
    let names = |rs: &[world::Replica]| {
        rs.iter()
            .map(|r| r.proc.name().to_string())
            .collect::<Vec<_>>()
    };
    let (old_at, new_at) = {
        let rs = world.replicas.lock().await;
        let i = names(&rs).iter().position(|n| *n == old).unwrap();
        (i, 1 - i)
    };
    let batch = world.batch(run.budget.ops, PACE);
    world.wait_sent(run.budget.ops / 5).await;
    let blocked_at = jiff::Timestamp::now();
    world.replicas.lock().await[old_at]
        .proxy
        .as_ref()
        .unwrap()
        .block();
    // Both lines are in the replicas' logs once the standby took over
    // (bounded: the Lease expires 15 s after the last renewal).
    let logged = |at: usize, text: &'static str| {
        let world = world.clone();
        async move {
            let log = world.replicas.lock().await[at].proc.log();
            world::logged_at(&log, text, blocked_at)
        }
    };
    let start = Instant::now();
    let (mut stopped, mut started) = (None, None);
    while (stopped.is_none() || started.is_none()) && start.elapsed() < Duration::from_secs(90) {
        stopped = logged(old_at, "lost the Lease").await;
        started = logged(new_at, "became the leader").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let new = world.holder().await.unwrap_or_default();
    world.replicas.lock().await[old_at]
        .proxy
        .as_ref()
        .unwrap()
        .heal();
    let (Some(stopped), Some(started)) = (stopped, started) else {
        panic!(
            "the partitioned leader {old} stopped at {stopped:?}, the standby {new} started at {started:?}\n{}",
            world.logs().await
        );
    };
    let gap = started.duration_since(stopped);
    assert!(
        gap.is_positive(),
        "the partitioned leader {old} stopped at {stopped}, after the standby {new} started at {started}"
    );
    let fault = json!({
        "kind": "two replicas; the leader's API traffic blocked (TCP proxy), healed after the standby took over",
        "injected": 1,
        "leader_stopped_after_seconds": secs(Duration::try_from(stopped.duration_since(blocked_at)).unwrap_or_default()),
        "standby_started_after_seconds": secs(Duration::try_from(started.duration_since(blocked_at)).unwrap_or_default()),
        "stopped_before_standby_seconds": secs(Duration::try_from(gap).unwrap_or_default()),
    });
    drop(world);
    end(run, batch, fault).await;
}

/// Polls `f` every 200 ms until Some, or panics after `within`.
async fn settle_value<T, F, Fut>(within: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < within, "nothing within {within:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
