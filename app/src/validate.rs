//! Parse, don't validate: account input becomes these types or a sentence saying what is wrong.
//! The browser runs the same rules before sending, so people see mistakes as they type.

use std::fmt;

/// Why an input was refused: which field, and a sentence for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidInput {
    /// The request field at fault.
    pub field: &'static str,
    /// What to fix, in words.
    pub message: String,
}

impl InvalidInput {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A login name: 3–32 characters of letters, digits, `.`, `_` or `-`, starting with a letter
/// or digit. Kept as typed for display; compared case-insensitively through [`Username::key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Parses a username, trimming surrounding spaces.
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let name = input.trim();
        let len = name.chars().count();
        if !(3..=32).contains(&len) {
            return Err(InvalidInput::new(
                "username",
                "A username needs 3 to 32 characters.",
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(InvalidInput::new(
                "username",
                "A username may only use letters, digits, dots, dashes and underscores.",
            ));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(InvalidInput::new(
                "username",
                "A username must start with a letter or a digit.",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form used for uniqueness and login.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, checked for shape only (one `@`, a dotted domain, no spaces, at most 254
/// characters); delivery is never attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an email address, trimming surrounding spaces.
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let email = input.trim();
        let bad = || InvalidInput::new("email", "Enter an email address like name@example.com.");
        if email.is_empty() || email.len() > 254 || email.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        let (local, domain) = email.split_once('@').ok_or_else(bad)?;
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && domain.split('.').all(|label| !label.is_empty());
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(bad());
        }
        Ok(Self(email.to_owned()))
    }

    /// The address as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form used for uniqueness and login.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shortest password accepted.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest password accepted, in bytes: hashing cost stays bounded.
pub const PASSWORD_MAX_BYTES: usize = 1024;

/// A new password: at least [`PASSWORD_MIN_CHARS`] characters, at most [`PASSWORD_MAX_BYTES`]
/// bytes, not only spaces. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    /// Checks a password someone chose; `field` names the request field for the error.
    pub fn parse(input: &str, field: &'static str) -> Result<Self, InvalidInput> {
        if input.chars().count() < PASSWORD_MIN_CHARS || input.trim().is_empty() {
            return Err(InvalidInput::new(
                field,
                format!("A password needs at least {PASSWORD_MIN_CHARS} characters."),
            ));
        }
        if input.len() > PASSWORD_MAX_BYTES {
            return Err(InvalidInput::new(
                field,
                format!("A password can be at most {PASSWORD_MAX_BYTES} characters."),
            ));
        }
        Ok(Self(input.to_owned()))
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// An optional display name: trimmed, at most 64 characters, `None` when empty.
/// Characters no text a seller types may hold: control characters (a line break is the
/// caller's call) and the bidirectional overrides, embeddings and isolates that make text
/// display differently from what it says (U+202A–U+202E, U+2066–U+2069).
pub fn is_hidden_control(c: char) -> bool {
    (c.is_control() && c != '\n')
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

pub fn display_name(input: Option<&str>) -> Result<Option<String>, InvalidInput> {
    match input.map(str::trim) {
        None | Some("") => Ok(None),
        Some(name) if name.chars().count() > 64 => Err(InvalidInput::new(
            "display_name",
            "A display name can be at most 64 characters.",
        )),
        Some(name) if name.chars().any(|c| c == '\n' || is_hidden_control(c)) => {
            Err(InvalidInput::new(
                "display_name",
                "A display name cannot contain control characters.",
            ))
        }
        Some(name) => Ok(Some(name.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        let cases: &[(&str, Option<&str>)] = &[
            ("alice", Some("alice")),
            ("  Bob_99 ", Some("Bob_99")),
            ("a.b-c", Some("a.b-c")),
            ("ab", None),
            (&"x".repeat(33), None),
            ("has space", None),
            ("émile", None),
            ("_lead", None),
            ("", None),
        ];
        for (input, expected) in cases {
            let parsed = Username::parse(input).ok();
            assert_eq!(
                parsed.as_ref().map(Username::as_str),
                *expected,
                "input {input:?}"
            );
        }
        assert_eq!(
            Username::parse("MiXeD").map(|u| u.key()),
            Ok("mixed".to_owned())
        );
    }

    #[test]
    fn emails() {
        let cases: &[(&str, bool)] = &[
            ("a@b.co", true),
            (" Seller@Example.COM ", true),
            ("no-at.example.com", false),
            ("two@@example.com", false),
            ("a@b@c.com", false),
            ("@example.com", false),
            ("a@localhost", false),
            ("a@example..com", false),
            ("a b@example.com", false),
            ("", false),
        ];
        for (input, ok) in cases {
            assert_eq!(Email::parse(input).is_ok(), *ok, "input {input:?}");
        }
        assert_eq!(
            Email::parse("Seller@Example.COM").map(|e| e.key()),
            Ok("seller@example.com".into())
        );
    }

    #[test]
    fn passwords() {
        assert!(NewPassword::parse("short", "password").is_err());
        assert!(NewPassword::parse("        ", "password").is_err());
        assert!(NewPassword::parse("long enough", "password").is_ok());
        assert!(NewPassword::parse(&"x".repeat(PASSWORD_MAX_BYTES + 1), "password").is_err());
        let err = NewPassword::parse("short", "new_password").expect_err("too short");
        assert_eq!(err.field, "new_password");
        let debug = format!("{:?}", NewPassword::parse("secret-value", "p"));
        assert!(!debug.contains("secret-value"), "{debug}");
    }

    #[test]
    fn display_names() {
        assert_eq!(display_name(None), Ok(None));
        assert_eq!(display_name(Some("  ")), Ok(None));
        assert_eq!(display_name(Some(" Anna ")), Ok(Some("Anna".into())));
        assert!(display_name(Some(&"n".repeat(65))).is_err());
        assert!(display_name(Some("a\u{7}b")).is_err());
        assert!(
            display_name(Some("Anna\u{202E}moc.evil")).is_err(),
            "a right-to-left override"
        );
        assert!(display_name(Some("a\u{2066}b")).is_err(), "an isolate");
        assert!(is_hidden_control('\r') && !is_hidden_control('\n'));
    }
}
