//! Upgrades never strand stored data: records as schema 1 wrote them
//! (`server/tests/golden/records.json`) are put into their trees under their keys, the store
//! is marked schema 1, and after a reopen (which runs every migration step since) the store
//! reads every one back through its public face.

use app::{ActivityKind, ListId, Marketplace, MinifigId, OrderStatus, UserId};
use serde_json::Value;
use time::OffsetDateTime;

use super::{Store, keys};

fn golden() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/records.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("golden file")).expect("json")
}

/// The bytes a schema-1 store holds for `value`: the version byte, then the JSON.
fn stored(value: &Value) -> Vec<u8> {
    let mut bytes = vec![1u8];
    bytes.extend_from_slice(value.to_string().as_bytes());
    bytes
}

#[test]
fn every_schema_1_record_reads_back_after_an_upgrade() {
    let golden = golden();
    assert_eq!(golden["schema"], 1, "these are schema 1's records");
    let dir = tempfile::tempdir().expect("tempdir");
    let anna = UserId(1);
    let token_hash = [7u8; 32];
    {
        let store = Store::open(dir.path()).expect("store");
        let db = store.db();
        let put = |tree: &str, key: &[u8], value: &Value| {
            db.open_tree(tree)
                .expect("tree")
                .insert(key, stored(value))
                .expect("insert");
        };
        put("users", &keys::user(anna), &golden["users"]);
        put("sessions", &token_hash, &golden["sessions"]);
        let connection = keys::user_scoped(anna, &[Marketplace::BrickLink.tag()]);
        put("connections", &connection, &golden["connections"]);
        let mut order = vec![Marketplace::BrickLink.tag()];
        order.extend_from_slice(&7u64.to_be_bytes());
        put(
            "orders",
            &keys::user_scoped(anna, &order),
            &golden["orders"],
        );
        for (n, entry) in golden["activity"]
            .as_array()
            .expect("list")
            .iter()
            .enumerate()
        {
            let mut suffix = (1_000u64 + n as u64).to_be_bytes().to_vec();
            suffix.extend_from_slice(&0u32.to_be_bytes());
            put("activity", &keys::user_scoped(anna, &suffix), entry);
        }
        let list = keys::user_scoped(anna, &1u64.to_be_bytes());
        put("minifig_lists", &list, &golden["minifig_lists"]);
        let mut minifig = list;
        minifig.extend_from_slice(&2u64.to_be_bytes());
        put("minifigs", &minifig, &golden["minifigs"]);
        db.open_tree("meta")
            .expect("meta")
            .insert(super::SCHEMA_KEY, &1u32.to_be_bytes())
            .expect("mark schema 1");
        store.flush_blocking().expect("flush");
    }
    let store = Store::open(dir.path()).expect("reopens");
    let user = store.users().get(anna).expect("reads").expect("there");
    assert_eq!((user.username.as_str(), user.disabled), ("anna", false));
    let when = OffsetDateTime::now_utc();
    let session = store.sessions().get(&token_hash, when).expect("reads");
    assert_eq!(session.expect("there").user_id, anna);
    let connection = store
        .connections()
        .get(anna, Marketplace::BrickLink)
        .expect("reads");
    assert_eq!(connection.expect("there").generation, 3);
    let order = store
        .orders()
        .get(anna, Marketplace::BrickLink, "7")
        .expect("reads");
    assert_eq!(order.expect("there").summary.status, OrderStatus::Paid);
    assert_eq!(
        store.orders().count(anna),
        1,
        "step 2 indexed the schema 1 order"
    );
    let listed = store.orders().list(anna, &super::OrderFilter::default());
    assert_eq!(listed.orders[0].status, OrderStatus::Paid);
    let kinds: Vec<ActivityKind> = store
        .activity()
        .recent(anna, 10)
        .expect("reads")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, [ActivityKind::Other, ActivityKind::OrderNew]);
    let list = store
        .minifigs()
        .list(anna, ListId(1))
        .expect("reads")
        .expect("there");
    assert_eq!(list.summary.name, "Star Wars");
    assert_eq!(list.minifigs.len(), 1);
    let minifig = store
        .minifigs()
        .minifig(anna, ListId(1), MinifigId(2))
        .expect("reads");
    assert_eq!(minifig.expect("there").bricklink_id, "sw0001a");
}
