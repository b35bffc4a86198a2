//! Paths of the HTTP API, shared so that server routes and browser calls cannot drift apart.

/// `GET` liveness probe.
pub const HEALTHZ: &str = "/healthz";
/// `GET` two server-sent `ping`s a second apart, for `brickdesk doctor` to see whether a
/// reverse proxy passes events at once.
pub const HEALTHZ_STREAM: &str = "/healthz/stream";
/// `GET` readiness probe: the store answers.
pub const READYZ: &str = "/readyz";
/// `GET` Prometheus text.
pub const METRICS: &str = "/metrics";
/// Prefix of every JSON endpoint.
pub const API: &str = "/api";
/// `GET` whether first-run setup is needed; `POST` create the first admin.
pub const SETUP: &str = "/api/setup";
/// `POST` log in; `DELETE` log out.
pub const SESSION: &str = "/api/session";
/// `GET` the logged-in user and CSRF token; `PUT` update the profile.
pub const ME: &str = "/api/me";
/// `POST` change the logged-in user's password.
pub const ME_PASSWORD: &str = "/api/me/password";

/// `GET` jobs (query `state`, `queue`, `kind`, `page`, `per_page`).
pub const JOBS: &str = "/api/jobs";
/// `GET` one job; `DELETE` it.
pub const JOB: &str = "/api/jobs/{id}";
/// `POST` run a dead or cancelled job again.
pub const JOB_RETRY: &str = "/api/jobs/{id}/retry";
/// `POST` cancel a waiting or running job.
pub const JOB_CANCEL: &str = "/api/jobs/{id}/cancel";
/// `GET` counts per queue and state.
pub const QUEUES: &str = "/api/queues";

/// `GET` both marketplace connections.
pub const CONNECTIONS: &str = "/api/connections";
/// `PUT` save keys (202, checked in the background); `DELETE` disconnect.
pub const CONNECTION: &str = "/api/connections/{marketplace}";
/// `POST` replace the webhook URL's token.
pub const CONNECTION_ROTATE_WEBHOOK: &str = "/api/connections/{marketplace}/rotate-webhook";
/// `GET` orders (query `status, marketplace, q, from, to, sort, order, page, per_page`).
pub const ORDERS: &str = "/api/orders";

/// `GET` the store's lots (filters, sort, pages).
pub const INVENTORY: &str = "/api/inventory";

/// `POST`: read the stores again in the background.
pub const INVENTORY_IMPORT: &str = "/api/inventory/import";
/// `PUT` change one lot (202, the jobs that apply it).
pub const INVENTORY_LOT: &str = "/api/inventory/{id}";
/// `POST` link a BrickOwl-only lot to this BrickLink lot.
pub const INVENTORY_LINK: &str = "/api/inventory/{id}/link";
/// `POST` split a linked lot into its BrickLink and BrickOwl lots.
pub const INVENTORY_UNLINK: &str = "/api/inventory/{id}/unlink";
/// `POST` a bulk edit: a preview, or 202 once applied (or confirmed).
pub const INVENTORY_BULK: &str = "/api/inventory/bulk";
/// `GET` the audit log of lot changes, newest first.
pub const INVENTORY_CHANGES: &str = "/api/inventory/changes";
/// `POST` undo a change (or its whole edit).
pub const INVENTORY_CHANGE_UNDO: &str = "/api/inventory/changes/{id}/undo";
/// `GET` stock sync's settings and state; `PUT` the settings.
pub const STOCK_SYNC: &str = "/api/stock-sync";
/// `POST` put a cancelled order's pieces back on both marketplaces (202, jobs).
pub const STOCK_SYNC_RESTOCK: &str = "/api/stock-sync/restock";
/// `POST` let a held order's changes go to the other marketplace (202, jobs).
pub const STOCK_SYNC_HELD: &str = "/api/stock-sync/held";
/// `POST` reconcile both stores now (202, a job).
pub const STOCK_SYNC_RECONCILE: &str = "/api/stock-sync/reconcile";
/// `GET` lots both marketplaces changed differently.
pub const STOCK_SYNC_CONFLICTS: &str = "/api/stock-sync/conflicts";
/// `POST` settle every conflict by one rule (202, jobs).
pub const STOCK_SYNC_RESOLVE_ALL: &str = "/api/stock-sync/conflicts/resolve";
/// `POST` settle one conflict (202, jobs).
pub const STOCK_SYNC_RESOLVE: &str = "/api/stock-sync/conflicts/{id}/resolve";

