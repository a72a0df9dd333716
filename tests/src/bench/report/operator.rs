//! The operator's sections: its run at the main size, and every size
//! measured with the plot drawn from them.

use super::{f, mib};
use serde_json::Value;
use std::fmt::Write as _;

pub(super) fn section(o: &mut String, r: &Value) {
    let op = &r["operator"];
    let _ = writeln!(o, "\n## Operator scale\n");
    if let Some(reason) = op["not_run"].as_str() {
        let _ = writeln!(o, "Not run: {reason}");
        return;
    }
    let _ = writeln!(
        o,
        "kube-mcp-operator ({}) as a local process against the same control plane; {} McpEndpoints (`access: ReadOnly`) in {} namespaces, created {} at a time.\n",
        op["build"].as_str().unwrap_or("?"),
        op["endpoints"],
        op["namespaces"],
        r["config"]["create_concurrency"]
    );
    let _ = writeln!(o, "| | |\n|---|---|");
    progress(o, op);
    settling(o, op);
    cost(o, op);
}

/// How long each part of converging took, and with how many requests.
/// When every endpoint reached a state (`seconds`), or how many had when
/// the run's limit ran out (`at_end`).
fn reached(op: &Value, seconds: &str, at_end: &str, state: &str) -> String {
    f(&op[seconds]).map_or_else(
        || {
            format!(
                "not within {} s ({} {state})",
                op["converge_limit_seconds"], op[at_end]
            )
        },
        |s| format!("{s:.1} s"),
    )
}

