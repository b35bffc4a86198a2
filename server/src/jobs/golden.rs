//! A job queued before an upgrade still runs after it: every kind's payload as queued today
//! (`server/tests/golden/payloads.json`) decodes into its job's input, and every registered
//! kind has a fixture; a queued job record of schema 1 reads back too.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    Job, apply_lot_changes::ApplyLotChanges, bricklink_notifications::BrickLinkNotifications,
    fetch_messages::FetchMessages, fetch_minifig::FetchMinifig,
    fetch_price_guides::FetchPriceGuides, import_inventory::ImportInventory,
    import_orders::ImportOrders, poll_orders::PollOrders, prefetch_pictures::PrefetchPictures,
    reconcile_stock::ReconcileStock, send_feedback::SendFeedback, sync_colors::SyncColors,
    sync_order::SyncOrder, sync_orders_chunk::SyncOrdersChunk,
    update_order_status::UpdateOrderStatus, validate_connection::ValidateConnection,
};

fn reads<J: Job>(golden: &Value) -> &'static str
where
    J::Payload: DeserializeOwned,
{
    let fixture = golden
        .get(J::KIND)
        .unwrap_or_else(|| panic!("no fixture for {}", J::KIND));
    serde_json::from_value::<J::Payload>(fixture.clone())
        .unwrap_or_else(|e| panic!("{}: {e}", J::KIND));
    J::KIND
}

#[test]
fn every_kinds_queued_payload_still_decodes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/payloads.json");
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("golden file")).expect("json");
    let mut kinds = vec![
        reads::<ValidateConnection>(&golden),
        reads::<BrickLinkNotifications>(&golden),
        reads::<SyncOrder>(&golden),
        reads::<PollOrders>(&golden),
        reads::<ImportOrders>(&golden),
        reads::<SyncOrdersChunk>(&golden),
        reads::<UpdateOrderStatus>(&golden),
        reads::<PrefetchPictures>(&golden),
        reads::<FetchMinifig>(&golden),
        reads::<SyncColors>(&golden),
        reads::<ImportInventory>(&golden),
        reads::<ApplyLotChanges>(&golden),
        reads::<FetchPriceGuides>(&golden),
        reads::<ReconcileStock>(&golden),
        reads::<FetchMessages>(&golden),
        reads::<SendFeedback>(&golden),
    ];
    kinds.sort_unstable();
    let mut fixtures: Vec<&str> = golden
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "about")
        .collect();
    fixtures.sort_unstable();
    assert_eq!(kinds, fixtures, "one fixture per kind, no stale ones");
}

#[test]
fn a_queued_job_record_of_schema_1_reads_back() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/records.json");
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("golden file")).expect("json");
    let record: crate::queue::JobRecord =
        serde_json::from_value(golden["jobs"].clone()).expect("a job record");
    assert_eq!(record.kind, SyncOrder::KIND);
    assert_eq!(record.batch, None, "absent fields take their defaults");
    serde_json::from_value::<<SyncOrder as Job>::Payload>(record.payload).expect("its payload");
}
