//! What protects admins' browsers: cross-site requests refused (`origin`) and the security
//! headers of every response, with the Content-Security-Policy of a page tied to its nonce
//! (`headers`).

pub mod headers;
pub mod origin;
