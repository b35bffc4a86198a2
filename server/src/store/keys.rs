//! Big-endian key codecs, so that sled's byte order is the numeric order of ids.

use app::UserId;

use super::StoreError;

/// `user_id` as 8 big-endian bytes.
pub fn user(id: UserId) -> [u8; 8] {
    id.0.to_be_bytes()
}

/// Reads a user id from the first 8 bytes of a key.
pub fn user_from(bytes: &[u8]) -> Result<UserId, StoreError> {
    let head: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt("short user key".into()))?;
    Ok(UserId(u64::from_be_bytes(head)))
}

/// `user_id | suffix`: a record scoped to one user.
pub fn user_scoped(id: UserId, suffix: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + suffix.len());
    key.extend_from_slice(&user(id));
    key.extend_from_slice(suffix);
    key
}

/// `user_id | before | marketplace tag | order id`: a record about one order.
pub fn order(id: UserId, before: &[u8], order: &app::OrderRef) -> Vec<u8> {
    let mut suffix = Vec::with_capacity(before.len() + 1 + order.order_id.len());
    suffix.extend_from_slice(before);
    suffix.push(order.marketplace.tag());
    suffix.extend_from_slice(order.order_id.as_bytes());
    user_scoped(id, &suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_keys_sort_numerically_and_round_trip() {
        assert!(user(UserId(2)) < user(UserId(256)));
        assert_eq!(
            user_from(&user_scoped(UserId(77), b"x")).expect("decodes"),
            UserId(77)
        );
        assert!(user_from(&[1, 2]).is_err());
    }
}