/// One conflict's settle path.
pub fn stock_sync_resolve(lot: crate::LotId) -> String {
    format!("/api/stock-sync/conflicts/{}/resolve", lot.0)
}
/// `GET` one order with its items.
pub const ORDER: &str = "/api/orders/{marketplace}/{order_id}";
/// `PUT` change an order's status on the marketplace (202, a job).
pub const ORDER_STATUS: &str = "/api/orders/{marketplace}/{order_id}/status";
/// `POST` mark many orders shipped, with tracking numbers (202, the jobs).
pub const ORDERS_SHIP: &str = "/api/orders/ship";
/// `GET` where an order is on its way out (picked, short lines).
pub const ORDER_FLOW: &str = "/api/orders/{marketplace}/{order_id}/flow";
/// `GET` an order's messages and feedback as last read.
pub const ORDER_MESSAGES: &str = "/api/orders/{marketplace}/{order_id}/messages";
/// `POST` read an order's messages and feedback again (202, a job).
pub const ORDER_MESSAGES_FETCH: &str = "/api/orders/{marketplace}/{order_id}/messages/fetch";
/// `POST` leave feedback for the buyer (202, a job).
pub const ORDER_FEEDBACK: &str = "/api/orders/{marketplace}/{order_id}/feedback";
/// `POST` reply to the buyer's feedback (202, a job).
pub const ORDER_FEEDBACK_REPLY: &str =
    "/api/orders/{marketplace}/{order_id}/feedback/{feedback_id}/reply";

/// One order's messages.
pub fn order_messages(marketplace: crate::Marketplace, order_id: &str) -> String {
    format!("/api/orders/{}/{order_id}/messages", marketplace.as_str())
}

/// Reading one order's messages again.
pub fn order_messages_fetch(marketplace: crate::Marketplace, order_id: &str) -> String {
    format!(
        "/api/orders/{}/{order_id}/messages/fetch",
        marketplace.as_str()
    )
}

/// Leaving feedback on one order.
pub fn order_feedback(marketplace: crate::Marketplace, order_id: &str) -> String {
    format!("/api/orders/{}/{order_id}/feedback", marketplace.as_str())
}

/// Replying to one feedback of one order.
pub fn order_feedback_reply(
    marketplace: crate::Marketplace,
    order_id: &str,
    feedback_id: i64,
) -> String {
    format!(
        "/api/orders/{}/{order_id}/feedback/{feedback_id}/reply",
        marketplace.as_str()
    )
}

/// `GET` pick lists, newest first; `POST` make one.
pub const PICK_LISTS: &str = "/api/pick-lists";
/// `GET` one pick list with its lines and ticks.
pub const PICK_LIST: &str = "/api/pick-lists/{id}";
/// `PUT` tick (or untick) one line.
pub const PICK_LINE: &str = "/api/pick-lists/{id}/lines/{line}";
/// `POST` close a pick list: orders whose lines were all found are picked.
pub const PICK_LIST_CLOSE: &str = "/api/pick-lists/{id}/close";
/// `GET`/`PUT` fulfilment settings (the location pattern).
pub const FULFILMENT_SETTINGS: &str = "/api/fulfilment/settings";

/// One pick list's path.
pub fn pick_list(id: crate::PickListId) -> String {
    format!("/api/pick-lists/{}", id.0)
}

/// One pick line's path.
pub fn pick_line(id: crate::PickListId, line: u32) -> String {
    format!("/api/pick-lists/{}/lines/{line}", id.0)
}

/// Closing a pick list.
pub fn pick_list_close(id: crate::PickListId) -> String {
    format!("/api/pick-lists/{}/close", id.0)
}

/// One order's flow.
pub fn order_flow(marketplace: crate::Marketplace, order_id: &str) -> String {
    format!("/api/orders/{}/{order_id}/flow", marketplace.as_str())
}

/// `GET` packing slips or invoices (`{kind}` is `packing-slip` or `invoice`) of the orders in
/// `?orders=bricklink:123,brickowl:456`, as HTML or with `&format=pdf` as PDF.
pub const DOCUMENTS: &str = "/api/documents/{kind}";
/// `GET`/`PUT` the document template (shop, address, footer, paper, columns, numbering).
pub const DOCUMENT_TEMPLATE: &str = "/api/documents/template";

/// The documents of `orders` (HTML, or PDF when `pdf`).
pub fn documents(kind: crate::DocumentKind, orders: &[crate::OrderRef], pdf: bool) -> String {
    let list: Vec<String> = orders
        .iter()
        .map(|o| format!("{}:{}", o.marketplace.as_str(), o.order_id))
        .collect();
    format!(
        "/api/documents/{}?orders={}{}",
        kind.as_str(),
        list.join(","),
        if pdf { "&format=pdf" } else { "" }
    )
}

/// `POST` sync now (202, the jobs).
pub const SYNC: &str = "/api/sync";

/// `PUT` one lot.
pub fn inventory_lot(id: crate::LotId) -> String {
    format!("/api/inventory/{}", id.0)
}

/// `POST` link a BrickOwl lot to this one.
pub fn inventory_link(id: crate::LotId) -> String {
    format!("/api/inventory/{}/link", id.0)
}

/// `POST` unlink this lot.
pub fn inventory_unlink(id: crate::LotId) -> String {
    format!("/api/inventory/{}/unlink", id.0)
}

/// `POST` undo a change.
pub fn inventory_change_undo(id: crate::ChangeId) -> String {
    format!("/api/inventory/changes/{}/undo", id.0)
}

