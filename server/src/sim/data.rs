//! The simulator's deterministic world: a small catalogue of minifigures with their parts,
//! colours and price guides, and per account a store of orders in both marketplaces. The same
//! seed always gives the same world, so tests can name what they expect.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

/// splitmix64: small, fast, and the same on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }

    /// 32 upper-case hex characters, like BrickLink's keys.
    pub fn hex32(&mut self) -> String {
        format!("{:016X}{:016X}", self.next_u64(), self.next_u64())
    }
}

/// A BrickLink colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Color {
    pub id: i64,
    pub name: &'static str,
    pub hex: &'static str,
    pub kind: &'static str,
}

/// BrickOwl's own id for a BrickLink colour: the marketplaces number colours differently (0, no
/// colour, is 0 on both). BrickOwl's `catalog/color_list` names the BrickLink id of each of its
/// colours; brickdesk builds its map from that at run time.
pub fn brickowl_color(bricklink: i64) -> i64 {
    if bricklink == 0 { 0 } else { bricklink * 7 + 3 }
}

pub const COLORS: &[Color] = &[
    Color {
        id: 1,
        name: "White",
        hex: "FFFFFF",
        kind: "Solid",
    },
    Color {
        id: 2,
        name: "Tan",
        hex: "DEC69C",
        kind: "Solid",
    },
    Color {
        id: 3,
        name: "Yellow",
        hex: "F7D117",
        kind: "Solid",
    },
    Color {
        id: 4,
        name: "Orange",
        hex: "FF7E14",
        kind: "Solid",
    },
    Color {
        id: 5,
        name: "Red",
        hex: "B30006",
        kind: "Solid",
    },
    Color {
        id: 6,
        name: "Green",
        hex: "00642E",
        kind: "Solid",
    },
    Color {
        id: 7,
        name: "Blue",
        hex: "0057A6",
        kind: "Solid",
    },
    Color {
        id: 8,
        name: "Brown",
        hex: "532115",
        kind: "Solid",
    },
    Color {
        id: 11,
        name: "Black",
        hex: "212121",
        kind: "Solid",
    },
    Color {
        id: 12,
        name: "Trans-Clear",
        hex: "EEEEEE",
        kind: "Transparent",
    },
    Color {
        id: 85,
        name: "Dark Bluish Gray",
        hex: "595D60",
        kind: "Solid",
    },
    Color {
        id: 86,
        name: "Light Bluish Gray",
        hex: "AFB5C7",
        kind: "Solid",
    },
    Color {
        id: 88,
        name: "Reddish Brown",
        hex: "89351D",
        kind: "Solid",
    },
    Color {
        id: 90,
        name: "Light Nougat",
        hex: "FECCB0",
        kind: "Solid",
    },
];

pub fn color(id: i64) -> Option<&'static Color> {
    COLORS.iter().find(|c| c.id == id)
}

/// A catalogue item (part or minifigure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub no: &'static str,
    pub name: &'static str,
    /// `PART` or `MINIFIG`.
    pub kind: &'static str,
    pub category_id: i64,
    pub year: i64,
    /// Colour of its picture (parts: the colour it comes in here).
    pub color_id: i64,
}

