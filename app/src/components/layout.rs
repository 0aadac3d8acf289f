//! The signed-in frame: top bar with organization and admin, and the left navigation.

use crate::api::auth::{current_admin, Logout};
use crate::error::AppError;
use crate::model::DomainInfo;
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

/// Every signed-in page sits in here. The server sends anonymous visitors to the sign-in page
/// before rendering (see the server's `require_session`); after a session ends in the browser,
/// the top bar's check sends them there too.
///
/// Every `Suspense` in the app sits in an element of its own (here `.who`, elsewhere
/// `.async`, both `display: contents`): when a `Suspense` with siblings after it resolves late
/// on the server, Leptos 0.8 writes its closing markers after the next sibling and hydration
/// fails ("expected a marker node"). The outlet is not suspended, so pages don't nest in it.
#[component]
pub fn AppShell() -> impl IntoView {
    crate::provide_form_error_from_url();
    let me = Resource::new(|| (), |_| current_admin());
    let logout = ServerAction::<Logout>::new();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/domains">"Roster"</a>
            <div class="who">
            <Suspense fallback=|| view! { <span class="org muted">"…"</span> }>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(me) => view! {
                            <span class="org" title="Organization">{me.organization_name}</span>
                            <span class="spacer"></span>
                            <span class="admin" title="Signed in as">{me.email}</span>
                        }.into_any(),
                        Err(AppError::Unauthorized) => view! { <Redirect path="/login" /> }.into_any(),
                        Err(_) => view! { <span class="spacer"></span> }.into_any(),
                    }
                })}
            </Suspense>
            </div>
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
