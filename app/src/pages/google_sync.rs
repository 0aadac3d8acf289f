//! Google Workspace Sync: the Google Workspace connection section on the shared sync page.

use crate::pages::directory_sync::DirectorySyncPage;
use crate::pages::domain_layout::use_domain;
use crate::pages::google_connection::GoogleConnectionPanel;
use leptos::prelude::*;
use roster_core::ServerType;

#[component]
pub fn GoogleSyncPage() -> impl IntoView {
    let domain_id = use_domain().id;
    view! {
        <DirectorySyncPage
            server_type=ServerType::GoogleWorkspace
            title="Google Workspace Sync"
            intro="Keep this domain's email accounts, aliases and distribution lists in step with your Google Workspace."
        >
            <GoogleConnectionPanel domain_id />
        </DirectorySyncPage>
    }
}
