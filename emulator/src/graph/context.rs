//! What every Graph request goes through before its handler: bearer token check (401),
//! consent and permission check (403), then faults (429/503). The extractor hands the
//! handler a `GraphCtx` with the tenant, the request ids and the absolute base URL.

use super::error::{GraphError, RequestMeta};
use crate::counters::path_kind;
use crate::faults::Fault;
use crate::state::{Directory, EmulatorState};
use crate::tenant::Tenant;
use crate::tokens::TokenProblem;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;

const WWW_AUTHENTICATE: &str = r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000""#;

/// Content type of Graph's JSON answers.
const ODATA_JSON: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// An authenticated, authorised Graph request.
#[derive(Clone, Debug)]
pub struct GraphCtx {
    pub meta: RequestMeta,
    pub tenant_id: String,
    /// `http://host:port`, from the request's `Host` header: links are absolute like Graph's.
    pub base: String,
    /// The request path, e.g. `/v1.0/users`.
    pub path: String,
    pub kind: &'static str,
    /// `ConsistencyLevel: eventual` was sent.
    pub eventual: bool,
}

impl GraphCtx {
    pub fn error(&self, status: StatusCode, code: &str, message: impl Into<String>) -> GraphError {
        self.meta.error(status, code, message)
    }

    /// The caller's tenant in a locked directory (gone if deleted since the token was issued).
    pub fn tenant<'a>(&self, dir: &'a Directory) -> Result<&'a Tenant, GraphError> {
        dir.tenants
            .get(&self.tenant_id)
            .ok_or_else(|| denied(&self.meta))
    }

    /// A 200 with Graph's headers.
    pub fn json(&self, body: &impl Serialize) -> Response {
        let text = match serde_json::to_string(body) {
            Ok(t) => t,
            Err(e) => {
                return self
                    .error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "generalException",
                        e.to_string(),
                    )
                    .into_response()
            }
        };
        let mut response = (StatusCode::OK, text).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
        self.meta.stamp(headers);
        response
    }

    pub fn not_found(&self, id: &str) -> GraphError {
        self.error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        )
    }
}

impl FromRequestParts<Arc<EmulatorState>> for GraphCtx {
    type Rejection = GraphError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<EmulatorState>,
    ) -> Result<Self, GraphError> {
        let meta = RequestMeta::new(&parts.headers);
        let path = parts.uri.path().to_string();
        let kind = path_kind(&path);
        let tenant_id = {
            let tokens = state.tokens();
            match tokens.check(bearer(&parts.headers)) {
                Ok(record) => record.tenant_id.clone(),
                Err(problem) => {
                    drop(tokens);
                    state.counters().unauthorized += 1;
                    return Err(unauthorized(&meta, problem));
                }
            }
        };
        let allowed = {
            let dir = state.directory();
            dir.tenants.contains_key(&tenant_id)
                && dir
                    .consent(&tenant_id)
                    .is_some_and(|c| permitted(&c.roles, kind))
        };
        if !allowed {
            state.counters().forbidden += 1;
            return Err(denied(&meta));
        }
        let fault = state.faults().next(kind);
        match fault {
            Some(Fault::Throttle { retry_after }) => {
                state.counters().throttled += 1;
                return Err(GraphError::throttled(&meta, &retry_after));
            }
            Some(Fault::Unavailable { retry_after }) => {
                state.counters().unavailable += 1;
                let e = meta.error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "serviceNotAvailable",
                    "The service is temporarily unavailable. Please retry later.",
                );
                return Err(match retry_after {
                    Some(r) => e.with_header(header::RETRY_AFTER, r),
                    None => e,
                });
            }
            None => {}
        }
        let eventual = parts
            .headers
            .get("consistencylevel")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
        Ok(GraphCtx {
            meta,
            tenant_id,
            base: base_url(&parts.headers),
            path,
            kind,
            eventual,
        })
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn unauthorized(meta: &RequestMeta, problem: TokenProblem) -> GraphError {
    let message = match problem {
        TokenProblem::Missing => "Access token is empty.",
        TokenProblem::Malformed => "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format. (JWS): 'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'.",
        TokenProblem::Unknown => "Access token validation failure. Invalid audience.",
        TokenProblem::Expired => "Lifetime validation failed, the token is expired.",
    };
    meta.error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
    )
    .with_header(header::WWW_AUTHENTICATE, WWW_AUTHENTICATE)
}

fn denied(meta: &RequestMeta) -> GraphError {
    meta.error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

/// Whether the granted application permissions cover a path kind (least privileged first).
fn permitted(roles: &[String], kind: &str) -> bool {
    let needs: &[&str] = match kind {
        "users" | "user" | "usersDelta" => &["User.Read.All", "User.ReadWrite.All"],
        "groups" | "group" | "groupsDelta" => &["Group.Read.All", "Group.ReadWrite.All"],
        "members" | "transitiveMembers" => &[
            "GroupMember.Read.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
        ],
        "contacts" | "contact" => &["OrgContact.Read.All"],
        "organization" => &["Organization.Read.All", "Organization.ReadWrite.All"],
        "domains" => &["Domain.Read.All", "Domain.ReadWrite.All"],
        _ => return true,
    };
    roles.iter().any(|r| {
        needs.contains(&r.as_str()) || r == "Directory.Read.All" || r == "Directory.ReadWrite.All"
    })
}

/// `http://host:port` of the request (honouring `X-Forwarded-Proto`).
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("http");
    format!("{scheme}://{host}")
}
