//! Typed calls to the server over `app` types. Errors become sentences a seller understands;
//! the CSRF token rides along on every mutating call; a 401 tells the session to show login.

use std::cell::RefCell;

use app::{ErrorBody, ErrorCode};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::{Serialize, de::DeserializeOwned};

thread_local! {
    static CSRF_TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
    static ON_LOGGED_OUT: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

/// Remembers the CSRF token from the login or `/api/me` answer.
pub fn set_csrf_token(token: Option<String>) {
    CSRF_TOKEN.with(|t| *t.borrow_mut() = token);
}

/// Called when the server says the session is gone (expired, or ended elsewhere).
pub fn on_logged_out(callback: impl Fn() + 'static) {
    ON_LOGGED_OUT.with(|c| *c.borrow_mut() = Some(Box::new(callback)));
}

/// A failed call, ready to show.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The server's code, when it sent one.
    pub code: Option<ErrorCode>,
    /// What to tell the person.
    pub message: String,
}

impl ApiError {
    fn unreachable() -> Self {
        Self {
            code: None,
            message:
                "brickdesk is not answering. Check that the server is running, then try again."
                    .into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// `GET path` → `T`.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    decode(send(Request::get(path), None::<&()>).await?).await
}

/// `POST path` with a JSON body → `T`.
pub async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    decode(send(Request::post(path), Some(body)).await?).await
}

/// `PUT path` with a JSON body → `T`.
pub async fn put<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    decode(send(Request::put(path), Some(body)).await?).await
}

/// `POST path` with a JSON body, expecting no answer body.
pub async fn post_no_content<B: Serialize>(path: &str, body: &B) -> Result<(), ApiError> {
    send(Request::post(path), Some(body)).await.map(drop)
}

/// `DELETE path`, expecting no answer body.
pub async fn delete(path: &str) -> Result<(), ApiError> {
    send(Request::delete(path), None::<&()>).await.map(drop)
}

/// What `GET /readyz` says about the orders index: `Some(orders read so far)` while the
/// server is still reading it after a start, `None` once it is done (or unknown).
pub async fn orders_loading() -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Ready {
        status: String,
        #[serde(default)]
        orders_read: u64,
    }
    // `/readyz` answers 503 while loading: read the body whatever the status.
    let response = Request::get(app::routes::READYZ).send().await.ok()?;
    let ready: Ready = response.json().await.ok()?;
    (ready.status == "loading").then_some(ready.orders_read)
}

async fn send<B: Serialize>(
    request: RequestBuilder,
    body: Option<&B>,
) -> Result<Response, ApiError> {
    let request = match CSRF_TOKEN.with(|t| t.borrow().clone()) {
        Some(token) => request.header(app::routes::CSRF_HEADER, &token),
        None => request,
    };
    let request = match body {
        Some(body) => request.json(body).map_err(|_| ApiError::unreachable())?,
        None => request.build().map_err(|_| ApiError::unreachable())?,
    };
    let response = request.send().await.map_err(|_| ApiError::unreachable())?;
    if response.ok() {
        return Ok(response);
    }
    let error = match response.json::<ErrorBody>().await {
        Ok(body) => ApiError {
            code: body.code(),
            message: body.error.message,
        },
        Err(_) => ApiError {
            code: None,
            message: "The server had a problem answering. Try again in a moment.".into(),
        },
    };
    if error.code == Some(ErrorCode::NotLoggedIn) {
        ON_LOGGED_OUT.with(|c| {
            if let Some(callback) = c.borrow().as_ref() {
                callback();
            }
        });
    }
    Err(error)
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    response.json::<T>().await.map_err(|_| ApiError {
        code: None,
        message: "The server sent an answer this page does not understand. Reload the page.".into(),
    })
}
