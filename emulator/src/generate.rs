//! Generated tenants: realistic, messy and deterministic for a seed.
//!
//! Real directories are untidy, and the connector has to cope: aliases across several domains,
//! `X500:`/`SIP:`/`SPO:` entries that are not mail addresses, prefixes in odd case or with stray
//! spaces, guests, shared and room mailboxes that are disabled accounts, users without a
//! mailbox, every kind of group, nested groups and contacts. Everything comes from one seeded
//! `StdRng`, so a seed names a tenant; 200,000 users take a second or two.

use crate::model::{Contact, DomainSpec, Group, TenantFile, User, VerifiedDomain};
use crate::names::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};

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
        }
    }
}

struct Gen {
    rng: StdRng,
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

impl Gen {
    fn user(&mut self, i: usize) -> User {
        if i == 0 {
            return self.admin();
        }
        let roll = self.rng.gen_range(0..100);
        match roll {
            0..=1 => self.guest(),
            2..=4 => self.shared_mailbox(),
            5 => self.room(),
            6..=10 => self.person(false, true),
            11..=13 => self.person(true, false),
            _ => self.person(true, true),
        }
    }

    fn admin(&mut self) -> User {
        let addr = format!("admin@{}", self.initial);
        self.used_addresses.insert(addr.clone());
        let mut u = self.blank("MOD Administrator", &addr);
        u.mail = Some(addr.clone());
        u.proxy_addresses = vec![format!("SMTP:{addr}")];
        u.mail_nickname = Some("admin".into());
        u.given_name = Some("MOD".into());
        u.surname = Some("Administrator".into());
        u.business_phones = vec!["8006427676".into()];
        u.preferred_language = Some("en-US".into());
        u.is_admin = true;
        u
    }

    /// A person; `mailbox` false gives `mail: null, proxyAddresses: []`.
    fn person(&mut self, mailbox: bool, enabled: bool) -> User {
        let first = *FIRST_NAMES.choose(&mut self.rng).unwrap_or(&"Sam");
        let last = *LAST_NAMES.choose(&mut self.rng).unwrap_or(&"Lee");
        let nick = self.nick(&format!("{first}.{last}").to_ascii_lowercase());
        let domain = if self.domains.len() > 1 && self.rng.gen_bool(0.1) {
            self.domains[1].clone()
        } else {
            self.domains[0].clone()
        };
        let upn = format!("{nick}@{domain}");
        let mut u = self.blank(&format!("{first} {last}"), &upn);
        u.given_name = Some(first.into());
        u.surname = Some(last.into());
        u.account_enabled = enabled;
        u.mail_nickname = Some(nick.clone());
        u.job_title = JOB_TITLES.choose(&mut self.rng).map(|s| s.to_string());
        u.preferred_language = Some("en-US".into());
        if self.rng.gen_bool(0.5) {
            u.business_phones = vec![format!("+1 425 555 {:04}", self.rng.gen_range(100..9999))];
            u.office_location = Some(format!(
                "{}/{}",
                self.rng.gen_range(1..40),
                self.rng.gen_range(1000..3000)
            ));
        }
        if !mailbox {
            return u;
        }
        // Exchange keeps the case it was given: some primaries are "Adele.Vance@…".
        let local = if self.rng.gen_bool(0.3) {
            format!(
                "{}.{}{}",
                first,
                last,
                &nick[first.len() + last.len() + 1..]
            )
        } else {
            nick.clone()
        };
        let primary = format!("{local}@{domain}");
        self.used_addresses.insert(primary.to_ascii_lowercase());
        u.mail = Some(if self.rng.gen_bool(0.05) {
            primary.to_ascii_lowercase()
        } else {
            primary.clone()
        });
        let mut proxies = vec![self.primary_entry(&primary)];
        self.push_alias(
            &mut proxies,
            &format!("{nick}@{}", self.initial.clone()),
            0.8,
        );
        let variants = [
            format!("{}{}", &first[..1], last),
            format!("{first}{}", &last[..1]),
            first.to_string(),
            format!("{first}_{last}"),
        ];
        let count = self.rng.gen_range(0..=3);
        for variant in variants.iter().take(count) {
            let d = self
                .domains
                .choose(&mut self.rng)
                .cloned()
                .unwrap_or_default();
            self.push_alias(
                &mut proxies,
                &format!("{}@{d}", variant.to_ascii_lowercase()),
                1.0,
            );
        }
        self.extras(&mut proxies, &nick, &primary);
        proxies.shuffle(&mut self.rng);
        u.proxy_addresses = proxies;
        u
    }