/// One part of a minifigure: item number, colour, quantity.
pub type PartRef = (&'static str, i64, i64);

/// A minifigure and its parts.
#[derive(Debug, Clone)]
pub struct Minifig {
    pub item: Item,
    pub parts: &'static [PartRef],
}

const fn part(no: &'static str, name: &'static str, category_id: i64, color_id: i64) -> Item {
    Item {
        no,
        name,
        kind: "PART",
        category_id,
        year: 2000,
        color_id,
    }
}

pub const PARTS: &[Item] = &[
    part(
        "3626bpb0001",
        "Minifigure, Head Standard Grin Pattern",
        238,
        3,
    ),
    part(
        "3626cpb1234",
        "Minifigure, Head Stern Eyebrows Pattern",
        238,
        90,
    ),
    part(
        "973pb0123c01",
        "Torso Tatooine Tunic Pattern / Tan Arms / Yellow Hands",
        60,
        2,
    ),
    part(
        "973pb0456c01",
        "Torso Jedi Robe Pattern / Brown Arms / Light Nougat Hands",
        60,
        88,
    ),
    part(
        "973pb0789c01",
        "Torso Police Jacket Pattern / Black Arms / Yellow Hands",
        60,
        11,
    ),
    part(
        "973pb0321c01",
        "Torso Space Logo Pattern / Blue Arms / Black Hands",
        60,
        7,
    ),
    part("970c00", "Hips and Legs Plain", 61, 2),
    part("970c01", "Hips and Legs Plain", 61, 11),
    part("970c02", "Hips and Legs Plain", 61, 7),
    part("62810", "Minifigure, Hair Swept Back", 65, 8),
    part("3624", "Minifigure, Headgear Cap - Police Hat", 65, 11),
    part("3842b", "Minifigure, Headgear Helmet Classic", 65, 7),
    part("64567", "Weapon Lightsaber Hilt", 27, 86),
    part("30374", "Bar 4L (Lightsaber Blade / Wand)", 27, 12),
    part("3838", "Minifigure, Airtanks", 27, 85),
    part("3962b", "Minifigure, Utensil Radio with Handle", 27, 11),
];

pub const MINIFIGS: &[Minifig] = &[
    Minifig {
        item: Item {
            no: "sw0001a",
            name: "Luke Skywalker (Tatooine)",
            kind: "MINIFIG",
            category_id: 65,
            year: 1999,
            color_id: 0,
        },
        parts: &[
            ("3626bpb0001", 3, 1),
            ("973pb0123c01", 2, 1),
            ("970c00", 2, 1),
            ("62810", 8, 1),
            ("64567", 86, 1),
            ("30374", 12, 1),
        ],
    },
    Minifig {
        item: Item {
            no: "sw0002",
            name: "Obi-Wan Kenobi",
            kind: "MINIFIG",
            category_id: 65,
            year: 1999,
            color_id: 0,
        },
        parts: &[
            ("3626cpb1234", 90, 1),
            ("973pb0456c01", 88, 1),
            ("970c00", 2, 1),
            ("64567", 86, 1),
            ("30374", 12, 1),
        ],
    },
    Minifig {
        item: Item {
            no: "cty0001",
            name: "Police - City Officer",
            kind: "MINIFIG",
            category_id: 67,
            year: 2005,
            color_id: 0,
        },
        parts: &[
            ("3626bpb0001", 3, 1),
            ("973pb0789c01", 11, 1),
            ("970c01", 11, 1),
            ("3624", 11, 1),
            ("3962b", 11, 1),
        ],
    },
    Minifig {
        item: Item {
            no: "sp0001",
            name: "Classic Space - Blue",
            kind: "MINIFIG",
            category_id: 68,
            year: 1984,
            color_id: 0,
        },
        parts: &[
            ("3626bpb0001", 3, 1),
            ("973pb0321c01", 7, 1),
            ("970c02", 7, 1),
            ("3842b", 7, 1),
            ("3838", 85, 2),
        ],
    },
    Minifig {
        item: Item {
            no: "col0001",
            name: "Explorer, Series 1 (ten parts)",
            kind: "MINIFIG",
            category_id: 69,
            year: 2010,
            color_id: 0,
        },
        parts: &[
            ("3626bpb0001", 3, 1),
            ("973pb0123c01", 2, 1),
            ("970c00", 2, 1),
            ("62810", 8, 1),
            ("64567", 86, 1),
            ("30374", 12, 1),
            ("3624", 11, 1),
            ("3962b", 11, 1),
            ("3838", 85, 1),
            ("3842b", 7, 1),
        ],
    },
];

/// Minifigs that appear in orders: the first four (the collectible is in the catalogue only,
/// and adding it left the seeded orders as they were).
const SOLD_MINIFIGS: u64 = 4;

pub fn minifig(no: &str) -> Option<&'static Minifig> {
    MINIFIGS.iter().find(|m| m.item.no.eq_ignore_ascii_case(no))
}

