//! A domain's LDAP connection settings (the AD/LDAP Sync page): loading them for the form
//! and saving them. The password is sealed under `ROSTER_SECRET_KEY` (`ssr::secrets`) and
//! never leaves the server again; an empty password on save keeps the saved one.

// `save_ldap_settings` takes one argument per form field, as the other forms' server
// functions do; the `server` macro's browser half can't carry an attribute of its own.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use crate::model::LdapPanel;
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod ssr {
    use anyhow::{Context, Result};
    use roster_core::ldap::LdapSettingsInput;
    use sqlx::PgPool;
    use uuid::Uuid;

    /// A domain's saved LDAP settings, as the form's text, and the sealed password.
    pub struct Stored {
        pub preset: Option<String>,
        pub input: LdapSettingsInput,
        pub password_sealed: Vec<u8>,
        pub updated_at: chrono::DateTime<chrono::Utc>,
        pub updated_by: String,
    }

    pub async fn stored(pool: &PgPool, org: Uuid, domain_id: Uuid) -> Result<Option<Stored>> {
        let row = sqlx::query!(
            r#"select preset, servers, security, port, verify_certificate, ca_pem, bind_user,
                      password_sealed, base_dns, filter, email_attribute, alias_attributes,
                      list_attribute, list_value, updated_at, updated_by
               from ldap_connections where organization_id = $1 and domain_id = $2"#,
            org,
            domain_id
        )
        .fetch_optional(pool)
        .await
        .context("loading the domain's LDAP settings")?;
        Ok(row.map(|r| Stored {
            preset: r.preset,
            input: LdapSettingsInput {
                servers: r.servers.join(", "),
                security: r.security,
                port: r.port.to_string(),
                verify_certificate: r.verify_certificate,
                ca_pem: r.ca_pem.unwrap_or_default(),
                bind_user: r.bind_user,
                base_dns: r.base_dns.join("\n"),
                filter: r.filter.unwrap_or_default(),
                email_attribute: r.email_attribute,
                alias_attributes: r.alias_attributes.join(", "),
                list_attribute: r.list_attribute,
                list_value: r.list_value,
            },
            password_sealed: r.password_sealed,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
        }))
    }
}

#[server(endpoint = "get_ldap_settings")]
pub async fn get_ldap_settings(domain_id: Uuid) -> Result<LdapPanel, AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::model::LdapForm;
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        load_domain(&pool, admin.organization_id, domain_id).await?;
        let stored = ssr::stored(&pool, admin.organization_id, domain_id)
            .await
            .or_internal("loading LDAP settings")?;
        Ok(LdapPanel {
            configured: req.state.secret_key.is_some(),
            saved: stored.map(|s| LdapForm {
                preset: s.preset.unwrap_or_default(),
                settings: s.input,
                updated_at: s.updated_at,
                updated_by: s.updated_by,
            }),
        })
    })
    .await
}

