//! Documents as one PDF: each order starts a page, a long order runs on with its table
//! heading repeated. Text is set in the standard Helvetica (regular and bold) in WinAnsi
//! encoding, so no font is embedded; characters outside it print as `?`. Page contents are
//! deflated.

use app::{DocumentKind, DocumentTemplate};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::{
    Column, Sheet, day,
    logo::{self, Logo},
    metrics,
};

const MARGIN: f32 = 40.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");
const ROW: f32 = 15.0;
const LOGO: Name<'static> = Name(b"Im1");
/// The most room the logo takes, in points.
const LOGO_BOX: (f32, f32) = (130.0, 50.0);

/// The documents as one PDF file.
pub fn render(sheets: &[Sheet], template: &DocumentTemplate) -> Vec<u8> {
    let (width, height) = template.paper.points();
    // Checked when the template was saved; a logo that no longer reads is left out.
    let logo = template
        .logo
        .as_deref()
        .and_then(|url| logo::decode(url).ok());
    let mut pages = Pages {
        width,
        height,
        done: Vec::new(),
        current: Content::new(),
        y: height - MARGIN,
    };
    for (n, sheet) in sheets.iter().enumerate() {
        if n > 0 {
            pages.next_page();
        }
        sheet_pages(&mut pages, sheet, template, logo.as_ref());
    }
    pages.next_page();
    write(&pages.done, width, height, sheets, logo.as_ref())
}

/// Text as WinAnsi bytes: what the encoding lacks becomes `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    let mut encoder = encoding_rs::WINDOWS_1252.new_encoder();
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    loop {
        let mut buffer = [0u8; 256];
        let (result, read, written) =
            encoder.encode_from_utf8_without_replacement(rest, &mut buffer, true);
        out.extend_from_slice(&buffer[..written]);
        rest = &rest[read..];
        match result {
            encoding_rs::EncoderResult::InputEmpty => return out,
            encoding_rs::EncoderResult::OutputFull => {}
            encoding_rs::EncoderResult::Unmappable(_) => out.push(b'?'),
        }
    }
}

/// `bytes` cut to fit `room` points, with an ellipsis when cut.
fn fit(mut bytes: Vec<u8>, room: f32, size: f32, bold: bool) -> Vec<u8> {
    if metrics::width(&bytes, size, bold) <= room {
        return bytes;
    }
    // 0x85 is the ellipsis in WinAnsi.
    while !bytes.is_empty() && metrics::width(&bytes, size, bold) + size * 1.0 > room {
        bytes.pop();
    }
    bytes.push(0x85);
    bytes
}

struct Pages {
    width: f32,
    height: f32,
    done: Vec<Vec<u8>>,
    current: Content,
    y: f32,
}

impl Pages {
    fn next_page(&mut self) {
        let page = std::mem::replace(&mut self.current, Content::new());
        self.done.push(page.finish().to_vec());
        self.y = self.height - MARGIN;
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, bytes: &[u8]) {
        self.current
            .begin_text()
            .set_font(if bold { BOLD } else { REGULAR }, size)
            .next_line(x, y)
            .show(Str(bytes))
            .end_text();
    }

    /// Text set from `x` rightwards, cut to `room`.
    fn left(&mut self, x: f32, room: f32, size: f32, bold: bool, text: &str) {
        let bytes = fit(win_ansi(text), room, size, bold);
        let y = self.y;
        self.text(x, y, size, bold, &bytes);
    }

    /// Text ending at `right`.
    fn right(&mut self, right: f32, size: f32, bold: bool, text: &str) {
        let bytes = win_ansi(text);
        let x = right - metrics::width(&bytes, size, bold);
        let y = self.y;
        self.text(x, y, size, bold, &bytes);
    }

    fn rule(&mut self, weight: f32, gray: f32) {
        let (y, right) = (self.y, self.width - MARGIN);
        self.current
            .set_line_width(weight)
            .set_stroke_gray(gray)
            .move_to(MARGIN, y)
            .line_to(right, y)
            .stroke();
    }
}

/// Where each column starts and how wide it is.
fn layout(columns: &[Column], width: f32) -> Vec<(Column, f32, f32)> {
    let table = width - 2.0 * MARGIN;
    let fixed: f32 = columns.iter().map(|c| c.weight()).sum();
    let mut x = MARGIN;
    columns
        .iter()
        .map(|&column| {
            let share = if column == Column::Description {
                (1.0 - fixed).max(0.15)
            } else {
                column.weight()
            };
            let w = table * share;
            let placed = (column, x, w);
            x += w;
            placed
        })
        .collect()
}

