//! Accounts on the wire: setup, login, the session answer and profile changes.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A user's numeric id; scopes every record the user owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A user as the API shows it; never carries the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// Login name as typed at creation.
    pub username: String,
    /// Email address, also accepted as login.
    pub email: String,
    /// Name shown in the header, if set.
    pub display_name: Option<String>,
    /// Admins manage users and see every user's jobs.
    pub is_admin: bool,
    /// When the account was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Disabled accounts cannot log in.
    #[serde(default)]
    pub disabled: bool,
}

/// `POST /api/users` (admins): a new account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccount {
    pub username: String,
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub is_admin: bool,
}

/// `PUT /api/users/{id}` (admins): fields present are changed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountUpdate {
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// `POST /api/users/{id}/password` (admins): a new password; the account's sessions end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordReset {
    pub password: String,
}

impl User {
    /// The name to greet the user with.
    pub fn shown_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.username)
    }
}

/// `GET /api/setup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupStatus {
    /// True while no user exists.
    pub needed: bool,
    /// The server runs with `--demo`: the login page offers the demo account.
    #[serde(default)]
    pub demo: bool,
    /// Setup wants the one-time code the server printed at start (the request does not come
    /// from the server itself).
    #[serde(default)]
    pub code_needed: bool,
    /// What the server is (the UI's footer shows it).
    #[serde(default)]
    pub version: VersionInfo,
}

/// Version, commit, build date and target of the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub version: String,
    pub commit: String,
    pub built: String,
    pub target: String,
}

/// `POST /api/setup`: the first admin.
#[derive(Clone, Serialize, Deserialize)]
pub struct SetupRequest {
    /// Login name.
    pub username: String,
    /// Email address.
    pub email: String,
    /// Password in clear; only ever hashed.
    pub password: String,
    /// The one-time setup code from the server's log (`brickdesk setup-code` shows it again);
    /// not needed from the server itself.
    #[serde(default)]
    pub setup_code: Option<String>,
}

/// `POST /api/session`.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    /// Username or email, any case.
    pub login: String,
    /// Password in clear.
    pub password: String,
}

/// Answer to login, setup and `GET /api/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Who is logged in.
    pub user: User,
    /// Send back as `X-CSRF-Token` on every mutating request.
    pub csrf_token: String,
}

/// `PUT /api/me`: the whole editable profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileUpdate {
    /// New login name.
    pub username: String,
    /// New email address.
    pub email: String,
    /// New display name; empty or absent clears it.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// `POST /api/me/password`.
#[derive(Clone, Serialize, Deserialize)]
pub struct PasswordChange {
    /// The password in use now.
    pub current_password: String,
    /// The password to use from now on.
    pub new_password: String,
}

macro_rules! redacted_debug {
    ($ty:ident { $($shown:ident),* } hides $($hidden:ident),+) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($shown), &self.$shown))*
                    $(.field(stringify!($hidden), &"<redacted>"))+
                    .finish()
            }
        }
    };
}

redacted_debug!(SetupRequest { username, email } hides password, setup_code);
redacted_debug!(LoginRequest { login } hides password);
redacted_debug!(PasswordChange {} hides current_password, new_password);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_passwords() {
        let setup = SetupRequest {
            username: "ann".into(),
            email: "ann@example.com".into(),
            password: "hunter2-hunter2".into(),
            setup_code: Some("K7QX-M2PD".into()),
        };
        let login = LoginRequest {
            login: "ann".into(),
            password: "hunter2-hunter2".into(),
        };
        let change = PasswordChange {
            current_password: "hunter2-hunter2".into(),
            new_password: "hunter3-hunter3".into(),
        };
        for debug in [
            format!("{setup:?}"),
            format!("{login:?}"),
            format!("{change:?}"),
        ] {
            assert!(!debug.contains("hunter"), "{debug}");
            assert!(debug.contains("<redacted>"), "{debug}");
        }
        assert!(format!("{setup:?}").contains("ann@example.com"));
    }

    #[test]
    fn user_timestamps_are_rfc3339() {
        let user = User {
            id: UserId(7),
            username: "ann".into(),
            email: "ann@example.com".into(),
            display_name: None,
            is_admin: true,
            created_at: time::macros::datetime!(2026-11-28 10:00 UTC),
            disabled: false,
        };
        let json = serde_json::to_value(&user).expect("serialises");
        assert_eq!(json["created_at"], "2026-11-28T10:00:00Z");
        assert_eq!(json["id"], 7);
        assert_eq!(user.shown_name(), "ann");
    }
}
