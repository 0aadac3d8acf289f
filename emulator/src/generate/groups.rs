//! Generated groups of every kind, with members, nesting (no cycles) and contacts.

use super::names::*;
use super::{guid, Gen};
use crate::model::{Contact, Group, User};
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::BTreeSet;

impl Gen {
    pub(super) fn group(
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
        // Without security-only groups the roll stays below 75 (the other kinds keep their
        // proportions); the default draws exactly as before, so seeds name the same tenants.
        let roll = if self.mail_enabled_groups {
            self.rng.gen_range(0..75)
        } else {
            self.rng.gen_range(0..100)
        };
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
            let size = match self.members_per_group {
                Some(mean) => self.rng.gen_range(1..=(2 * mean).saturating_sub(1).max(1)),
                None => match self.rng.gen_range(0..100) {
                    0..=69 => self.rng.gen_range(2..15),
                    70..=94 => self.rng.gen_range(15..80),
                    _ => self.rng.gen_range(80..400),
                },
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
}
