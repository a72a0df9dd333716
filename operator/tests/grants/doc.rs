//! docs/grants.md, rendered from the table the grants test checks.

use super::table::{
    self, ACCESS, PLACES, Place, RESOURCES, ROWS, Row, SCOPES, SECRETS, SPECIAL, Scope, VERBS,
};
use kube_mcp_operator::crd::{Access, SecretsPolicy};
use std::collections::BTreeSet;
use std::fmt::Write;

/// How many SubjectAccessReviews one endpoint's check asks.
pub fn questions_per_endpoint() -> usize {
    let places = |namespaced: bool| if namespaced { PLACES.len() } else { 1 };
    RESOURCES
        .iter()
        .map(|r| VERBS.len() * places(r.2))
        .sum::<usize>()
        + SPECIAL.iter().map(|s| places(s.3)).sum::<usize>()
}

fn group(g: &str) -> &str {
    match g {
        "" => "core",
        "*" => "all",
        g => g,
    }
}

fn access(r: &Row) -> &'static str {
    match r.when.access {
        Access::ReadOnly => "ReadOnly and up",
        Access::NonDestructive => "NonDestructive and up",
        Access::Full => "Full",
    }
}

fn secrets(r: &Row) -> &'static str {
    match r.when.secrets.len() {
        3 => "any",
        2 => "Masked, Visible",
        _ => "Visible",
    }
}

fn scope(r: &Row) -> &'static str {
    if r.when.cluster_wide || r.cluster_kinds {
        "`[\"*\"]` only"
    } else {
        "any"
    }
}

fn resources(r: &Row) -> String {
    if r.resources == ["*"] {
        "all (with `[\"*\"]` also cluster-scoped kinds)".into()
    } else {
        let kind = if r.cluster_kinds {
            " (cluster-scoped)"
        } else {
            ""
        };
        format!("{}{kind}", r.resources.join(", "))
    }
}

fn name(s: Scope) -> &'static str {
    match s {
        Scope::Own => "own namespace",
        Scope::List => "a list",
        Scope::All => "`[\"*\"]`",
    }
}

/// For each probed resource, the verbs some combination without Helm's
/// wildcard (secrets Hidden or Masked) gets.
fn granted_without_helm() -> Vec<(&'static str, &'static str, BTreeSet<&'static str>)> {
    RESOURCES
        .iter()
        .map(|&res| {
            let mut verbs = BTreeSet::new();
            for a in ACCESS {
                for s in [SecretsPolicy::Hidden, SecretsPolicy::Masked] {
                    for sc in SCOPES {
                        for p in PLACES {
                            for v in VERBS {
                                if table::allowed(a, s, sc, v, res, p) {
                                    verbs.insert(v);
                                }
                            }
                        }
                    }
                }
            }
            (res.0, res.1, verbs)
        })
        .collect()
}

fn counts(a: Access, s: SecretsPolicy, sc: Scope) -> String {
    let n = |place: Place| {
        let plain = RESOURCES
            .iter()
            .filter(|r| r.2 || place == Place::Cluster)
            .flat_map(|&r| VERBS.iter().map(move |v| (v, r)))
            .filter(|(v, r)| table::allowed(a, s, sc, v, *r, place))
            .count();
        plain.to_string()
    };
    PLACES.iter().map(|p| n(*p)).collect::<Vec<_>>().join(" / ")
}

