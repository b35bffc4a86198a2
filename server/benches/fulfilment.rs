//! Fulfilment benchmarks (docs/benchmarks.md): `cargo bench -p server --bench fulfilment`.
//!
//! 1. A pick list of 200 orders × 20 lines from both marketplaces (lines of the same item,
//!    colour and condition merged, natural location order): build time, three runs.
//! 2. A 200-page packing-slip PDF and a 200-order invoice HTML document of those orders:
//!    render time, size, and the process's peak RSS before and after.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use app::{
    DocumentKind, DocumentTemplate, Marketplace, Money, OrderDetail, OrderLine, OrderRef,
    OrderStatus, OrderSummary, Shipment, UserId,
};
use server::{
    documents::{Sheet, html, pdf},
    picking::{Locator, build},
    store::Store,
};
use time::OffsetDateTime;

const ORDERS: u64 = 200;
const LINES: u64 = 20;

fn order(i: u64) -> OrderDetail {
    let at = OffsetDateTime::now_utc() - time::Duration::minutes(i as i64);
    OrderDetail {
        summary: OrderSummary {
            marketplace: if i.is_multiple_of(2) {
                Marketplace::BrickOwl
            } else {
                Marketplace::BrickLink
            },
            order_id: (5_000_000 + i).to_string(),
            ordered_at: at,
            changed_at: at,
            status: OrderStatus::Paid,
            marketplace_status: "PAID".into(),
            buyer: format!("buyer{i}"),
            total: Money(20 * 3 * 1_500 + 45_000),
            currency: "EUR".into(),
            items: (LINES * 3) as i64,
            lots: LINES as i64,
            filed: false,
        },
        buyer_email: None,
        shipment: Shipment {
            name: Some(format!("Buyer {i}")),
            address: vec!["1 Brick Lane".into(), "Springfield".into()],
            country: Some("DE".into()),
            method: Some("Letter".into()),
            tracking: None,
        },
        subtotal: Money(20 * 3 * 1_500),
        shipping_cost: Money(45_000),
        remarks: None,
        lines: (0..LINES)
            .map(|n| {
                // 300 kinds of part over the orders: many lines merge.
                let kind = (i * 7 + n * 13) % 300;
                OrderLine {
                    item_type: "PART".into(),
                    item_no: format!("3{kind:03}"),
                    name: format!("Plate 1 x {}", kind % 12 + 1),
                    color_id: (kind % 9) as i64 + 1,
                    color_name: Some("Black".into()),
                    quantity: 3,
                    new: kind.is_multiple_of(2),
                    unit_price: Money(1_500),
                    remarks: Some(format!(
                        "{}-{}-{}",
                        char::from(b'A' + (kind % 6) as u8),
                        kind % 40 + 1,
                        kind % 5 + 1
                    )),
                    batch: 1,
                    image: None,
                    lot: None,
                }
            })
            .collect(),
        synced_at: at,
        store_id: None,
        tax: None,
    }
}

/// The process's peak resident set so far, in MiB.
fn peak_rss() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let user = UserId(1);
    let details: Vec<OrderDetail> = (0..ORDERS).map(order).collect();
    for detail in &details {
        store.orders().upsert(user, detail).unwrap();
    }
    let refs: Vec<OrderRef> = details
        .iter()
        .map(|d| OrderRef {
            marketplace: d.summary.marketplace,
            order_id: d.summary.order_id.clone(),
        })
        .collect();
    let locator = Locator::new("").unwrap();
    for run in 1..=3 {
        let started = Instant::now();
        let lines = build(&store, user, &refs, &locator).unwrap();
        println!(
            "pick list run {run}: {ORDERS} orders × {LINES} lines -> {} lines in {:.1} ms",
            lines.len(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }

    let template = DocumentTemplate {
        shop_name: "Benchmark Bricks".into(),
        address: "1 Plate Street\n12345 Studville".into(),
        ..DocumentTemplate::default()
    };
    let sheets = |kind| -> Vec<Sheet> {
        details
            .iter()
            .enumerate()
            .map(|(n, d)| Sheet {
                kind,
                order: d.clone(),
                invoice: (kind == DocumentKind::Invoice).then(|| {
                    (
                        template.invoice_number(n as u64 + 1),
                        OffsetDateTime::now_utc(),
                    )
                }),
            })
            .collect()
    };
    let slips = sheets(DocumentKind::PackingSlip);
    let before = peak_rss();
    for run in 1..=3 {
        let started = Instant::now();
        let bytes = pdf::render(&slips, &template);
        println!(
            "packing-slip PDF run {run}: {ORDERS} pages, {:.0} KiB in {:.1} ms",
            bytes.len() as f64 / 1024.0,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    println!(
        "peak RSS {before:.1} MiB before the PDFs, {:.1} MiB after",
        peak_rss()
    );
    let invoices = sheets(DocumentKind::Invoice);
    let started = Instant::now();
    let page = html::render(&invoices, &template);
    println!(
        "invoice HTML: {ORDERS} orders, {:.0} KiB in {:.1} ms",
        page.len() as f64 / 1024.0,
        started.elapsed().as_secs_f64() * 1000.0
    );
}
