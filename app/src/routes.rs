//! Paths of the HTTP API, shared so that server routes and browser calls cannot drift apart.

/// `GET` liveness probe.
pub const HEALTHZ: &str = "/healthz";
/// `GET` readiness probe: the store answers.
pub const READYZ: &str = "/readyz";
/// Prefix of every JSON endpoint.
pub const API: &str = "/api";
/// `GET` whether first-run setup is needed; `POST` create the first admin.
pub const SETUP: &str = "/api/setup";
/// `POST` log in; `DELETE` log out.
pub const SESSION: &str = "/api/session";
/// `GET` the logged-in user and CSRF token; `PUT` update the profile.
pub const ME: &str = "/api/me";
/// `POST` change the logged-in user's password.
pub const ME_PASSWORD: &str = "/api/me/password";

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "brickdesk_session";
/// Header that carries the CSRF token on mutating requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
