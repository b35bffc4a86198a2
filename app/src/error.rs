//! The one error body every endpoint answers with, and its stable machine-readable codes.

use serde::{Deserialize, Serialize};

/// `{"error":{"code":"...","message":"..."}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// A stable code for programs and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Kebab-case code from [`ErrorCode`]; unknown codes from newer servers stay readable.
    pub code: String,
    /// A sentence a seller understands.
    pub message: String,
}

impl ErrorBody {
    /// The code as an [`ErrorCode`], if this build knows it.
    pub fn code(&self) -> Option<ErrorCode> {
        ErrorCode::parse(&self.error.code)
    }
}

macro_rules! error_codes {
    ($($variant:ident => $code:literal),+ $(,)?) => {
        /// Every error code the API can answer with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $($variant),+ }

        impl ErrorCode {
            /// Every code, for tests and documentation.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The kebab-case wire form.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),+ }
            }

            /// Parses the wire form.
            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some(ErrorCode::$variant),)+ _ => None }
            }
        }
    };
}

error_codes! {
    InvalidInput => "invalid-input",
    InvalidJson => "invalid-json",
    UnsupportedMediaType => "unsupported-media-type",
    BodyTooLarge => "body-too-large",
    NotLoggedIn => "not-logged-in",
    BadCredentials => "bad-credentials",
    AccountDisabled => "account-disabled",
    WrongPassword => "wrong-password",
    CsrfMissing => "csrf-missing",
    Forbidden => "forbidden",
    NotFound => "not-found",
    SetupDone => "setup-done",
    UsernameTaken => "username-taken",
    EmailTaken => "email-taken",
    TooManyAttempts => "too-many-attempts",
    MethodNotAllowed => "method-not-allowed",
    JobConflict => "job-conflict",
    NeedsConfirmation => "needs-confirmation",
    NotConnected => "not-connected",
    NotAllowed => "not-allowed",
    MarketplaceUnavailable => "marketplace-unavailable",
    Unavailable => "unavailable",
    Busy => "busy",
    RequestTimeout => "request-timeout",
    Internal => "internal",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_is_kebab_case() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-')
            );
        }
    }

    #[test]
    fn error_body_has_the_documented_shape() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: "not-found".into(),
                message: "Nothing here.".into(),
            },
        };
        let json = serde_json::to_value(&body).expect("serialises");
        assert_eq!(json["error"]["code"], "not-found");
        assert_eq!(body.code(), Some(ErrorCode::NotFound));
    }
}
