//! The three reports (utilization, cost, profitability), computed from the aggregates of
//! [`crate::domain::aggregates`]: items read are proportional to members × weeks (or
//! projects × weeks), never to entries.

use std::collections::{BTreeSet, HashMap};

use jiff::civil::Date;
use jiff::ToSpan;
use serde_json::{json, Value};

use crate::domain::aggregates::{read, week_of, Read, Sums};
use crate::domain::capacity::History;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::model::{centihours_json, from_body, Membership};
use crate::domain::rules::MAX_REPORT_DAYS;
use crate::store::keys::{self, WorkspaceKey};
use crate::store::{paging, Store};

/// `round(x / 3600)` half away from zero.
pub fn round_hours(x: i128) -> i64 {
    let q = (x.abs() + 1800) / 3600;
    (if x < 0 { -q } else { q }) as i64
}

/// `round(n / d, 1 decimal)` as a JSON number, half away from zero; `null` when `d == 0`.
pub fn percent(n: i128, d: i128) -> Value {
    if d == 0 {
        return Value::Null;
    }
    // tenths = round(10 n / d)
    let (num, den) = (10 * n.abs(), d.abs());
    let t = (2 * num + den) / (2 * den);
    let t = if (n < 0) != (d < 0) { -t } else { t };
    json!(t as f64 / 10.0)
}

/// A validated report range (inclusive local dates).
#[derive(Clone, Copy, Debug)]
pub struct Range {
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
}

impl Range {
    /// Validates `from`/`to`: required, `from ≤ to`, at most 366 days counting both ends.
    pub fn parse(from: Option<Date>, to: Option<Date>) -> ApiResult<Range> {
        let from = from.ok_or_else(|| ApiError::query("from", "is required (YYYY-MM-DD)"))?;
        let to = to.ok_or_else(|| ApiError::query("to", "is required (YYYY-MM-DD)"))?;
        if to < from {
            return Err(ApiError::query("to", "must not be before from"));
        }
        let days = from.until(to).map(|s| s.get_days() as i64 + 1).unwrap_or(i64::MAX);
        if days > MAX_REPORT_DAYS {
            return Err(ApiError::query("to", "the range may span at most 366 days"));
        }
        Ok(Range { from, to })
    }
}

/// Items the last report read (for the benchmark).
pub struct Report {
    /// The response body.
    pub body: Value,
    /// Aggregate items read.
    pub items_read: usize,
}

fn money(s: i64, c: i128) -> Value {
    json!({"seconds": s, "cost_cents": round_hours(c)})
}

fn figures(s: &Sums) -> (Value, Value, Value) {
    (money(s.bs, s.bc), money(s.ns, s.nc), money(s.seconds(), s.bc + s.nc))
}

async fn memberships(store: &dyn Store, ws: &WorkspaceKey) -> ApiResult<Vec<Membership>> {
    let rows = paging::query_all(store, keys::memberships(ws)).await?;
    rows.into_iter().map(|(item, _)| from_body(item)).collect()
}

/// The Mondays of the ISO weeks the range touches (checked: the week after 9999-12-27
/// does not exist).
fn weeks(range: Range) -> Vec<Date> {
    let mut weeks = vec![];
    let mut w = Some(week_of(range.from));
    while let Some(d) = w.filter(|d| *d <= range.to) {
        weeks.push(d);
        w = d.checked_add(7.days()).ok();
    }
    weeks
}

/// The utilization figures of one member-week from the capacity history, day by day:
/// `(expected_weekly_capacity_hours, capacity_hours, utilization_percent)`.
fn week_capacity(history: &History, week: Date, range: Range, tracked: i64) -> (Value, Value, Value) {
    let days: Vec<Date> =
        (0..7).filter_map(|i| week.checked_add(i.days()).ok()).filter(|d| *d >= range.from && *d <= range.to).collect();
    let expected = days.first().and_then(|d| history.on(*d));
    let weekdays: Vec<Option<i64>> =
        days.iter().filter(|d| d.weekday().to_monday_zero_offset() < 5).map(|d| history.on(*d)).collect();
    if weekdays.is_empty() {
        return (centihours_json(expected), json!(0), Value::Null);
    }
    if weekdays.iter().all(Option::is_none) {
        return (centihours_json(expected), Value::Null, Value::Null);
    }
    // Σ capacity (hundredths of an hour per week) over the weekdays; capacity_hours = Σ / 5.
    let sum: i128 = weekdays.iter().map(|c| c.unwrap_or(0) as i128).sum();
    let capacity = (2 * sum + 5) / 10;
    // tracked_hours / capacity_hours × 100 = tracked × 5 × 100 × 100 / (3600 × Σ)
    let pct = percent(tracked as i128 * 50_000, 3600 * sum);
    (centihours_json(expected), centihours_json(Some(capacity as i64)), pct)
}

