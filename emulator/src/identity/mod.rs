//! The Microsoft identity platform surface: admin consent and the token endpoint.

pub mod consent;
pub mod errors;
pub mod token;

use crate::state::EmulatorState;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

pub fn routes() -> Router<Arc<EmulatorState>> {
    Router::new()
        .route("/{tenant}/v2.0/adminconsent", get(consent::consent_page))
        .route("/{tenant}/oauth2/v2.0/token", post(token::token))
        .route("/_emulator/consent", post(consent::consent_decision))
}
