//! Partial minifigures: lists of minifigs a seller is completing, each with the parts still
//! needed and collected, priced from BrickLink's price guide; and the catalogue look-up they
//! are filled from.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{JobId, Money, validate::InvalidInput};

/// A list's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ListId(pub u64);

/// A minifig's id (unique across lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MinifigId(pub u64);

/// New or used; BrickLink's `N` and `U` are accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    #[default]
    #[serde(alias = "N", alias = "n")]
    New,
    #[serde(alias = "U", alias = "u")]
    Used,
}

impl Condition {
    /// BrickLink's letter.
    pub fn code(self) -> &'static str {
        match self {
            Self::New => "N",
            Self::Used => "U",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            Self::New => "New",
            Self::Used => "Used",
        }
    }
}

/// The price guides of an item in one colour: average sold price, new and used. Each guide
/// is asked for only when it is shown (the wanted condition's, and the other one when nothing
/// sold in it), so one may not be asked yet.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Prices {
    pub new: Option<Money>,
    pub used: Option<Money>,
    /// ISO code of both amounts.
    pub currency: Option<String>,
    /// Whether the new guide was asked for (`new` empty then means nothing sold new). Prices
    /// stored before guides were asked one at a time had both.
    #[serde(default = "asked_before")]
    pub new_asked: bool,
    #[serde(default = "asked_before")]
    pub used_asked: bool,
}

fn asked_before() -> bool {
    true
}

impl Prices {
    /// The price of one piece in `condition`, falling back to the other condition when nothing
    /// sold in this one; `None` also while the condition's guide is not asked yet.
    pub fn per_piece(&self, condition: Condition) -> Option<Money> {
        if !self.has(condition) {
            return None;
        }
        match condition {
            Condition::New => self.new.or(self.used),
            Condition::Used => self.used.or(self.new),
        }
    }

    /// Whether what [`Prices::per_piece`] shows for `condition` is known: its guide was asked
    /// for, and the other one too when nothing sold in it.
    pub fn has(&self, condition: Condition) -> bool {
        match condition {
            Condition::New => self.new_asked && (self.new.is_some() || self.used_asked),
            Condition::Used => self.used_asked && (self.used.is_some() || self.new_asked),
        }
    }
}

/// A BrickLink colour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Color {
    pub id: i64,
    pub name: String,
    /// Hex RGB without `#`, when BrickLink has one.
    pub code: Option<String>,
}

/// Where fetching a minifig's catalogue data stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FetchState {
    /// Queued or running: `done` of `total` parts have their picture and prices.
    Loading {
        done: u32,
        total: u32,
    },
    Ready,
    /// Ended without the data; in words a seller understands.
    Failed {
        message: String,
    },
}

/// One part of a partial minifig.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinifigPart {
    /// Index within the minifig.
    pub id: u32,
    /// `PART` (or another catalogue type).
    pub item_type: String,
    pub item_no: String,
    pub name: String,
    pub color_id: i64,
    pub color_name: Option<String>,
    pub color_code: Option<String>,
    /// How many the minifig has.
    pub quantity: u32,
    /// How many are missing (0: the seller has this part).
    pub quantity_needed: u32,
    pub quantity_collected: u32,
    pub condition: Condition,
    /// Filled by the fetch job; `None` until then or when nothing sold.
    pub prices: Option<Prices>,
    /// `/img/...` path of its picture.
    pub image: String,
}

impl MinifigPart {
    /// Whether every needed piece is collected.
    pub fn complete(&self) -> bool {
        self.quantity_collected >= self.quantity_needed
    }

    /// Pieces still to buy.
    pub fn outstanding(&self) -> u32 {
        self.quantity_needed.saturating_sub(self.quantity_collected)
    }

    /// The price of one piece in the wanted condition.
    pub fn cost_per_piece(&self) -> Option<Money> {
        self.prices.as_ref()?.per_piece(self.condition)
    }
}

/// Counts and cost over minifigs or a list.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Totals {
    pub minifigs: u32,
    /// Minifigs with every needed part collected.
    pub complete: u32,
    pub parts_needed: u32,
    pub parts_collected: u32,
    /// Outstanding pieces times their price; pieces without a price add nothing.
    pub cost_to_complete: Money,
    /// Pieces still to buy that have no price yet.
    pub unpriced: u32,
    pub currency: Option<String>,
}

impl Totals {
    /// The totals of one minifig's parts.
    pub fn of_parts(parts: &[MinifigPart]) -> Self {
        let mut totals = Self {
            minifigs: 1,
            ..Self::default()
        };
        for part in parts {
            totals.parts_needed += part.quantity_needed;
            totals.parts_collected += part.quantity_collected.min(part.quantity_needed);
            let outstanding = part.outstanding();
            if outstanding == 0 {
                continue;
            }
            match part.cost_per_piece() {
                Some(price) => {
                    totals.cost_to_complete =
                        totals.cost_to_complete + price.times(i64::from(outstanding));
                    if totals.currency.is_none() {
                        totals.currency = part.prices.as_ref().and_then(|p| p.currency.clone());
                    }
                }
                None => totals.unpriced += outstanding,
            }
        }
        // A minifig whose parts are not in yet is not complete.
        if !parts.is_empty() && parts.iter().all(MinifigPart::complete) {
            totals.complete = 1;
        }
        totals
    }

