//! Opaque list cursors bound to the workspace, the endpoint and the filters that made them.
//!
//! `base64url(json state) . base64url(HMAC(cursor key, scope . payload)[..16])`: a forged,
//! tampered or foreign cursor fails the MAC and is refused (400 `invalid_cursor`) before
//! the store sees it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::error::{ApiError, ApiResult};

/// The secret that signs cursors (derived from the pepper by the app state).
pub struct CursorKey(SecretString);

impl CursorKey {
    /// Wraps a secret.
    pub fn new(secret: SecretString) -> Self {
        CursorKey(secret)
    }
}

fn mac(key: &CursorKey, scope: &str, payload: &str) -> String {
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(key.0.expose_secret().as_bytes()) else {
        unreachable!("HMAC takes keys of any length")
    };
    m.update(scope.as_bytes());
    m.update(b"\n");
    m.update(payload.as_bytes());
    URL_SAFE_NO_PAD.encode(&m.finalize().into_bytes()[..16])
}

/// Encodes a cursor for `scope` (workspace id, endpoint and canonical filters).
pub fn encode<T: Serialize>(key: &CursorKey, scope: &str, state: &T) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(state).expect("cursor state serializes"));
    let sig = mac(key, scope, &payload);
    format!("{payload}.{sig}")
}

/// Decodes a cursor made for exactly this `scope`; anything else is `invalid_cursor`.
pub fn decode<T: DeserializeOwned>(key: &CursorKey, scope: &str, cursor: &str) -> ApiResult<T> {
    let (payload, sig) = cursor.split_once('.').ok_or(ApiError::InvalidCursor)?;
    let expected = mac(key, scope, payload);
    if !bool::from(expected.as_bytes().ct_eq(sig.as_bytes())) {
        return Err(ApiError::InvalidCursor);
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| ApiError::InvalidCursor)?;
    serde_json::from_slice(&bytes).map_err(|_| ApiError::InvalidCursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_only_decode_in_their_scope() {
        let p = CursorKey::new(SecretString::from("pepper-for-tests".to_string()));
        let c = encode(&p, "ws_a|clients|archived=", &("item-1", 7));
        let back: (String, i32) = decode(&p, "ws_a|clients|archived=", &c).unwrap();
        assert_eq!(back, ("item-1".to_string(), 7));
        assert!(decode::<(String, i32)>(&p, "ws_b|clients|archived=", &c).is_err());
        assert!(decode::<(String, i32)>(&p, "ws_a|clients|archived=true", &c).is_err());
        let tampered = format!("x{c}");
        assert!(decode::<(String, i32)>(&p, "ws_a|clients|archived=", &tampered).is_err());
        assert!(decode::<(String, i32)>(&p, "ws_a|clients|archived=", "garbage").is_err());
    }
}
