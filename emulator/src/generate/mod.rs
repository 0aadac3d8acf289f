//! Generated tenants: realistic, messy and deterministic for a seed.
//!
//! Real directories are untidy, and the connector has to cope: aliases across several domains,
//! `X500:`/`SIP:`/`SPO:` entries that are not mail addresses, prefixes in odd case or with stray
//! spaces, guests, shared and room mailboxes that are disabled accounts, users without a
//! mailbox, every kind of group, nested groups and contacts. Everything comes from one seeded
//! `StdRng`, so a seed names a tenant; 200,000 users take a few seconds.

mod groups;
mod names;
mod recipients;

use crate::model::{Contact, DomainSpec, Group, TenantFile, User, VerifiedDomain};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// What to generate. `domains` are the custom verified domains; the first is the default.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GenerateSpec {
    pub users: usize,
    pub groups: usize,
    pub domains: Vec<String>,
    pub seed: u64,
    /// Organisational contacts; default one per 40 users (at least 1).
    pub contacts: Option<usize>,
    /// Tenant id; default derived from the seed.
    pub id: Option<String>,
    /// Tenant name; default derived from the first domain.
    pub display_name: Option<String>,
    /// Mark admin consent as already granted (emulator-only).
    pub consented: bool,
    /// Average number of direct members of a group (users drawn at random, sizes spread
    /// evenly from 1 to twice this); default: the usual mix of mostly small groups (2–400).
    pub members_per_group: Option<usize>,
    /// Every group is mail-enabled (distribution lists, mail-enabled security and Microsoft
    /// 365 groups in their usual proportions, no security-only groups); default: a quarter
    /// of the groups are security groups without mail.
    pub mail_enabled_groups: bool,
    /// People get 0 to this many extra aliases across the domains (at most 4), an alias
    /// already taken numbered instead of dropped; default: 0–3, a taken one dropped (so in a
    /// large tenant most people end up with none).
    pub max_aliases: Option<usize>,
}

impl Default for GenerateSpec {
    fn default() -> Self {
        GenerateSpec {
            users: 50,
            groups: 10,
            domains: vec!["contoso.com".into(), "contoso.net".into()],
            seed: 1,
            contacts: None,
            id: None,
            display_name: None,
            consented: false,
            members_per_group: None,
            mail_enabled_groups: false,
            max_aliases: None,
        }
    }
}

struct Gen {
    rng: StdRng,
    members_per_group: Option<usize>,
    mail_enabled_groups: bool,
    max_aliases: Option<usize>,
    alias_counts: HashMap<String, u32>,
    tenant_id: String,
    initial: String,
    domains: Vec<String>,
    used_addresses: HashSet<String>,
    nick_counts: HashMap<String, u32>,
}

/// Generates a tenant file (load it with `Tenant::from_file`).
pub fn generate(spec: &GenerateSpec) -> TenantFile {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let tenant_id = spec.id.clone().unwrap_or_else(|| guid(&mut rng));
    let mut domains: Vec<String> = spec
        .domains
        .iter()
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect();
    if domains.is_empty() {
        domains.push(format!("tenant{}.example", spec.seed));
    }
    let stem = domains[0]
        .split('.')
        .next()
        .unwrap_or("tenant")
        .replace('-', "");
    let initial = format!("{stem}.onmicrosoft.com");
    let display_name = spec
        .display_name
        .clone()
        .unwrap_or_else(|| capitalize(&stem));
    let mut g = Gen {
        rng,
        members_per_group: spec.members_per_group,
        mail_enabled_groups: spec.mail_enabled_groups,
        max_aliases: spec.max_aliases.map(|n| n.min(4)),
        alias_counts: HashMap::new(),
        tenant_id: tenant_id.clone(),
        initial: initial.clone(),
        domains: domains.clone(),
        used_addresses: HashSet::new(),
        nick_counts: HashMap::new(),
    };
    let users: Vec<User> = (0..spec.users).map(|i| g.user(i)).collect();
    let contact_count = spec.contacts.unwrap_or((spec.users / 40).max(1));
    let contacts: Vec<Contact> = (0..contact_count).map(|_| g.contact()).collect();
    let mut groups: Vec<Group> = Vec::with_capacity(spec.groups);
    for j in 0..spec.groups {
        let group = g.group(j, &users, &contacts, &groups);
        groups.push(group);
    }
    let mut verified: Vec<DomainSpec> = domains
        .iter()
        .enumerate()
        .map(|(i, d)| {
            DomainSpec::Full(VerifiedDomain {
                name: d.clone(),
                is_default: i == 0,
                is_initial: false,
            })
        })
        .collect();
    verified.push(DomainSpec::Full(VerifiedDomain {
        name: initial,
        is_default: false,
        is_initial: true,
    }));
    TenantFile {
        id: tenant_id,
        display_name,
        verified_domains: verified,
        users,
        groups,
        contacts,
        consented: Some(spec.consented),
    }
}

