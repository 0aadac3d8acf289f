//! Office 365 Sync: the Microsoft 365 connection section on the shared sync page.

use crate::pages::directory_sync::DirectorySyncPage;
use crate::pages::domain_layout::use_domain;
use crate::pages::microsoft_connection::MicrosoftConnectionPanel;
use leptos::prelude::*;
use roster_core::ServerType;

#[component]
pub fn Office365SyncPage() -> impl IntoView {
    let domain = use_domain();
    view! {
        <DirectorySyncPage
            server_type=ServerType::Office365
            title="Office 365 Sync"
            intro="Keep this domain's email accounts, aliases and distribution lists in step with your Microsoft 365 organization."
        >
            <MicrosoftConnectionPanel domain=domain.clone() />
        </DirectorySyncPage>
    }
}
