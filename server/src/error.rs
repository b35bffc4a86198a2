//! The one HTTP error type. Every failure leaves as `{"error":{"code","message"}}` with a
//! fitting status; 5xx details are logged inside the request span and never sent.

use std::time::Duration;

use app::{ErrorBody, ErrorCode, ErrorDetail, validate::InvalidInput};
use axum::{
    Json,
    extract::rejection::{JsonRejection, QueryRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::{queue::QueueError, store::StoreError};

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidInput(#[from] InvalidInput),
    #[error("{0}")]
    InvalidJson(String),
    #[error("Send the request body as JSON (Content-Type: application/json).")]
    UnsupportedMediaType,
    #[error("The request is too large.")]
    BodyTooLarge,
    #[error("Please log in.")]
    NotLoggedIn,
    #[error("That login and password do not match an account.")]
    BadCredentials,
    #[error("This account is disabled; ask your brickdesk administrator.")]
    AccountDisabled,
    #[error("{0}")]
    Forbidden(String),
    #[error("Your current password is not correct.")]
    WrongPassword,
    #[error("This request is missing its security token; reload the page and try again.")]
    CsrfMissing,
    #[error("There is nothing here.")]
    NotFound,
    #[error("That action is not supported here.")]
    MethodNotAllowed,
    #[error("brickdesk is already set up; log in instead.")]
    SetupDone,
    #[error("That username is already taken.")]
    UsernameTaken,
    #[error("That email address is already used by another account.")]
    EmailTaken,
    #[error("Too many login attempts; try again in {} seconds.", .0.as_secs().max(1))]
    TooManyAttempts(Duration),
    #[error("{0}")]
    JobConflict(String),
    #[error("brickdesk is shutting down; try again in a moment.")]
    Unavailable,
    #[error("Too many sign-ins at once; try again in a moment.")]
    Busy,
    #[error("The request took too long to arrive or to answer; try again.")]
    RequestTimeout,
    #[error("{0}")]
    NeedsConfirmation(String),
    #[error("{0}")]
    NotConnected(String),
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    MarketplaceDown(String),
    #[error("Something went wrong on the server; the details are in its log.")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::InvalidJson(_) => ErrorCode::InvalidJson,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::BodyTooLarge => ErrorCode::BodyTooLarge,
            Self::NotLoggedIn => ErrorCode::NotLoggedIn,
            Self::BadCredentials => ErrorCode::BadCredentials,
            Self::AccountDisabled => ErrorCode::AccountDisabled,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::WrongPassword => ErrorCode::WrongPassword,
            Self::CsrfMissing => ErrorCode::CsrfMissing,
            Self::NotFound => ErrorCode::NotFound,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::SetupDone => ErrorCode::SetupDone,
            Self::UsernameTaken => ErrorCode::UsernameTaken,
            Self::EmailTaken => ErrorCode::EmailTaken,
            Self::TooManyAttempts(_) => ErrorCode::TooManyAttempts,
            Self::JobConflict(_) => ErrorCode::JobConflict,
            Self::Unavailable => ErrorCode::Unavailable,
            Self::Busy => ErrorCode::Busy,
            Self::RequestTimeout => ErrorCode::RequestTimeout,
            Self::NeedsConfirmation(_) => ErrorCode::NeedsConfirmation,
            Self::NotConnected(_) => ErrorCode::NotConnected,
            Self::NotAllowed(_) => ErrorCode::NotAllowed,
            Self::MarketplaceDown(_) => ErrorCode::MarketplaceUnavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidInput(_) | Self::InvalidJson(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotLoggedIn | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::WrongPassword
            | Self::CsrfMissing
            | Self::AccountDisabled
            | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::SetupDone
            | Self::UsernameTaken
            | Self::EmailTaken
            | Self::JobConflict(_)
            | Self::NeedsConfirmation(_) => StatusCode::CONFLICT,
            Self::Unavailable | Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotConnected(_) | Self::NotAllowed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MarketplaceDown(_) => StatusCode::BAD_GATEWAY,
            Self::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Wraps any unexpected failure.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(err) = &self {
            tracing::error!(error = format!("{err:#}"), "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().as_str().to_owned(),
                message: self.to_string(),
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        if let Self::TooManyAttempts(wait) = self {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            if let Ok(value) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::UsernameTaken => Self::UsernameTaken,
            StoreError::EmailTaken => Self::EmailTaken,
            StoreError::SetupDone => Self::SetupDone,
            StoreError::NoSuchUser => Self::NotLoggedIn,
            other => Self::internal(other),
        }
    }
}

impl From<QueueError> for ApiError {
    fn from(err: QueueError) -> Self {
        match err {
            QueueError::NotFound => Self::NotFound,
            QueueError::NotRetryable(_) | QueueError::Running | QueueError::KeyBusy(_) => {
                Self::JobConflict(sentence(&err))
            }
            QueueError::Stopped => Self::Unavailable,
            other => Self::internal(other),
        }
    }
}

/// An error's text as a sentence: capitalised, with a full stop.
fn sentence(err: &impl std::fmt::Display) -> String {
    let text = err.to_string();
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::InvalidInput(InvalidInput {
            field: "query",
            message: format!(
                "The address has a parameter that is not valid: {}",
                rejection.body_text()
            ),
        })
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            JsonRejection::JsonDataError(err) => Self::InvalidJson(format!(
                "The request is missing something: {}",
                err.body_text()
            )),
            JsonRejection::JsonSyntaxError(err) => Self::InvalidJson(format!(
                "The request is not valid JSON: {}",
                err.body_text()
            )),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Self::BodyTooLarge,
            other => Self::InvalidJson(other.body_text()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_details() {
        let err = ApiError::internal(anyhow::anyhow!("disk /secret/path exploded"));
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!err.to_string().contains("/secret/path"));
    }

    #[test]
    fn throttling_says_when_to_retry() {
        let response = ApiError::TooManyAttempts(Duration::from_millis(2500)).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
    }
}
