//! Generated Workspaces for demos and benchmarks: N users and M groups, deterministic for a
//! seed. The first user is the super admin `admin@<primary>`; ~3% of users are suspended, ~1%
//! archived, about a third have an alias; groups hold 1–50 users, some nest an earlier group
//! (no cycles), and the first group, when there are two or more, holds the whole customer.

use super::model::{DomainAliasFile, GroupFile, MemberFile, UserFile, WorkspaceFile};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

const GIVEN: &[&str] = &[
    "Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Keira", "Luca", "Maya", "Nils", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara",
];
const FAMILY: &[&str] = &[
    "Almeida", "Becker", "Chen", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ivanova",
    "Jensen", "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Petrov", "Rossi", "Silva",
    "Tanaka", "Weber",
];

/// What to generate (body of `POST /_emulator/workspaces/generate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GenerateSpec {
    pub users: usize,
    pub groups: usize,
    /// The first is the primary domain.
    pub domains: Vec<String>,
    /// Domain aliases of the primary domain.
    pub domain_aliases: Vec<String>,
    pub customer_id: String,
    pub seed: u64,
}

impl Default for GenerateSpec {
    fn default() -> Self {
        GenerateSpec {
            users: 50,
            groups: 10,
            domains: vec!["example.com".into(), "example.net".into()],
            domain_aliases: vec!["example.org".into()],
            customer_id: "C0emulat0r".into(),
            seed: 1,
        }
    }
}

/// The Workspace file for `spec`.
pub fn generate(spec: &GenerateSpec) -> WorkspaceFile {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let primary = spec
        .domains
        .first()
        .cloned()
        .unwrap_or_else(|| "example.com".into());
    let mut users = Vec::with_capacity(spec.users);
    for i in 0..spec.users {
        if i == 0 {
            users.push(UserFile {
                primary_email: format!("admin@{primary}"),
                given_name: Some("Workspace".into()),
                family_name: Some("Admin".into()),
                is_admin: true,
                ..Default::default()
            });
            continue;
        }
        let given = GIVEN[rng.gen_range(0..GIVEN.len())];
        let family = FAMILY[rng.gen_range(0..FAMILY.len())];
        let local = format!("{}.{}{i}", given.to_lowercase(), family.to_lowercase());
        let mut aliases = Vec::new();
        if rng.gen_bool(0.33) {
            let d = &spec.domains[rng.gen_range(0..spec.domains.len().max(1))];
            aliases.push(format!("{}{i}@{d}", &given[..1].to_lowercase()));
        }
        let roll = rng.gen_range(0..100);
        users.push(UserFile {
            primary_email: format!("{local}@{primary}"),
            given_name: Some(given.into()),
            family_name: Some(family.into()),
            aliases,
            suspended: roll < 3,
            archived: roll == 3,
            ..Default::default()
        });
    }
    let mut groups: Vec<GroupFile> = Vec::with_capacity(spec.groups);
    for j in 0..spec.groups {
        let mut members: Vec<MemberFile> = Vec::new();
        if j == 0 && spec.groups > 1 {
            members.push(MemberFile::Key(spec.customer_id.clone()));
        }
        let n = if users.is_empty() {
            0
        } else {
            rng.gen_range(1..=50.min(users.len()))
        };
        for _ in 0..n {
            let u = &users[rng.gen_range(0..users.len())];
            let key = u.primary_email.clone();
            if !members.iter().any(|m| m.key() == key) {
                members.push(MemberFile::Key(key));
            }
        }
        if j > 1 && rng.gen_bool(0.2) {
            members.push(MemberFile::Key(groups[rng.gen_range(1..j)].email.clone()));
        }
        groups.push(GroupFile {
            email: format!("group{j}@{primary}"),
            name: format!("Group {j}"),
            admin_created: true,
            members,
            ..Default::default()
        });
    }
    WorkspaceFile {
        customer_id: spec.customer_id.clone(),
        primary_domain: primary.clone(),
        secondary_domains: spec.domains.iter().skip(1).cloned().collect(),
        domain_aliases: spec
            .domain_aliases
            .iter()
            .map(|a| DomainAliasFile {
                domain_alias_name: a.clone(),
                parent_domain_name: primary.clone(),
            })
            .collect(),
        users,
        groups,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::google::model::Workspace;

    #[test]
    fn generated_workspaces_load_and_repeat() {
        let spec = GenerateSpec {
            users: 300,
            groups: 40,
            ..Default::default()
        };
        let a = generate(&spec);
        assert_eq!(a, generate(&spec));
        let ws = Workspace::load(a).unwrap();
        assert_eq!(ws.users.len(), 300);
        assert_eq!(ws.groups.len(), 40);
        assert!(ws.users.values().any(|u| u.suspended));
    }
}