/// `GET /reports/utilization`: members active now or with time in the range, per ISO week;
/// capacity from each member's history (kept in the membership items read anyway).
pub async fn utilization(store: &dyn Store, ws: &WorkspaceKey, range: Range) -> ApiResult<Report> {
    let (r, members) = tokio::try_join!(read(store, ws, range.from, range.to, true), memberships(store, ws))?;
    let history: HashMap<&str, &History> = members.iter().map(|m| (m.user_id.as_str(), &m.capacity)).collect();
    let mut users: BTreeSet<String> = members.iter().filter(|m| m.is_active()).map(|m| m.user_id.clone()).collect();
    users.extend(r.by.iter().filter(|(_, s)| s.seconds() != 0).map(|((u, _), _)| u.clone()));
    let none = History::default();
    let mut data = vec![];
    for week in &weeks(range) {
        for u in &users {
            let tracked = r.by.get(&(u.clone(), *week)).map(Sums::seconds).unwrap_or(0);
            let h = history.get(u.as_str()).copied().unwrap_or(&none);
            let (expected, capacity, pct) = week_capacity(h, *week, range, tracked);
            data.push(json!({
                "user_id": u, "week_start": week.to_string(), "tracked_seconds": tracked,
                "expected_weekly_capacity_hours": expected, "capacity_hours": capacity,
                "utilization_percent": pct,
            }));
        }
    }
    Ok(Report {
        body: json!({"from": range.from.to_string(), "to": range.to.to_string(), "data": data}),
        items_read: r.items + members.len(),
    })
}

fn subject_order(a: &str, b: &str) -> std::cmp::Ordering {
    (a == "-").cmp(&(b == "-")).then(a.cmp(b))
}

fn by_subject(r: &Read) -> Vec<(String, Sums)> {
    let mut m: HashMap<String, Sums> = HashMap::new();
    for ((s, _), v) in &r.by {
        m.entry(s.clone()).or_default().add(v, 1);
    }
    let mut v: Vec<(String, Sums)> = m.into_iter().filter(|(_, s)| s.seconds() != 0).collect();
    v.sort_by(|a, b| subject_order(&a.0, &b.0));
    v
}

/// `GET /reports/cost` with optional `group_by=member|project`.
pub async fn cost(store: &dyn Store, ws: &WorkspaceKey, range: Range, group_by: Option<&str>) -> ApiResult<Report> {
    let member = group_by != Some("project");
    let r = read(store, ws, range.from, range.to, member).await?;
    let subjects = by_subject(&r);
    let mut total = Sums::default();
    for (_, s) in &subjects {
        total.add(s, 1);
    }
    let (b, n, t) = figures(&total);
    let mut body = json!({"from": range.from.to_string(), "to": range.to.to_string(), "billable": b, "non_billable": n, "total": t});
    if let Some(g) = group_by {
        let id_field = if g == "member" { "user_id" } else { "project_id" };
        let groups: Vec<Value> = subjects
            .iter()
            .map(|(id, s)| {
                let (b, n, t) = figures(s);
                let id = if id == "-" { Value::Null } else { json!(id) };
                json!({id_field: id, "billable": b, "non_billable": n, "total": t})
            })
            .collect();
        body["groups"] = json!(groups);
    }
    Ok(Report { body, items_read: r.items })
}

/// `GET /reports/profitability`.
pub async fn profitability(store: &dyn Store, ws: &WorkspaceKey, range: Range) -> ApiResult<Report> {
    let r = read(store, ws, range.from, range.to, false).await?;
    let data: Vec<Value> = by_subject(&r)
        .iter()
        .map(|(id, s)| {
            let revenue = round_hours(s.br);
            let cost = round_hours(s.bc + s.nc);
            let profit = revenue - cost;
            json!({
                "project_id": if id == "-" { Value::Null } else { json!(id) },
                "billable_seconds": s.bs, "non_billable_seconds": s.ns,
                "revenue_cents": revenue, "cost_cents": cost, "profit_cents": profit,
                "margin_percent": percent(profit as i128 * 100, revenue as i128),
            })
        })
        .collect();
    Ok(Report {
        body: json!({"from": range.from.to_string(), "to": range.to.to_string(), "data": data}),
        items_read: r.items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round_hours(1800), 1);
        assert_eq!(round_hours(1799), 0);
        assert_eq!(round_hours(-1800), -1);
        assert_eq!(percent(100, 8), json!(12.5));
        assert_eq!(percent(-100, 16), json!(-6.3));
        assert_eq!(percent(5, 0), Value::Null);
        // 32 h of 40 h.
        assert_eq!(percent(32 * 3600 * 50_000, 3600 * 4000 * 5), json!(80.0));
    }

    #[test]
    fn weeks_start_on_monday() {
        let d: Date = "2026-03-05".parse().unwrap(); // Thursday
        assert_eq!(week_of(d).to_string(), "2026-03-02");
        assert_eq!(week_of("2026-03-02".parse().unwrap()).to_string(), "2026-03-02");
        assert_eq!(week_of("2026-03-08".parse().unwrap()).to_string(), "2026-03-02");
    }

    #[test]
    fn weeks_reach_the_last_representable_date() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let r = Range::parse(Some(d("9999-12-20")), Some(d("9999-12-31"))).unwrap();
        assert_eq!(weeks(r), vec![d("9999-12-20"), d("9999-12-27")]);
        let r = Range::parse(Some(d("9999-12-28")), Some(Date::MAX)).unwrap();
        assert_eq!(weeks(r), vec![d("9999-12-27")]);
    }

    #[test]
    fn ranges_over_366_days_are_refused() {
        let d = |s: &str| Some(s.parse::<Date>().unwrap());
        assert!(Range::parse(d("2024-01-01"), d("2024-12-31")).is_ok()); // 366 days (leap year)
        assert!(Range::parse(d("2025-01-01"), d("2026-01-02")).is_err());
        assert!(Range::parse(d("2025-01-02"), d("2025-01-01")).is_err());
        assert!(Range::parse(None, d("2025-01-01")).is_err());
    }
}
