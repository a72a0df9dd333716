//! The workload of a fault scenario: endpoints and the operations on them
//! (creates, access and scope changes, token rotations, deletes), drawn
//! from a seeded generator, and every shape each endpoint was ever asked
//! to have: its grants may lag behind the newest, never exceed them all.

use crate::table::{self, Place, Scope};
use kube_mcp_operator::crd::{Access, McpEndpointSpec, SecretsPolicy};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

/// What decides an endpoint's grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub access: Access,
    pub secrets: SecretsPolicy,
    pub scope: Scope,
}

/// The namespaces of one scenario.
#[derive(Debug, Clone)]
pub struct Places {
    /// Endpoints reaching their own namespace only.
    pub team: String,
    /// The admin namespace: its endpoints may list namespaces or take `*`.
    pub ops: String,
    /// The other namespace a `List` endpoint names.
    pub listed: String,
    /// A namespace no endpoint names.
    pub unlisted: String,
}

impl Places {
    /// The namespace a probe at `place` asks about ("" = cluster-wide).
    pub fn at(&self, home: &str, place: Place) -> String {
        match place {
            Place::Home => home.to_string(),
            Place::Listed => self.listed.clone(),
            Place::Unlisted => self.unlisted.clone(),
            Place::Cluster => String::new(),
        }
    }

    /// The namespaces endpoints live in.
    pub fn homes(&self) -> [&str; 2] {
        [&self.team, &self.ops]
    }

    /// The namespaces a scope's Roles belong in (none for `*`: a ClusterRole).
    pub fn role_namespaces(&self, home: &str, scope: Scope) -> Vec<String> {
        match scope {
            Scope::Own => vec![home.to_string()],
            Scope::List => vec![self.ops.clone(), self.listed.clone()],
            Scope::All => vec![],
        }
    }
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub name: String,
    pub home: String,
    /// Every shape asked for, oldest first.
    pub shapes: Vec<Shape>,
    /// Token rotations asked for.
    pub rotations: u32,
    pub deleted: bool,
}

impl Endpoint {
    pub fn shape(&self) -> Shape {
        self.shapes[self.shapes.len() - 1]
    }

    /// Whether any shape it was asked to have grants `probe`.
    pub fn ever_allows(&self, probe: &Probe) -> bool {
        self.shapes.iter().any(|s| allows(*s, probe))
    }
}

/// One SubjectAccessReview question asked of an endpoint's ServiceAccount.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub verb: &'static str,
    pub resource: table::Resource,
    pub place: Place,
}

const fn probe(verb: &'static str, resource: table::Resource, place: Place) -> Probe {
    Probe {
        verb,
        resource,
        place,
    }
}

/// Questions that tell the access levels, secrets modes and scopes apart.
pub const PROBES: &[Probe] = &[
    probe("get", ("", "pods", true), Place::Home),
    probe("create", ("", "pods", true), Place::Home),
    probe("delete", ("", "pods", true), Place::Home),
    probe("get", ("", "secrets", true), Place::Home),
    probe("update", ("", "secrets", true), Place::Home),
    probe("create", ("", "pods/exec", true), Place::Home),
    probe("patch", ("apps", "deployments", true), Place::Listed),
    probe("list", ("", "pods", true), Place::Listed),
    probe("get", ("", "configmaps", true), Place::Unlisted),
    probe("list", ("", "pods", true), Place::Cluster),
    probe("list", ("", "nodes", false), Place::Cluster),
    probe("patch", ("", "nodes", false), Place::Cluster),
    probe(
        "escalate",
        ("rbac.authorization.k8s.io", "roles", true),
        Place::Home,
    ),
    // Only Helm's any-kind rule (Visible secrets) grants it.
    probe(
        "create",
        ("rbac.authorization.k8s.io", "rolebindings", true),
        Place::Home,
    ),
];

/// What the hand-written table says `shape` grants for `probe`.
pub fn allows(shape: Shape, p: &Probe) -> bool {
    table::allowed(
        shape.access,
        shape.secrets,
        shape.scope,
        p.verb,
        p.resource,
        p.place,
    )
}

/// One operation on endpoint `usize` (an index into [`Model::endpoints`]).
#[derive(Debug, Clone, Copy)]
pub enum Op {
    Create(usize),
    /// Access and/or scope changed: the endpoint's newest shape.
    Reshape(usize),
    Rotate(usize),
    Delete(usize),
}

#[derive(Clone)]
pub struct Model {
    pub places: Places,
    pub endpoints: Vec<Endpoint>,
    rng: StdRng,
    /// Distinguishes this scenario's endpoint names.
    label: String,
}

const ACCESS: [Access; 3] = [Access::ReadOnly, Access::NonDestructive, Access::Full];
const SECRETS: [SecretsPolicy; 3] = [
    SecretsPolicy::Hidden,
    SecretsPolicy::Masked,
    SecretsPolicy::Visible,
];
const SCOPES: [Scope; 3] = [Scope::Own, Scope::List, Scope::All];

impl Model {
    pub fn new(places: Places, label: &str, seed: u64) -> Model {
        Model {
            places,
            endpoints: vec![],
            rng: StdRng::seed_from_u64(seed),
            label: label.into(),
        }
    }

    fn pick<T: Copy>(&mut self, of: &[T]) -> T {
        of[self.rng.random_range(0..of.len())]
    }

