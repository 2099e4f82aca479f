//! Report aggregates: every entry change adds its delta (old contribution out, new one in)
//! to four additive items in the same transaction — member×week, member×day, project×week
//! and project×day, keyed by the entry's local start date in the workspace time zone (stored
//! on the entry when written). Sums are integer seconds and integer `seconds × rate`
//! products, so rounding happens once, at read time. A range reads the weekly items of the
//! full weeks inside it and the daily items of the partial weeks at its edges: items read are
//! proportional to members × weeks (or projects × weeks) × shards, never to entries.
//!
//! Each entry counts in one shard (`TimeEntry::shard`, from a hash of its id): concurrent
//! writers to one project or member update different sub-items instead of queueing on one,
//! and a read sums the shards it finds (an item per shard actually written).

use std::collections::{BTreeMap, HashMap};

use jiff::civil::{Date, Weekday};
use jiff::ToSpan;
use serde_json::Value;

use crate::domain::error::ApiResult;
use crate::domain::model::TimeEntry;
use crate::store::keys::{self, AggKind, WorkspaceKey};
use crate::store::paging;
use crate::store::{Cond, Item, Query, SkRange, Store, Write};

/// Additive sums held by one aggregate item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sums {
    /// Billable seconds.
    pub bs: i64,
    /// Non-billable seconds.
    pub ns: i64,
    /// Σ seconds × internal cost (cents/h), billable entries.
    pub bc: i128,
    /// Σ seconds × internal cost, non-billable entries.
    pub nc: i128,
    /// Σ seconds × billable rate (cents/h), billable entries.
    pub br: i128,
}

impl Sums {
    /// The contribution of a completed entry.
    pub fn of(e: &TimeEntry) -> Option<Sums> {
        let d = e.duration()?;
        let c = e.internal_hourly_cost_cents.unwrap_or(0) as i128;
        let r = e.billable_rate_cents.unwrap_or(0) as i128;
        Some(if e.billable {
            Sums { bs: d, bc: d as i128 * c, br: d as i128 * r, ..Default::default() }
        } else {
            Sums { ns: d, nc: d as i128 * c, ..Default::default() }
        })
    }
    /// Adds `o` times `sign`.
    pub fn add(&mut self, o: &Sums, sign: i64) {
        self.bs += o.bs * sign;
        self.ns += o.ns * sign;
        self.bc += o.bc * sign as i128;
        self.nc += o.nc * sign as i128;
        self.br += o.br * sign as i128;
    }
    fn is_zero(&self) -> bool {
        *self == Sums::default()
    }
    fn from_item(i: &Item) -> Sums {
        let n = |k: &str| i.get(k).and_then(Value::as_i64).unwrap_or(0);
        Sums { bs: n("bs"), ns: n("ns"), bc: n("bc") as i128, nc: n("nc") as i128, br: n("br") as i128 }
    }
    /// Tracked seconds.
    pub fn seconds(&self) -> i64 {
        self.bs + self.ns
    }
}

/// The Monday of a date's ISO week.
pub fn week_of(d: Date) -> Date {
    d.checked_sub((d.weekday().to_monday_zero_offset() as i64).days()).unwrap_or(d)
}

/// The local date of an instant in a time zone (UTC when the zone is unknown).
pub fn local_day(start: i64, tz: &str) -> String {
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    let ts = jiff::Timestamp::from_second(start).unwrap_or_default();
    ts.to_zoned(zone).date().to_string()
}

/// An aggregate item: kind, period, subject, shard.
type AggKey = (AggKind, String, String, u8);

/// What an entry adds to the aggregates: four items, in the entry's own shard.
fn contributions(e: &TimeEntry) -> Vec<(AggKey, Sums)> {
    let (Some(s), Some(day)) = (Sums::of(e), e.local_day.as_deref()) else {
        return vec![];
    };
    let Ok(date) = day.parse::<Date>() else {
        return vec![];
    };
    let week = week_of(date).to_string();
    let project = e.project_id.clone().unwrap_or_else(|| "-".into());
    vec![
        ((AggKind::MemberWeek, week.clone(), e.user_id.clone(), e.shard), s),
        ((AggKind::MemberDay, day.to_string(), e.user_id.clone(), e.shard), s),
        ((AggKind::ProjectWeek, week, project.clone(), e.shard), s),
        ((AggKind::ProjectDay, day.to_string(), project, e.shard), s),
    ]
}

/// The aggregate updates for an entry going from `before` to `after` (either may be absent).
pub fn aggregate_writes(ws: &WorkspaceKey, before: Option<&TimeEntry>, after: Option<&TimeEntry>) -> Vec<Write> {
    merged_aggregate_writes(ws, &[(before, after)])
}

/// The aggregate updates of several entry changes in one transaction: the deltas of every
/// change summed per aggregate item (a transaction may name each item once).
pub fn merged_aggregate_writes(ws: &WorkspaceKey, changes: &[(Option<&TimeEntry>, Option<&TimeEntry>)]) -> Vec<Write> {
    let mut delta: BTreeMap<AggKey, Sums> = BTreeMap::new();
    for (before, after) in changes {
        for (k, s) in before.map(contributions).unwrap_or_default() {
            delta.entry(k).or_default().add(&s, -1);
        }
        for (k, s) in after.map(contributions).unwrap_or_default() {
            delta.entry(k).or_default().add(&s, 1);
        }
    }
    delta
        .into_iter()
        .filter(|(_, s)| !s.is_zero())
        .map(|((kind, period, subject, shard), s)| {
            let add: Vec<(String, i64)> =
                [("bs", s.bs as i128), ("ns", s.ns as i128), ("bc", s.bc), ("nc", s.nc), ("br", s.br)]
                    .into_iter()
                    .filter(|(_, v)| *v != 0)
                    .map(|(k, v)| (k.to_string(), v as i64))
                    .collect();
            let key = keys::aggregate(ws, kind, &period, &subject, shard);
            Write::Update { key, set: Item::new(), add, cond: Cond::None }
        })
        .collect()
}

