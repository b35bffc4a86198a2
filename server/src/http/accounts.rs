//! Accounts over HTTP: first-run setup, login and logout, the profile and the password.

use std::net::{IpAddr, SocketAddr};

use app::{
    LoginRequest, PasswordChange, ProfileUpdate, SessionInfo, SetupRequest, SetupStatus, User,
    validate::{self, Email, InvalidInput, NewPassword, Username},
};
use axum::{
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use time::OffsetDateTime;

use super::ApiJson;
use crate::{
    auth::{CurrentUser, password, token},
    config::Config,
    error::ApiError,
    state::AppState,
    store::{NewUser, SessionRecord, UserRecord, users::Creation},
};

/// `GET /api/setup`
pub async fn setup_status(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<ApiJson<SetupStatus>, ApiError> {
    let needed = !state.services.store.users().setup_done()?;
    Ok(ApiJson(SetupStatus {
        needed,
        demo: state.config.demo,
        code_needed: needed && !client_addr(&state.config, peer, &headers).is_loopback(),
        version: crate::version::info(),
    }))
}

/// `POST /api/setup`: creates the first admin and logs them in.
#[tracing::instrument(skip_all, fields(username = %request.username))]
pub async fn setup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    ApiJson(request): ApiJson<SetupRequest>,
) -> Result<(CookieJar, ApiJson<SessionInfo>), ApiError> {
    if state.services.store.users().setup_done()? {
        return Err(ApiError::SetupDone);
    }
    let from_the_server = client_addr(&state.config, peer, &headers).is_loopback();
    if !from_the_server {
        let code = state.setup_code.as_deref().unwrap_or_default();
        let given = request.setup_code.as_deref().unwrap_or_default();
        if code.is_empty() || !crate::setup_code::matches(code, given) {
            tracing::warn!("setup refused: wrong or missing setup code");
            return Err(ApiError::Forbidden(
                "Enter the setup code: brickdesk printed it in its log when it started, and \
                 `brickdesk setup-code` on the server shows it again."
                    .into(),
            ));
        }
    }
    let user = new_account(
        &state,
        (&request.username, &request.email, &request.password),
        true,
        Creation::FirstOnly,
    )
    .await?;
    tracing::info!(user_id = user.id.0, "first admin created");
    crate::setup_code::remove(&state.config.data_dir);
    start_session(&state, jar, user).await
}

/// Checks a new account's username, email and password (in that order), hashes the password
/// and creates the account.
pub(super) async fn new_account(
    state: &AppState,
    (username, email, password): (&str, &str, &str),
    is_admin: bool,
    creation: Creation,
) -> Result<crate::store::UserRecord, ApiError> {
    let username = Username::parse(username)?;
    let email = Email::parse(email)?;
    let password = NewPassword::parse(password, "password")?;
    let password_hash = password::hash(password.expose().to_owned())
        .await
        .map_err(ApiError::internal)?;
    Ok(state.services.store.users().create(
        NewUser {
            username,
            email,
            is_admin,
            password_hash,
        },
        creation,
    )?)
}

/// `POST /api/session`: logs in by username or email.
#[tracing::instrument(skip_all)]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<(CookieJar, ApiJson<SessionInfo>), ApiError> {
    if request.login.trim().is_empty() || request.password.is_empty() {
        return Err(InvalidInput {
            field: "login",
            message: "Enter your login and password.".into(),
        }
        .into());
    }
    if request.password.len() > validate::PASSWORD_MAX_BYTES {
        return Err(ApiError::BadCredentials);
    }
    let client = client_addr(&state.config, peer, &headers);
    state
        .throttle
        .check(&request.login, client)
        .map_err(|wait| {
            tracing::warn!(%client, "login throttled");
            ApiError::TooManyAttempts(wait)
        })?;
    let user = state.services.store.users().find_by_login(&request.login)?;
    let matches = password::verify(
        request.password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await
    .map_err(|password::Busy| ApiError::Busy)?;
    if matches {
        state.throttle.succeeded(&request.login, client);
    } else {
        state.throttle.failed(&request.login, client);
    }
    match user {
        Some(user) if matches && user.disabled => {
            tracing::warn!(%client, "login to a disabled account");
            Err(ApiError::AccountDisabled)
        }
        Some(user) if matches => start_session(&state, jar, user).await,
        _ => {
            tracing::warn!(%client, "login failed");
            Err(ApiError::BadCredentials)
        }
    }
}

/// `DELETE /api/session`: logs out this browser.
pub async fn logout(
    State(state): State<AppState>,
    current: CurrentUser,
    jar: CookieJar,
) -> Result<(CookieJar, StatusCode), ApiError> {
    state
        .services
        .store
        .sessions()
        .remove(&current.token_hash)?;
    Ok((
        jar.remove(Cookie::build(state.config.session_cookie()).path("/")),
        StatusCode::NO_CONTENT,
    ))
}

/// `GET /api/me`
pub async fn me(current: CurrentUser) -> ApiJson<SessionInfo> {
    ApiJson(SessionInfo {
        user: current.user.to_api(),
        csrf_token: current.session.csrf_token,
    })
}

/// `PUT /api/me`: username, email, display name.
pub async fn update_profile(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(update): ApiJson<ProfileUpdate>,
) -> Result<ApiJson<User>, ApiError> {
    let username = Username::parse(&update.username)?;
    let email = Email::parse(&update.email)?;
    let display_name = validate::display_name(update.display_name.as_deref())?;
    let user = state.services.store.users().update_profile(
        current.user.id,
        &username,
        &email,
        display_name.as_deref(),
    )?;
    Ok(ApiJson(user.to_api()))
}

/// `POST /api/me/password`: needs the current password; ends every other session.
pub async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    current: CurrentUser,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let new_password = NewPassword::parse(&change.new_password, "new_password")?;
    let client = client_addr(&state.config, peer, &headers);
    state
        .throttle
        .check(&current.user.username, client)
        .map_err(ApiError::TooManyAttempts)?;
    if change.current_password.len() > validate::PASSWORD_MAX_BYTES
        || !password::verify(
            change.current_password,
            Some(current.user.password_hash.clone()),
        )
        .await
        .map_err(|password::Busy| ApiError::Busy)?
    {
        state.throttle.failed(&current.user.username, client);
        return Err(ApiError::WrongPassword);
    }
    let hash = password::hash(new_password.expose().to_owned())
        .await
        .map_err(ApiError::internal)?;
    state
        .services
        .store
        .users()
        .set_password_hash(current.user.id, &hash)?;
    let ended = state
        .services
        .store
        .sessions()
        .remove_all_for(current.user.id, Some(&current.token_hash))?;
    tracing::info!(ended_sessions = ended, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// Creates a session for `user`, sets its cookie and answers with the CSRF token.
async fn start_session(
    state: &AppState,
    jar: CookieJar,
    user: UserRecord,
) -> Result<(CookieJar, ApiJson<SessionInfo>), ApiError> {
    let token = token::session_token().map_err(ApiError::internal)?;
    let now = OffsetDateTime::now_utc();
    let ttl = state.config.session_ttl();
    let record = SessionRecord {
        user_id: user.id,
        csrf_token: token::random(32).map_err(ApiError::internal)?,
        created_at: now,
        expires_at: now + ttl,
    };
    state
        .services
        .store
        .sessions()
        .insert(&token::hash(&token), &record)?;
    let cookie = Cookie::build((state.config.session_cookie(), token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.config.cookies_secure())
        .max_age(ttl);
    tracing::info!(user_id = user.id.0, "logged in");
    Ok((
        jar.add(cookie),
        ApiJson(SessionInfo {
            user: user.to_api(),
            csrf_token: record.csrf_token,
        }),
    ))
}

/// The client's address: the peer, or behind a trusted proxy the address that proxy appended:
/// the last `X-Forwarded-For` entry. Entries before it are whatever the client wrote.
fn client_addr(config: &Config, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if config.trust_proxy_headers {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
        if let Some(addr) = forwarded {
            return addr;
        }
    }
    peer.ip()
}
