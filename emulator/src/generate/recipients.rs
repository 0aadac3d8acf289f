//! Generated users (admin, people, guests, shared and room mailboxes) and contacts.

use super::names::*;
use super::{capitalize, guid, Gen};
use crate::model::{Contact, User};
use rand::seq::SliceRandom;
use rand::Rng;

impl Gen {
    pub(super) fn user(&mut self, i: usize) -> User {
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
        let count = self.rng.gen_range(0..=self.max_aliases.unwrap_or(3));
        for variant in variants.iter().take(count) {
            let d = self
                .domains
                .choose(&mut self.rng)
                .cloned()
                .unwrap_or_default();
            let local = variant.to_ascii_lowercase();
            let mut alias = format!("{local}@{d}");
            if self.max_aliases.is_some() {
                // Taken: numbered, as Exchange's address policies do (jsmith2@…).
                while self.used_addresses.contains(&alias) {
                    let n = self.alias_counts.entry(local.clone()).or_insert(1);
                    *n += 1;
                    alias = format!("{local}{n}@{d}");
                }
            }
            self.push_alias(&mut proxies, &alias, 1.0);
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

    pub(super) fn contact(&mut self) -> Contact {
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
}
