//! Packing slips and invoices: the seller's template (shop, address, footer, paper, which
//! columns) and invoice numbering (a prefix, a first number, how many digits).

use serde::{Deserialize, Serialize};

use crate::validate::InvalidInput;

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentKind {
    PackingSlip,
    Invoice,
}

impl DocumentKind {
    /// The path segment (`packing-slip`, `invoice`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PackingSlip => "packing-slip",
            Self::Invoice => "invoice",
        }
    }

    /// Reads the path segment.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::PackingSlip, Self::Invoice]
            .into_iter()
            .find(|k| k.as_str() == text)
    }

    /// In a seller's words.
    pub fn label(self) -> &'static str {
        match self {
            Self::PackingSlip => "Packing slip",
            Self::Invoice => "Invoice",
        }
    }
}

/// Paper size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Paper {
    #[default]
    A4,
    Letter,
}

impl Paper {
    /// Width and height in PostScript points.
    pub fn points(self) -> (f32, f32) {
        match self {
            Self::A4 => (595.28, 841.89),
            Self::Letter => (612.0, 792.0),
        }
    }

    /// The CSS `@page` size.
    pub fn css(self) -> &'static str {
        match self {
            Self::A4 => "A4",
            Self::Letter => "letter",
        }
    }
}

/// `GET/PUT /api/documents/template`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DocumentTemplate {
    /// The shop's name at the top.
    pub shop_name: String,
    /// A PNG as a `data:image/png;base64,` URL, shown above the shop's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// The seller's address, one line per line.
    pub address: String,
    /// A line at the foot of each page (thanks, returns, VAT number).
    pub footer: String,
    pub paper: Paper,
    /// Which columns the item table shows besides item, quantity (and prices on invoices).
    pub show_location: bool,
    pub show_condition: bool,
    pub show_color: bool,
    /// Invoice numbers: `{prefix}{number, zero-padded to digits}`.
    pub invoice_prefix: String,
    /// The first invoice number (used while no invoice was numbered yet).
    pub invoice_first: u64,
    pub invoice_digits: u8,
}

impl Default for DocumentTemplate {
    fn default() -> Self {
        Self {
            shop_name: String::new(),
            logo: None,
            address: String::new(),
            footer: "Thank you for your order!".into(),
            paper: Paper::A4,
            show_location: true,
            show_condition: true,
            show_color: true,
            invoice_prefix: "INV-".into(),
            invoice_first: 1,
            invoice_digits: 5,
        }
    }
}

impl DocumentTemplate {
    /// Refuses what would not print: overlong text, hidden characters, odd numbering.
    pub fn check(&self) -> Result<(), InvalidInput> {
        let plain = |field: &'static str, text: &str, max: usize, lines: bool| {
            if text.chars().count() > max {
                return Err(InvalidInput::new(
                    field,
                    format!("At most {max} characters."),
                ));
            }
            if text
                .chars()
                .any(|c| (c == '\n' && !lines) || crate::validate::is_hidden_control(c))
            {
                return Err(InvalidInput::new(field, "Plain text only, please."));
            }
            Ok(())
        };
        plain("shop_name", &self.shop_name, 80, false)?;
        plain("address", &self.address, 400, true)?;
        plain("footer", &self.footer, 300, true)?;
        plain("invoice_prefix", &self.invoice_prefix, 16, false)?;
        if let Some(logo) = &self.logo
            && (!logo.starts_with("data:image/png;base64,") || logo.len() > 360_000)
        {
            return Err(InvalidInput::new(
                "logo",
                "The logo is a PNG picture of at most 256 KB.",
            ));
        }
        if !(1..=12).contains(&self.invoice_digits) {
            return Err(InvalidInput::new(
                "invoice_digits",
                "Invoice numbers have 1 to 12 digits.",
            ));
        }
        if self.invoice_first == 0 || self.invoice_first > 999_999_999_999 {
            return Err(InvalidInput::new(
                "invoice_first",
                "The first invoice number is between 1 and 999999999999.",
            ));
        }
        Ok(())
    }

    /// Invoice number `n` as printed.
    pub fn invoice_number(&self, n: u64) -> String {
        format!(
            "{}{:0width$}",
            self.invoice_prefix,
            n,
            width = usize::from(self.invoice_digits)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_padded_and_bad_templates_refused() {
        let template = DocumentTemplate::default();
        assert_eq!(template.invoice_number(42), "INV-00042");
        assert!(template.check().is_ok());
        let bad = DocumentTemplate {
            invoice_digits: 0,
            ..DocumentTemplate::default()
        };
        assert_eq!(bad.check().unwrap_err().field, "invoice_digits");
        let hidden = DocumentTemplate {
            shop_name: "Bricks\u{202e}".into(),
            ..DocumentTemplate::default()
        };
        assert_eq!(hidden.check().unwrap_err().field, "shop_name");
    }
}
