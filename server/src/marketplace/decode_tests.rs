//! Decoders never panic: arbitrary JSON (and arbitrary bytes) into every wire type of both
//! marketplaces, the loose deserializers behind them included. A decoder may refuse; it may
//! not crash the worker that called it.

use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{bricklink::wire as bl, brickowl::wire as bo};

/// Any JSON value, a few levels deep, with the names the wire types look for among the keys.
fn json() -> impl Strategy<Value = Value> {
    let names = prop_oneof![
        Just("order_id".to_owned()),
        Just("status".to_owned()),
        Just("status_id".to_owned()),
        Just("date_ordered".to_owned()),
        Just("cost".to_owned()),
        Just("grand_total".to_owned()),
        Just("quantity".to_owned()),
        Just("unit_price".to_owned()),
        Just("color_id".to_owned()),
        Just("item".to_owned()),
        Just("payment".to_owned()),
        Just("meta".to_owned()),
        Just("data".to_owned()),
        Just("code".to_owned()),
        "[a-z_]{1,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::String),
        "-?[0-9]{1,25}(\\.[0-9]{0,6})?".prop_map(Value::String),
        "20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]{0,12}Z?".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(names.clone(), inner, 0..10)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn decode<T: DeserializeOwned>(value: &Value) {
    let _ = serde_json::from_value::<T>(value.clone());
    let _ = serde_json::from_value::<Vec<T>>(Value::Array(vec![value.clone()]));
}

fn decode_all(value: &Value) {
    decode::<bl::Envelope>(value);
    decode::<bl::OrderSummary>(value);
    decode::<bl::Order>(value);
    decode::<bl::OrderItem>(value);
    decode::<bl::Notification>(value);
    decode::<bl::CatalogItem>(value);
    decode::<bl::ItemImage>(value);
    decode::<bl::SubsetGroup>(value);
    decode::<bl::PriceGuide>(value);
    decode::<bl::Color>(value);
    decode::<bo::OrderSummary>(value);
    decode::<bo::Order>(value);
    decode::<bo::OrderItem>(value);
    decode::<bo::CatalogItem>(value);
    decode::<bo::IdLookup>(value);
    decode::<bo::Status>(value);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_json_into_any_wire_type_is_refused_or_read_never_a_panic(value in json()) {
        decode_all(&value);
    }

    #[test]
    fn any_bytes_into_an_envelope_are_refused_or_read_never_a_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..512)
    ) {
        let _ = serde_json::from_slice::<bl::Envelope>(&bytes);
        let _ = serde_json::from_slice::<Vec<bo::OrderSummary>>(&bytes);
        let _ = serde_json::from_slice::<bo::Order>(&bytes);
    }
}