/// Saves the domain's LDAP settings: every field parsed (all errors at once, each with its
/// field), nothing saved on any error. An empty password keeps the saved one.
#[server(endpoint = "save_ldap_settings")]
pub async fn save_ldap_settings(
    domain_id: Uuid,
    #[server(default)] preset: String,
    #[server(default)] servers: String,
    #[server(default)] security: String,
    #[server(default)] port: String,
    #[server(default)] verify_certificate: Option<String>,
    #[server(default)] ca_pem: String,
    #[server(default)] bind_user: String,
    #[server(default)] password: String,
    #[server(default)] base_dns: String,
    #[server(default)] filter: String,
    #[server(default)] email_attribute: String,
    #[server(default)] alias_attributes: String,
    #[server(default)] list_attribute: String,
    #[server(default)] list_value: String,
) -> Result<(), AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::error::FieldError;
    use crate::ssr::connectors::LDAP_NOT_CONFIGURED;
    use crate::ssr::secrets::ldap_password_context;
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    use roster_core::ldap::{
        LdapPassword, LdapPreset, LdapSettingsError, LdapSettingsInput, TlsVerify,
    };
    use roster_core::ServerType;
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        let org = admin.organization_id;
        let domain = load_domain(&pool, org, domain_id).await?;
        if domain.server_type != ServerType::OnPremise {
            return Err(AppError::Conflict(format!(
                "{} is set up as “{}”: LDAP settings are for domains of type “{}”. Change the server type on the Inbound Servers page first.",
                domain.name,
                domain.server_type.label(),
                ServerType::OnPremise.label()
            )));
        }
        let key = req
            .state
            .secret_key
            .clone()
            .ok_or_else(|| AppError::Conflict(LDAP_NOT_CONFIGURED.to_owned()))?;
        let input = LdapSettingsInput {
            servers,
            security,
            port,
            verify_certificate: verify_certificate.is_some(),
            ca_pem,
            bind_user,
            base_dns,
            filter,
            email_attribute,
            alias_attributes,
            list_attribute,
            list_value,
        };
        let field = |e: &LdapSettingsError| FieldError::new(e.field(), e);
        let parsed = input.parse();
        let preset = match preset.trim() {
            "" => None,
            p => LdapPreset::parse(p),
        };
        // Empty: keep the saved one (there must be one).
        let sealed_before = sqlx::query_scalar!(
            "select password_sealed from ldap_connections where organization_id = $1 and domain_id = $2",
            org,
            domain_id
        )
        .fetch_optional(&pool)
        .await
        .or_internal("loading the saved LDAP password")?;
        let password = if password.is_empty() && sealed_before.is_some() {
            Ok(None)
        } else {
            LdapPassword::new(password).map(Some)
        };
        let settings = match (parsed, password) {
            (Ok(settings), Ok(password)) => (settings, password),
            (parsed, password) => {
                let mut errors: Vec<FieldError> = parsed
                    .err()
                    .unwrap_or_default()
                    .iter()
                    .map(field)
                    .collect();
                if let Err(e) = password {
                    errors.push(field(&e));
                }
                return Err(AppError::Invalid(errors));
            }
        };
        let (settings, password) = settings;
        let password_changed = password.is_some();
        let sealed = match password {
            Some(p) => key.seal(
                p.expose().as_bytes(),
                &ldap_password_context(org, domain_id),
            ),
            None => sealed_before.unwrap_or_default(),
        };
        let (verify, ca_pem) = match &settings.verify {
            TlsVerify::Verify { custom_ca_pem } => (true, custom_ca_pem.clone()),
            TlsVerify::DontVerify => (false, None),
        };
        sqlx::query!(
            r#"insert into ldap_connections (organization_id, domain_id, preset, servers, security,
                   port, verify_certificate, ca_pem, bind_user, password_sealed, base_dns, filter,
                   email_attribute, alias_attributes, list_attribute, list_value, updated_at,
                   updated_by)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, now(), $17)
               on conflict (organization_id, domain_id) do update set
                   preset = excluded.preset, servers = excluded.servers,
                   security = excluded.security, port = excluded.port,
                   verify_certificate = excluded.verify_certificate, ca_pem = excluded.ca_pem,
                   bind_user = excluded.bind_user, password_sealed = excluded.password_sealed,
                   base_dns = excluded.base_dns, filter = excluded.filter,
                   email_attribute = excluded.email_attribute,
                   alias_attributes = excluded.alias_attributes,
                   list_attribute = excluded.list_attribute, list_value = excluded.list_value,
                   updated_at = now(), updated_by = excluded.updated_by"#,
            org,
            domain_id,
            preset.map(LdapPreset::as_str),
            &settings.servers,
            settings.security.as_str(),
            i32::from(settings.port),
            verify,
            ca_pem,
            settings.bind_user,
            sealed,
            &settings.base_dns,
            settings.filter,
            settings.attributes.email,
            &settings.attributes.aliases,
            settings.attributes.list_attribute,
            settings.attributes.list_value.as_str(),
            admin.email
        )
        .execute(&pool)
        .await
        .or_internal("saving LDAP settings")?;
        tracing::info!(organization_id = %org, %domain_id, admin = %admin.email,
            servers = ?settings.servers, security = settings.security.as_str(), port = settings.port,
            verify, bind_user = %settings.bind_user, base_dns = ?settings.base_dns,
            password_changed, "LDAP settings saved");
        Ok(())
    })
    .await
}