pub fn render() -> String {
    let mut out = String::new();
    let w = &mut out;
    let endpoints = ACCESS.len() * SECRETS.len() * SCOPES.len();
    let _ = writeln!(
        w,
        "# What each endpoint setting grants

<!-- Generated from operator/tests/grants/table.rs by operator/tests/grants.rs; do not edit.
     Regenerate: KUBE_MCP_WRITE_DOCS=1 cargo test -p kube-mcp-operator --test grants docs -->

An endpoint's server runs as the ServiceAccount `kube-mcp.<endpoint name>`. The
operator grants it the RBAC the endpoint's tools need and nothing else; this page
is all of it. A test (`operator/tests/grants.rs`) creates one endpoint for each of
the {endpoints} combinations of `spec.access` × `spec.secrets` × scope, asks the API
server (SubjectAccessReview) {q} questions per endpoint — every verb on {r}
resources in the endpoint's namespace, a listed namespace, an unlisted namespace
and cluster-wide, plus `escalate`, `bind` and `impersonate` — and fails unless the
answers are exactly this table, nothing more and nothing less.

The operator's defaults are assumed: `--allow-cluster-reads=true` (with `false`,
the cluster-scoped read rows below are not granted). Whether an endpoint may ask
for an access level or a scope at all is the operator's policy
(`--max-access`, `--admin-namespaces`; see [install.md](install.md)).

## Where the rules apply

| scope (`spec.namespaces`) | namespaced kinds | cluster-scoped kinds |
|---|---|---|
| absent: the endpoint's own namespace | a Role there | nothing |
| a list (endpoints in an admin namespace only) | a Role in each listed namespace | nothing |
| `[\"*\"]` (endpoints in an admin namespace only) | a ClusterRole: every namespace, and lists across all of them | the rows marked cluster-scoped |

A namespace-scoped endpoint holds no cluster-scoped rule at all: its server
refuses every cluster-level request, so such a rule would only be a right its
token carries around unused.

## The rules

| access | secrets | scope | API group | resources | verbs | for |
|---|---|---|---|---|---|---|",
        q = questions_per_endpoint(),
        r = RESOURCES.len(),
    );
    for r in ROWS {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} |",
            access(r),
            secrets(r),
            scope(r),
            group(r.group),
            resources(r),
            r.verbs.join(", "),
            r.why
        );
    }
    let probed = granted_without_helm();
    let never: Vec<String> = probed
        .iter()
        .filter(|(_, _, v)| v.is_empty())
        .map(|(g, r, _)| format!("`{}` ({})", r, group(g)))
        .collect();
    let read_only: Vec<String> = probed
        .iter()
        .filter(|(_, _, v)| !v.is_empty() && v.iter().all(|x| ["get", "list", "watch"].contains(x)))
        .map(|(g, r, _)| format!("`{}` ({})", r, group(g)))
        .collect();
    let special: Vec<String> = SPECIAL
        .iter()
        .map(|(v, g, r, _)| format!("`{v}` on `{r}` ({})", group(g)))
        .collect();
    let _ = writeln!(
        w,
        "
Secrets: with `secrets: Hidden` no rule names Secrets (and no wildcard, which
would). With `Masked` the server reads them and masks every value before any
tool sees it.

## What no setting grants

Refused in every combination: {}.

Outside Helm's wildcard (Helm tools are offered only with `secrets: Visible`,
since a chart can read any Secret and print it), no combination gets any verb on
{}, and only reads of {}.
",
        special.join(", "),
        never.join(", "),
        read_only.join(", ")
    );
    let _ = writeln!(
        w,
        "## Authentication and authorization (`spec.auth`)

Independently of the rows above, the server's own checks of its callers need two
cluster-wide rights, granted through the ClusterRole and ClusterRoleBinding
`kube-mcp:<namespace>:<name>` to the endpoints that use them and to no other
(the test checks each, and that `Token` and `Oidc` alone get neither):

| setting | API group | resource | verbs |
|---|---|---|---|"
    );
    for (setting, g, r, verbs) in table::IDENTITY {
        let _ = writeln!(w, "| {setting} | {g} | {r} | {} |", verbs.join(", "));
    }
    let _ = writeln!(
        w,
        "
The operator's admission policy `endpoint-reviews` refuses such an endpoint
unless its creator holds the same right.
"
    );
    let _ = writeln!(
        w,
        "## Allowed questions per combination

Of the {q} questions, how many the API server answers yes, as
own namespace / a listed namespace / an unlisted namespace / cluster-wide:

| access | secrets | {} | {} | {} |
|---|---|---|---|---|",
        name(Scope::Own),
        name(Scope::List),
        name(Scope::All),
        q = questions_per_endpoint(),
    );
    for a in ACCESS {
        for s in SECRETS {
            let cells: Vec<String> = SCOPES.iter().map(|sc| counts(a, s, *sc)).collect();
            let _ = writeln!(w, "| {} | {:?} | {} |", a.as_str(), s, cells.join(" | "));
        }
    }
    out
}
