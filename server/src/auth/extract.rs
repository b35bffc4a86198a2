//! `CurrentUser`: the session cookie turned into a user. Mutating requests must also carry the
//! session's CSRF token in `X-CSRF-Token`; without it they get 403 before any handler runs.

use app::routes::CSRF_HEADER;
use axum::{
    extract::{FromRef, FromRequestParts},
    http::{Method, request::Parts},
};
use axum_extra::extract::CookieJar;
use subtle::ConstantTimeEq as _;
use time::OffsetDateTime;

use super::token;
use crate::{
    error::ApiError,
    store::{SessionRecord, Store, UserRecord, sessions::TokenHash},
};

/// The logged-in user of this request.
pub struct CurrentUser {
    pub user: UserRecord,
    pub session: SessionRecord,
    pub token_hash: TokenHash,
}

impl<S> FromRequestParts<S> for CurrentUser
where
    Store: FromRef<S>,
    std::sync::Arc<crate::config::Config>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let store = Store::from_ref(state);
        let config = std::sync::Arc::<crate::config::Config>::from_ref(state);
        let jar = CookieJar::from_headers(&parts.headers);
        let cookie = jar
            .get(config.session_cookie())
            .ok_or(ApiError::NotLoggedIn)?;
        let token_hash = token::hash(cookie.value());
        let session = store
            .sessions()
            .get(&token_hash, OffsetDateTime::now_utc())?
            .ok_or(ApiError::NotLoggedIn)?;
        let user = store
            .users()
            .get(session.user_id)?
            .filter(|u| !u.disabled)
            .ok_or(ApiError::NotLoggedIn)?;

        if is_mutating(&parts.method) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !bool::from(sent.ct_eq(session.csrf_token.as_bytes())) {
                return Err(ApiError::CsrfMissing);
            }
        }
        tracing::Span::current().record("user_id", user.id.0);
        Ok(Self {
            user,
            session,
            token_hash,
        })
    }
}

fn is_mutating(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}