/// Shared helpers: ids, nicknames, addresses and their `proxyAddresses` quirks.
impl Gen {
    fn blank(&mut self, display: &str, upn: &str) -> User {
        User {
            id: guid(&mut self.rng),
            display_name: Some(display.to_string()),
            user_principal_name: upn.to_string(),
            mail: None,
            proxy_addresses: vec![],
            account_enabled: true,
            user_type: "Member".into(),
            mail_nickname: None,
            given_name: None,
            surname: None,
            job_title: None,
            business_phones: vec![],
            mobile_phone: None,
            office_location: None,
            preferred_language: None,
            created_date_time: Some(self.date()),
            is_admin: false,
        }
    }

    /// `SMTP:` for the primary address, now and then written `SMTP: ` as real data has it.
    fn primary_entry(&mut self, primary: &str) -> String {
        if self.rng.gen_bool(0.02) {
            format!("SMTP: {primary}")
        } else {
            format!("SMTP:{primary}")
        }
    }

    /// Adds a secondary address with probability `p` if no object uses it yet.
    fn push_alias(&mut self, proxies: &mut Vec<String>, addr: &str, p: f64) {
        if !self.rng.gen_bool(p) || !self.used_addresses.insert(addr.to_ascii_lowercase()) {
            return;
        }
        let prefix = match self.rng.gen_range(0..100) {
            0..=2 => "Smtp:",
            3 => " smtp:",
            _ => "smtp:",
        };
        proxies.push(format!("{prefix}{addr}"));
    }

    /// Entries that are not mail addresses.
    fn extras(&mut self, proxies: &mut Vec<String>, nick: &str, primary: &str) {
        if self.rng.gen_bool(0.15) {
            let hex: String = (0..32)
                .map(|_| format!("{:x}", self.rng.gen_range(0..16)))
                .collect();
            proxies.push(format!(
                "X500:/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn={hex}-{nick}"
            ));
        }
        if self.rng.gen_bool(0.2) {
            proxies.push(format!("SIP:{}", primary.to_ascii_lowercase()));
        }
        if self.rng.gen_bool(0.05) {
            proxies.push(format!(
                "SPO:SPO_{}@SPO_{}",
                guid(&mut self.rng),
                self.tenant_id
            ));
        }
    }

    /// A mail nickname not used before: `base`, then `base2`, `base3`, …
    fn nick(&mut self, base: &str) -> String {
        let n = self.nick_counts.entry(base.to_string()).or_insert(0);
        *n += 1;
        if *n == 1 {
            base.to_string()
        } else {
            format!("{base}{n}")
        }
    }

    fn date(&mut self) -> String {
        format!(
            "{}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.rng.gen_range(2015..2025),
            self.rng.gen_range(1..13),
            self.rng.gen_range(1..29),
            self.rng.gen_range(0..24),
            self.rng.gen_range(0..60),
            self.rng.gen_range(0..60)
        )
    }
}

pub(super) fn guid(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.gen())
        .into_uuid()
        .hyphenated()
        .to_string()
}

