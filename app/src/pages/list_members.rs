//! An account's page: its name, kind, source and addresses, whether the directory disabled it,
//! and for a distribution list its members. A synced account is read-only: it comes from the
//! directory at each sync.

use crate::api::list_members::get_list_members;
use crate::components::pager::Pager;
use crate::components::status::{EmptyRow, ErrorPanel, Loading};
use crate::model::{thousands, AccountKind, AccountSource};
use crate::pages::domain_layout::use_domain;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use roster_core::account::{
    ARCHIVED_BADGE, ARCHIVED_BADGE_HINT, ARCHIVED_DETAILS, DISABLED_BADGE, DISABLED_DETAILS,
    EVERYONE_LINE,
};
use uuid::Uuid;

#[component]
pub fn ListMembersPage() -> impl IntoView {
    let domain = use_domain();
    let domain_id = domain.id;
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        (
            params
                .read()
                .get("account_id")
                .and_then(|id| Uuid::parse_str(&id).ok())
                .unwrap_or_default(),
            query
                .read()
                .get("page")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1),
        )
    };
    let list = Resource::new(key, move |(account_id, page)| {
        get_list_members(domain_id, account_id, page)
    });
    view! {
        <Title text=format!("Email account · {}", domain.name) />
        <p><A href=format!("/domains/{domain_id}/accounts")>"← Email Accounts"</A></p>
        <div class="async">
        <Transition fallback=|| view! { <Loading what="Loading the account…" /> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(l) => {
                        let pages = l.members.pages();
                        let everyone = l.includes_everyone;
                        let empty = l.members.rows.is_empty() && !everyone;
                        let synced = l.source != AccountSource::Manual;
                        let list = l.kind == AccountKind::DistributionList;
                        let source = l.source.label();
                        view! {
                            <h1>{l.address.clone()}</h1>
                            <section class="panel" aria-labelledby="list-facts">
                                <h2 id="list-facts" class="visually-hidden">"About this account"</h2>
                                <dl class="facts">
                                    <dt>"Name"</dt><dd>{l.display_name.clone().unwrap_or_else(|| "—".to_owned())}</dd>
                                    <dt>"Kind"</dt><dd>{l.kind.label()}</dd>
                                    <dt>"Source"</dt><dd>{source}</dd>
                                    <dt>"Aliases"</dt><dd>{if l.aliases.is_empty() { "—".to_owned() } else { l.aliases.join(", ") }}</dd>
                                    {(!l.enabled || l.archived).then(|| view! {
                                        <dt>"Status"</dt><dd>
                                            {(!l.enabled).then(|| view! { <span class="badge neutral">{DISABLED_BADGE}</span> })}
                                            {(!l.enabled && l.archived).then_some(" ")}
                                            {l.archived.then(|| view! { <span class="badge archived" title=ARCHIVED_BADGE_HINT>{ARCHIVED_BADGE}</span> })}
                                        </dd>
                                    })}
                                </dl>
                                {(!l.enabled).then(|| view! { <p class="notice" role="note">{DISABLED_DETAILS}</p> })}
                                {l.archived.then(|| view! { <p class="notice archived" role="note">{ARCHIVED_DETAILS}</p> })}
                                {synced.then(|| view! {
                                    <p class="muted">{if list {
                                        format!("Kept in step with {source} at each sync: change its members there.")
                                    } else {
                                        format!("Kept in step with {source} at each sync: change it there.")
                                    }}</p>
                                })}
                            </section>
                            {list.then(move || view! {
                            <section class="section" aria-labelledby="members-title">
                                <h2 id="members-title">{if everyone {
                                    format!("Members (everyone + {})", thousands(l.members.total))
                                } else {
                                    format!("Members ({})", thousands(l.members.total))
                                }}</h2>
                                {everyone.then(|| view! { <p class="notice everyone" role="note">{EVERYONE_LINE}</p> })}
                                <table class="table">
                                    <thead><tr><th scope="col">"Address"</th></tr></thead>
                                    <tbody>
                                        {empty.then(|| view! { <EmptyRow colspan=1>"No members."</EmptyRow> })}
                                        {l.members.rows.into_iter().map(|m| view! { <tr><td>{m}</td></tr> }).collect_view()}
                                    </tbody>
                                </table>
                                <Pager page=l.members.page pages href=move |n| format!("?page={n}") />
                            </section>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
        </div>
    }
}
