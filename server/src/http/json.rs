//! `ApiJson`: axum's `Json` with rejections turned into the typed error body (400 malformed,
//! 413 too large, 415 not JSON) instead of plain-text answers.

use axum::{
    extract::{FromRequest, FromRequestParts},
    response::{IntoResponse, Response},
};

use crate::error::ApiError;

/// A JSON request body or response.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query parameters, with rejections as the typed error body (400 invalid-input).
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);
