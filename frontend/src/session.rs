//! Who is using the UI: the session phase (loading, setup needed, logged out, logged in) and
//! the logged-in user, shared through context.

use app::{SessionInfo, SetupStatus, routes};
use leptos::prelude::*;

use crate::api;

/// Which screen the app shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Asking the server.
    Loading,
    /// The server did not answer.
    Unreachable,
    /// No account exists yet.
    NeedsSetup,
    /// Accounts exist, nobody is logged in here.
    LoggedOut,
    /// Someone is logged in.
    LoggedIn,
}

/// The session context.
#[derive(Clone, Copy)]
pub struct Session {
    phase: RwSignal<Phase>,
    /// The logged-in user and CSRF token.
    pub info: RwSignal<Option<SessionInfo>>,
    /// A message for the login page, e.g. why the user was logged out.
    pub notice: RwSignal<Option<String>>,
    /// The server is a demo: the login page offers the demo account.
    pub demo: RwSignal<bool>,
    /// Setup wants the server's one-time code (this browser is not on the server itself).
    pub code_needed: RwSignal<bool>,
}

impl Session {
    /// Creates the context and provides it to the tree.
    pub fn provide() -> Self {
        let session = Self {
            phase: RwSignal::new(Phase::Loading),
            info: RwSignal::new(None),
            notice: RwSignal::new(None),
            demo: RwSignal::new(false),
            code_needed: RwSignal::new(false),
        };
        provide_context(session);
        session
    }

    /// The current phase (tracked).
    pub fn phase(&self) -> Phase {
        self.phase.get()
    }

    fn set_phase(&self, phase: Phase) {
        if self.phase.get_untracked() != phase {
            self.phase.set(phase);
        }
    }

    /// Asks the server whether setup is needed and who is logged in.
    pub async fn load(self) {
        self.set_phase(Phase::Loading);
        match api::get::<SetupStatus>(routes::SETUP).await {
            Err(_) => self.set_phase(Phase::Unreachable),
            Ok(SetupStatus {
                needed: true,
                code_needed,
                ..
            }) => {
                self.code_needed.set(code_needed);
                self.set_phase(Phase::NeedsSetup);
            }
            Ok(SetupStatus {
                needed: false,
                demo,
                ..
            }) => {
                self.demo.set(demo);
                match api::get::<SessionInfo>(routes::ME).await {
                    Ok(info) => self.logged_in(info),
                    Err(err) if err.code.is_some() => self.logged_out(None),
                    Err(_) => self.set_phase(Phase::Unreachable),
                }
            }
        }
    }

    /// Someone logged in (or finished setup).
    pub fn logged_in(&self, info: SessionInfo) {
        api::set_csrf_token(Some(info.csrf_token.clone()));
        self.notice.set(None);
        self.info.set(Some(info));
        self.set_phase(Phase::LoggedIn);
    }

    /// The session ended; `notice` says why, if it was not the user's choice.
    pub fn logged_out(&self, notice: Option<&str>) {
        api::set_csrf_token(None);
        self.notice.set(notice.map(str::to_owned));
        self.info.set(None);
        self.set_phase(Phase::LoggedOut);
    }

    /// The server said the session is gone while the app was open.
    pub fn expired(&self) {
        if self.phase.get_untracked() == Phase::LoggedIn {
            self.logged_out(Some("Your session has ended. Please log in again."));
        }
    }

    /// Setup turned out to be done already (someone else finished it).
    pub fn setup_already_done(&self) {
        self.notice.set(Some(
            "brickdesk is already set up. Log in with your account.".into(),
        ));
        self.set_phase(Phase::LoggedOut);
    }
}

/// The session from context.
pub fn use_session() -> Session {
    expect_context::<Session>()
}