pub(super) fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::tenant::Tenant;
    use std::collections::BTreeSet;

    fn spec(users: usize, groups: usize, seed: u64) -> GenerateSpec {
        GenerateSpec {
            users,
            groups,
            seed,
            ..GenerateSpec::default()
        }
    }

    #[test]
    fn same_seed_same_tenant_and_it_loads() {
        let a = serde_json::to_string(&generate(&spec(500, 60, 9))).unwrap();
        let b = serde_json::to_string(&generate(&spec(500, 60, 9))).unwrap();
        let c = serde_json::to_string(&generate(&spec(500, 60, 10))).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        Tenant::from_file(generate(&spec(500, 60, 9))).unwrap();
    }

    #[test]
    fn generated_tenants_have_every_kind_of_recipient() {
        let file = generate(&spec(3000, 300, 4));
        let users = &file.users;
        assert!(users
            .iter()
            .any(|u| u.user_type == "Guest" && u.user_principal_name.contains("#EXT#@")));
        assert!(users.iter().any(|u| !u.account_enabled && u.mail.is_some()));
        assert!(users
            .iter()
            .any(|u| u.mail.is_none() && u.proxy_addresses.is_empty()));
        let all: Vec<&String> = users.iter().flat_map(|u| &u.proxy_addresses).collect();
        assert!(all.iter().any(|p| p.starts_with("SMTP: ")));
        assert!(all.iter().any(|p| p.starts_with("Smtp:")));
        assert!(all.iter().any(|p| p.starts_with("X500:")));
        assert!(all.iter().any(|p| p.starts_with("SIP:")));
        assert!(all.iter().any(|p| p.starts_with("SPO:")));
        let groups = &file.groups;
        assert!(groups.iter().any(|g| g.group_types == ["Unified"]));
        assert!(groups
            .iter()
            .any(|g| g.mail_enabled && !g.security_enabled && g.group_types.is_empty()));
        assert!(groups
            .iter()
            .any(|g| g.mail_enabled && g.security_enabled && g.group_types.is_empty()));
        assert!(groups.iter().any(|g| !g.mail_enabled && g.mail.is_none()));
        let ids: BTreeSet<&String> = groups.iter().map(|g| &g.id).collect();
        assert!(groups
            .iter()
            .any(|g| g.members.iter().any(|m| ids.contains(m))));
        Tenant::from_file(file).unwrap();
    }

    /// The benchmark's shape: every group mail-enabled, about the asked number of direct
    /// members, some nested.
    #[test]
    fn groups_of_a_given_size_all_mail_enabled() {
        let file = generate(&GenerateSpec {
            members_per_group: Some(100),
            mail_enabled_groups: true,
            ..spec(5000, 400, 3)
        });
        assert!(file
            .groups
            .iter()
            .all(|g| g.mail_enabled && g.mail.is_some()));
        let members: usize = file.groups.iter().map(|g| g.members.len()).sum();
        let mean = members as f64 / file.groups.len() as f64;
        assert!((90.0..110.0).contains(&mean), "mean direct members {mean}");
        let ids: BTreeSet<&String> = file.groups.iter().map(|g| &g.id).collect();
        assert!(file
            .groups
            .iter()
            .any(|g| g.members.iter().any(|m| ids.contains(m))));
        let defaults = generate(&spec(5000, 400, 3));
        assert!(defaults.groups.iter().any(|g| !g.mail_enabled));
        Tenant::from_file(file).unwrap();
    }

    /// With `max_aliases` a taken alias is numbered, so a large tenant keeps ~2.5 SMTP
    /// addresses a user instead of losing most aliases to name clashes.
    #[test]
    fn numbered_aliases_keep_their_count_in_a_large_tenant() {
        let smtp_per_user = |file: &TenantFile| {
            let smtp = file
                .users
                .iter()
                .flat_map(|u| &u.proxy_addresses)
                .filter(|p| p.trim_start().to_ascii_lowercase().starts_with("smtp:"))
                .count();
            smtp as f64 / file.users.len() as f64
        };
        let numbered = generate(&GenerateSpec {
            max_aliases: Some(2),
            ..spec(20_000, 10, 5)
        });
        let per_user = smtp_per_user(&numbered);
        assert!(
            (2.3..2.8).contains(&per_user),
            "{per_user} SMTP addresses a user"
        );
        assert!(smtp_per_user(&generate(&spec(20_000, 10, 5))) < per_user);
        Tenant::from_file(numbered).unwrap();
    }

    /// Prints how long 200,000 users take (no assertion on time: machines differ).
    #[test]
    fn generates_200k_users() {
        let start = std::time::Instant::now();
        let file = generate(&spec(200_000, 2_000, 1));
        let generated = start.elapsed();
        let tenant = Tenant::from_file(file).unwrap();
        println!(
            "generated 200000 users in {generated:?}, loaded in {:?} total",
            start.elapsed()
        );
        assert_eq!(tenant.users.len(), 200_000);
    }
}
