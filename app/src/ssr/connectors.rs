//! The connector registry: which directory a domain syncs from, chosen by its server type,
//! and that directory built from the domain's stored connection. It is the one place that
//! tells the connectors apart: the worker, Test Connection, Manual/Test Sync and the sync
//! pages ask it for a [`Connection`], or for the reason there is none ([`Unavailable`]).

use crate::error::AppError;
use crate::ssr::secrets::{ldap_password_context, SecretKey};
use anyhow::{Context, Result};
use roster_core::google::GoogleClient;
use roster_core::ldap::{LdapDirectory, LdapPassword};
use roster_core::microsoft::MicrosoftClient;
use roster_core::{Directory, ServerType, SyncSource};
use sqlx::PgPool;
use uuid::Uuid;

/// What the connectors of this installation are configured with.
#[derive(Clone, Debug, Default)]
pub struct Connectors {
    /// Roster's Microsoft 365 app registration (`ROSTER_MS_CLIENT_ID`).
    pub microsoft: Option<MicrosoftClient>,
    /// `ROSTER_SECRET_KEY`: seals the LDAP passwords and Google grants; without it LDAP and
    /// Google Workspace sync are off.
    pub secret_key: Option<SecretKey>,
    /// Roster's Google OAuth client (`ROSTER_GOOGLE_CLIENT_ID`).
    pub google: Option<GoogleClient>,
}

/// A domain's directory, ready to read.
pub struct Connection {
    /// What its runs are recorded as (and whose accounts they own).
    pub source: SyncSource,
    pub directory: Box<dyn Directory>,
}

/// Why a domain's directory can't be read now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// The domain's server type has no directory connector.
    NotSynced(ServerType),
    /// The connector is not configured on this installation.
    NotConfigured(SyncSource),
    /// The domain has no stored connection yet.
    NotConnected(SyncSource),
    /// The stored connection can't be used (the admin's words say why and what to do).
    Unusable(String),
}

pub use crate::model::{GOOGLE_NOT_CONFIGURED, LDAP_NOT_CONFIGURED};

/// The name of the page where a source's connection is set up.
pub fn sync_page(source: SyncSource) -> &'static str {
    match source {
        SyncSource::Office365 => "Office 365 Sync",
        SyncSource::Ldap => "AD/LDAP Sync",
        SyncSource::GoogleWorkspace => "Google Workspace Sync",
    }
}

impl Unavailable {
    /// The admin's words, for a run's error and the pages.
    pub fn message(&self) -> String {
        match self {
            Unavailable::NotSynced(t) => format!(
                "This domain's server type, “{}”, is not synced from a directory. Change its server type on the Inbound Servers page to sync it.",
                t.label()
            ),
            Unavailable::NotConfigured(SyncSource::Office365) => AppError::MicrosoftNotConfigured.to_string(),
            Unavailable::NotConfigured(SyncSource::Ldap) => LDAP_NOT_CONFIGURED.to_owned(),
            Unavailable::NotConfigured(SyncSource::GoogleWorkspace) => GOOGLE_NOT_CONFIGURED.to_owned(),
            Unavailable::NotConnected(SyncSource::Office365) => "This domain is not connected to Microsoft 365. Grant permission on the Office 365 Sync page first.".to_owned(),
            Unavailable::NotConnected(SyncSource::GoogleWorkspace) => "This domain is not connected to Google Workspace. Grant permission on the Google Workspace Sync page first.".to_owned(),
            Unavailable::NotConnected(source) => format!(
                "This domain's directory settings are not saved yet. Save them on the {} page first.",
                sync_page(*source)
            ),
            Unavailable::Unusable(message) => message.clone(),
        }
    }

    /// The refusal a server function answers with.
    pub fn into_app_error(self) -> AppError {
        match self {
            Unavailable::NotConfigured(SyncSource::Office365) => AppError::MicrosoftNotConfigured,
            Unavailable::NotConnected(SyncSource::Office365) => AppError::NotConnected,
            other => AppError::Conflict(other.message()),
        }
    }
}