fn table_head(pages: &mut Pages, placed: &[(Column, f32, f32)]) {
    for &(column, x, w) in placed {
        if column.is_number() {
            pages.right(x + w - 3.0, 8.5, true, column.title());
        } else {
            pages.left(x + 3.0, w - 6.0, 8.5, true, column.title());
        }
    }
    pages.y -= 5.0;
    pages.rule(1.2, 0.0);
    pages.y -= ROW - 2.0;
}

/// The logo's size in points: its shape kept, inside [`LOGO_BOX`].
fn logo_size(logo: &Logo) -> (f32, f32) {
    let (w, h) = (logo.width as f32, logo.height as f32);
    let scale = (LOGO_BOX.0 / w).min(LOGO_BOX.1 / h);
    (w * scale, h * scale)
}

fn sheet_pages(pages: &mut Pages, sheet: &Sheet, template: &DocumentTemplate, logo: Option<&Logo>) {
    let order = &sheet.order;
    let currency = &order.summary.currency;
    let right = pages.width - MARGIN;
    let half = (pages.width - 2.0 * MARGIN) / 2.0;

    // Logo and shop on the left, what the document is on the right.
    let top = pages.y;
    pages.y = top - 15.0;
    if let Some(logo) = logo {
        let (w, h) = logo_size(logo);
        pages
            .current
            .save_state()
            .transform([w, 0.0, 0.0, h, MARGIN, top - h])
            .x_object(LOGO)
            .restore_state();
        pages.y = top - h - 17.0;
    }
    if !template.shop_name.is_empty() {
        pages.left(MARGIN, half, 15.0, true, &template.shop_name);
        pages.y -= 13.0;
    }
    for line in template.address.lines().filter(|l| !l.trim().is_empty()) {
        pages.left(MARGIN, half, 9.0, false, line);
        pages.y -= 11.0;
    }
    let left_bottom = pages.y;
    pages.y = top - 17.0;
    pages.right(right, 17.0, true, &sheet.title());
    pages.y -= 14.0;
    let mut facts = Vec::new();
    if let Some((_, at)) = &sheet.invoice {
        facts.push(format!("Date {}", day(*at)));
    }
    facts.push(sheet.reference());
    facts.push(format!("Buyer {}", order.summary.buyer));
    for fact in facts {
        pages.right(right, 9.0, false, &fact);
        pages.y -= 11.0;
    }
    pages.y = pages.y.min(left_bottom) - 14.0;

    // Where it goes.
    let label = if sheet.kind == DocumentKind::Invoice {
        "BILL AND SHIP TO"
    } else {
        "SHIP TO"
    };
    pages.left(MARGIN, half, 8.0, true, label);
    pages.y -= 12.0;
    let mut to = sheet.ship_to();
    to.extend(
        order
            .shipment
            .method
            .as_ref()
            .map(|m| format!("Shipping: {m}")),
    );
    for line in to {
        pages.left(MARGIN, half * 2.0, 10.0, false, &line);
        pages.y -= 12.5;
    }
    pages.y -= 10.0;

    // The items.
    let placed = layout(&Column::all(sheet.kind, template), pages.width);
    table_head(pages, &placed);
    for line in &order.lines {
        if pages.y < MARGIN + 40.0 {
            pages.next_page();
            pages.y -= 10.0;
            let continued = format!("{} (continued) · {}", sheet.title(), sheet.reference());
            pages.left(MARGIN, right - MARGIN, 9.0, true, &continued);
            pages.y -= 18.0;
            table_head(pages, &placed);
        }
        for &(column, x, w) in &placed {
            match column {
                Column::Check => {
                    let y = pages.y;
                    pages
                        .current
                        .set_line_width(0.8)
                        .set_stroke_gray(0.2)
                        .rect(x + 3.0, y - 1.0, 8.0, 8.0)
                        .stroke();
                }
                c if c.is_number() => {
                    pages.right(x + w - 3.0, 9.5, false, &c.value(line, currency));
                }
                c => pages.left(x + 3.0, w - 6.0, 9.5, false, &c.value(line, currency)),
            }
        }
        pages.y -= 5.0;
        pages.rule(0.4, 0.8);
        pages.y -= ROW - 5.0;
    }
    pages.y -= 6.0;

    if sheet.kind == DocumentKind::Invoice {
        let totals = sheet.totals();
        let last = totals.len() - 1;
        for (n, (label, amount)) in totals.into_iter().enumerate() {
            if pages.y < MARGIN + 30.0 {
                pages.next_page();
                pages.y -= 20.0;
            }
            let bold = n == last;
            pages.right(right - 90.0, 10.0, bold, &label);
            pages.right(right, 10.0, bold, &amount);
            pages.y -= 14.0;
        }
    } else {
        let summary = format!(
            "{} pieces in {} lots",
            order.summary.items,
            order.lines.len()
        );
        pages.left(MARGIN, right - MARGIN, 9.5, false, &summary);
        pages.y -= 14.0;
    }
    if let Some(remarks) = &order.remarks {
        pages.left(
            MARGIN,
            right - MARGIN,
            9.5,
            false,
            &format!("Buyer's note: {remarks}"),
        );
        pages.y -= 14.0;
    }

    // The footer at the foot of the page.
    let lines: Vec<&str> = template
        .footer
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let saved = pages.y;
    pages.y = MARGIN + 10.0 * lines.len() as f32;
    for line in lines {
        let bytes = fit(win_ansi(line), right - MARGIN, 8.5, false);
        let x = (pages.width - metrics::width(&bytes, 8.5, false)) / 2.0;
        let y = pages.y;
        pages.text(x, y, 8.5, false, &bytes);
        pages.y -= 10.0;
    }
    pages.y = saved;
}

