//! Documents as one printable HTML page: each order on a page of its own (`break-after`), the
//! paper size in `@page`, pictures through brickdesk's image cache; maud escapes every value.

use app::{DocumentKind, DocumentTemplate};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{Column, Sheet, day};

const STYLE: &str = r#"
* { box-sizing: border-box; }
body { margin: 0; font: 11pt/1.4 "Helvetica Neue", Helvetica, Arial, sans-serif; color: #111; background: #eee; }
.sheet { background: #fff; margin: 1rem auto; padding: 14mm; max-width: 210mm; }
.head { display: flex; justify-content: space-between; gap: 2rem; }
.logo { display: block; max-width: 45mm; max-height: 18mm; margin-bottom: 2mm; }
.shop { font-size: 15pt; font-weight: 700; margin: 0; }
.from, .to { white-space: pre-line; margin: 0.2rem 0 0; color: #333; }
.title { text-align: right; }
.title h1 { margin: 0; font-size: 17pt; }
.title p { margin: 0.15rem 0; color: #333; }
.to-block { margin: 1.2rem 0; }
.to-block h2 { font-size: 9pt; text-transform: uppercase; letter-spacing: 0.05em; color: #666; margin: 0; }
table { width: 100%; border-collapse: collapse; margin-top: 0.5rem; }
th { text-align: left; font-size: 9pt; color: #555; border-bottom: 1.5px solid #111; padding: 0.3rem; }
td { border-bottom: 1px solid #ddd; padding: 0.3rem; vertical-align: top; }
.num { text-align: right; white-space: nowrap; }
.check { width: 1.2rem; }
.box { display: inline-block; width: 0.8rem; height: 0.8rem; border: 1px solid #333; }
.pic { width: 32px; height: 32px; object-fit: contain; }
.totals { margin-left: auto; margin-top: 0.75rem; width: auto; min-width: 40%; }
.totals td { border: none; padding: 0.15rem 0.3rem; }
.totals tr:last-child td { font-weight: 700; border-top: 1.5px solid #111; }
.note { margin-top: 1rem; color: #333; white-space: pre-line; }
.foot { margin-top: 1.5rem; color: #555; font-size: 9pt; white-space: pre-line; text-align: center; }
@media print {
  body { background: #fff; }
  .sheet { margin: 0; padding: 0; max-width: none; break-after: page; }
  .sheet:last-child { break-after: auto; }
}
"#;

/// The documents as one HTML page.
pub fn render(sheets: &[Sheet], template: &DocumentTemplate) -> String {
    let title = match sheets {
        [one] => one.title(),
        _ => format!("{} documents", sheets.len()),
    };
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style {
                    (PreEscaped(STYLE))
                    (PreEscaped(format!("@page {{ size: {}; margin: 14mm; }}", template.paper.css())))
                }
            }
            body {
                @for sheet in sheets {
                    (one(sheet, template))
                }
            }
        }
    };
    page.into_string()
}

fn one(sheet: &Sheet, template: &DocumentTemplate) -> Markup {
    let order = &sheet.order;
    let currency = &order.summary.currency;
    let columns = Column::all(sheet.kind, template);
    html! {
        section.sheet data-order=(order.summary.order_id) {
            div.head {
                div {
                    @if let Some(logo) = &template.logo { img.logo src=(logo) alt=""; }
                    @if !template.shop_name.is_empty() { p.shop { (template.shop_name) } }
                    @if !template.address.is_empty() { p.from { (template.address) } }
                }
                div.title {
                    h1 { (sheet.title()) }
                    @if let Some((_, at)) = &sheet.invoice { p { "Date " (day(*at)) } }
                    p { (sheet.reference()) }
                    p { "Buyer " (order.summary.buyer) }
                }
            }
            div.to-block {
                h2 { @if sheet.kind == DocumentKind::Invoice { "Bill and ship to" } @else { "Ship to" } }
                p.to { (sheet.ship_to().join("\n")) }
                @if let Some(method) = &order.shipment.method { p.to { "Shipping: " (method) } }
            }
            table.items {
                thead { tr {
                    th {}
                    @for column in &columns {
                        th class=[column.is_number().then_some("num")] { (column.title()) }
                    }
                } }
                tbody {
                    @for line in &order.lines {
                        tr {
                            td { @if let Some(src) = &line.image { img.pic src=(src) alt=""; } }
                            @for column in &columns {
                                @if *column == Column::Check {
                                    td.check { span.box {} }
                                } @else {
                                    td class=[column.is_number().then_some("num")] { (column.value(line, currency)) }
                                }
                            }
                        }
                    }
                }
            }
            @if sheet.kind == DocumentKind::Invoice {
                table.totals { tbody {
                    @for (label, amount) in sheet.totals() {
                        tr { td { (label) } td.num { (amount) } }
                    }
                } }
            } @else {
                p.note { (format!("{} pieces in {} lots", order.summary.items, order.lines.len())) }
            }
            @if let Some(remarks) = &order.remarks { p.note { "Buyer's note: " (remarks) } }
            @if !template.footer.is_empty() { p.foot { (template.footer) } }
        }
    }
}
