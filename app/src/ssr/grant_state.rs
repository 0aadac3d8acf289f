//! The `state` of a grant request sent to a directory's sign-in (Microsoft's admin consent,
//! Google's OAuth grant): `<organization id>.<32 random bytes, hex>`. Only its SHA-256 is
//! stored, with the session and domain it was made for, so the answer that comes back through
//! the browser is good once, in that session, for that domain.

use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A fresh state for a request of `organization_id`.
pub fn new_state(organization_id: Uuid) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{}.{}", organization_id.simple(), hex::encode(bytes))
}

/// What is stored of a state.
pub fn state_hash(state: &str) -> Vec<u8> {
    Sha256::digest(state.as_bytes()).to_vec()
}

/// The organization a state names (its requests are looked up there only).
pub fn organization_of(state: &str) -> Option<Uuid> {
    state
        .split_once('.')
        .and_then(|(org, _)| Uuid::parse_str(org).ok())
}

/// Why an answer's `state` was refused; nothing is stored for any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateProblem {
    Missing,
    Unknown,
    Expired,
    Replayed,
    OtherSession,
    /// An answer of another step of the same flow (Microsoft's consent and sign-in).
    WrongStep,
}

impl StateProblem {
    /// The admin's words; `who` is the directory that answered ("Microsoft", "Google").
    pub fn explain(self, who: &str) -> String {
        match self {
            StateProblem::Missing => format!("{who}'s answer did not say which request it belongs to, so Roster ignored it."),
            StateProblem::Unknown => format!("{who}'s answer belongs to a request Roster did not make, so Roster ignored it."),
            StateProblem::Expired => format!("The permission request was more than 10 minutes old when {who} answered, so Roster ignored the answer."),
            StateProblem::Replayed => format!("This answer from {who} was already used once, so Roster ignored it."),
            StateProblem::OtherSession => "The permission request was started in another sign-in session, so Roster ignored the answer. Sign in and grant permission again from the same browser.".to_owned(),
            StateProblem::WrongStep => format!("{who}'s answer does not fit the step Roster was waiting for, so Roster ignored it."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_name_their_organization_and_are_stored_hashed() {
        let org = Uuid::new_v4();
        let state = new_state(org);
        assert_eq!(organization_of(&state), Some(org));
        assert_ne!(new_state(org), state);
        assert_eq!(state_hash(&state).len(), 32);
        assert_eq!(organization_of("nonsense"), None);
        assert!(StateProblem::Replayed
            .explain("Google")
            .contains("from Google"));
    }
}
