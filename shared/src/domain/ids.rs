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

/// A request id: `req_` and 20 base62 characters, ten from each of two 64-bit draws of the
/// thread's CSPRNG (a fixed-size value: no string is built, no per-character draw). Unique,
/// not secret: `u64 % 62^10` leaves each character close to uniform, which is all an id needs.
pub fn request_id() -> [u8; 24] {
    let mut out = *b"req_00000000000000000000";
    let mut rng = rand::thread_rng();
    for half in out[4..].chunks_mut(10) {
        let mut n: u64 = rng.gen();
        for b in half {
            *b = BASE62[(n % 62) as usize];
            n /= 62;
        }
    }
    out
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

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_req_and_twenty_base62_characters_never_repeated() {
        let ids: std::collections::HashSet<[u8; 24]> = (0..10_000).map(|_| super::request_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in &ids {
            assert!(id.starts_with(b"req_") && id[4..].iter().all(u8::is_ascii_alphanumeric), "{id:?}");
        }
        // Every position takes many values (a stuck digit would show here).
        for i in 4..24 {
            let seen: std::collections::HashSet<u8> = ids.iter().map(|id| id[i]).collect();
            assert!(seen.len() > 50, "position {i}: {} values", seen.len());
        }
    }
}
