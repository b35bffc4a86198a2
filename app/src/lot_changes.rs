//! Edits of lots and their audit log: what a seller asks (`PUT /api/inventory/{id}`,
//! `POST /api/inventory/bulk`), the change records brickdesk keeps of each edit per lot (who,
//! what, before, after, and per marketplace how far it got), and undo.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Condition, JobId, LotId, LotItem, LotQueryParams, Marketplace, Money};

/// A change's id; also an edit's (an edit is named by its first change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeId(pub u64);

/// What happens on BrickLink when a lot outside the stockroom reaches 0 (BrickLink refuses a
/// lot at 0 there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AtZero {
    /// The lot is deleted on BrickLink.
    Delete,
    /// The lot moves to the stockroom at 0.
    Stockroom,
}

/// `PUT /api/inventory/{id}`: the fields to change; the others stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotEdit {
    /// The new quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    /// Pieces to add (negative: to take away), instead of `quantity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_change: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stockroom: Option<bool>,
    /// Needed when the lot reaches 0 on BrickLink outside the stockroom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_zero: Option<AtZero>,
    /// Goes ahead with a price that moves more than 3× (or below a third).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirm: bool,
}

/// A lot's values an edit can change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotValues {
    pub quantity: i64,
    pub unit_price: Money,
    pub remarks: String,
    pub description: String,
    pub stockroom: bool,
}

/// How far a change got on one marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SideState {
    /// Saved, waiting for its turn under the rate guard.
    Waiting,
    /// Sent; the answer was not recorded yet (after a crash it is checked, never sent twice).
    Sending,
    /// The marketplace took it.
    Applied,
    /// The marketplace refused it, or it could not be told whether it was applied.
    Failed,
}

/// A change on one marketplace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideChange {
    pub marketplace: Marketplace,
    pub state: SideState,
    /// The marketplace's quantity when the change was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_from: Option<i64>,
    /// The marketplace's quantity once applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_after: Option<i64>,
    /// Why it failed, in a seller's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One change of one lot: an entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotChange {
    pub id: ChangeId,
    /// The edit it belongs to (a bulk edit's changes share it).
    pub edit: ChangeId,
    /// How many lots the edit changed.
    pub edit_size: usize,
    pub lot: LotId,
    pub item: LotItem,
    pub color_name: Option<String>,
    pub condition: Condition,
    /// Who asked for it.
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub before: LotValues,
    pub after: LotValues,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_zero: Option<AtZero>,
    pub sides: Vec<SideChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo_of: Option<ChangeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undone_by: Option<ChangeId>,
    /// Why brickdesk made it by itself (a sale taken off the other marketplace); `None` for a
    /// person's edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<crate::ChangeCause>,
}

impl LotChange {
    /// Pieces added (negative: taken away).
    pub fn quantity_change(&self) -> i64 {
        self.after.quantity - self.before.quantity
    }

    /// The quantity `marketplace` had when the change was sent to it, if it was.
    pub fn sent_from(&self, marketplace: Marketplace) -> Option<i64> {
        self.sides
            .iter()
            .find(|s| s.marketplace == marketplace)
            .and_then(|s| s.sent_from)
    }

    /// Whether every marketplace has taken it.
    pub fn is_applied(&self) -> bool {
        self.sides.iter().all(|s| s.state == SideState::Applied)
    }

    /// Whether a marketplace still has to take it.
    pub fn is_open(&self) -> bool {
        self.sides
            .iter()
            .any(|s| matches!(s.state, SideState::Waiting | SideState::Sending))
    }
}

/// A change not yet applied on a lot (`pending` in `GET /api/inventory`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingChange {
    pub change: ChangeId,
    pub marketplace: Marketplace,
    pub state: SideState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /api/inventory/changes`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeList {
    pub changes: Vec<LotChange>,
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
}

/// `GET /api/inventory/changes` query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeQuery {
    /// Only this lot's changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<LotId>,
    /// Only this edit's changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<ChangeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<usize>,
}

/// `POST /api/inventory/changes/{id}/undo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoRequest {
    /// Undo the whole edit the change belongs to (a bulk edit), not only this change.
    #[serde(default)]
    pub whole_edit: bool,
}

/// What a bulk edit does to each selected lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum BulkOperation {
    SetQuantity(i64),
    /// ± pieces.
    AddQuantity(i64),
    SetPrice(Money),
    /// ± percent of each lot's price, rounded to the cent.
    PercentPrice(i64),
    SetRemarks(String),
    SetStockroom(bool),
    /// Each lot's price to BrickLink's sold price guide average (last six months) for its
    /// item, colour and condition.
    GuidePrice,
}

/// `POST /api/inventory/bulk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkRequest {
    /// The lots by id; or, without them, every lot `filter` matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<LotId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<LotQueryParams>,
    pub operation: BulkOperation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_zero: Option<AtZero>,
    /// Only show what would change.
    #[serde(default)]
    pub preview: bool,
    /// Goes ahead past the guard rails (after the seller saw the preview).
    #[serde(default)]
    pub confirm: bool,
}

/// One lot's line of a bulk preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewLine {
    pub lot: LotId,
    pub item: LotItem,
    pub color_name: Option<String>,
    pub before: LotValues,
    pub after: LotValues,
    /// Where the new value comes from (the price guide's type, condition, average and date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a bulk edit would do; `confirm_reasons` say why it waits for a confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkPreview {
    /// Lots the edit changes.
    pub lots: usize,
    /// Lots in the store.
    pub store_lots: usize,
    /// The first lines (at most 200).
    pub lines: Vec<PreviewLine>,
    pub confirm_reasons: Vec<String>,
    /// Lots that would reach 0 on BrickLink outside the stockroom (`at_zero` decides).
    pub reaching_zero: usize,
    /// Lots whose price guide brickdesk is reading from BrickLink now (`job_ids`): preview
    /// again once those jobs end.
    #[serde(default)]
    pub guides_missing: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub job_ids: Vec<JobId>,
}

/// `202` of an edit: the jobs that apply it and its changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditQueued {
    pub job_ids: Vec<JobId>,
    /// The edit's id (its first change), `None` when nothing changed.
    pub edit: Option<ChangeId>,
    pub changes: usize,
}

/// `POST /api/inventory/bulk`: a preview (nothing done), or the edit queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BulkAnswer {
    Queued(EditQueued),
    Preview(BulkPreview),
}

/// A price moved by more than this factor (either way) waits for a confirmation.
pub const PRICE_GUARD_FACTOR: i64 = 3;

/// Whether `to` is more than 3× `from` or below a third of it.
pub fn price_jump(from: Money, to: Money) -> bool {
    from.0 > 0 && (to.0 > from.0 * PRICE_GUARD_FACTOR || to.0 * PRICE_GUARD_FACTOR < from.0)
}
