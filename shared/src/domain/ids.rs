//! Id generation. Ids are alphanumeric (a prefix such as `ws`, `usr`, `prj` plus base62
//! randomness): they fit the contract's `[A-Za-z0-9_-]{1,64}` and never contain `#`.

use rand::Rng;

/// The base62 alphabet, `0-9A-Za-z` (also the token checksum alphabet).
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` random base62 characters from the OS-seeded CSPRNG.
pub fn random_base62(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n).map(|_| BASE62[rng.gen_range(0..62)] as char).collect()
}

/// Length of user ids; the gate splits a token's public id at this length.
pub const USER_ID_LEN: usize = 16;
/// Length of token ids.
pub const TOKEN_ID_LEN: usize = 16;

/// A new id: `prefix` followed by random base62 up to 16 characters in all.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", random_base62(16 - prefix.len()))
}

/// A new user id (`usr…`, 16 characters).
pub fn new_user_id() -> String {
    new_id("usr")
}

/// A new token id (`tok…`, 16 characters).
pub fn new_token_id() -> String {
    new_id("tok")
}
