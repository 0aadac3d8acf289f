//! AD/LDAP Sync: the LDAP connection section on the shared sync page.

use crate::pages::directory_sync::DirectorySyncPage;
use crate::pages::domain_layout::use_domain;
use crate::pages::ldap_connection::LdapConnectionPanel;
use leptos::prelude::*;
use roster_core::ServerType;

#[component]
pub fn LdapSyncPage() -> impl IntoView {
    let domain_id = use_domain().id;
    view! {
        <DirectorySyncPage
            server_type=ServerType::OnPremise
            title="AD/LDAP Sync"
            intro="Keep this domain's email accounts, aliases and distribution lists in step with your own Active Directory, Exchange or other LDAP directory."
        >
            <LdapConnectionPanel domain_id />
        </DirectorySyncPage>
    }
}
