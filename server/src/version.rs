//! What this binary is: version, commit, build date and target, as `brickdesk --version`,
//! `/readyz`, `GET /api/setup` and the UI's footer say it (set by `build.rs`).

/// The crate's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit it was built from, or `unknown`.
pub const COMMIT: &str = env!("BRICKDESK_COMMIT");
/// The build date (UTC, `YYYY-MM-DD`).
pub const BUILT: &str = env!("BRICKDESK_BUILT");
/// The target triple it was built for.
pub const TARGET: &str = env!("BRICKDESK_TARGET");
/// `0.1.0 (1a2b3c4d5e6f, built 2026-11-30, x86_64-unknown-linux-musl)`.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("BRICKDESK_COMMIT"),
    ", built ",
    env!("BRICKDESK_BUILT"),
    ", ",
    env!("BRICKDESK_TARGET"),
    ")"
);

/// The facts as the API sends them.
pub fn info() -> app::VersionInfo {
    app::VersionInfo {
        version: VERSION.to_owned(),
        commit: COMMIT.to_owned(),
        built: BUILT.to_owned(),
        target: TARGET.to_owned(),
    }
}