fn write(
    pages: &[Vec<u8>],
    width: f32,
    height: f32,
    sheets: &[Sheet],
    logo: Option<&Logo>,
) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let image = Ref::new(6);
    let mask = Ref::new(7);
    let first = 8;
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|n| Ref::new(first + 2 * i32::try_from(n).unwrap_or(i32::MAX / 4)))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    for (content, id) in pages.iter().zip(&page_ids) {
        let content_id = Ref::new(id.get() + 1);
        let mut page = pdf.page(*id);
        page.media_box(Rect::new(0.0, 0.0, width, height));
        page.parent(tree);
        page.contents(content_id);
        {
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            fonts.pair(REGULAR, regular);
            fonts.pair(BOLD, bold);
            drop(fonts);
            if logo.is_some() {
                resources.x_objects().pair(LOGO, image);
            }
        }
        page.finish();
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(content, 6);
        pdf.stream(content_id, &packed).filter(Filter::FlateDecode);
    }
    if let Some(logo) = logo {
        let pixels = miniz_oxide::deflate::compress_to_vec_zlib(&logo.rgb, 6);
        let mut xobject = pdf.image_xobject(image, &pixels);
        xobject.filter(Filter::FlateDecode);
        xobject.width(i32::try_from(logo.width).unwrap_or(1));
        xobject.height(i32::try_from(logo.height).unwrap_or(1));
        xobject.color_space().device_rgb();
        xobject.bits_per_component(8);
        if logo.alpha.is_some() {
            xobject.s_mask(mask);
        }
        xobject.finish();
        if let Some(alpha) = &logo.alpha {
            let packed = miniz_oxide::deflate::compress_to_vec_zlib(alpha, 6);
            let mut soft = pdf.image_xobject(mask, &packed);
            soft.filter(Filter::FlateDecode);
            soft.width(i32::try_from(logo.width).unwrap_or(1));
            soft.height(i32::try_from(logo.height).unwrap_or(1));
            soft.color_space().device_gray();
            soft.bits_per_component(8);
        }
    }
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    let title = match sheets {
        [one] => one.title(),
        _ => format!("{} documents", sheets.len()),
    };
    pdf.document_info(info)
        .title(TextStr(&title))
        .creator(TextStr("brickdesk"));
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_win_ansi_and_cut_to_fit() {
        assert_eq!(win_ansi("Größe €5 ✓"), b"Gr\xf6\xdfe \x805 ?");
        let long = fit(win_ansi(&"W".repeat(50)), 60.0, 10.0, false);
        assert!(metrics::width(&long, 10.0, false) <= 60.0);
        assert_eq!(long.last(), Some(&0x85));
        assert_eq!(fit(b"ok".to_vec(), 60.0, 10.0, false), b"ok");
    }
}