    fn shared_mailbox(&mut self) -> User {
        let name = *SHARED_MAILBOXES.choose(&mut self.rng).unwrap_or(&"Info");
        let nick = self.nick(&name.to_ascii_lowercase().replace(' ', ""));
        let display = if nick.len() > name.len() {
            format!("{name} {}", &nick[name.replace(' ', "").len()..])
        } else {
            name.to_string()
        };
        self.mailbox_account(&display, &nick)
    }

    fn room(&mut self) -> User {
        let name = *ROOMS.choose(&mut self.rng).unwrap_or(&"Adams");
        let nick = self.nick(&format!("conf{}", name.to_ascii_lowercase()));
        let display = format!("Conf Room {name}{}", &nick[4 + name.len()..]);
        self.mailbox_account(&display, &nick)
    }

    /// Shared and room mailboxes: users with a mailbox whose account is disabled.
    fn mailbox_account(&mut self, display: &str, nick: &str) -> User {
        let primary = format!("{nick}@{}", self.domains[0]);
        self.used_addresses.insert(primary.clone());
        let mut u = self.blank(display, &primary);
        u.account_enabled = false;
        u.mail = Some(primary.clone());
        u.mail_nickname = Some(nick.to_string());
        let mut proxies = vec![self.primary_entry(&primary)];
        self.push_alias(
            &mut proxies,
            &format!("{nick}@{}", self.initial.clone()),
            0.9,
        );
        self.extras(&mut proxies, nick, &primary);
        u.proxy_addresses = proxies;
        u
    }

    fn guest(&mut self) -> User {
        let first = *FIRST_NAMES.choose(&mut self.rng).unwrap_or(&"Sam");
        let last = *LAST_NAMES.choose(&mut self.rng).unwrap_or(&"Lee");
        let ext = *EXTERNAL_DOMAINS
            .choose(&mut self.rng)
            .unwrap_or(&"gmail.com");
        let local = self.nick(&format!("{first}.{last}.guest").to_ascii_lowercase());
        let local = local.replacen(".guest", "", 1);
        let addr = format!("{local}@{ext}");
        self.used_addresses.insert(addr.clone());
        let upn = format!("{local}_{ext}#EXT#@{}", self.initial);
        let mut u = self.blank(&format!("{first} {last} (Guest)"), &upn);
        u.user_type = "Guest".into();
        u.mail = Some(addr.clone());
        u.mail_nickname = Some(format!("{local}_{ext}#EXT#"));
        u.given_name = Some(first.into());
        u.surname = Some(last.into());
        u.proxy_addresses = vec![format!("SMTP:{addr}")];
        u
    }

    fn contact(&mut self) -> Contact {
        let first = *FIRST_NAMES.choose(&mut self.rng).unwrap_or(&"Sam");
        let last = *LAST_NAMES.choose(&mut self.rng).unwrap_or(&"Lee");
        let ext = *EXTERNAL_DOMAINS
            .choose(&mut self.rng)
            .unwrap_or(&"partner.example");
        let local = self.nick(&format!("{first}{last}.contact").to_ascii_lowercase());
        let local = local.replacen(".contact", "", 1);
        let addr = format!("{local}@{ext}");
        self.used_addresses.insert(addr.clone());
        Contact {
            id: guid(&mut self.rng),
            display_name: Some(format!("{first} {last}")),
            mail: Some(addr.clone()),
            mail_nickname: Some(local),
            proxy_addresses: vec![format!("SMTP:{addr}")],
            given_name: Some(first.into()),
            surname: Some(last.into()),
            company_name: Some(capitalize(ext.split('.').next().unwrap_or(ext))),
        }
    }

