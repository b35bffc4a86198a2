//! Packing slips and invoices over HTTP: `GET /api/documents/{kind}?orders=…[&format=pdf]`
//! renders them (an invoice number is given to each order the first time, flushed before the
//! answer, since a GET is not flushed by the durable layer) and the template they are made
//! from.

use app::{
    DocumentKind, DocumentTemplate, Marketplace, OrderRef, fulfilment::MAX_PICK_ORDERS,
    validate::InvalidInput,
};
use axum::{
    extract::{Path, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{ApiJson, ApiQuery};
use crate::{
    auth::CurrentUser,
    documents::{self, Sheet},
    error::ApiError,
    state::AppState,
};

/// The query of `GET /api/documents/{kind}`.
#[derive(Debug, Deserialize)]
pub struct DocumentQuery {
    #[serde(default)]
    orders: String,
    #[serde(default)]
    format: Option<String>,
}

/// Documents may show the shop's styles and pictures and nothing else.
const DOCUMENT_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

fn order_refs(text: &str) -> Result<Vec<OrderRef>, InvalidInput> {
    let orders: Vec<OrderRef> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|one| {
            one.split_once(':')
                .and_then(|(m, id)| {
                    let id = id.trim();
                    let marketplace = Marketplace::parse(m.trim())?;
                    (!id.is_empty()).then(|| OrderRef {
                        marketplace,
                        order_id: id.to_owned(),
                    })
                })
                .ok_or_else(|| {
                    InvalidInput::new(
                        "orders",
                        format!("{one:?} is not an order; write bricklink:123 or brickowl:456."),
                    )
                })
        })
        .collect::<Result<_, _>>()?;
    if orders.is_empty() {
        return Err(InvalidInput::new("orders", "Name at least one order."));
    }
    if orders.len() > MAX_PICK_ORDERS {
        return Err(InvalidInput::new(
            "orders",
            format!("At most {MAX_PICK_ORDERS} orders at once."),
        ));
    }
    Ok(orders)
}

/// `GET /api/documents/{kind}`.
pub async fn render(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(kind): Path<String>,
    ApiQuery(query): ApiQuery<DocumentQuery>,
) -> Result<Response, ApiError> {
    let kind = DocumentKind::parse(&kind).ok_or(ApiError::NotFound)?;
    let pdf = match query.format.as_deref() {
        None | Some("html") => false,
        Some("pdf") => true,
        Some(_) => return Err(InvalidInput::new("format", "format is html or pdf.").into()),
    };
    let orders = order_refs(&query.orders)?;
    let user = current.user.id;
    let store = state.services.store.clone();
    // Reads (and numbers) up to 500 orders and renders them: off the async threads.
    let (body, content_type, name) = tokio::task::spawn_blocking(move || {
        let template = store.documents().template(user)?;
        let sheets = sheets(&store, user, kind, &orders, &template)?;
        let name = match sheets.as_slice() {
            [one] => one.invoice.as_ref().map_or_else(
                || format!("packing-slip-{}", one.order.summary.order_id),
                |(n, _)| n.clone(),
            ),
            _ => format!("{}s", kind.as_str()),
        };
        Ok::<_, ApiError>(if pdf {
            (
                documents::pdf::render(&sheets, &template),
                "application/pdf",
                name,
            )
        } else {
            let page = documents::html::render(&sheets, &template);
            (page.into_bytes(), "text/html; charset=utf-8", name)
        })
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering documents: {e}")))??;
    if kind == DocumentKind::Invoice {
        // A number printed is a number kept.
        state.services.store.flush().await?;
    }
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCUMENT_POLICY),
    );
    if pdf {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{safe}.pdf\"")) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

/// The sheets of `orders`, each invoice numbered (once per order).
fn sheets(
    store: &crate::store::Store,
    user: app::UserId,
    kind: DocumentKind,
    orders: &[OrderRef],
    template: &DocumentTemplate,
) -> Result<Vec<Sheet>, ApiError> {
    let mut sheets = Vec::with_capacity(orders.len());
    for order in orders {
        let Some(detail) = store
            .orders()
            .get(user, order.marketplace, &order.order_id)?
        else {
            return Err(ApiError::NotAllowed(format!(
                "There is no {} order {}.",
                order.marketplace, order.order_id
            )));
        };
        let invoice = if kind == DocumentKind::Invoice {
            let given = store
                .documents()
                .invoice(user, order, template.invoice_first)?;
            Some((template.invoice_number(given.number), given.at))
        } else {
            None
        };
        sheets.push(Sheet {
            kind,
            order: detail,
            invoice,
        });
    }
    Ok(sheets)
}

/// `GET /api/documents/template`.
pub async fn template(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<ApiJson<DocumentTemplate>, ApiError> {
    Ok(ApiJson(
        state.services.store.documents().template(current.user.id)?,
    ))
}

/// `PUT /api/documents/template`.
pub async fn save_template(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(template): ApiJson<DocumentTemplate>,
) -> Result<ApiJson<DocumentTemplate>, ApiError> {
    template.check()?;
    if let Some(logo) = &template.logo {
        documents::logo::decode(logo).map_err(|message| InvalidInput::new("logo", message))?;
    }
    state
        .services
        .store
        .documents()
        .set_template(current.user.id, &template)?;
    Ok(ApiJson(template))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_read_from_the_query() {
        let read = order_refs("bricklink:12, brickowl:ab-3").expect("two");
        assert_eq!(read.len(), 2);
        assert_eq!(read[1].marketplace, Marketplace::BrickOwl);
        assert_eq!(read[1].order_id, "ab-3");
        assert!(order_refs("").is_err());
        assert!(order_refs("ebay:1").is_err());
        assert!(order_refs("bricklink:").is_err());
    }
}
