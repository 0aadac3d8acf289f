//! The fetch floor: the least a client must do to read the tenant's recipients from Graph —
//! `users/delta` and `groups/delta` (members inline) with only `id`, `mail` and
//! `proxyAddresses` selected, both chains at once, each page parsed for what it needs and
//! dropped. Nothing is stored, so its time is the physical limit of a full sync.

use anyhow::{bail, Context, Result};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::borrow::Cow;
use std::time::Instant;

#[derive(Deserialize)]
struct Token {
    access_token: String,
}

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow, default)]
    value: Vec<Obj<'a>>,
    /// Absent on the last page (which has the `@odata.deltaLink` of a delta round).
    #[serde(rename = "@odata.nextLink")]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Obj<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow, default)]
    mail: Option<Cow<'a, str>>,
    #[serde(rename = "proxyAddresses", borrow, default)]
    proxy_addresses: Vec<Cow<'a, str>>,
    #[serde(rename = "members@delta", default)]
    members: Vec<IgnoredAny>,
}

/// What one chain of pages held.
#[derive(Default, Debug, Clone, Copy)]
pub struct Tally {
    pub requests: u64,
    pub objects: u64,
    pub with_mail: u64,
    pub smtp_addresses: u64,
    pub memberships: u64,
    pub seconds: f64,
}

/// Both chains, run at once; `seconds` is the wall time of the pair.
pub struct Floor {
    pub users: Tally,
    pub groups: Tally,
    pub seconds: f64,
}

pub async fn token(client: &reqwest::Client, base: &str, tenant: &str) -> Result<String> {
    let res = client
        .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", super::processes::CLIENT_ID),
            ("client_secret", super::processes::CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("token request: {} {}", res.status(), res.text().await?);
    }
    Ok(res.json::<Token>().await?.access_token)
}

/// The floor through delta, as the issue defines it.
pub async fn delta(client: &reqwest::Client, base: &str, tenant: &str) -> Result<Floor> {
    let users = format!("{base}/v1.0/users/delta?$select=id,mail,proxyAddresses");
    both(client, base, tenant, users).await
}

/// For comparison: users through the plain listing (`$top=999`, the largest page Graph
/// gives), groups through delta.
pub async fn listing(client: &reqwest::Client, base: &str, tenant: &str) -> Result<Floor> {
    let users = format!("{base}/v1.0/users?$select=id,mail,proxyAddresses&$top=999");
    both(client, base, tenant, users).await
}

/// The users chain from `users` and the groups chain through delta, run at once.
async fn both(client: &reqwest::Client, base: &str, tenant: &str, users: String) -> Result<Floor> {
    let token = token(client, base, tenant).await?;
    let started = Instant::now();
    let (users, groups) = tokio::try_join!(
        chain(client, &token, users),
        chain(
            client,
            &token,
            format!("{base}/v1.0/groups/delta?$select=id,mail,proxyAddresses,members")
        ),
    )?;
    Ok(Floor {
        users,
        groups,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Follows `@odata.nextLink` until the last page (a deltaLink, or no link at all).
async fn chain(client: &reqwest::Client, token: &str, first: String) -> Result<Tally> {
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut url = Some(first);
    // A group with many members spans pages back to back: count it once.
    let mut last_id = String::new();
    while let Some(current) = url.take() {
        let res = client.get(&current).bearer_auth(token).send().await?;
        tally.requests += 1;
        let status = res.status();
        let body = res.bytes().await?;
        if !status.is_success() {
            bail!("{current}: {status} {}", String::from_utf8_lossy(&body));
        }
        let page: Page =
            serde_json::from_slice(&body).with_context(|| format!("a page of {current}"))?;
        for obj in &page.value {
            if obj.id != last_id {
                tally.objects += 1;
                tally.with_mail += u64::from(obj.mail.is_some());
                tally.smtp_addresses += obj
                    .proxy_addresses
                    .iter()
                    .filter(|p| {
                        p.trim_start()
                            .get(..5)
                            .is_some_and(|s| s.eq_ignore_ascii_case("smtp:"))
                    })
                    .count() as u64;
                last_id.clear();
                last_id.push_str(&obj.id);
            }
            tally.memberships += obj.members.len() as u64;
        }
        url = page.next;
    }
    tally.seconds = started.elapsed().as_secs_f64();
    Ok(tally)
}
