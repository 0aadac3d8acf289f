//! Mapping database failures to what the admin should read: constraint violations are
//! recognised by constraint name (never by message text) and become field errors.

use super::internal;
use crate::error::AppError;

/// The constraint a failed statement violated, if that is why it failed.
pub fn violated_constraint(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}

/// Turns a failed statement into an `AppError`: a known constraint becomes the matching
/// field error from `known`, anything else is logged as internal with `context`.
pub fn map_db_error(
    err: sqlx::Error,
    context: &'static str,
    known: &[(&str, &str, &str)],
) -> AppError {
    if let Some(constraint) = violated_constraint(&err) {
        if let Some((_, field, message)) = known.iter().find(|(c, _, _)| *c == constraint) {
            return AppError::invalid(*field, *message);
        }
    }
    internal(anyhow::Error::new(err).context(context))
}
