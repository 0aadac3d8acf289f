//! Test Connection, for every connector: the domain's directory as the connector registry
//! builds it from the stored connection (`ssr::connectors`), its first accounts as Roster
//! would store them for the domain. Stores nothing.

use crate::error::AppError;
use crate::model::ConnectionTestResult;
use leptos::prelude::*;
use uuid::Uuid;

/// Signs in to the domain's directory, reads its first pages and shows the first accounts as
/// Roster would store them for this domain. Stores nothing.
#[server(endpoint = "test_connection")]
pub async fn test_connection(domain_id: Uuid) -> Result<ConnectionTestResult, AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::model::SampleAccount;
    use crate::ssr::microsoft_consent::domain_rules;
    use crate::ssr::{
        auth::require_admin, directory_error, internal, respond::respond, OrInternal,
    };
    use tracing::Instrument;
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        let domain = load_domain(&pool, admin.organization_id, domain_id).await?;
        let connection = req
            .state
            .connectors()
            .connect(&pool, admin.organization_id, domain_id, domain.server_type)
            .await
            .or_internal("loading the domain's directory connection")?
            .map_err(|unavailable| unavailable.into_app_error())?;
        let rules = domain_rules(&pool, admin.organization_id, &domain).await?;
        let span = tracing::info_span!("test_connection", %domain_id,
            source = connection.source.as_str(), directory = %connection.directory.identity());
        let started = std::time::Instant::now();
        let test = connection
            .directory
            .test_connection(&rules)
            .instrument(span.clone())
            .await
            .map_err(|e| {
                span.in_scope(|| directory_error(&e, "testing the directory connection"))
            })?;
        let count = |n: usize| u32::try_from(n).map_err(internal);
        let accounts = test
            .sample
            .into_iter()
            .map(|a| {
                Ok(SampleAccount {
                    address: a.address.to_string(),
                    display_name: a.display_name.to_string(),
                    kind: a.kind,
                    aliases: a.aliases.iter().map(ToString::to_string).collect(),
                    members: count(a.members.len())?,
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(ConnectionTestResult {
            accounts,
            users_read: count(test.users_read)?,
            groups_read: count(test.groups_read)?,
            accounts_found: count(test.accounts_found)?,
            more_pages: test.more_pages,
            elapsed_ms: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
        })
    })
    .await
}