    fn group(
        &mut self,
        j: usize,
        users: &[User],
        contacts: &[Contact],
        earlier: &[Group],
    ) -> Group {
        let topic = *GROUP_TOPICS.choose(&mut self.rng).unwrap_or(&"Sales");
        let suffix = *GROUP_SUFFIXES.choose(&mut self.rng).unwrap_or(&"Team");
        let base = format!("{topic} {suffix}");
        let nick = self.nick(&base.to_ascii_lowercase().replace(' ', "-"));
        let display = if nick.len() > base.len() {
            format!("{base} {}", &nick[base.len()..])
        } else {
            base
        };
        let roll = self.rng.gen_range(0..100);
        let (types, mail_enabled, security_enabled) = match roll {
            0..=29 => (vec![], true, false),
            30..=44 => (vec![], true, true),
            45..=74 => (vec!["Unified".to_string()], true, self.rng.gen_bool(0.2)),
            _ => (vec![], false, true),
        };
        let unified = !types.is_empty();
        let mut g = Group {
            id: guid(&mut self.rng),
            display_name: display.clone(),
            description: Some(format!("{display} ({j})")),
            mail: None,
            mail_nickname: Some(nick.clone()),
            proxy_addresses: vec![],
            group_types: types,
            mail_enabled,
            security_enabled,
            visibility: unified.then(|| {
                if self.rng.gen_bool(0.7) {
                    "Public"
                } else {
                    "Private"
                }
                .to_string()
            }),
            created_date_time: Some(self.date()),
            members: BTreeSet::new(),
        };
        if mail_enabled {
            let domain = self
                .domains
                .choose(&mut self.rng)
                .cloned()
                .unwrap_or_default();
            let primary = format!("{nick}@{domain}");
            self.used_addresses.insert(primary.clone());
            g.mail = Some(primary.clone());
            let mut proxies = vec![self.primary_entry(&primary)];
            self.push_alias(
                &mut proxies,
                &format!("{nick}@{}", self.initial.clone()),
                0.7,
            );
            if unified {
                proxies.push(format!(
                    "SPO:SPO_{}@SPO_{}",
                    guid(&mut self.rng),
                    self.tenant_id
                ));
            } else if self.rng.gen_bool(0.2) {
                let other = self
                    .domains
                    .choose(&mut self.rng)
                    .cloned()
                    .unwrap_or_default();
                self.push_alias(&mut proxies, &format!("{nick}-list@{other}"), 1.0);
            }
            proxies.shuffle(&mut self.rng);
            g.proxy_addresses = proxies;
        }
        if !users.is_empty() {
            let size = match self.rng.gen_range(0..100) {
                0..=69 => self.rng.gen_range(2..15),
                70..=94 => self.rng.gen_range(15..80),
                _ => self.rng.gen_range(80..400),
            };
            for _ in 0..size.min(users.len()) {
                let k = self.rng.gen_range(0..users.len());
                g.members.insert(users[k].id.clone());
            }
        }
        // Microsoft 365 groups hold users only; other kinds may nest groups and hold contacts.
        if !unified {
            let nestable: Vec<&Group> = earlier
                .iter()
                .filter(|e| e.group_types.is_empty())
                .collect();
            if !nestable.is_empty() && self.rng.gen_bool(0.15) {
                for _ in 0..self.rng.gen_range(1..=2) {
                    if let Some(n) = nestable.choose(&mut self.rng) {
                        g.members.insert(n.id.clone());
                    }
                }
            }
            if mail_enabled && !security_enabled && !contacts.is_empty() && self.rng.gen_bool(0.2) {
                for _ in 0..self.rng.gen_range(1..=3) {
                    if let Some(c) = contacts.choose(&mut self.rng) {
                        g.members.insert(c.id.clone());
                    }
                }
            }
        }
        g
    }

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

fn guid(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.gen())
        .into_uuid()
        .hyphenated()
        .to_string()
}

fn capitalize(s: &str) -> String {
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