pub fn find_item(kind: &str, no: &str) -> Option<&'static Item> {
    match kind.to_ascii_uppercase().as_str() {
        "MINIFIG" => minifig(no).map(|m| &m.item),
        "PART" => PARTS.iter().find(|p| p.no.eq_ignore_ascii_case(no)),
        _ => None,
    }
}

/// Items whose picture is an older JPEG (`.jpg`): its address must be asked of the API.
pub const JPEG_PICTURES: &[&str] = &["64567"];

/// A price in ten-thousandths, the same for the same item, colour and condition.
pub fn price(no: &str, color_id: i64, new: bool) -> i64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in no.bytes().chain(color_id.to_be_bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
    }
    let base = 500 + (hash % 40_000) as i64; // 0.05 .. 4.05
    if new { base + base / 2 } else { base }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The lot it sold from, in the order's marketplace's ids.
    pub inventory_id: i64,
    /// On BrickOwl, the BrickLink lot id a syncing tool stored with the lot.
    pub bl_lot_id: Option<i64>,
    pub no: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub category_id: i64,
    pub color_id: i64,
    pub quantity: i64,
    pub new: bool,
    /// Ten-thousandths.
    pub unit_price: i64,
    pub remarks: String,
}

/// An order as the simulator keeps it; each marketplace renders it its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: i64,
    pub ordered: OffsetDateTime,
    pub changed: OffsetDateTime,
    pub buyer: String,
    pub buyer_email: String,
    pub country: &'static str,
    /// BrickLink status name (`PENDING` ... `PURGED`) or BrickOwl status id as text.
    pub status: String,
    pub payment_status: String,
    pub filed: bool,
    pub currency: &'static str,
    /// Ten-thousandths.
    pub shipping: i64,
    pub tracking: Option<String>,
    /// VAT in hundredths of a percent (`2100` is 21 %) on the items; 0 for none.
    pub vat: i64,
    /// Items in the batches they were added in.
    pub batches: Vec<Vec<Line>>,
}

impl Order {
    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.batches.iter().flatten()
    }

    pub fn subtotal(&self) -> i64 {
        self.lines().map(|l| l.unit_price * l.quantity).sum()
    }

    /// The VAT on the items, in ten-thousandths.
    pub fn vat_amount(&self) -> i64 {
        (self.subtotal() * self.vat + 5_000) / 10_000
    }

    /// What the buyer pays: items, shipping and VAT.
    pub fn grand_total(&self) -> i64 {
        self.subtotal() + self.shipping + self.vat_amount()
    }

    pub fn total_count(&self) -> i64 {
        self.lines().map(|l| l.quantity).sum()
    }

    pub fn unique_count(&self) -> i64 {
        self.lines().count() as i64
    }
}

const BUYERS: &[&str] = &[
    "brickfan42",
    "AmandaEdgeworth",
    "mocbuilder",
    "classic_space_nut",
    "toby.bricks",
    "plate_collector",
    "minifig_mania",
    "studs_up",
    "the-tile-guy",
    "ninjago_nora",
];
const COUNTRIES: &[&str] = &["US", "DE", "UK", "NL", "FR", "CA", "AU", "SE"];
pub const BRICKLINK_STATUSES: &[&str] = &[
    "PENDING",
    "UPDATED",
    "PROCESSING",
    "READY",
    "PAID",
    "PACKED",
    "SHIPPED",
    "RECEIVED",
    "COMPLETED",
    "CANCELLED",
    "PURGED",
];

/// Which marketplace an order is generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    BrickLink,
    BrickOwl,
}

