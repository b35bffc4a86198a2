//! Account management for administrators: list, add, disable or enable, set a new password.
//! Disabling an account ends its sessions at once (and the session check refuses disabled
//! accounts anyway); an administrator cannot disable themselves.

use app::{AccountUpdate, NewAccount, PasswordReset, User, UserId, validate::NewPassword};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};

use super::ApiJson;
use crate::{
    auth::{CurrentUser, password},
    error::ApiError,
    state::AppState,
    store::users::Creation,
};

fn admin(current: &CurrentUser) -> Result<(), ApiError> {
    if current.user.is_admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Only administrators manage accounts.".into(),
        ))
    }
}

fn id(text: &str) -> Result<UserId, ApiError> {
    text.parse().map(UserId).map_err(|_| ApiError::NotFound)
}

/// `GET /api/users`.
pub async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<ApiJson<Vec<User>>, ApiError> {
    admin(&current)?;
    let mut users: Vec<User> = state
        .services
        .store
        .users()
        .list()?
        .iter()
        .map(crate::store::UserRecord::to_api)
        .collect();
    users.sort_by_key(|u| u.id);
    Ok(ApiJson(users))
}

/// `POST /api/users`.
pub async fn create(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(new): ApiJson<NewAccount>,
) -> Result<(StatusCode, ApiJson<User>), ApiError> {
    admin(&current)?;
    let user = super::accounts::new_account(
        &state,
        (&new.username, &new.email, &new.password),
        new.is_admin,
        Creation::Any,
    )
    .await?;
    tracing::info!(
        user_id = user.id.0,
        by = current.user.id.0,
        "account created"
    );
    Ok((StatusCode::CREATED, ApiJson(user.to_api())))
}

/// `PUT /api/users/{id}`: disable or enable.
pub async fn update(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(user): Path<String>,
    ApiJson(update): ApiJson<AccountUpdate>,
) -> Result<ApiJson<User>, ApiError> {
    admin(&current)?;
    let user = id(&user)?;
    let users = state.services.store.users();
    let mut record = users.get(user)?.ok_or(ApiError::NotFound)?;
    if let Some(disabled) = update.disabled {
        if disabled && user == current.user.id {
            return Err(ApiError::NotAllowed(
                "You cannot disable your own account.".into(),
            ));
        }
        record = users.set_disabled(user, disabled)?;
        if disabled {
            let ended = state.services.store.sessions().remove_all_for(user, None)?;
            tracing::info!(user_id = user.0, ended, "account disabled; sessions ended");
        }
    }
    Ok(ApiJson(record.to_api()))
}

/// `POST /api/users/{id}/password`: a new password; the account's sessions end.
pub async fn reset_password(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(user): Path<String>,
    ApiJson(reset): ApiJson<PasswordReset>,
) -> Result<StatusCode, ApiError> {
    admin(&current)?;
    let user = id(&user)?;
    if state.services.store.users().get(user)?.is_none() {
        return Err(ApiError::NotFound);
    }
    let password = NewPassword::parse(&reset.password, "password")?;
    let hash = password::hash(password.expose().to_owned())
        .await
        .map_err(ApiError::internal)?;
    state
        .services
        .store
        .users()
        .set_password_hash(user, &hash)?;
    state.services.store.sessions().remove_all_for(user, None)?;
    Ok(StatusCode::NO_CONTENT)
}