/// The source a server type syncs from, if it has a connector.
pub fn source_of(server_type: ServerType) -> Option<SyncSource> {
    match server_type {
        ServerType::Office365 => Some(SyncSource::Office365),
        ServerType::OnPremise => Some(SyncSource::Ldap),
        ServerType::GoogleWorkspace => Some(SyncSource::GoogleWorkspace),
    }
}

impl Connectors {
    /// Whether this installation can read `source` at all.
    pub fn configured(&self, source: SyncSource) -> bool {
        match source {
            SyncSource::Office365 => self.microsoft.is_some(),
            SyncSource::Ldap => self.secret_key.is_some(),
            SyncSource::GoogleWorkspace => self.google.is_some() && self.secret_key.is_some(),
        }
    }

    /// The domain's directory, built from its stored connection, or why there is none.
    /// `Err` only when the database failed.
    pub async fn connect(
        &self,
        pool: &PgPool,
        organization_id: Uuid,
        domain_id: Uuid,
        server_type: ServerType,
    ) -> Result<Result<Connection, Unavailable>> {
        let Some(source) = source_of(server_type) else {
            return Ok(Err(Unavailable::NotSynced(server_type)));
        };
        if !self.configured(source) {
            return Ok(Err(Unavailable::NotConfigured(source)));
        }
        let directory: Result<Box<dyn Directory>, Unavailable> = match source {
            SyncSource::Office365 => {
                self.microsoft_directory(pool, organization_id, domain_id)
                    .await?
            }
            SyncSource::Ldap => {
                self.ldap_directory(pool, organization_id, domain_id)
                    .await?
            }
            SyncSource::GoogleWorkspace => {
                self.google_directory(pool, organization_id, domain_id)
                    .await?
            }
        };
        Ok(directory.map(|directory| Connection { source, directory }))
    }

    async fn microsoft_directory(
        &self,
        pool: &PgPool,
        organization_id: Uuid,
        domain_id: Uuid,
    ) -> Result<Result<Box<dyn Directory>, Unavailable>> {
        let Some(microsoft) = &self.microsoft else {
            return Ok(Err(Unavailable::NotConfigured(SyncSource::Office365)));
        };
        let tenant = sqlx::query_scalar!(
            "select tenant_id from microsoft_connections where organization_id = $1 and domain_id = $2",
            organization_id,
            domain_id
        )
        .fetch_optional(pool)
        .await
        .context("loading the domain's Microsoft 365 connection")?;
        let Some(tenant) = tenant else {
            return Ok(Err(Unavailable::NotConnected(SyncSource::Office365)));
        };
        let directory = microsoft.tenant(&tenant).context("the stored tenant id")?;
        Ok(Ok(Box::new(directory)))
    }

    async fn ldap_directory(
        &self,
        pool: &PgPool,
        organization_id: Uuid,
        domain_id: Uuid,
    ) -> Result<Result<Box<dyn Directory>, Unavailable>> {
        let Some(key) = &self.secret_key else {
            return Ok(Err(Unavailable::NotConfigured(SyncSource::Ldap)));
        };
        let Some(stored) = crate::api::ldap::ssr::stored(pool, organization_id, domain_id).await?
        else {
            return Ok(Err(Unavailable::NotConnected(SyncSource::Ldap)));
        };
        let settings = match stored.input.parse() {
            Ok(settings) => settings,
            Err(errors) => {
                tracing::warn!(%organization_id, %domain_id, ?errors, "stored LDAP settings no longer parse");
                return Ok(Err(Unavailable::Unusable("The saved LDAP settings can't be used any more. Check them on the AD/LDAP Sync page and save them again.".to_owned())));
            }
        };
        let opened = key
            .open(
                &stored.password_sealed,
                &ldap_password_context(organization_id, domain_id),
            )
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| LdapPassword::new(text).ok());
        let Some(password) = opened else {
            tracing::warn!(%organization_id, %domain_id, "the saved LDAP password does not open with ROSTER_SECRET_KEY");
            return Ok(Err(Unavailable::Unusable("The saved LDAP password can't be read on this Roster installation (its secret key changed). Enter the password again on the AD/LDAP Sync page and save.".to_owned())));
        };
        Ok(Ok(Box::new(LdapDirectory::new(settings, password))))
    }
}

