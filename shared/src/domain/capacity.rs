//! Capacity history: a member's expected weekly capacity as effective-dated values, so a
//! change never rewrites the weeks before it (the promise the cost snapshot makes for money).
//!
//! The history lives inside the membership item (no extra item for the gate or reports to
//! read). The first period starts "since always" (`from: None`); later ones on a local day of
//! the workspace time zone. A period's value may be `None` ("no capacity from that day").

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Most periods one history may hold (the item stays far below DynamoDB's 400 KB).
pub const MAX_PERIODS: usize = 200;

/// One period: from a day (or since always) until the next period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// First day (`YYYY-MM-DD`, workspace time zone); `None`: since always.
    #[serde(with = "day")]
    pub from: Option<Date>,
    /// Hundredths of an hour per week; `None`: no capacity.
    pub centihours: Option<i64>,
}

/// `Option<Date>` as `null` or `"YYYY-MM-DD"` (jiff is built without its serde feature).
mod day {
    use jiff::civil::Date;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&d.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| s.parse().map_err(serde::de::Error::custom)).transpose()
    }
}

/// The periods, ascending by `from` (a `None` first, when any).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct History(pub Vec<Period>);

impl History {
    /// A history of one value since always (`None`: no history at all).
    pub fn always(centihours: Option<i64>) -> History {
        History(centihours.map(|c| vec![Period { from: None, centihours: Some(c) }]).unwrap_or_default())
    }

    /// Sets the capacity from `day` until the next later period, which stays; a period
    /// starting the same day is replaced. An empty history first gets a "no capacity since
    /// always" period, so the history still starts with `from: None`.
    pub fn set_from(&mut self, day: Date, centihours: Option<i64>) {
        if self.0.is_empty() {
            self.0.push(Period { from: None, centihours: None });
        }
        self.0.retain(|p| p.from != Some(day));
        let at = self.0.iter().position(|p| p.from.is_some_and(|f| f > day)).unwrap_or(self.0.len());
        self.0.insert(at, Period { from: Some(day), centihours });
        if self.0.iter().all(|p| p.centihours.is_none()) {
            self.0.clear();
        }
    }

    /// The capacity in force on `day`.
    pub fn on(&self, day: Date) -> Option<i64> {
        self.0.iter().take_while(|p| p.from.is_none_or(|f| f <= day)).last().and_then(|p| p.centihours)
    }

    /// Whether the history is over [`MAX_PERIODS`].
    pub fn too_long(&self) -> bool {
        self.0.len() > MAX_PERIODS
    }

    /// API representation: `[{effective_from, expected_weekly_capacity_hours}]`.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.0
                .iter()
                .map(|p| {
                    json!({
                        "effective_from": p.from.map(|d| d.to_string()),
                        "expected_weekly_capacity_hours": centihours_json(p.centihours),
                    })
                })
                .collect(),
        )
    }
}

/// Hundredths of an hour as a JSON number (`40`, `37.5`).
pub fn centihours_json(c: Option<i64>) -> Value {
    match c {
        None => Value::Null,
        Some(c) if c % 100 == 0 => json!(c / 100),
        Some(c) => json!(c as f64 / 100.0),
    }
}

/// Today in a time zone (UTC when the zone is unknown).
pub fn today_in(tz: &str) -> Date {
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::now().to_zoned(zone).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn dated_changes_keep_the_past_and_later_periods() {
        let mut h = History::always(Some(4000));
        h.set_from(d("2026-07-01"), Some(2000));
        h.set_from(d("2026-03-01"), Some(3000));
        assert_eq!(h.on(d("2026-01-05")), Some(4000));
        assert_eq!(h.on(d("2026-03-01")), Some(3000));
        assert_eq!(h.on(d("2026-06-30")), Some(3000));
        assert_eq!(h.on(d("2026-07-01")), Some(2000));
        h.set_from(d("2026-03-01"), None);
        assert_eq!(h.0.len(), 3);
        assert_eq!(h.on(d("2026-03-02")), None);
        assert_eq!(h.on(d("2026-07-02")), Some(2000));
    }

    #[test]
    fn an_empty_history_starts_with_no_capacity() {
        let mut h = History::default();
        assert_eq!(h.on(d("2026-01-01")), None);
        h.set_from(d("2026-07-01"), Some(2000));
        assert_eq!(h.0[0], Period { from: None, centihours: None });
        assert_eq!(h.on(d("2026-06-30")), None);
        assert_eq!(h.on(d("2026-07-01")), Some(2000));
        let mut h = History::default();
        h.set_from(d("2026-07-01"), None);
        assert_eq!(h, History::default());
    }
}