/// `count` orders, ids from `first_id`, dated over the days before `now`.
pub fn orders(
    rng: &mut Rng,
    flavour: Flavour,
    first_id: i64,
    count: usize,
    lines: Option<usize>,
    now: OffsetDateTime,
) -> BTreeMap<i64, Order> {
    (0..count)
        .map(|i| {
            let id = first_id + i as i64;
            let age = Duration::minutes(((count - i) as i64) * 97 + rng.below(60) as i64);
            let mut order = order(rng, flavour, id, lines, now - age);
            // A marketplace never dates a status change in the future: a later change must
            // always carry a later date than the one before it.
            order.changed = order.changed.min(now);
            (id, order)
        })
        .collect()
}

/// One order placed at `ordered`.
pub fn order(
    rng: &mut Rng,
    flavour: Flavour,
    id: i64,
    lines: Option<usize>,
    ordered: OffsetDateTime,
) -> Order {
    let batches = 1 + usize::from(rng.chance(0.2));
    let per_batch = lines.map(|n| n.div_ceil(batches));
    let mut inventory = id * 100;
    let batches: Vec<Vec<Line>> = (0..batches)
        .map(|_| {
            let count = per_batch.unwrap_or_else(|| 1 + rng.below(4) as usize);
            (0..count)
                .map(|_| {
                    inventory += 1;
                    let minifig_line = rng.chance(0.15);
                    let (no, name, kind, category_id, color_id) = if minifig_line {
                        let m = &MINIFIGS[rng.below(SOLD_MINIFIGS) as usize].item;
                        (m.no, m.name, m.kind, m.category_id, 0)
                    } else {
                        let p = &PARTS[rng.below(PARTS.len() as u64) as usize];
                        (p.no, p.name, p.kind, p.category_id, p.color_id)
                    };
                    let new = rng.chance(0.5);
                    Line {
                        inventory_id: inventory,
                        bl_lot_id: (inventory % 2 == 0).then_some(inventory),
                        no,
                        name,
                        kind,
                        category_id,
                        color_id,
                        quantity: 1 + rng.below(if minifig_line { 2 } else { 12 }) as i64,
                        new,
                        unit_price: price(no, color_id, new),
                        remarks: format!(
                            "{}-{:02}",
                            char::from(b'A' + rng.below(6) as u8),
                            rng.below(40)
                        ),
                    }
                })
                .collect()
        })
        .collect();
    let buyer = BUYERS[rng.below(BUYERS.len() as u64) as usize].to_owned();
    let status = match flavour {
        Flavour::BrickLink => BRICKLINK_STATUSES[rng.below(9) as usize].to_owned(),
        Flavour::BrickOwl => rng.below(7).to_string(),
    };
    Order {
        id,
        ordered,
        changed: ordered + Duration::minutes(rng.below(600) as i64),
        buyer_email: format!("{}@example.com", buyer.to_ascii_lowercase()),
        buyer,
        country: COUNTRIES[rng.below(COUNTRIES.len() as u64) as usize],
        status,
        payment_status: "None".into(),
        filed: flavour == Flavour::BrickLink && rng.chance(0.1),
        currency: if rng.chance(0.7) { "USD" } else { "EUR" },
        shipping: 2_5000 + rng.below(5) as i64 * 5000,
        tracking: None,
        vat: 0,
        batches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status change dated "now" must be later than the one before it, so no generated
    /// order may carry a status date in the future (brickdesk keeps the newer copy).
    #[test]
    fn no_status_date_is_in_the_future() {
        let now = OffsetDateTime::now_utc();
        for flavour in [Flavour::BrickLink, Flavour::BrickOwl] {
            let orders = orders(&mut Rng::new(7), flavour, 1, 500, None, now);
            assert!(
                orders
                    .values()
                    .all(|o| o.changed <= now && o.ordered <= o.changed)
            );
        }
    }
}
