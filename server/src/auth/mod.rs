//! Accounts' security: password hashing, session tokens, login throttling, and the
//! `CurrentUser` extractor that authenticates requests and enforces CSRF.

pub mod extract;
pub mod password;
pub mod throttle;
pub mod token;

pub use extract::CurrentUser;