    /// Adds another minifig's or list's totals.
    pub fn add(&mut self, other: &Self) {
        self.minifigs += other.minifigs;
        self.complete += other.complete;
        self.parts_needed += other.parts_needed;
        self.parts_collected += other.parts_collected;
        self.cost_to_complete = self.cost_to_complete + other.cost_to_complete;
        self.unpriced += other.unpriced;
        if self.currency.is_none() {
            self.currency.clone_from(&other.currency);
        }
    }

    /// Collected share of needed parts, 0–100 (100 when nothing is needed and every minifig
    /// is complete).
    pub fn percent_collected(&self) -> u8 {
        if self.parts_needed == 0 {
            return if self.minifigs > 0 && self.complete == self.minifigs {
                100
            } else {
                0
            };
        }
        u8::try_from(u64::from(self.parts_collected) * 100 / u64::from(self.parts_needed))
            .unwrap_or(100)
    }
}

/// A minifig on a list, with its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialMinifig {
    pub id: MinifigId,
    pub list_id: ListId,
    /// BrickLink item number, e.g. `sw0001a`.
    pub bricklink_id: String,
    /// From the catalogue, once fetched.
    pub name: Option<String>,
    /// `/img/...` path of its picture.
    pub image: String,
    pub reference_id: Option<String>,
    pub condition: Condition,
    pub notes: Option<String>,
    /// Its own price guide, once fetched.
    pub prices: Option<Prices>,
    pub fetch: FetchState,
    /// The job fetching it, while one does.
    pub job: Option<JobId>,
    pub parts: Vec<MinifigPart>,
    pub totals: Totals,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A list without its minifigs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSummary {
    pub id: ListId,
    pub name: String,
    pub description: Option<String>,
    pub totals: Totals,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A list with its minifigs, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinifigList {
    #[serde(flatten)]
    pub summary: ListSummary,
    pub minifigs: Vec<PartialMinifig>,
}

/// `POST /api/minifig-lists`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewList {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// `PUT /api/minifig-lists/{id}`: fields present are changed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ListUpdate {
    #[serde(default)]
    pub name: Option<String>,
    /// `""` clears it.
    #[serde(default)]
    pub description: Option<String>,
}

/// `POST /api/minifig-lists/{id}/minifigs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMinifig {
    pub bricklink_id: String,
    #[serde(default)]
    pub condition: Option<Condition>,
    #[serde(default)]
    pub reference_id: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// The answer to adding a minifig: it exists at once, its parts arrive with the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinifigQueued {
    pub minifig: PartialMinifig,
    pub job_id: JobId,
}

/// `PUT /api/minifig-lists/{id}/minifigs/{minifig_id}`: fields present are changed (`""`
/// clears a text).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MinifigUpdate {
    #[serde(default)]
    pub reference_id: Option<String>,
    #[serde(default)]
    pub condition: Option<Condition>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// `PUT .../parts/{part_id}`: fields present are changed. A new colour fetches that colour's
/// picture and prices in the background.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartUpdate {
    #[serde(default)]
    pub quantity_collected: Option<u32>,
    #[serde(default)]
    pub quantity_needed: Option<u32>,
    #[serde(default)]
    pub color_id: Option<i64>,
    #[serde(default)]
    pub condition: Option<Condition>,
}

/// One part in a catalogue look-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogPart {
    pub item_type: String,
    pub item_no: String,
    pub name: String,
    pub color_id: i64,
    pub color_name: Option<String>,
    pub color_code: Option<String>,
    pub quantity: u32,
    pub prices: Prices,
    pub image: String,
}

/// `GET /api/catalog/minifigs/{no}` when everything is at hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogMinifig {
    pub no: String,
    pub name: String,
    pub year_released: Option<i64>,
    pub image: String,
    pub prices: Prices,
    pub parts: Vec<CatalogPart>,
}

/// SSE event name of a minifig whose data or parts changed; the data is a [`PartialMinifig`].
pub const MINIFIG_UPDATED: &str = "minifig.updated";

/// Longest list name, reference and item number; notes and descriptions may be longer.
const SHORT_TEXT: usize = 120;
const LONG_TEXT: usize = 2_000;

/// A trimmed, bounded, control-free text; `None` for blank.
pub fn text(
    field: &'static str,
    input: Option<&str>,
    long: bool,
) -> Result<Option<String>, InvalidInput> {
    let Some(input) = input.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let max = if long { LONG_TEXT } else { SHORT_TEXT };
    if input.chars().count() > max {
        return Err(InvalidInput::new(
            field,
            format!("Keep it under {max} characters."),
        ));
    }
    if input.chars().any(crate::validate::is_hidden_control) {
        return Err(InvalidInput::new(
            field,
            "Remove the control and text-direction characters.",
        ));
    }
    Ok(Some(input.to_owned()))
}

