//! The error of a form posted without JavaScript, as it travels in the URL back to the form
//! (`?__path=/api/<name>&__err=<code>`). Anyone can craft such a URL and send it to an admin,
//! so it carries only a code naming a known error, never text: the page maps the code back to
//! Roster's own sentence. Variants with free text (`Conflict`, `Directory`'s message,
//! `Invalid`'s messages) come back with a fixed sentence; field names and Microsoft's codes
//! are kept only when they are plain identifiers.

use crate::error::{AppError, FieldError};

/// What a field refused without JavaScript says (its own message went with the request).
pub const FIELD_REFUSED: &str = "This value was not accepted. Check it and try again.";
/// What a refusal of the current state says without JavaScript.
pub const CONFLICT_TEXT: &str =
    "This can't be done right now. Reload the page to see the current state.";
/// What a refusal for unproven ownership says without JavaScript.
pub const OWNERSHIP_TEXT: &str = "This domain's ownership is not verified yet. Add the TXT record shown on its Inbound Servers page and choose Verify ownership.";
/// What a directory error says without JavaScript; Microsoft's code follows it.
pub const DIRECTORY_TEXT: &str = "Microsoft 365 refused the request.";

/// The code of `err` for the URL.
pub fn encode(err: &AppError) -> String {
    match err {
        AppError::Unauthorized => "unauthorized".to_owned(),
        AppError::NotFound => "not_found".to_owned(),
        AppError::BadCredentials => "bad_credentials".to_owned(),
        AppError::LockedOut { minutes } => format!("locked_out.{minutes}"),
        AppError::RateLimited { seconds } => format!("rate_limited.{seconds}"),
        AppError::OwnershipNotVerified(_) => "ownership_not_verified".to_owned(),
        AppError::Invalid(fields) => {
            let mut code = "invalid".to_owned();
            for field in fields.iter().filter(|f| is_identifier(&f.field)) {
                code.push('.');
                code.push_str(&field.field);
            }
            code
        }
        AppError::Directory { microsoft_code, .. } => match microsoft_code {
            Some(c) if is_identifier(c) => format!("directory.{c}"),
            _ => "directory".to_owned(),
        },
        AppError::MicrosoftNotConfigured => "microsoft_not_configured".to_owned(),
        AppError::NotConnected => "not_connected".to_owned(),
        AppError::Conflict(_) => "conflict".to_owned(),
        AppError::Internal { reference } if is_reference(reference) => {
            format!("internal.{reference}")
        }
        AppError::Internal { .. } => "internal".to_owned(),
        AppError::Transport(_) => "transport".to_owned(),
    }
}

/// The error a code names; `None` for anything Roster did not write.
pub fn decode(code: &str) -> Option<AppError> {
    let (name, rest) = code.split_once('.').unwrap_or((code, ""));
    let rest: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('.').collect()
    };
    let error = match (name, rest.as_slice()) {
        ("unauthorized", []) => AppError::Unauthorized,
        ("not_found", []) => AppError::NotFound,
        ("bad_credentials", []) => AppError::BadCredentials,
        ("locked_out", [minutes]) => AppError::LockedOut {
            minutes: minutes.parse().ok().filter(|m| (1..=24 * 60).contains(m))?,
        },
        ("rate_limited", [seconds]) => AppError::RateLimited {
            seconds: seconds.parse().ok().filter(|s| (1..=3600).contains(s))?,
        },
        ("ownership_not_verified", []) => AppError::OwnershipNotVerified(OWNERSHIP_TEXT.to_owned()),
        ("invalid", fields) => {
            if !fields.iter().all(|f| is_identifier(f) || f.is_empty()) || fields.len() > 20 {
                return None;
            }
            let mut errors: Vec<FieldError> = fields
                .iter()
                .map(|f| FieldError::new(*f, FIELD_REFUSED))
                .collect();
            if errors.is_empty() {
                errors.push(FieldError::new("", FIELD_REFUSED));
            }
            AppError::Invalid(errors)
        }
        ("directory", []) => AppError::Directory {
            message: DIRECTORY_TEXT.to_owned(),
            microsoft_code: None,
        },
        ("directory", [c]) if is_identifier(c) => AppError::Directory {
            message: DIRECTORY_TEXT.to_owned(),
            microsoft_code: Some((*c).to_owned()),
        },
        ("microsoft_not_configured", []) => AppError::MicrosoftNotConfigured,
        ("not_connected", []) => AppError::NotConnected,
        ("conflict", []) => AppError::Conflict(CONFLICT_TEXT.to_owned()),
        ("internal", []) => AppError::Internal {
            reference: "unknown".to_owned(),
        },
        ("internal", [r]) if is_reference(r) => AppError::Internal {
            reference: (*r).to_owned(),
        },
        ("transport", []) => AppError::Transport(String::new()),
        _ => return None,
    };
    Some(error)
}

/// A server function's path (`/api/<name>`), the only kind `__path` may name.
pub fn is_server_fn_path(path: &str) -> bool {
    path.strip_prefix("/api/").is_some_and(is_identifier)
}

/// Letters, digits and `_`, at most 64: form field names, Microsoft's codes (`AADSTS700016`,
/// `Authorization_RequestDenied`).
fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The short reference of an internal error (`internal` makes 8 upper-case hex digits).
fn is_reference(s: &str) -> bool {
    !s.is_empty() && s.len() <= 16 && s.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_errors_survive_the_trip() {
        for err in [
            AppError::Unauthorized,
            AppError::NotFound,
            AppError::BadCredentials,
            AppError::LockedOut { minutes: 15 },
            AppError::RateLimited { seconds: 30 },
            AppError::OwnershipNotVerified(OWNERSHIP_TEXT.to_owned()),
            AppError::MicrosoftNotConfigured,
            AppError::NotConnected,
            AppError::Internal {
                reference: "1A2B3C4D".to_owned(),
            },
        ] {
            assert_eq!(decode(&encode(&err)), Some(err));
        }
    }

    #[test]
    fn free_text_never_travels() {
        let err = AppError::Conflict("Call +1 555 0100 to unlock your account".to_owned());
        assert_eq!(encode(&err), "conflict");
        assert_eq!(
            decode(&encode(&err)),
            Some(AppError::Conflict(CONFLICT_TEXT.to_owned()))
        );
        let invalid = AppError::Invalid(vec![
            FieldError::new("name", "Enter the full domain name"),
            FieldError::new("bad field <b>", "x"),
        ]);
        assert_eq!(encode(&invalid), "invalid.name");
        assert_eq!(
            decode("invalid.name"),
            Some(AppError::invalid("name", FIELD_REFUSED))
        );
    }

    #[test]
    fn crafted_codes_are_ignored() {
        for code in [
            "",
            "Your session expired, call us",
            "{\"Conflict\":\"evil\"}",
            "conflict.evil",
            "internal.not-a-ref",
            "locked_out.999999",
            "directory.AADSTS 1 <b>",
            "invalid.<script>",
        ] {
            assert_eq!(decode(code), None, "{code}");
        }
    }

    #[test]
    fn only_server_function_paths() {
        assert!(is_server_fn_path("/api/create_domain"));
        assert!(!is_server_fn_path("/domains"));
        assert!(!is_server_fn_path("/api/../x"));
    }
}