fn progress(o: &mut String, op: &Value) {
    let _ = writeln!(
        o,
        "| creating the endpoints | {:.1} s |",
        f(&op["create_seconds"]).unwrap_or(f64::NAN)
    );
    let _ = writeln!(
        o,
        "| all Ready (from the first create) | {} |",
        reached(op, "converge_seconds", "ready_at_end", "Ready")
    );
    let _ = writeln!(
        o,
        "| all granted: RbacReady, the operator's own work (from the first create) | {} |",
        reached(op, "granted_seconds", "granted_at_end", "granted")
    );
    if let Some(w) = write_floor(&op["write_floor"], f64::INFINITY, f(&op["granted_seconds"])) {
        let _ = writeln!(
            o,
            "| the operator's floor: its children written again directly | {w} |"
        );
    }
    if let Some(w) = ready_floor(
        &op["write_floor"],
        f64::INFINITY,
        f(&op["converge_seconds"]),
    ) {
        let _ = writeln!(
            o,
            "| the control plane's floor: those Deployments all Available | {w} |"
        );
    }
    let api = &op["apiserver_during_convergence"];
    let _ = writeln!(
        o,
        "| API server while converging: requests / 5xx / 429 / latency mean, p50, p99 | {} / {} / {} / {} ms, {} ms, {} ms |",
        api["requests"],
        api["errors_5xx"],
        api["throttled_429"],
        api["latency_mean_ms"],
        api["latency_p50_ms"],
        api["latency_p99_ms"]
    );
    let children = op["children"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let _ = writeln!(o, "| objects managed at the end | {children} |");
    let _ = writeln!(
        o,
        "| reconciles until converged | {} |",
        op["reconciles_at_convergence"]
    );
    let own = &op["operator_requests_at_convergence"];
    if let Some(per) = own["per_endpoint"].as_f64() {
        let _ = writeln!(
            o,
            "| the operator's API requests until converged (watches aside) | {per:.1} per endpoint {} |",
            own["by_verb"]
        );
    }
}

/// What the steady state and a restart wrote.
fn settling(o: &mut String, op: &Value) {
    let st = &op["steady"];
    if op["converged"] != Value::Bool(true) {
        let _ = writeln!(
            o,
            "| note | not every endpoint was Ready when the \"steady state\" window began, so it still saw convergence work |"
        );
    }
    let _ = writeln!(
        o,
        "| steady state ({} s): reconciles | {} |",
        st["window_seconds"], st["reconciles"]
    );
    writes(o, "steady state", st);
    let rs = &op["resync_after_restart"];
    let _ = writeln!(
        o,
        "| restart (full resync): seconds until every endpoint was reconciled / until quiet (no reconciles or writes for 6 s) | {} / {} |",
        rs["seconds_to_reconcile_all"], rs["seconds_until_quiet"]
    );
    let _ = writeln!(o, "| restart: reconciles | {} |", rs["reconciles"]);
    writes(o, "restart", rs);
}

/// What a window (the steady state, a restart) wrote.
fn writes(o: &mut String, window: &str, w: &Value) {
    let _ = writeln!(
        o,
        "| {window}: write requests to the operator's kinds | {} |",
        w["operator_kind_writes"]
    );
    let _ = writeln!(
        o,
        "| {window}: objects whose resourceVersion changed | {} {} |",
        w["objects_changed"], w["objects_changed_by_kind"]
    );
    let _ = writeln!(
        o,
        "| {window}: all mutating API requests (any client) | {} |",
        w["all_mutating_requests"]
    );
}

/// The CPU and memory it cost.
fn cost(o: &mut String, op: &Value) {
    if let Some(split) = granting_cpu(&op["cpu_until_granted"]) {
        let _ = writeln!(
            o,
            "| CPU from the first create until all were granted (/proc) | {split} |"
        );
    }
    let cpu = &op["cpu_during_convergence"];
    if cpu.is_object() {
        let _ = writeln!(
            o,
            "| CPU while converging: the operator / the whole machine busy / available ({} cores x {} s) | {} s / {} s / {} s |",
            cpu["cores"],
            cpu["wall_seconds"],
            cpu["operator_seconds"],
            cpu["machine_busy_seconds"],
            f(&cpu["cores"])
                .zip(f(&cpu["wall_seconds"]))
                .map_or(Value::Null, |(c, w)| serde_json::json!((c * w).round())),
        );
    }
    let _ = writeln!(
        o,
        "| operator RSS: start / converged / steady / VmHWM | {} / {} / {} / {} MiB |",
        mib(&op["rss_start_bytes"]),
        mib(&op["rss_converged_bytes"]),
        mib(&op["rss_steady_bytes"]),
        mib(&op["vm_hwm_bytes"])
    );
    let _ = writeln!(
        o,
        "\nWrites are counted from the API server's `apiserver_request_total` (mutating verbs) before and after each window; \"the operator's kinds\" are McpEndpoints (and their status), ServiceAccounts, Roles, RoleBindings, ClusterRoles, ClusterRoleBindings, Secrets, ConfigMaps, Deployments (not their status), Services and NetworkPolicies. Other clients (kwok, the controller-manager) write to some of those kinds too, so a non-zero count is an upper bound on the operator's writes."
    );
}

/// File name of the operator scale plot, next to benchmarks.md.
pub const SCALE_SVG: &str = "benchmarks-operator-scale.svg";

/// "the machine was busy B of A CPU-s: kube-apiserver X, etcd Y, ..." from
/// a window's [`ProcessCpu`](super::procfs::ProcessCpu) (busiest first).
pub(super) fn granting_cpu(cpu: &Value) -> Option<String> {
    let busy = f(&cpu["machine_busy_seconds"])?;
    let available = f(&cpu["available_seconds"])?;
    let named: Vec<(&str, f64)> = cpu["by_process"]
        .as_array()?
        .iter()
        .filter_map(|p| Some((p[0].as_str()?, f(&p[1])?)))
        .collect();
    let rest = busy - named.iter().map(|(_, s)| s).sum::<f64>();
    let by: Vec<String> = named
        .iter()
        .filter(|(_, s)| *s >= 0.05)
        .map(|(n, s)| format!("{n} {s:.1}"))
        .chain((rest >= 0.05).then(|| format!("other processes {rest:.1}")))
        .collect();
    Some(format!(
        "the machine was busy {busy:.0} of {available:.0} CPU-s ({:.0} %): {}",
        100.0 * busy / available.max(1e-9),
        by.join(", ")
    ))
}

/// What a floor of `floor` seconds says of a goal of `limit` seconds that
/// the run it bounds took `measured`: a floor over the limit means no
/// operator can meet it here, unless the floor took longer than the run
/// itself, which means the machine was busier while the floor ran.
fn floor_verdict(floor: f64, limit: f64, measured: Option<f64>) -> String {
    match measured {
        Some(m) if m < floor => format!(
            ": longer than the run it should bound ({m:.1} s), so the machine was busier \
             while it ran and it bounds nothing in this run"
        ),
        _ if floor >= limit => {
            format!(
                ": over {limit:.0} s by itself, so no operator can meet this goal on this machine"
            )
        }
        _ => String::new(),
    }
}

/// The operator's floor (its children written again directly, see
/// `writes`): how long the API server took for them alone, and what that
/// says of the goal's `limit` seconds for a run that took `measured`.
pub(super) fn write_floor(w: &Value, limit: f64, measured: Option<f64>) -> Option<String> {
    let secs = f(&w["seconds"])?;
    let busy = granting_cpu(&w["cpu"])
        .map(|c| format!("; meanwhile {c}"))
        .unwrap_or_default();
    let verdict = floor_verdict(secs, limit, measured);
    // Runs before the waves wrote each endpoint's objects one after another.
    let order = if w["waves"].is_u64() {
        "in the operator's three waves"
    } else {
        "one object after another"
    };
    Some(format!(
        "the same {} objects of {} endpoints written directly \
         (server-side apply {order}, {} endpoints at a time, nothing else) took {secs:.1} s{busy}{verdict}",
        w["objects"], w["endpoints"], w["concurrency"]
    ))
}

/// The control plane's floor (see `writes`): how long after the first
/// direct write every Deployment written was Available, the work of
/// kube-controller-manager, the scheduler and kwok alone, and what that
/// says of the goal's `limit` seconds for a run that took `measured`.
pub(super) fn ready_floor(w: &Value, limit: f64, measured: Option<f64>) -> Option<String> {
    let want = f(&w["deployments"])?;
    let kcm = &w["controller_manager_client"];
    let by_kcm = match (f(&kcm["requests"]), f(&kcm["rate_limiter_wait_seconds"])) {
        (Some(n), Some(wait)) => format!(
            " (kube-controller-manager sent {n:.0} requests meanwhile; its rate limiter held them {wait:.0} s)"
        ),
        _ => String::new(),
    };
    let (took, floor) = match f(&w["available_seconds"]) {
        Some(s) => (
            format!("were all Available {s:.1} s after the first write"),
            s,
        ),
        None => {
            let waited = f(&w["available_limit_seconds"])?;
            (
                format!(
                    "were not all Available {waited:.0} s after the first write ({} of {want:.0})",
                    w["available_at_end"]
                ),
                waited,
            )
        }
    };
    let verdict = floor_verdict(floor, limit, measured);
    Some(format!(
        "the same {want:.0} Deployments, written directly with the other children, {took}{by_kcm}{verdict}"
    ))
}

/// Every operator size measured: the scale runs and the main run.
pub fn scale_points(r: &Value) -> Value {
    let mut rows: Vec<Value> = r["operator_scale"].as_array().cloned().unwrap_or_default();
    let op = &r["operator"];
    if op["not_run"].is_null() && op["endpoints"].is_number() {
        rows.push(serde_json::json!({
            "endpoints": op["endpoints"],
            "granted_seconds": op["granted_seconds"],
            "ready_seconds": op["converge_seconds"],
            "vm_hwm_bytes": op["vm_hwm_bytes"],
            "apiserver": op["apiserver_during_convergence"],
            "cpu_until_granted": op["cpu_until_granted"],
            "main_run": true,
        }));
    }
    rows.sort_by(|a, b| {
        f(&a["endpoints"])
            .unwrap_or(0.0)
            .total_cmp(&f(&b["endpoints"]).unwrap_or(0.0))
    });
    Value::Array(rows)
}

pub(super) fn scale(o: &mut String, r: &Value) {
    let points = scale_points(r);
    let Some(rows) = points.as_array().filter(|a| a.len() > 1) else {
        return;
    };
    let _ = writeln!(o, "\n### Operator at several sizes\n");
    let _ = writeln!(
        o,
        "Each size other than the main run's ran on a fresh control plane with one kwok node per 100 endpoints (plus two); the main run shares its control plane with the seeded pods.\n\n![operator scale]({SCALE_SVG})\n"
    );
    let _ = writeln!(
        o,
        "| endpoints | all granted (s) | all Ready (s) | operator VmHWM (MiB) | API requests / 5xx / 429 | API latency p50 / p99 (ms) | CPU until all were granted |\n|---|---|---|---|---|---|---|"
    );
    for row in rows {
        if let Some(why) = row["not_run"].as_str() {
            let _ = writeln!(o, "| {} | not run: {why} | | | | | |", row["endpoints"]);
            continue;
        }
        let api = &row["apiserver"];
        let _ = writeln!(
            o,
            "| {}{} | {} | {} | {} | {} / {} / {} | {} / {} | {} |",
            row["endpoints"],
            if row["main_run"] == Value::Bool(true) {
                " (main run)"
            } else {
                ""
            },
            within(row, "granted"),
            within(row, "ready"),
            mib(&row["vm_hwm_bytes"]),
            api["requests"],
            api["errors_5xx"],
            api["throttled_429"],
            api["latency_p50_ms"],
            api["latency_p99_ms"],
            granting_cpu(&row["cpu_until_granted"]).unwrap_or_else(|| "–".into())
        );
    }
}

/// A scale row's time until all were `what` (granted, ready), or how many
/// were when its limit ran out.
fn within(row: &Value, what: &str) -> String {
    match f(&row[format!("{what}_seconds")]) {
        Some(s) => format!("{s:.1}"),
        None => format!(
            "not within {} s ({} of {})",
            row["limit_seconds"],
            row[format!("{what}_at_end")],
            row["endpoints"]
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn granting_cpu_names_the_busiest_first_as_measured() {
        let cpu = json!({
            "wall_seconds": 50.0, "available_seconds": 100.0, "machine_busy_seconds": 96.4,
            "by_process": [["kube-apiserver", 68.04], ["etcd", 9.0], ["kube-mcp-operator", 7.26], ["watchdog", 0.01]],
        });
        assert_eq!(
            granting_cpu(&cpu).as_deref(),
            Some(
                "the machine was busy 96 of 100 CPU-s (96 %): kube-apiserver 68.0, etcd 9.0, \
                 kube-mcp-operator 7.3, other processes 12.1"
            )
        );
        // An older benchmarks.json has no such window: nothing is claimed.
        assert_eq!(granting_cpu(&Value::Null), None);
    }

    #[test]
    fn the_operators_floor_says_whether_it_alone_misses_the_goal() {
        let w = |secs: f64| {
            json!({"seconds": secs, "objects": 7000, "endpoints": 1000, "concurrency": 8,
                   "cpu": {"wall_seconds": secs, "available_seconds": 2.0 * secs,
                           "machine_busy_seconds": 1.9 * secs, "by_process": [["kube-apiserver", secs]]}})
        };
        let slow = write_floor(&w(75.0), 60.0, Some(90.0)).unwrap();
        assert!(slow.contains("7000 objects of 1000 endpoints"), "{slow}");
        assert!(slow.contains("took 75.0 s; meanwhile the machine was busy 142 of 150 CPU-s (95 %): kube-apiserver 75.0"), "{slow}");
        assert!(
            slow.ends_with("no operator can meet this goal on this machine"),
            "{slow}"
        );
        let fast = write_floor(&w(40.0), 60.0, Some(90.0)).unwrap();
        assert!(!fast.contains("no operator"), "{fast}");
        // Slower than the operator's own run: the floor met a busier machine.
        let disturbed = write_floor(&w(97.9), 60.0, Some(64.3)).unwrap();
        assert!(
            disturbed.ends_with(
                "took 97.9 s; meanwhile the machine was busy 186 of 196 CPU-s (95 %): kube-apiserver 97.9, other processes 88.1: longer than the run it should bound (64.3 s), so the machine was busier while it ran and it bounds nothing in this run"
            ),
            "{disturbed}"
        );
        assert_eq!(write_floor(&json!({"not_run": "x"}), 60.0, None), None);
    }

    #[test]
    fn the_control_planes_floor_says_whether_it_alone_misses_the_ready_goal() {
        let w = |secs: Option<f64>| {
            json!({"deployments": 1000, "available_seconds": secs, "available_at_end": 640,
                   "available_limit_seconds": 600,
                   "controller_manager_client": {"requests": 13000.0, "rate_limiter_wait_seconds": 2100.0}})
        };
        let slow = ready_floor(&w(Some(231.5)), 120.0, Some(246.0)).unwrap();
        assert!(
            slow.starts_with("the same 1000 Deployments, written directly with the other children, were all Available 231.5 s after the first write (kube-controller-manager sent 13000 requests meanwhile; its rate limiter held them 2100 s)"),
            "{slow}"
        );
        assert!(
            slow.ends_with("no operator can meet this goal on this machine"),
            "{slow}"
        );
        let fast = ready_floor(&w(Some(90.0)), 120.0, Some(110.0)).unwrap();
        assert!(!fast.contains("no operator"), "{fast}");
        let disturbed = ready_floor(&w(Some(231.5)), 120.0, Some(200.0)).unwrap();
        assert!(
            disturbed.ends_with("longer than the run it should bound (200.0 s), so the machine was busier while it ran and it bounds nothing in this run"),
            "{disturbed}"
        );
        let never = ready_floor(&w(None), 120.0, None).unwrap();
        assert!(
            never.contains("were not all Available 600 s after the first write (640 of 1000)"),
            "{never}"
        );
        assert!(
            never.ends_with("no operator can meet this goal on this machine"),
            "{never}"
        );
        // A run from before the floor waited for its Deployments says nothing.
        assert_eq!(ready_floor(&json!({"seconds": 60.0}), 120.0, None), None);
    }

    #[test]
    fn a_scale_size_that_ran_out_of_time_says_how_far_it_got() {
        let row = json!({"endpoints": 3000, "limit_seconds": 600, "granted_seconds": 334.744,
            "granted_at_end": 3000, "ready_seconds": null, "ready_at_end": 1448});
        assert_eq!(within(&row, "granted"), "334.7");
        assert_eq!(within(&row, "ready"), "not within 600 s (1448 of 3000)");
    }
}
