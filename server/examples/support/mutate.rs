//! The 1 % change between the no-op and the incremental sync, made through the emulator's
//! control API (whose edits feed delta as Entra's would): of the users, a quarter each added,
//! deleted, renamed (new primary address, the old one kept as an alias) and with an alias
//! replaced; of the memberships, half removed and half added. Deterministic for a seed.

use anyhow::{bail, Context, Result};
use futures::stream::{self, StreamExt, TryStreamExt};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::HashSet;

use super::processes::{DOMAIN, OTHER_DOMAIN};

/// What was changed.
#[derive(Debug, Default)]
pub struct Changed {
    pub users_added: usize,
    pub users_deleted: usize,
    pub users_renamed: usize,
    pub aliases_edited: usize,
    pub members_added: usize,
    pub members_removed: usize,
}

enum Edit {
    Post(String, Value),
    Patch(String, Value),
    Delete(String),
}

pub async fn one_percent(client: &reqwest::Client, base: &str, tenant: &str) -> Result<Changed> {
    let control = format!("{base}/_emulator/tenants/{tenant}");
    let file: Value = client
        .get(&control)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let users = file["users"].as_array().context("the tenant's users")?;
    let groups = file["groups"].as_array().context("the tenant's groups")?;
    let mut rng = StdRng::seed_from_u64(7);

    // People with a mailbox in the synced domain: the ones whose change Roster must see.
    let mut people: Vec<&Value> = users
        .iter()
        .filter(|u| {
            u["userType"] == "Member"
                && u["isAdmin"] != true
                && u["mail"]
                    .as_str()
                    .is_some_and(|m| m.to_ascii_lowercase().ends_with(&format!("@{DOMAIN}")))
        })
        .collect();
    people.shuffle(&mut rng);
    let quarter = (users.len() / 100 / 4).max(1);
    if people.len() < quarter * 4 {
        bail!("too few users to change 1 %");
    }
    let (deleted, rest) = people.split_at(quarter);
    let (renamed, rest) = rest.split_at(quarter);
    let (aliased, stay) = rest.split_at(quarter);

    let mut members: Vec<Edit> = Vec::new();
    let memberships: usize = groups
        .iter()
        .map(|g| g["members"].as_array().map_or(0, Vec::len))
        .sum();
    let target = (memberships / 100).max(2);
    let mut removed = HashSet::new();
    while removed.len() < target / 2 {
        let g = &groups[rng.gen_range(0..groups.len())];
        let Some(list) = g["members"].as_array().filter(|l| !l.is_empty()) else {
            continue;
        };
        let member = list[rng.gen_range(0..list.len())]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let group = g["id"].as_str().unwrap_or_default().to_owned();
        if removed.insert((group.clone(), member.clone())) {
            members.push(Edit::Delete(format!(
                "{control}/groups/{group}/members/{member}"
            )));
        }
    }
    let mut added = HashSet::new();
    while added.len() < target - target / 2 {
        let g = &groups[rng.gen_range(0..groups.len())];
        let user = stay[rng.gen_range(0..stay.len())]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let already = g["members"]
            .as_array()
            .is_some_and(|l| l.iter().any(|m| m == user.as_str()));
        let group = g["id"].as_str().unwrap_or_default().to_owned();
        if !already && added.insert((group.clone(), user.clone())) {
            members.push(Edit::Post(
                format!("{control}/groups/{group}/members"),
                json!({ "id": user }),
            ));
        }
    }

    let mut people_edits: Vec<Edit> = Vec::new();
    for i in 0..quarter {
        let nick = format!("bench-new-{i}");
        people_edits.push(Edit::Post(
            format!("{control}/users"),
            json!({
                "userPrincipalName": format!("{nick}@{DOMAIN}"),
                "displayName": format!("Bench New {i}"),
                "mail": format!("{nick}@{DOMAIN}"),
                "mailNickname": nick,
                "proxyAddresses": [format!("SMTP:{nick}@{DOMAIN}"), format!("smtp:{nick}@{OTHER_DOMAIN}")],
                "accountEnabled": true,
                "userType": "Member",
            }),
        ));
    }
    for u in deleted {
        people_edits.push(Edit::Delete(format!("{control}/users/{}", id(u)?)));
    }
    for (i, u) in renamed.iter().enumerate() {
        let new = format!("bench-renamed-{i}@{DOMAIN}");
        let mut proxies = vec![json!(format!("SMTP:{new}"))];
        for p in u["proxyAddresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            // The old primary stays as an alias, as Exchange keeps it.
            match p.trim_start().strip_prefix("SMTP:") {
                Some(old) => proxies.push(json!(format!("smtp:{}", old.trim()))),
                None => proxies.push(json!(p)),
            }
        }
        let name = u["displayName"].as_str().unwrap_or("User");
        people_edits.push(Edit::Patch(
            format!("{control}/users/{}", id(u)?),
            json!({ "displayName": format!("{name} (renamed)"), "mail": new, "proxyAddresses": proxies }),
        ));
    }
    for (i, u) in aliased.iter().enumerate() {
        let mut proxies: Vec<Value> = Vec::new();
        let mut dropped = false;
        for p in u["proxyAddresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let secondary = p.trim_start().get(..5) == Some("smtp:");
            if secondary && !dropped {
                dropped = true;
            } else {
                proxies.push(json!(p));
            }
        }
        proxies.push(json!(format!("smtp:bench-alias-{i}@{DOMAIN}")));
        people_edits.push(Edit::Patch(
            format!("{control}/users/{}", id(u)?),
            json!({ "proxyAddresses": proxies }),
        ));
    }

    let changed = Changed {
        users_added: quarter,
        users_deleted: deleted.len(),
        users_renamed: renamed.len(),
        aliases_edited: aliased.len(),
        members_added: added.len(),
        members_removed: removed.len(),
    };
    // Memberships first: a deleted user's memberships go with it.
    send_all(client, members).await?;
    send_all(client, people_edits).await?;
    Ok(changed)
}

fn id(user: &Value) -> Result<&str> {
    user["id"].as_str().context("a user without id")
}

async fn send_all(client: &reqwest::Client, edits: Vec<Edit>) -> Result<()> {
    stream::iter(edits)
        .map(|edit| async move {
            let req = match edit {
                Edit::Post(url, body) => client.post(url).json(&body),
                Edit::Patch(url, body) => client.patch(url).json(&body),
                Edit::Delete(url) => client.delete(url),
            };
            let res = req.send().await?;
            if !res.status().is_success() {
                bail!("control API: {} {}", res.status(), res.text().await?);
            }
            anyhow::Ok(())
        })
        .buffer_unordered(8)
        .try_collect::<()>()
        .await
}
