//! The organization's domains.

use crate::api::domains::list_domains;
use crate::components::layout::Page;
use crate::components::status::{EmptyRow, ErrorPanel, Loading, Time};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn DomainsPage() -> impl IntoView {
    let domains = Resource::new(|| (), |_| list_domains());
    view! {
        <Title text="Domains" />
        <Page>
            <div class="page-head">
                <h1>"Domains"</h1>
                <A href="/domains/new" attr:class="button primary">"Add domain"</A>
            </div>
            <div class="async">
            <Suspense fallback=|| view! { <Loading /> }>
                {move || Suspend::new(async move {
                    match domains.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(list) => view! {
                            <table class="table">
                                <thead>
                                    <tr>
                                        <th scope="col">"Domain"</th>
                                        <th scope="col">"Server type"</th>
                                        <th scope="col" class="num">"Email accounts"</th>
                                        <th scope="col">"Last sync"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.is_empty().then(|| view! {
                                        <EmptyRow colspan=4>
                                            "No domains yet. "
                                            <a href="/domains/new">"Add your first domain"</a>
                                            " to start filtering its mail."
                                        </EmptyRow>
                                    })}
                                    {list.into_iter().map(|d| view! {
                                        <tr>
                                            <td>
                                                <a href=format!("/domains/{}", d.id)>{d.name}</a>
                                                {d.schedule_alert.map(|alert| view! {
                                                    " "
                                                    <a class="badge danger" href=format!("/domains/{}/sync/runs/{}", d.id, alert.run_id)
                                                        title=alert.advice()>{alert.label()}</a>
                                                })}
                                            </td>
                                            <td>{d.server_type.label()}</td>
                                            <td class="num">{d.account_count.to_string()}</td>
                                            <td>
                                                {match d.last_synced_at {
                                                    Some(t) => view! { <Time time=t /> }.into_any(),
                                                    None => view! { <span class="muted">"Never"</span> }.into_any(),
                                                }}
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Suspense>
            </div>
        </Page>
    }
}