/// One order's path.
pub fn order(marketplace: crate::Marketplace, order_id: &str) -> String {
    format!("/api/orders/{}/{order_id}", marketplace.as_str())
}

/// One order's status path.
pub fn order_status(marketplace: crate::Marketplace, order_id: &str) -> String {
    format!("/api/orders/{}/{order_id}/status", marketplace.as_str())
}

/// `GET` the lists, `POST` a new one.
pub const MINIFIG_LISTS: &str = "/api/minifig-lists";
/// `GET`, `PUT`, `DELETE` one list (with its minifigs).
pub const MINIFIG_LIST: &str = "/api/minifig-lists/{id}";
/// `POST` add a minifig to a list (202; its parts are fetched by a job).
pub const LIST_MINIFIGS: &str = "/api/minifig-lists/{id}/minifigs";
/// `GET`, `PUT`, `DELETE` one minifig.
pub const LIST_MINIFIG: &str = "/api/minifig-lists/{id}/minifigs/{minifig_id}";
/// `PUT` one part of a minifig (collected, needed, colour, condition).
pub const MINIFIG_PART: &str = "/api/minifig-lists/{id}/minifigs/{minifig_id}/parts/{part_id}";
/// `GET` a minifig from the catalogue: 200 when cached, else 202 with the job fetching it.
pub const CATALOG_MINIFIG: &str = "/api/catalog/minifigs/{no}";
/// `GET` BrickLink's colours as synced into brickdesk.
pub const CATALOG_COLORS: &str = "/api/catalog/colors";

/// `POST` a backup of the running server (control token, not a session; see `brickdesk backup`).
pub const ADMIN_BACKUP: &str = "/api/admin/backup";

/// `GET` every account, `POST` a new one (admins).
pub const USERS: &str = "/api/users";
/// `PUT` an account: disable or enable it (admins).
pub const USER: &str = "/api/users/{id}";
/// `POST` a new password for an account; its sessions end (admins).
pub const USER_PASSWORD: &str = "/api/users/{id}/password";

/// One account's path.
pub fn user(id: crate::UserId) -> String {
    format!("/api/users/{}", id.0)
}

/// One account's password path.
pub fn user_password(id: crate::UserId) -> String {
    format!("/api/users/{}/password", id.0)
}

/// `GET` the dashboard.
pub const DASHBOARD: &str = "/api/dashboard";
/// `GET` search (`?q=`).
pub const SEARCH: &str = "/api/search";
/// `GET` the scheduler's table.
pub const SCHEDULES: &str = "/api/schedules";

/// One list's path.
pub fn minifig_list(id: crate::ListId) -> String {
    format!("/api/minifig-lists/{}", id.0)
}

/// A list's minifigs path.
pub fn list_minifigs(id: crate::ListId) -> String {
    format!("/api/minifig-lists/{}/minifigs", id.0)
}

/// One minifig's path.
pub fn list_minifig(list: crate::ListId, minifig: crate::MinifigId) -> String {
    format!("/api/minifig-lists/{}/minifigs/{}", list.0, minifig.0)
}

/// One part's path.
pub fn minifig_part(list: crate::ListId, minifig: crate::MinifigId, part: u32) -> String {
    format!(
        "/api/minifig-lists/{}/minifigs/{}/parts/{part}",
        list.0, minifig.0
    )
}

/// A catalogue look-up's path.
pub fn catalog_minifig(no: &str) -> String {
    format!("/api/catalog/minifigs/{no}")
}

/// `GET` a catalogue picture through brickdesk's cache.
pub const IMAGE: &str = "/img/{kind}/{no}/{color_id}";

/// A catalogue picture's path.
pub fn image(kind: &str, no: &str, color_id: i64) -> String {
    format!("/img/{}/{no}/{color_id}", kind.to_ascii_uppercase())
}

/// `POST` BrickLink's push notification.
pub const HOOK_BRICKLINK: &str = "/hooks/bricklink/{token}";
/// `GET` BrickOwl's order notify.
pub const HOOK_BRICKOWL: &str = "/hooks/brickowl/{token}";

/// A connection's path for `marketplace`.
pub fn connection(marketplace: crate::Marketplace) -> String {
    format!("/api/connections/{}", marketplace.as_str())
}

/// A connection's rotate-webhook path for `marketplace`.
pub fn connection_rotate_webhook(marketplace: crate::Marketplace) -> String {
    format!("/api/connections/{}/rotate-webhook", marketplace.as_str())
}

/// `GET` the user's live events (server-sent events).
pub const EVENTS: &str = "/api/events";

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "brickdesk_session";
/// The session cookie's name when cookies are `Secure`: the `__Host-` prefix makes browsers
/// refuse it unless it is secure, host-only and for `/`, so a sibling subdomain cannot plant
/// one.
pub const SECURE_SESSION_COOKIE: &str = "__Host-brickdesk_session";
/// Header that carries the CSRF token on mutating requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
