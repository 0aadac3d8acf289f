//! Google's error bodies: the Directory API's v1 format
//! `{"error": {"errors": [{"domain","reason","message"}], "code", "message"}}` and the OAuth
//! token endpoint's `{"error", "error_description"}`.
//!
//! Bodies marked "FACTS" are copied from `/work/shared/reference/google/FACTS.md` and its samples;
//! the others follow Google's documented reasons and messages (see the README).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// A Directory API error.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Value,
    /// 401 answers carry `WWW-Authenticate`.
    pub www_authenticate: bool,
}

fn v1(status: StatusCode, domain: &str, reason: &str, message: &str) -> ApiError {
    ApiError {
        status,
        body: json!({"error": {
            "errors": [{"domain": domain, "reason": reason, "message": message}],
            "code": status.as_u16(),
            "message": message,
        }}),
        www_authenticate: false,
    }
}

impl ApiError {
    /// FACTS §4 / samples/forseti-unauthorized-403.json: not an admin, or another customer.
    pub fn forbidden() -> ApiError {
        v1(
            StatusCode::FORBIDDEN,
            "global",
            "forbidden",
            "Not Authorized to access this resource/api",
        )
    }

    /// No, unknown, revoked or expired bearer token.
    pub fn unauthenticated() -> ApiError {
        let message = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            body: json!({"error": {
                "code": 401,
                "message": message,
                "errors": [{"message": "Invalid Credentials", "domain": "global",
                    "reason": "authError", "location": "Authorization", "locationType": "header"}],
                "status": "UNAUTHENTICATED",
            }}),
            www_authenticate: true,
        }
    }

    /// The token lacks the scope the method needs.
    pub fn insufficient_scopes() -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            body: json!({"error": {
                "code": 403,
                "message": "Request had insufficient authentication scopes.",
                "errors": [{"message": "Insufficient Permission", "domain": "global",
                    "reason": "insufficientPermissions"}],
                "status": "PERMISSION_DENIED",
            }}),
            www_authenticate: false,
        }
    }

    /// FACTS §4: the Admin SDK API is not enabled in the Cloud project.
    pub fn access_not_configured(project: &str) -> ApiError {
        let message = format!(
            "Admin Directory API has not been used in project {project} before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/admin.googleapis.com/overview?project={project} then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry."
        );
        ApiError {
            status: StatusCode::FORBIDDEN,
            body: json!({"error": {
                "code": 403,
                "message": message,
                "errors": [{"message": message, "domain": "usageLimits",
                    "reason": "accessNotConfigured", "extendedHelp": "https://console.developers.google.com"}],
                "status": "PERMISSION_DENIED",
            }}),
            www_authenticate: false,
        }
    }

    /// FACTS §4 rate limits.
    pub fn user_rate_limit() -> ApiError {
        v1(
            StatusCode::FORBIDDEN,
            "usageLimits",
            "userRateLimitExceeded",
            "User Rate Limit Exceeded",
        )
    }

    pub fn quota_exceeded() -> ApiError {
        v1(
            StatusCode::FORBIDDEN,
            "usageLimits",
            "quotaExceeded",
            "Quota Exceeded",
        )
    }

    pub fn rate_limit() -> ApiError {
        v1(
            StatusCode::TOO_MANY_REQUESTS,
            "usageLimits",
            "rateLimitExceeded",
            "Rate Limit Exceeded",
        )
    }

    pub fn backend_error() -> ApiError {
        v1(
            StatusCode::SERVICE_UNAVAILABLE,
            "global",
            "backendError",
            "Service unavailable. Please try again",
        )
    }

    /// Neither `customer` nor `domain` (FACTS §2: 400 "Bad Request").
    pub fn bad_request() -> ApiError {
        v1(
            StatusCode::BAD_REQUEST,
            "global",
            "badRequest",
            "Bad Request",
        )
    }

    /// A domain that is not the customer's (GAM: "Domain not found.").
    pub fn domain_not_found() -> ApiError {
        v1(
            StatusCode::BAD_REQUEST,
            "global",
            "badRequest",
            "Domain not found.",
        )
    }

    /// FACTS §4: "Resource Not Found: groupKey".
    pub fn not_found(what: &str) -> ApiError {
        v1(
            StatusCode::NOT_FOUND,
            "global",
            "notFound",
            &format!("Resource Not Found: {what}"),
        )
    }

    /// A parameter out of its range, in the API framework's words.
    pub fn invalid_value(parameter: &str, value: &str, max: u32) -> ApiError {
        let message =
            format!("Invalid value '{value}'. Values must be within the range: [1, {max}]");
        let mut e = v1(StatusCode::BAD_REQUEST, "global", "invalid", &message);
        e.body["error"]["errors"][0]["locationType"] = json!("parameter");
        e.body["error"]["errors"][0]["location"] = json!(parameter);
        e
    }

    /// A `pageToken` the emulator did not issue.
    pub fn invalid_page_token() -> ApiError {
        v1(
            StatusCode::BAD_REQUEST,
            "global",
            "invalid",
            "Invalid Input: pageToken",
        )
    }

    /// A `fields=` selection that does not parse.
    pub fn invalid_fields(fields: &str) -> ApiError {
        let message = format!("Invalid field selection {fields}");
        let mut e = v1(
            StatusCode::BAD_REQUEST,
            "global",
            "invalidParameter",
            &message,
        );
        e.body["error"]["errors"][0]["locationType"] = json!("parameter");
        e.body["error"]["errors"][0]["location"] = json!("fields");
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if self.www_authenticate {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
                ),
            );
        }
        response
    }
}

/// A token endpoint error: `{"error", "error_description"}`, never cached.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