/// Sums read for one range: per (subject, week Monday) over the days of the range.
pub struct Read {
    /// Sums per (subject, week Monday).
    pub by: HashMap<(String, Date), Sums>,
    /// Aggregate items read.
    pub items: usize,
}

async fn query_span(
    store: &dyn Store,
    ws: &WorkspaceKey,
    kind: AggKind,
    from: Date,
    to: Date,
) -> ApiResult<Vec<(String, Date, Sums)>> {
    let (a, b) = keys::aggregate_range(kind, &from.to_string(), &to.to_string());
    let q = Query {
        partition: keys::aggregates(ws),
        range: SkRange::Between(a, b),
        forward: true,
        limit: 1000,
        start: None,
    };
    let rows = paging::query_all(store, q).await?;
    Ok(rows
        .iter()
        .filter_map(|(item, pos)| {
            let (period, subject) = keys::parse_aggregate(&pos.sk)?;
            Some((subject.to_string(), period.parse::<Date>().ok()?, Sums::from_item(item)))
        })
        .collect())
}

/// The spans a range reads: `(weekly?, first, last)` — weekly items for the full weeks
/// inside it (`first`/`last` are Mondays), daily items for the partial weeks at its edges.
/// Checked arithmetic: near the end of the civil calendar (9999-12-31) the week after the
/// last one does not exist, which simply means "no further full week".
fn spans(from: Date, to: Date) -> Vec<(bool, Date, Date)> {
    let first_full =
        if from.weekday() == Weekday::Monday { Some(from) } else { week_of(from).checked_add(7.days()).ok() };
    let last_full_monday =
        if to.weekday() == Weekday::Sunday { Some(week_of(to)) } else { week_of(to).checked_sub(7.days()).ok() };
    match (first_full, last_full_monday) {
        (Some(first), Some(last)) if first <= last => {
            let mut v = vec![(true, first, last)];
            if let Some(before) = first.checked_sub(1.day()).ok().filter(|d| from <= *d) {
                v.push((false, from, before));
            }
            if let Some(after) = last.checked_add(7.days()).ok().filter(|d| *d <= to) {
                v.push((false, after, to));
            }
            v
        }
        _ => vec![(false, from, to)],
    }
}

/// Reads sums per (subject, week) over a range: weekly items for the full weeks inside it,
/// daily items for the days of the partial weeks at its edges.
pub async fn read(store: &dyn Store, ws: &WorkspaceKey, from: Date, to: Date, member: bool) -> ApiResult<Read> {
    let (wk, dy) =
        if member { (AggKind::MemberWeek, AggKind::MemberDay) } else { (AggKind::ProjectWeek, AggKind::ProjectDay) };
    let spans: Vec<(AggKind, Date, Date)> =
        spans(from, to).into_iter().map(|(weekly, a, b)| (if weekly { wk } else { dy }, a, b)).collect();
    let results =
        futures::future::try_join_all(spans.iter().map(|(k, a, b)| query_span(store, ws, *k, *a, *b))).await?;
    let mut by: HashMap<(String, Date), Sums> = HashMap::new();
    let mut items = 0;
    for rows in results {
        items += rows.len();
        for (subject, period, s) in rows {
            by.entry((subject, week_of(period))).or_default().add(&s, 1);
        }
    }
    Ok(Read { by, items })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every day of the range is read exactly once, by a weekly item (whole week inside the
    /// range) or a daily one — including ranges ending at the last representable date.
    fn covers_exactly(from: Date, to: Date) {
        let mut days = vec![];
        for (weekly, a, b) in spans(from, to) {
            let mut d = Some(a);
            while let Some(x) = d.filter(|x| *x <= b) {
                if weekly {
                    assert_eq!(x, week_of(x), "weekly spans step over Mondays");
                    let sunday = x.checked_add(6.days()).unwrap();
                    assert!(from <= x && sunday <= to, "a weekly item outside the range");
                    days.extend((0..7).map(|i| x.checked_add(i.days()).unwrap()));
                    d = x.checked_add(7.days()).ok();
                } else {
                    days.push(x);
                    d = x.checked_add(1.day()).ok();
                }
            }
        }
        days.sort();
        let mut want = vec![];
        let mut d = Some(from);
        while let Some(x) = d.filter(|x| *x <= to) {
            want.push(x);
            d = x.checked_add(1.day()).ok();
        }
        assert_eq!(days, want, "{from}..{to}");
    }

    #[test]
    fn spans_cover_every_range_near_the_calendar_edges() {
        for base in [Date::MAX, "2026-03-31".parse().unwrap(), "0000-01-20".parse().unwrap()] {
            for back_to in 0..10 {
                let to = base.checked_sub((back_to as i64).days()).unwrap();
                for len in 0..30 {
                    covers_exactly(to.checked_sub((len as i64).days()).unwrap(), to);
                }
            }
        }
    }
}
