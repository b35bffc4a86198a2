//! `POST /api/admin/backup`: a backup of the running server, for `brickdesk backup` (the data
//! directory is locked while the server runs). Authorised by the control token from the data
//! directory (see `control`), not by a session: whoever can read the data directory can read
//! the data anyway.

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::ApiJson;
use crate::{backup, control, error::ApiError, state::AppState};

/// The request.
#[derive(Debug, Default, Deserialize)]
pub struct BackupRequest {
    #[serde(default)]
    with_secret_key: bool,
}

/// `POST /api/admin/backup`: the backup file as the body.
pub async fn backup(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<BackupRequest>,
) -> Result<Response, ApiError> {
    let offered = headers
        .get(control::HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !control::allows(&state.control_token, offered) {
        return Err(ApiError::NotLoggedIn);
    }
    let data_dir = state.config.data_dir.clone();
    let store = state.services.store.clone();
    let file = tokio::task::spawn_blocking(move || {
        let path = data_dir.join(format!("control-backup-{}.backup", std::process::id()));
        backup::write(&store, &data_dir, &path, request.with_secret_key)?;
        let file = std::fs::File::open(&path)?;
        // Open files outlive their name: nothing is left behind once the answer is sent.
        std::fs::remove_file(&path)?;
        anyhow::Ok(file)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("the backup task failed: {e}")))?
    .map_err(ApiError::Internal)?;
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from_stream(stream),
    )
        .into_response())
}
