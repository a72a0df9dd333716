//! The operator at several sizes, each on a fresh control plane: how long
//! its own work takes (every endpoint RbacReady), how long until every pod
//! is Ready, its memory, and what the API server answered meanwhile. The
//! growth curve is drawn as an SVG next to the report.

use super::operator::{self, Operator};
use super::stats::round3;
use super::{apistats, procfs};
use crate::controlplane::{ControlPlane, Options};
use anyhow::Result;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

const NAMESPACES: usize = 10;

/// One size on its own control plane; errors are recorded, not fatal.
pub async fn run(bin: &Path, crd: &Path, sizes: &[usize], limit: Duration) -> Value {
    let mut out = vec![];
    for &n in sizes {
        eprintln!("[bench] operator scale: {n} endpoints on a fresh control plane");
        out.push(match one(bin, crd, n, limit).await {
            Ok(v) => v,
            Err(e) => {
                eprintln!("[bench] operator scale {n}: not run: {e:#}");
                json!({"endpoints": n, "not_run": format!("{e:#}")})
            }
        });
    }
    Value::Array(out)
}

async fn one(bin: &Path, crd: &Path, n: usize, limit: Duration) -> Result<Value> {
    // kwok nodes take 110 pods each, like a kubelet's default.
    let cp = ControlPlane::start(Options {
        nodes: n / 100 + 2,
        timeout: Duration::from_secs(300),
        ..Default::default()
    })
    .await?;
    let client = cp.client().await;
    operator::install_crd(&cp, &client, crd).await?;
    let nss = operator::create_namespaces(&client, operator::NS_PREFIX, NAMESPACES).await?;
    let dir = tempfile::tempdir()?;
    let op = Operator::start(bin, cp.kubeconfig_path(), dir.path(), n).await?;
    let api0 = apistats::snapshot(&client).await?;
    let by_process = op.with_control_plane(&cp);
    let t0 = Instant::now();
    operator::create_endpoints(&client, &nss, n).await?;
    let created = t0.elapsed();
    let conv = operator::converge(&client, op.pid, n, t0, &by_process, limit).await;
    let api = apistats::delta(&api0, &apistats::snapshot(&client).await?);
    let hwm = procfs::status_kb(op.pid, "VmHWM").unwrap_or(0);
    let rss_end = procfs::rss(op.pid).unwrap_or(0);
    op.stop().await;
    cp.stop();
    let secs = |d: Option<Duration>| d.map(|d| round3(d.as_secs_f64()));
    Ok(json!({
        "endpoints": n,
        "create_seconds": round3(created.as_secs_f64()),
        "granted_seconds": secs(conv.granted),
        "ready_seconds": secs(conv.ready),
        "granted_at_end": conv.last.granted,
        "ready_at_end": conv.last.ready,
        "limit_seconds": limit.as_secs(),
        "rss_max_bytes": conv.rss_max.max(rss_end),
        "vm_hwm_bytes": hwm,
        "apiserver": apistats::to_json(&api),
        "cpu_until_granted": conv.cpu_granting,
    }))
}

/// A title, its lines (name, colour, points) and its x offset.
type Panel<'a> = (&'a str, Vec<(&'a str, &'a str, &'a [(f64, f64)])>, f64);

/// A two-panel SVG: seconds until every endpoint is granted (and Ready)
/// against the endpoint count, and the operator's peak RSS.
pub fn svg(scale: &Value) -> Option<String> {
    let rows: Vec<&Value> = scale
        .as_array()?
        .iter()
        .filter(|r| r["not_run"].is_null())
        .collect();
    if rows.is_empty() {
        return None;
    }
    let f = |v: &Value| v.as_f64();
    let xs: Vec<f64> = rows.iter().filter_map(|r| f(&r["endpoints"])).collect();
    let series = |key: &str, scale: f64| -> Vec<(f64, f64)> {
        rows.iter()
            .filter_map(|r| Some((f(&r["endpoints"])?, f(&r[key])? * scale)))
            .collect()
    };
    let granted = series("granted_seconds", 1.0);
    let ready = series("ready_seconds", 1.0);
    let rss = series("vm_hwm_bytes", 1.0 / 1048576.0);
    let xmax = xs.iter().copied().fold(1.0, f64::max);
    let (w, h, pad) = (360.0, 220.0, 44.0);
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="11">"#,
        2.0 * w,
        h
    );
    let panels: [Panel; 2] = [
        (
            "seconds until every endpoint is granted / Ready",
            vec![
                ("granted (operator)", "#1f77b4", &granted),
                ("Ready (with pods)", "#ff7f0e", &ready),
            ],
            0.0,
        ),
        (
            "operator peak RSS (MiB)",
            vec![("VmHWM", "#2ca02c", &rss)],
            w,
        ),
    ];
    for (title, lines, x0) in panels {
        let ymax = lines
            .iter()
            .flat_map(|(_, _, pts)| pts.iter().map(|p| p.1))
            .fold(1.0, f64::max)
            * 1.1;
        let px = |x: f64| x0 + pad + (x / xmax) * (w - 2.0 * pad);
        let py = |y: f64| h - pad - (y / ymax) * (h - 2.0 * pad);
        let _ = write!(
            o,
            r#"<text x="{}" y="16">{title}</text><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="black"/><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
            x0 + pad,
            px(0.0),
            py(0.0),
            px(xmax),
            py(0.0),
            px(0.0),
            py(0.0),
            px(0.0),
            py(ymax)
        );
        let _ = write!(
            o,
            r#"<text x="{}" y="{}" text-anchor="end">{:.0}</text><text x="{}" y="{}" text-anchor="middle">endpoints</text>"#,
            px(0.0) - 4.0,
            py(ymax) + 4.0,
            ymax,
            px(xmax / 2.0),
            h - 8.0
        );
        for x in &xs {
            let _ = write!(
                o,
                r#"<text x="{}" y="{}" text-anchor="middle">{x}</text>"#,
                px(*x),
                py(0.0) + 14.0
            );
        }
        for (i, (name, colour, pts)) in lines.iter().enumerate() {
            let path: Vec<String> = pts
                .iter()
                .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
                .collect();
            let _ = write!(
                o,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
                path.join(" ")
            );
            for (x, y) in pts.iter() {
                let _ = write!(
                    o,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{x}: {y:.1}</title></circle>"#,
                    px(*x),
                    py(*y)
                );
            }
            let _ = write!(
                o,
                r#"<text x="{}" y="{}" fill="{colour}">{name}</text>"#,
                x0 + pad + 8.0,
                32.0 + 13.0 * i as f64
            );
        }
    }
    o.push_str("</svg>\n");
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_plots_every_measured_size() {
        let scale = json!([
            {"endpoints": 100, "granted_seconds": 3.0, "ready_seconds": 9.0, "vm_hwm_bytes": 20971520},
            {"endpoints": 1000, "granted_seconds": 30.0, "ready_seconds": 90.0, "vm_hwm_bytes": 41943040},
            {"endpoints": 3000, "not_run": "control plane did not start"},
        ]);
        let svg = svg(&scale).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 3, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 6, "{svg}");
        assert!(svg.contains("<title>1000: 40.0</title>"), "{svg}");
        assert!(!svg.contains(">3000<"), "{svg}");
        assert!(super::svg(&json!([])).is_none());
    }
}
