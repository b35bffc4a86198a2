//! Stored values: one version byte, then JSON. The version byte lets a later schema read old
//! records; JSON keeps a damaged database inspectable by hand.

use serde::{Serialize, de::DeserializeOwned};

use super::StoreError;

const VERSION: u8 = 1;

/// Encodes a record for storage.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = vec![VERSION];
    // Serialising plain structs of strings and numbers into a Vec cannot fail.
    serde_json::to_writer(&mut bytes, value).unwrap_or_else(|e| panic!("encode record: {e}"));
    bytes
}

/// Decodes a record read from `tree` under `key`: a damaged one is named by both.
pub fn decode_at<T: DeserializeOwned>(
    tree: &sled::Tree,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    decode(bytes).map_err(|err| match err {
        StoreError::Corrupt(reason) => StoreError::Damaged {
            tree: String::from_utf8_lossy(&tree.name()).into_owned(),
            key: readable(key),
            reason,
        },
        other => other,
    })
}

/// A key as text when it is printable, else in hex.
pub(super) fn readable(key: &[u8]) -> String {
    if !key.is_empty() && key.iter().all(|b| b.is_ascii_graphic()) {
        String::from_utf8_lossy(key).into_owned()
    } else {
        key.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Decodes a stored record.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&VERSION, json)) => {
            serde_json::from_slice(json).map_err(|e| StoreError::Corrupt(e.to_string()))
        }
        Some((version, _)) => Err(StoreError::Corrupt(format!(
            "unknown record version {version}"
        ))),
        None => Err(StoreError::Corrupt("empty record".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_unknown_versions() {
        let bytes = encode(&("a", 1u32));
        assert_eq!(bytes[0], VERSION);
        assert_eq!(
            decode::<(String, u32)>(&bytes).expect("decodes"),
            ("a".to_owned(), 1)
        );
        assert!(decode::<(String, u32)>(&[9, b'1']).is_err());
        assert!(decode::<(String, u32)>(&[]).is_err());
    }
}
