//! The input rules, declared once: the body validators ([`crate::domain::input::Fields`]) and
//! the OpenAPI document (feature `openapi`, built by the HTTP layer) both read these, so the
//! document's `minLength`/`maxLength`/`minimum`/`maximum`/`maxItems`/`pattern` cannot drift
//! from what the server enforces.

use crate::domain::idempotency::MAX_KEY_LEN;
use crate::domain::model::MAX_DURATION;
use crate::domain::webhook_net::MAX_URL_LEN;

/// A string field: its length range in characters, and whether it is trimmed first.
#[derive(Clone, Copy, Debug)]
pub struct Text {
    /// Fewest characters (after trimming).
    pub min: usize,
    /// Most characters (after trimming).
    pub max: usize,
    /// Trimmed before the length check (and stored trimmed).
    pub trim: bool,
}

/// An integer field's inclusive range.
#[derive(Clone, Copy, Debug)]
pub struct Int {
    /// Smallest value.
    pub min: i64,
    /// Largest value.
    pub max: i64,
}

/// Names (workspace, client, project, tag, token, a new user's name): trimmed, 1-200
/// characters, not only whitespace.
pub const NAME: Text = Text { min: 1, max: 200, trim: true };
/// What a name must match once trimmed: something not whitespace.
pub const NAME_PATTERN: &str = r"\S";
/// Time entry and webhook descriptions: up to 3000 characters, kept as sent.
pub const DESCRIPTION: Text = Text { min: 0, max: 3000, trim: false };
/// An invited email (kept exactly as sent while invited).
pub const EMAIL: Text = Text { min: 3, max: 254, trim: true };
/// An IANA time-zone name.
pub const TIMEZONE: Text = Text { min: 1, max: 100, trim: false };
/// A project color, `#rrggbb`.
pub const COLOR: Text = Text { min: 1, max: 7, trim: false };
/// What a color must match (stored lower-case).
pub const COLOR_PATTERN: &str = "^#[0-9A-Fa-f]{6}$";
/// A stored (lower-case) color.
pub const STORED_COLOR_PATTERN: &str = "^#[0-9a-f]{6}$";
/// The workspace's internal cost basis (one of [`COST_BASES`]).
pub const COST_BASIS: Text = Text { min: 1, max: 20, trim: false };
/// The values of `internal_cost_basis`.
pub const COST_BASES: [&str; 4] = ["salary", "contractor", "blended", "other"];
/// A webhook URL.
pub const WEBHOOK_URL: Text = Text { min: 1, max: MAX_URL_LEN, trim: true };
/// A project's billable rate, integer cents.
pub const HOURLY_RATE_CENTS: Int = Int { min: 0, max: 1_000_000_000 };
/// A member's internal hourly cost, integer cents.
pub const HOURLY_COST_CENTS: Int = Int { min: 0, max: 10_000_000 };
/// A member's weekly capacity in hours (at most 2 decimals).
pub const WEEKLY_CAPACITY_HOURS: Int = Int { min: 0, max: 168 };
/// A time entry's duration in seconds (at most 168 h).
pub const DURATION_SECONDS: Int = Int { min: 1, max: MAX_DURATION };
/// Most tags on one time entry.
pub const MAX_TAG_IDS: usize = 25;
/// A page size (`limit`): range and default.
pub const PAGE_LIMIT: Int = Int { min: 1, max: 200 };
/// The page size when `limit` is absent.
pub const DEFAULT_PAGE_LIMIT: usize = 50;
/// An `Idempotency-Key` header.
pub const IDEMPOTENCY_KEY: Text = Text { min: 1, max: MAX_KEY_LEN, trim: false };
/// A report range: at most this many days.
pub const MAX_REPORT_DAYS: i64 = 366;
