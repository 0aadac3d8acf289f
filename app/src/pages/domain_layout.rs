//! The frame of a domain's pages: loads the domain (or says it is not found) and shows the
//! domain's navigation. Changing the server type or port refreshes it, so the sync entry in
//! the menu follows the type at once.

use crate::api::domains::{get_domain, SetDeliveryPort, SetServerType};
use crate::components::forms::successes;
use crate::components::layout::Sidebar;
use crate::components::status::{ErrorPanel, Loading};
use crate::error::AppError;
use crate::model::DomainInfo;
use leptos::prelude::*;
use leptos_router::components::Outlet;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

/// The actions that change the domain itself, shared with the Inbound Servers page.
#[derive(Clone, Copy)]
pub struct DomainActions {
    pub set_server_type: ServerAction<SetServerType>,
    pub set_delivery_port: ServerAction<SetDeliveryPort>,
}

/// The domain being viewed, for the pages inside the layout.
pub fn use_domain() -> DomainInfo {
    expect_context::<DomainInfo>()
}

#[component]
pub fn DomainLayout() -> impl IntoView {
    let params = use_params_map();
    let domain_id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| Uuid::parse_str(&s).ok())
    };
    let actions = DomainActions {
        set_server_type: ServerAction::new(),
        set_delivery_port: ServerAction::new(),
    };
    provide_context(actions);
    // Taken now: after the resource's await the context may no longer be reachable.
    #[cfg(feature = "ssr")]
    let response = use_context::<leptos_axum::ResponseOptions>();
    let type_saved = successes(actions.set_server_type);
    let port_saved = successes(actions.set_delivery_port);
    let domain = Resource::new(
        move || (domain_id(), type_saved.get(), port_saved.get()),
        |(id, _, _)| async move {
            match id {
                Some(id) => get_domain(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <div class="async">
        <Transition fallback=|| view! { <Sidebar /> <main id="main" class="content"><Loading /></main> }>
            {move || {
                #[cfg(feature = "ssr")]
                let response = response.clone();
                Suspend::new(async move {
                match domain.await {
                    Ok(d) => {
                        provide_context(d.clone());
                        view! {
                            <Sidebar domain=d />
                            <main id="main" class="content">
                                <Outlet />
                            </main>
                        }.into_any()
                    }
                    Err(error) => {
                        #[cfg(feature = "ssr")]
                        if let Some(response) = &response {
                            response.set_status(error.status());
                        }
                        view! {
                            <Sidebar />
                            <main id="main" class="content"><ErrorPanel error /></main>
                        }.into_any()
                    }
                }
            })}}
        </Transition>
        </div>
    }
}
