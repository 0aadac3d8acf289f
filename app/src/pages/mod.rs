//! One module per page.

pub mod admins;
pub mod connection_test;
pub mod directory_sync;
pub mod domain_layout;
pub mod domain_ownership;
pub mod domains;
pub mod email_accounts;
pub mod google_connection;
pub mod google_sync;
pub mod inbound_servers;
pub mod ldap_connection;
pub mod ldap_sync;
pub mod list_members;
pub mod login;
pub mod microsoft_connection;
pub mod new_domain;
pub mod not_found;
pub mod office365_sync;
pub mod sync_panel;
pub mod sync_run;