impl Connectors {
    async fn google_directory(
        &self,
        pool: &PgPool,
        organization_id: Uuid,
        domain_id: Uuid,
    ) -> Result<Result<Box<dyn Directory>, Unavailable>> {
        let (Some(google), Some(key)) = (&self.google, &self.secret_key) else {
            return Ok(Err(Unavailable::NotConfigured(SyncSource::GoogleWorkspace)));
        };
        let Some(stored) =
            crate::ssr::google_grant::stored_grant(pool, organization_id, domain_id).await?
        else {
            return Ok(Err(Unavailable::NotConnected(SyncSource::GoogleWorkspace)));
        };
        let Some(refresh) = crate::ssr::google_grant::open_refresh_token(
            key,
            &stored.refresh_token_sealed,
            organization_id,
            domain_id,
        ) else {
            tracing::warn!(%organization_id, %domain_id, "the saved Google grant does not open with ROSTER_SECRET_KEY");
            return Ok(Err(Unavailable::Unusable("The saved Google Workspace permission can't be read on this Roster installation (its secret key changed). Grant permission again on the Google Workspace Sync page.".to_owned())));
        };
        let directory = google
            .directory(&stored.customer_id, refresh)
            .skipping_suspended(stored.skip_suspended);
        Ok(Ok(Box::new(directory)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_server_type_with_a_connector_has_its_source_and_page() {
        assert_eq!(
            source_of(ServerType::Office365),
            Some(SyncSource::Office365)
        );
        assert_eq!(source_of(ServerType::OnPremise), Some(SyncSource::Ldap));
        assert_eq!(
            source_of(ServerType::GoogleWorkspace),
            Some(SyncSource::GoogleWorkspace)
        );
        for t in ServerType::ALL {
            // The menu offers a sync page exactly for the types the registry can read.
            assert_eq!(t.syncs(), source_of(t).is_some(), "{t:?}");
            if let (Some(source), Some(label)) = (source_of(t), t.sync_menu_label()) {
                assert_eq!(sync_page(source), label);
            }
        }
    }

    #[test]
    fn refusals_keep_microsofts_errors_and_name_the_page_otherwise() {
        assert_eq!(
            Unavailable::NotConfigured(SyncSource::Office365).into_app_error(),
            AppError::MicrosoftNotConfigured
        );
        assert_eq!(
            Unavailable::NotConnected(SyncSource::Office365).into_app_error(),
            AppError::NotConnected
        );
        assert_eq!(
            Unavailable::NotConfigured(SyncSource::Ldap).into_app_error(),
            AppError::Conflict(LDAP_NOT_CONFIGURED.to_owned())
        );
        let AppError::Conflict(message) =
            Unavailable::NotConnected(SyncSource::Ldap).into_app_error()
        else {
            panic!("not a conflict")
        };
        assert!(message.contains("AD/LDAP Sync page"), "{message}");
        let AppError::Conflict(message) =
            Unavailable::NotSynced(ServerType::GoogleWorkspace).into_app_error()
        else {
            panic!("not a conflict")
        };
        assert!(message.contains("Google Workspace"), "{message}");
        let AppError::Conflict(message) =
            Unavailable::NotConnected(SyncSource::GoogleWorkspace).into_app_error()
        else {
            panic!("not a conflict")
        };
        assert!(message.contains("Google Workspace Sync page"), "{message}");
    }
}