    /// A new endpoint in the model (names are never reused: a grant of a
    /// deleted endpoint cannot pass for a new one's).
    pub fn add(&mut self) -> Op {
        let admin = self.rng.random_bool(0.5);
        let home = match admin {
            true => self.places.ops.clone(),
            false => self.places.team.clone(),
        };
        let shape = Shape {
            access: self.pick(&ACCESS),
            secrets: self.pick(&SECRETS),
            scope: if admin {
                self.pick(&SCOPES)
            } else {
                Scope::Own
            },
        };
        self.endpoints.push(Endpoint {
            name: format!("{}-{}", self.label, self.endpoints.len()),
            home,
            shapes: vec![shape],
            rotations: 0,
            deleted: false,
        });
        Op::Create(self.endpoints.len() - 1)
    }

    /// The next operation, recorded in the model before it is sent.
    pub fn next_op(&mut self) -> Op {
        let live: Vec<usize> = (0..self.endpoints.len())
            .filter(|i| !self.endpoints[*i].deleted)
            .collect();
        let roll = self.rng.random_range(0..100);
        if live.is_empty() || roll < 30 {
            return self.add();
        }
        let i = self.pick(&live);
        let admin = self.endpoints[i].home == self.places.ops;
        let mut shape = self.endpoints[i].shape();
        match roll {
            30..55 => {
                let others: Vec<Access> =
                    ACCESS.into_iter().filter(|a| *a != shape.access).collect();
                shape.access = self.pick(&others);
            }
            55..70 if admin => {
                let others: Vec<Scope> = SCOPES.into_iter().filter(|s| *s != shape.scope).collect();
                shape.scope = self.pick(&others);
            }
            55..85 => {
                self.endpoints[i].rotations += 1;
                return Op::Rotate(i);
            }
            _ => {
                self.endpoints[i].deleted = true;
                return Op::Delete(i);
            }
        }
        self.endpoints[i].shapes.push(shape);
        Op::Reshape(i)
    }

    /// The endpoint's spec for its newest shape.
    pub fn spec(&self, i: usize) -> McpEndpointSpec {
        let shape = self.endpoints[i].shape();
        McpEndpointSpec {
            access: shape.access,
            secrets: shape.secrets,
            namespaces: self.namespaces(shape.scope),
            ..McpEndpointSpec::default()
        }
    }

    /// `spec.namespaces` for a scope.
    pub fn namespaces(&self, scope: Scope) -> Option<Vec<String>> {
        match scope {
            Scope::Own => None,
            Scope::List => Some(vec![self.places.ops.clone(), self.places.listed.clone()]),
            Scope::All => Some(vec!["*".into()]),
        }
    }

    pub fn live(&self) -> impl Iterator<Item = &Endpoint> {
        self.endpoints.iter().filter(|e| !e.deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> Places {
        Places {
            team: "t".into(),
            ops: "o".into(),
            listed: "l".into(),
            unlisted: "u".into(),
        }
    }

    #[test]
    fn the_workload_mixes_every_operation_and_keeps_team_endpoints_at_home() {
        let mut m = Model::new(places(), "f", 7);
        let ops: Vec<Op> = (0..400).map(|_| m.next_op()).collect();
        let count = |f: fn(&Op) -> bool| ops.iter().filter(|o| f(o)).count();
        assert!(count(|o| matches!(o, Op::Create(_))) > 50);
        assert!(count(|o| matches!(o, Op::Reshape(_))) > 50);
        assert!(count(|o| matches!(o, Op::Rotate(_))) > 20);
        assert!(count(|o| matches!(o, Op::Delete(_))) > 20);
        for e in &m.endpoints {
            if e.home == "t" {
                assert!(e.shapes.iter().all(|s| s.scope == Scope::Own), "{e:?}");
            }
        }
        assert!(
            m.endpoints
                .iter()
                .any(|e| e.shapes.iter().any(|s| s.scope == Scope::All))
        );
        // Deterministic for a seed: a failing run can be replayed.
        let mut again = Model::new(places(), "f", 7);
        let replay: Vec<String> = (0..400).map(|_| format!("{:?}", again.next_op())).collect();
        assert_eq!(
            replay,
            ops.iter().map(|o| format!("{o:?}")).collect::<Vec<_>>()
        );
    }

    #[test]
    fn probes_tell_apart_every_two_shapes_the_table_tells_apart() {
        let everything = |shape: Shape| -> Vec<bool> {
            let mut out = vec![];
            for place in table::PLACES {
                for &resource in table::RESOURCES {
                    for verb in table::VERBS {
                        out.push(table::allowed(
                            shape.access,
                            shape.secrets,
                            shape.scope,
                            verb,
                            resource,
                            place,
                        ));
                    }
                }
            }
            out
        };
        let mut seen: std::collections::BTreeMap<Vec<bool>, (Shape, Vec<bool>)> =
            std::collections::BTreeMap::new();
        for access in ACCESS {
            for secrets in SECRETS {
                for scope in SCOPES {
                    let shape = Shape {
                        access,
                        secrets,
                        scope,
                    };
                    let answers: Vec<bool> = PROBES.iter().map(|p| allows(shape, p)).collect();
                    let rights = everything(shape);
                    if let Some((other, other_rights)) =
                        seen.insert(answers, (shape, rights.clone()))
                    {
                        assert_eq!(
                            rights, other_rights,
                            "{shape:?} and {other:?} grant different rights, yet answer every probe alike"
                        );
                    }
                }
            }
        }
    }
}
