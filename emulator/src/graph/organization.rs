//! `GET /v1.0/organization` (the tenant, with `verifiedDomains`) and `GET /v1.0/domains`.

use super::context::GraphCtx;
use super::error::GraphError;
use super::page;
use super::project::{Obj, Selection};
use super::query::GraphQuery;
use crate::state::EmulatorState;
use crate::tenant::Tenant;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{json, Value};
use std::sync::Arc;

/// organization properties in Graph's order (`@odata.type` and
/// `mobileDeviceManagementAuthority` as in the sample).
pub const ORG_PROPS: &[&str] = &[
    "id",
    "deletedDateTime",
    "businessPhones",
    "city",
    "country",
    "countryLetterCode",
    "createdDateTime",
    "defaultUsageLocation",
    "displayName",
    "isMultipleDataLocationsForServicesEnabled",
    "marketingNotificationEmails",
    "onPremisesLastSyncDateTime",
    "onPremisesSyncEnabled",
    "partnerTenantType",
    "postalCode",
    "preferredLanguage",
    "securityComplianceNotificationMails",
    "securityComplianceNotificationPhones",
    "state",
    "street",
    "technicalNotificationMails",
    "tenantType",
    "directorySizeQuota",
    "privacyProfile",
    "assignedPlans",
    "onPremisesProvisioningErrors",
    "provisionedPlans",
    "verifiedDomains",
    "mobileDeviceManagementAuthority",
];

pub async fn organization(
    State(state): State<Arc<EmulatorState>>,
    ctx: GraphCtx,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    let q = GraphQuery::parse(
        &ctx,
        raw.as_deref(),
        &["$orderby", "$search", "$expand", "$filter"],
    )?;
    let sel = Selection::parse(
        &ctx,
        q.get("$select"),
        &[ORG_PROPS],
        "microsoft.graph.organization",
    )?;
    let dir = state.directory();
    let tenant = ctx.tenant(&dir)?;
    let value = vec![org_json(tenant, &sel)];
    Ok(page(
        &ctx,
        &q,
        "organization",
        "organization",
        &sel,
        value,
        None,
        None,
    ))
}

fn org_json(t: &Tenant, sel: &Selection) -> Obj {
    let mut fields = vec![("@odata.type", json!("#microsoft.graph.organization"))];
    for name in ORG_PROPS.iter().filter(|n| sel.wants(n, true)) {
        let v = match *name {
            "id" => json!(t.id),
            "businessPhones" | "marketingNotificationEmails" | "securityComplianceNotificationPhones"
            | "technicalNotificationMails" | "assignedPlans" | "onPremisesProvisioningErrors"
            | "provisionedPlans" | "securityComplianceNotificationMails" => json!([]),
            "displayName" => json!(t.display_name),
            "tenantType" => json!("AAD"),
            "preferredLanguage" => json!("en"),
            "countryLetterCode" | "defaultUsageLocation" => json!("US"),
            "isMultipleDataLocationsForServicesEnabled" => Value::Null,
            "directorySizeQuota" => json!({"used": t.users.len() + t.groups.len() + t.contacts.len(), "total": 300000}),
            "verifiedDomains" => Value::Array(
                t.domains
                    .iter()
                    .map(|d| {
                        json!({
                            "capabilities": if d.is_initial { "Email, OfficeCommunicationsOnline, MoeraDomain" } else { "Email, OfficeCommunicationsOnline" },
                            "isDefault": d.is_default,
                            "isInitial": d.is_initial,
                            "name": d.name,
                            "type": "Managed",
                        })
                    })
                    .collect(),
            ),
            "mobileDeviceManagementAuthority" => json!("intune"),
            _ => Value::Null,
        };
        fields.push((*name, v));
    }
    Obj(fields)
}

pub async fn domains(
    State(state): State<Arc<EmulatorState>>,
    ctx: GraphCtx,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    let q = GraphQuery::parse(
        &ctx,
        raw.as_deref(),
        &["$orderby", "$search", "$expand", "$filter"],
    )?;
    let dir = state.directory();
    let tenant = ctx.tenant(&dir)?;
    let value = tenant
        .domains
        .iter()
        .map(|d| {
            Obj(vec![
                ("authenticationType", json!("Managed")),
                ("availabilityStatus", Value::Null),
                ("id", json!(d.name)),
                ("isAdminManaged", json!(true)),
                ("isDefault", json!(d.is_default)),
                ("isInitial", json!(d.is_initial)),
                ("isRoot", json!(true)),
                ("isVerified", json!(true)),
                ("passwordNotificationWindowInDays", json!(14)),
                ("passwordValidityPeriodInDays", json!(2147483647)),
                (
                    "supportedServices",
                    json!(["Email", "OfficeCommunicationsOnline"]),
                ),
                ("state", Value::Null),
            ])
        })
        .collect();
    Ok(page(
        &ctx,
        &q,
        "domains",
        "domains",
        &Selection::default(),
        value,
        None,
        None,
    ))
}
