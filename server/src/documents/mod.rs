//! Packing slips and invoices, rendered by the server from the seller's template: printable
//! HTML (print CSS, one order a page, a batch is one document) and PDF (`pdf-writer`, the
//! standard Helvetica, so nothing is embedded and every reader has the font). Both read the
//! same [`Sheet`]s and [`Column`]s, so they show the same thing.

pub mod html;
pub mod logo;
mod metrics;
pub mod pdf;

use app::{DocumentKind, DocumentTemplate, Money, OrderDetail, OrderLine};
use time::OffsetDateTime;

/// One order's document.
pub struct Sheet {
    pub kind: DocumentKind,
    pub order: OrderDetail,
    /// The invoice's number as printed and its date (invoices only).
    pub invoice: Option<(String, OffsetDateTime)>,
}

/// A column of the item table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// An empty box to tick when packed.
    Check,
    Location,
    Item,
    Description,
    Color,
    Condition,
    Quantity,
    Each,
    Total,
}

impl Column {
    /// The columns a document shows under `template`.
    pub fn all(kind: DocumentKind, template: &DocumentTemplate) -> Vec<Self> {
        let mut columns = Vec::with_capacity(9);
        if kind == DocumentKind::PackingSlip {
            columns.push(Self::Check);
            if template.show_location {
                columns.push(Self::Location);
            }
        }
        columns.extend([Self::Item, Self::Description]);
        if template.show_color {
            columns.push(Self::Color);
        }
        if template.show_condition {
            columns.push(Self::Condition);
        }
        columns.push(Self::Quantity);
        if kind == DocumentKind::Invoice {
            columns.extend([Self::Each, Self::Total]);
        }
        columns
    }

    /// The heading.
    pub fn title(self) -> &'static str {
        match self {
            Self::Check => "",
            Self::Location => "Location",
            Self::Item => "Item",
            Self::Description => "Description",
            Self::Color => "Colour",
            Self::Condition => "Cond.",
            Self::Quantity => "Qty",
            Self::Each => "Each",
            Self::Total => "Total",
        }
    }

    /// Numbers sit right.
    pub fn is_number(self) -> bool {
        matches!(self, Self::Quantity | Self::Each | Self::Total)
    }

    /// A share of the table's width (the description takes what is left).
    pub fn weight(self) -> f32 {
        match self {
            Self::Check => 0.04,
            Self::Location => 0.11,
            Self::Item => 0.12,
            Self::Description => 0.0,
            Self::Color => 0.14,
            Self::Condition => 0.07,
            Self::Quantity => 0.06,
            Self::Each => 0.10,
            Self::Total => 0.11,
        }
    }

    /// What the column says for `line`.
    pub fn value(self, line: &OrderLine, currency: &str) -> String {
        match self {
            Self::Check => String::new(),
            Self::Location => line.remarks.clone().unwrap_or_default(),
            Self::Item => line.item_no.clone(),
            Self::Description => line.name.clone(),
            Self::Color => line.color_name.clone().unwrap_or_default(),
            Self::Condition => (if line.new { "New" } else { "Used" }).to_owned(),
            Self::Quantity => line.quantity.to_string(),
            Self::Each => line.unit_price.with_currency(currency),
            Self::Total => line.unit_price.times(line.quantity).with_currency(currency),
        }
    }
}

impl Sheet {
    /// The heading: `Invoice INV-00042` or `Packing slip`.
    pub fn title(&self) -> String {
        match &self.invoice {
            Some((number, _)) => format!("{} {number}", self.kind.label()),
            None => self.kind.label().to_owned(),
        }
    }

    /// `BrickLink order 123 · placed 29 Nov 2026`.
    pub fn reference(&self) -> String {
        let s = &self.order.summary;
        format!(
            "{} order {} · placed {}",
            s.marketplace,
            s.order_id,
            day(s.ordered_at)
        )
    }

    /// Who it goes to: name, address lines, country.
    pub fn ship_to(&self) -> Vec<String> {
        let shipment = &self.order.shipment;
        let mut lines: Vec<String> = shipment
            .name
            .clone()
            .or_else(|| Some(self.order.summary.buyer.clone()))
            .into_iter()
            .collect();
        lines.extend(shipment.address.iter().cloned());
        lines.extend(shipment.country.clone());
        lines
    }

    /// The totals an invoice ends with: label and amount.
    pub fn totals(&self) -> Vec<(String, String)> {
        let currency = &self.order.summary.currency;
        let mut rows = vec![
            (
                "Items".to_owned(),
                self.order.subtotal.with_currency(currency),
            ),
            (
                "Shipping".to_owned(),
                self.order.shipping_cost.with_currency(currency),
            ),
        ];
        if let Some(tax) = self.order.tax {
            rows.push((
                format!("VAT {}%", percent(tax.rate)),
                tax.amount.with_currency(currency),
            ));
        }
        rows.push((
            "Total".to_owned(),
            self.order.summary.total.with_currency(currency),
        ));
        rows
    }
}

/// `19` or `7.5` from a rate kept as money's fixed point.
fn percent(rate: Money) -> String {
    let text = rate.to_wire();
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `29 Nov 2026`.
pub fn day(at: OffsetDateTime) -> String {
    format!(
        "{} {} {}",
        at.day(),
        &format!("{}", at.month())[..3],
        at.year()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_days_read_as_people_write_them() {
        assert_eq!(percent(Money(19_0000)), "19");
        assert_eq!(percent(Money(7_5000)), "7.5");
        let at = time::macros::datetime!(2026-11-29 14:05 UTC);
        assert_eq!(day(at), "29 Nov 2026");
    }

    #[test]
    fn invoices_show_prices_and_slips_show_where_to_pick() {
        let template = DocumentTemplate::default();
        let slip = Column::all(DocumentKind::PackingSlip, &template);
        assert!(slip.contains(&Column::Location) && !slip.contains(&Column::Total));
        let invoice = Column::all(DocumentKind::Invoice, &template);
        assert!(invoice.contains(&Column::Total) && !invoice.contains(&Column::Check));
        let bare = DocumentTemplate {
            show_color: false,
            show_condition: false,
            show_location: false,
            ..template
        };
        assert_eq!(
            Column::all(DocumentKind::PackingSlip, &bare),
            [
                Column::Check,
                Column::Item,
                Column::Description,
                Column::Quantity
            ]
        );
    }
}