/// A list name: required, short.
pub fn list_name(input: &str) -> Result<String, InvalidInput> {
    text("name", Some(input), false)?
        .ok_or_else(|| InvalidInput::new("name", "Give the list a name."))
}

/// A BrickLink minifig number as typed (`sw0001a`, `hp150`, `col23-4`): letters, digits, `-`,
/// `.` and `_`, starting with a letter or digit. Whether BrickLink knows it is the job's to
/// find out.
pub fn bricklink_id(input: &str) -> Result<String, InvalidInput> {
    let id = input.trim();
    let well_formed = !id.is_empty()
        && id.len() <= 40
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if well_formed {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(InvalidInput::new(
            "bricklink_id",
            format!(
                "{id:?} is not a BrickLink minifigure ID; they look like sw0001a or cty0123 \
                 (letters, digits and dashes)."
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(needed: u32, collected: u32, new: Option<i64>, used: Option<i64>) -> MinifigPart {
        MinifigPart {
            id: 0,
            item_type: crate::ItemType::Part.as_str().into(),
            item_no: "3626".into(),
            name: "Head".into(),
            color_id: 3,
            color_name: None,
            color_code: None,
            quantity: needed.max(1),
            quantity_needed: needed,
            quantity_collected: collected,
            condition: Condition::New,
            prices: Some(Prices {
                new: new.map(Money),
                used: used.map(Money),
                currency: Some("USD".into()),
                new_asked: true,
                used_asked: true,
            }),
            image: String::new(),
        }
    }

    #[test]
    fn cost_to_complete_counts_outstanding_pieces_at_new_else_used() {
        let parts = [
            part(2, 1, Some(1_0000), Some(5000)),
            part(1, 0, None, Some(2500)),
            part(1, 0, None, None),
            part(0, 0, Some(9_0000), None),
        ];
        let totals = Totals::of_parts(&parts);
        assert_eq!(totals.parts_needed, 4);
        assert_eq!(totals.parts_collected, 1);
        assert_eq!(totals.cost_to_complete, Money(1_2500));
        assert_eq!(totals.unpriced, 1);
        assert_eq!(totals.complete, 0);
        assert_eq!(totals.currency.as_deref(), Some("USD"));
        assert_eq!(totals.percent_collected(), 25);
    }

    /// A guide not asked yet is no price; one asked with nothing sold falls back to the other
    /// condition only once that one is asked too. Prices stored before carry both.
    #[test]
    fn a_guide_not_asked_is_no_price_yet() {
        let only_new = Prices {
            new: Some(Money(1_0000)),
            used: None,
            currency: Some("USD".into()),
            new_asked: true,
            used_asked: false,
        };
        assert_eq!(only_new.per_piece(Condition::New), Some(Money(1_0000)));
        assert!(!only_new.has(Condition::Used));
        assert_eq!(only_new.per_piece(Condition::Used), None);
        let nothing_sold_new = Prices {
            new: None,
            ..only_new
        };
        assert!(
            !nothing_sold_new.has(Condition::New),
            "the used guide is still to ask"
        );
        let both = Prices {
            used: Some(Money(4000)),
            used_asked: true,
            ..nothing_sold_new
        };
        assert_eq!(both.per_piece(Condition::New), Some(Money(4000)));
        let before: Prices =
            serde_json::from_str(r#"{"new": 5000, "used": null, "currency": "EUR"}"#).unwrap();
        assert!(before.has(Condition::Used) && before.has(Condition::New));
        assert_eq!(before.per_piece(Condition::Used), Some(Money(5000)));
    }

    #[test]
    fn a_minifig_is_complete_when_every_needed_piece_is_collected() {
        let totals = Totals::of_parts(&[part(2, 2, Some(1), None), part(0, 0, None, None)]);
        assert_eq!(totals.complete, 1);
        assert_eq!(totals.percent_collected(), 100);
        let loading = Totals::of_parts(&[]);
        assert_eq!((loading.complete, loading.percent_collected()), (0, 0));
        assert_eq!(totals.cost_to_complete, Money::ZERO);
        let mut list = Totals::default();
        list.add(&totals);
        list.add(&Totals::of_parts(&[part(1, 0, Some(3), None)]));
        assert_eq!((list.minifigs, list.complete, list.parts_needed), (2, 1, 3));
    }

    #[test]
    fn minifig_ids_are_checked_for_shape_only() {
        assert_eq!(bricklink_id(" SW0001a ").expect("ok"), "sw0001a");
        assert!(bricklink_id("col23-4").is_ok());
        for bad in ["", "-x", "sw 0001", "sw0001/../x", &"a".repeat(41)] {
            let err = bricklink_id(bad).expect_err(bad);
            assert_eq!(err.field, "bricklink_id");
        }
    }

    #[test]
    fn conditions_read_bricklink_letters() {
        let c: Condition = serde_json::from_str("\"U\"").expect("U");
        assert_eq!(c, Condition::Used);
        assert_eq!(
            serde_json::to_string(&Condition::New).expect("json"),
            "\"new\""
        );
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(text("notes", Some("  "), true).expect("ok"), None);
        assert!(text("name", Some(&"x".repeat(121)), false).is_err());
        assert!(list_name("").is_err());
    }
}
