//! Roster's user interface: pages, components and the server functions they call.
//!
//! Built twice: with `ssr` into the server (pages render there first, server functions run
//! there) and with `hydrate` into the browser's WASM (the same pages take over in place).

#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod url_error;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::hooks::use_query_map;
use leptos_router::{path, SsrMode};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    // Tests and scripts wait for this before clicking: a click before hydration does nothing.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/roster.css" />
        <Title formatter=|title: String| {
            if title.is_empty() { "Roster".to_owned() } else { format!("{title} · Roster") }
        } />
        <Router>
            <Routes fallback=|| view! { <pages::not_found::NotFound /> }>
                <Route path=path!("/login") view=pages::login::LoginPage ssr=SsrMode::Async />
                // `/` is an axum route (app::ssr::root): the server redirects from there.
                <ParentRoute path=path!("") view=components::layout::AppShell ssr=SsrMode::Async>
                    <Route path=path!("/domains") view=pages::domains::DomainsPage />
                    <Route path=path!("/domains/new") view=pages::new_domain::NewDomainPage />
                    <Route path=path!("/admins") view=pages::admins::AdminsPage />
                    <ParentRoute path=path!("/domains/:id") view=pages::domain_layout::DomainLayout>
                        <Route path=path!("") view=pages::inbound_servers::InboundServersPage />
                        <Route path=path!("/accounts") view=pages::email_accounts::EmailAccountsPage />
                        <Route path=path!("/accounts/:account_id") view=pages::list_members::ListMembersPage />
                        <Route path=path!("/sync/office365") view=pages::office365_sync::Office365SyncPage />
                        <Route path=path!("/sync/ldap") view=pages::ldap_sync::LdapSyncPage />
                        <Route path=path!("/sync/google") view=pages::google_sync::GoogleSyncPage />
                        <Route path=path!("/sync/runs/:run_id") view=pages::sync_run::SyncRunPage />
                    </ParentRoute>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// A form posted without JavaScript comes back with its error in the URL (`__path`, `__err`);
/// handing it to the actions as context makes the matching form show it like any other error.
/// The URL holds only a code (`url_error`): anything else in it is ignored, so a crafted link
/// can't put words on Roster's pages. leptos_router's `Routes` provides the URL's raw
/// `__err` as context too, so the top of each route's view (`AppShell`, the login page) calls
/// this, shadowing that one for every action below it.
pub fn provide_form_error_from_url() {
    let query = use_query_map().get_untracked();
    let known = match (query.get("__path"), query.get("__err")) {
        (Some(path), Some(code)) if url_error::is_server_fn_path(&path) => {
            url_error::decode(&code).and_then(|err| {
                // The actions read the error in server_fn's own encoding.
                leptos::server_fn::error::ServerFnUrlError::new(&path, err)
                    .to_url("http://roster.invalid/")
                    .ok()
                    .and_then(|url| {
                        url.query_pairs()
                            .find(|(k, _)| k == "__err")
                            .map(|(_, v)| v.into_owned())
                    })
                    .map(|encoded| (path, encoded))
            })
        }
        _ => None,
    };
    // No action has the empty path: an unknown error reaches none of them.
    let (path, encoded) = known.unwrap_or_default();
    provide_context(leptos::server::ServerActionError::new(&path, &encoded));
}
