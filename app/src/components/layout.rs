//! The signed-in frame: top bar with organization and admin, and the left navigation.

use crate::api::auth::{current_admin, Logout};
use crate::components::status::{ErrorPanel, Loading};
use crate::error::AppError;
use crate::model::{DomainInfo, Me};
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};
use roster_core::ServerType;

/// The path segment of a server type's sync page, for the types that sync.
pub fn sync_slug(server_type: ServerType) -> Option<&'static str> {
    server_type.sync_menu_label().map(|_| match server_type {
        ServerType::Office365 => "office365",
        ServerType::GoogleWorkspace => "google",
        ServerType::OnPremise => "ldap",
    })
}

/// Every signed-in page sits in here; anonymous visitors are sent to the sign-in page.
#[component]
pub fn AppShell() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_admin());
    view! {
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) => view! { <SignedInFrame me /> }.into_any(),
                    Err(AppError::Unauthorized) => view! { <Redirect path="/login" /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SignedInFrame(me: Me) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    provide_context(me.clone());
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/domains">"Roster"</a>
            <span class="org" title="Organization">{me.organization_name.clone()}</span>
            <span class="spacer"></span>
            <span class="admin" title="Signed in as">{me.email.clone()}</span>
            <ActionForm action=logout attr:class="inline">
                <button type="submit" class="button ghost">"Sign out"</button>
            </ActionForm>
        </header>
        <div class="frame">
            <Outlet />
        </div>
    }
}

/// The left navigation; within a domain it lists the domain's pages.
#[component]
pub fn Sidebar(#[prop(optional)] domain: Option<DomainInfo>) -> impl IntoView {
    view! {
        <nav class="sidebar" aria-label="Main">
            <ul>
                <li>
                    <A href="/domains" exact=true>"Domains"</A>
                </li>
                {domain.map(|d| {
                    let base = format!("/domains/{}", d.id);
                    let sync = sync_slug(d.server_type)
                        .zip(d.server_type.sync_menu_label())
                        .map(|(slug, label)| {
                            view! {
                                <li>
                                    <A href=format!("{base}/sync/{slug}")>{label}</A>
                                </li>
                            }
                        });
                    view! {
                        <li class="nav-domain">
                            <span class="nav-heading" title=d.ascii_name.clone()>{d.name.clone()}</span>
                            <ul>
                                <li>
                                    <A href=base.clone() exact=true>"Inbound Servers"</A>
                                </li>
                                <li class="nav-group">
                                    <span class="nav-subheading">"Users"</span>
                                    <ul>
                                        <li>
                                            <A href=format!("{base}/accounts")>"Email Accounts"</A>
                                        </li>
                                        {sync}
                                    </ul>
                                </li>
                            </ul>
                        </li>
                    }
                })}
                <li>
                    <A href="/admins">"Admins"</A>
                </li>
            </ul>
        </nav>
    }
}

/// A page without a domain: the sidebar and the content.
#[component]
pub fn Page(children: Children) -> impl IntoView {
    view! {
        <Sidebar />
        <main id="main" class="content">
            {children()}
        </main>
    }
}
