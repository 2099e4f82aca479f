//! Personal API tokens: `tmt_<public id>_<secret><checksum>`.
//!
//! - `<public id>` = token id (16) + user id (16), base62: it names the token item and the
//!   membership item so the gate reads token, membership and workspace in one batch.
//! - `<secret>` = 43 base62 characters (≥ 256 random bits).
//! - `<checksum>` = CRC-32 (IEEE) of everything before it, 6 base62 digits, most significant
//!   first, left-padded with `0`: malformed tokens are refused without a store read.
//!
//! Only HMAC-SHA-256(pepper, token) is stored; comparisons are constant-time.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::auth::pepper::Pepper;
use crate::domain::ids::{random_base62, BASE62, TOKEN_ID_LEN, USER_ID_LEN};

/// Fixed prefix that secret scanners look for.
pub const PREFIX: &str = "tmt_";
/// Length of the random secret part.
pub const SECRET_LEN: usize = 43;
/// Length of the checksum.
pub const CHECKSUM_LEN: usize = 6;

/// A syntactically valid token (checksum verified). Holds the secret in a `SecretString`.
pub struct ParsedToken {
    /// Token id (names the token item).
    pub token_id: String,
    /// User id the token claims to belong to (the stored item decides).
    pub user_id: String,
    raw: SecretString,
}

impl std::fmt::Debug for ParsedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedToken").field("token_id", &self.token_id).finish_non_exhaustive()
    }
}

impl ParsedToken {
    /// The whole token (for hashing only).
    pub fn expose(&self) -> &str {
        self.raw.expose_secret()
    }
}

/// CRC-32 of `s` as 6 base62 digits.
pub fn checksum(s: &str) -> String {
    let mut n = crc32fast::hash(s.as_bytes()) as u64;
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).expect("ascii")
}

/// Creates a new token for `user_id`; returns (token id, token).
pub fn generate(user_id: &str) -> (String, SecretString) {
    let token_id = crate::domain::ids::new_token_id();
    let body = format!("{PREFIX}{token_id}{user_id}_{}", random_base62(SECRET_LEN));
    let token = format!("{body}{}", checksum(&body));
    (token_id, SecretString::from(token))
}

/// Parses and checksums a token; `None` when malformed.
pub fn parse(s: &str) -> Option<ParsedToken> {
    let rest = s.strip_prefix(PREFIX)?;
    let (public, tail) = rest.split_once('_')?;
    if public.len() != TOKEN_ID_LEN + USER_ID_LEN || !public.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    if tail.len() < SECRET_LEN + CHECKSUM_LEN || !tail.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let split = s.len() - CHECKSUM_LEN;
    let expected = checksum(&s[..split]);
    if !bool::from(expected.as_bytes().ct_eq(&s.as_bytes()[split..])) {
        return None;
    }
    Some(ParsedToken {
        token_id: public[..TOKEN_ID_LEN].to_string(),
        user_id: public[TOKEN_ID_LEN..].to_string(),
        raw: SecretString::from(s.to_string()),
    })
}

/// Hex HMAC-SHA-256 of the token under one pepper.
pub fn hash_with(pepper: &SecretString, token: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(pepper.expose_secret().as_bytes()).expect("hmac accepts any key");
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The stored form of a token (HMAC under the current pepper).
pub fn hash(pepper: &Pepper, token: &str) -> String {
    hash_with(pepper.current(), token)
}

/// Constant-time check of a token against its stored HMAC, under the current or previous pepper.
pub fn verify(pepper: &Pepper, token: &ParsedToken, stored: &str) -> bool {
    let mut ok = subtle::Choice::from(0u8);
    for p in pepper.all() {
        let h = hash_with(p, token.expose());
        ok |= h.as_bytes().ct_eq(stored.as_bytes());
    }
    ok.into()
}

/// The non-secret hint shown in listings: prefix and last four characters.
pub fn hint(token: &str) -> String {
    format!("{PREFIX}…{}", &token[token.len() - 4..])
}

/// Mints a token for `user_id`: the secret (shown once), its hash under the pepper and its hint.
pub fn mint(pepper: &Pepper, user_id: &str) -> crate::domain::tokens::Minted {
    let (id, token) = generate(user_id);
    let secret = token.expose_secret();
    let (hash, hint) = (hash(pepper, secret), hint(secret));
    crate::domain::tokens::Minted { id, token, hash, hint }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_name_their_user() {
        let user = crate::domain::ids::new_user_id();
        let (id, t) = generate(&user);
        let p = parse(t.expose_secret()).expect("valid");
        assert_eq!(p.token_id, id);
        assert_eq!(p.user_id, user);
        assert!(t.expose_secret().len() >= 4 + 32 + 1 + 43 + 6);
    }

    #[test]
    fn a_changed_character_breaks_the_checksum() {
        let (_, t) = generate(&crate::domain::ids::new_user_id());
        let s = t.expose_secret().to_string();
        let i = s.len() - 10;
        let c = if &s[i..i + 1] == "a" { "b" } else { "a" };
        let bad = format!("{}{}{}", &s[..i], c, &s[i + 1..]);
        assert!(parse(&bad).is_none());
        assert!(parse("tmt_abc_def").is_none());
        assert!(parse("").is_none());
    }

    #[test]
    fn checksum_is_base62_of_crc32() {
        // CRC-32("123456789") = 0xCBF43926 = 3421780262 → base62 "3l9Mzg"? computed below.
        let mut n = 0xCBF43926u64;
        let mut digits = vec![];
        for _ in 0..6 {
            digits.push(BASE62[(n % 62) as usize]);
            n /= 62;
        }
        digits.reverse();
        assert_eq!(checksum("123456789"), String::from_utf8(digits).unwrap());
    }

    #[test]
    fn verify_accepts_previous_pepper_during_rotation() {
        let old = Pepper::new(SecretString::from("old-pepper".to_string()), None);
        let (_, t) = generate(&crate::domain::ids::new_user_id());
        let stored = hash(&old, t.expose_secret());
        let rotated = Pepper::new(
            SecretString::from("new-pepper".to_string()),
            Some(SecretString::from("old-pepper".to_string())),
        );
        let p = parse(t.expose_secret()).unwrap();
        assert!(verify(&rotated, &p, &stored));
        let fresh = Pepper::new(SecretString::from("new-pepper".to_string()), None);
        assert!(!verify(&fresh, &p, &stored));
    }
}
