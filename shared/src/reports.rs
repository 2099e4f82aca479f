//! Report aggregates and the three reports (utilization, cost, profitability).
//!
//! Every entry change adds its delta (old contribution out, new one in) to four additive
//! aggregate items in the same transaction: member×week, member×day, project×week and
//! project×day, keyed by the entry's local start date in the workspace time zone (stored on
//! the entry when written). Sums are integer seconds and integer `seconds × rate` products, so
//! rounding happens once, at read time. A report over a range reads the weekly items of the
//! full weeks inside it and the daily items of the partial weeks at its edges: items read are
//! proportional to members × weeks (or projects × weeks), never to entries.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::civil::{Date, Weekday};
use jiff::ToSpan;
use serde_json::{json, Value};

use crate::entries::TimeEntry;
use crate::error::{ApiError, ApiResult};
use crate::keys::{self, AggKind, WorkspaceKey};
use crate::model::{centihours_json, from_body, Membership};
use crate::runtime::App;
use crate::store::{Cond, Item, Query, SkRange, Write};

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
    fn of(e: &TimeEntry) -> Option<Sums> {
        let d = e.duration()?;
        let c = e.internal_hourly_cost_cents.unwrap_or(0) as i128;
        let r = e.billable_rate_cents.unwrap_or(0) as i128;
        Some(if e.billable {
            Sums { bs: d, bc: d as i128 * c, br: d as i128 * r, ..Default::default() }
        } else {
            Sums { ns: d, nc: d as i128 * c, ..Default::default() }
        })
    }
    fn add(&mut self, o: &Sums, sign: i64) {
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

fn contributions(e: &TimeEntry) -> Vec<((AggKind, String, String), Sums)> {
    let (Some(s), Some(day)) = (Sums::of(e), e.local_day.as_deref()) else {
        return vec![];
    };
    let Ok(date) = day.parse::<Date>() else {
        return vec![];
    };
    let week = week_of(date).to_string();
    let project = e.project_id.clone().unwrap_or_else(|| "-".into());
    vec![
        ((AggKind::MemberWeek, week.clone(), e.user_id.clone()), s),
        ((AggKind::MemberDay, day.to_string(), e.user_id.clone()), s),
        ((AggKind::ProjectWeek, week, project.clone()), s),
        ((AggKind::ProjectDay, day.to_string(), project), s),
    ]
}

/// The aggregate updates for an entry going from `before` to `after` (either may be absent).
pub fn aggregate_writes(ws: &WorkspaceKey, before: Option<&TimeEntry>, after: Option<&TimeEntry>) -> Vec<Write> {
    let mut delta: BTreeMap<(AggKind, String, String), Sums> = BTreeMap::new();
    for (k, s) in before.map(contributions).unwrap_or_default() {
        delta.entry(k).or_default().add(&s, -1);
    }
    for (k, s) in after.map(contributions).unwrap_or_default() {
        delta.entry(k).or_default().add(&s, 1);
    }
    delta
        .into_iter()
        .filter(|(_, s)| !s.is_zero())
        .map(|((kind, period, subject), s)| {
            let add: Vec<(String, i64)> =
                [("bs", s.bs as i128), ("ns", s.ns as i128), ("bc", s.bc), ("nc", s.nc), ("br", s.br)]
                    .into_iter()
                    .filter(|(_, v)| *v != 0)
                    .map(|(k, v)| (k.to_string(), v as i64))
                    .collect();
            Write::Update { key: keys::aggregate(ws, kind, &period, &subject), set: Item::new(), add, cond: Cond::None }
        })
        .collect()
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
        if days > 366 {
            return Err(ApiError::query("to", "the range may span at most 366 days"));
        }
        Ok(Range { from, to })
    }
}

/// Sums read for one range: per (subject, week Monday) over the days of the range.
struct Read {
    by: HashMap<(String, Date), Sums>,
    items: usize,
}

async fn query_all(
    app: &App,
    ws: &WorkspaceKey,
    kind: AggKind,
    from: Date,
    to: Date,
) -> ApiResult<Vec<(String, Date, Sums)>> {
    let (a, b) = keys::aggregate_range(kind, &from.to_string(), &to.to_string());
    let mut q = Query {
        partition: keys::aggregates(ws),
        range: SkRange::Between(a, b),
        forward: true,
        limit: 1000,
        start: None,
    };
    let mut out = vec![];
    loop {
        let page = app.store.query(&q).await?;
        for (item, pos) in page.items.iter().zip(&page.positions) {
            let mut parts = pos.sk.splitn(3, '#');
            let (_, period, subject) = (parts.next(), parts.next(), parts.next());
            if let (Some(p), Some(s)) = (period.and_then(|p| p.parse::<Date>().ok()), subject) {
                out.push((s.to_string(), p, Sums::from_item(item)));
            }
        }
        match page.next {
            Some(n) => q.start = Some(n),
            None => return Ok(out),
        }
    }
}

/// Reads sums per (subject, week) over a range: weekly items for the full weeks inside it,
/// daily items for the days of the partial weeks at its edges.
async fn read(app: &App, ws: &WorkspaceKey, range: Range, member: bool) -> ApiResult<Read> {
    let (wk, dy) =
        if member { (AggKind::MemberWeek, AggKind::MemberDay) } else { (AggKind::ProjectWeek, AggKind::ProjectDay) };
    let first_full = if range.from.weekday() == Weekday::Monday { range.from } else { week_of(range.from) + 7.days() };
    let last_full_monday =
        if range.to.weekday() == Weekday::Sunday { week_of(range.to) } else { week_of(range.to) - 7.days() };
    let mut spans: Vec<(AggKind, Date, Date)> = vec![];
    if first_full <= last_full_monday {
        spans.push((wk, first_full, last_full_monday));
        if range.from < first_full {
            spans.push((dy, range.from, first_full - 1.day()));
        }
        let after = last_full_monday + 7.days();
        if after <= range.to {
            spans.push((dy, after, range.to));
        }
    } else {
        spans.push((dy, range.from, range.to));
    }
    let results = futures::future::try_join_all(spans.iter().map(|(k, a, b)| query_all(app, ws, *k, *a, *b))).await?;
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

async fn memberships(app: &App, ws: &WorkspaceKey) -> ApiResult<Vec<Membership>> {
    let mut q = Query::prefix(keys::workspace_partition(ws), "MEMBER#", 500);
    let mut out = vec![];
    loop {
        let page = app.store.query(&q).await?;
        for i in page.items {
            out.push(from_body::<Membership>(i)?);
        }
        match page.next {
            Some(n) => q.start = Some(n),
            None => return Ok(out),
        }
    }
}

/// `GET /reports/utilization`.
pub async fn utilization(app: &App, ws: &WorkspaceKey, range: Range) -> ApiResult<Report> {
    let (r, members) = tokio::try_join!(read(app, ws, range, true), memberships(app, ws))?;
    let capacity: HashMap<&str, Option<i64>> =
        members.iter().map(|m| (m.user_id.as_str(), m.capacity_centihours)).collect();
    let mut users: BTreeSet<String> = members.iter().filter(|m| m.active).map(|m| m.user_id.clone()).collect();
    users.extend(r.by.iter().filter(|(_, s)| s.seconds() != 0).map(|((u, _), _)| u.clone()));
    let mut weeks = vec![];
    let mut w = week_of(range.from);
    while w <= range.to {
        weeks.push(w);
        w += 7.days();
    }
    let mut data = vec![];
    for week in &weeks {
        let weekdays = (0..5).map(|i| *week + i.days()).filter(|d| *d >= range.from && *d <= range.to).count() as i128;
        for u in &users {
            let tracked = r.by.get(&(u.clone(), *week)).map(Sums::seconds).unwrap_or(0);
            let cap = capacity.get(u.as_str()).copied().flatten();
            let (cap_hours, pct) = match cap {
                None => (Value::Null, Value::Null),
                Some(c) => {
                    // capacity in hundredths of an hour, prorated: c × weekdays / 5.
                    let prorated = (2 * c as i128 * weekdays + 5) / 10;
                    // tracked_hours / capacity_hours × 100 = tracked × 5 × 100 × 100 / (3600 × c × wd)
                    (
                        centihours_json(Some(prorated as i64)),
                        percent(tracked as i128 * 50_000, 3600 * c as i128 * weekdays),
                    )
                }
            };
            data.push(json!({
                "user_id": u, "week_start": week.to_string(), "tracked_seconds": tracked,
                "expected_weekly_capacity_hours": centihours_json(cap), "capacity_hours": cap_hours,
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
pub async fn cost(app: &App, ws: &WorkspaceKey, range: Range, group_by: Option<&str>) -> ApiResult<Report> {
    let member = group_by != Some("project");
    let r = read(app, ws, range, member).await?;
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
pub async fn profitability(app: &App, ws: &WorkspaceKey, range: Range) -> ApiResult<Report> {
    let r = read(app, ws, range, false).await?;
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
    fn ranges_over_366_days_are_refused() {
        let d = |s: &str| Some(s.parse::<Date>().unwrap());
        assert!(Range::parse(d("2024-01-01"), d("2024-12-31")).is_ok()); // 366 days (leap year)
        assert!(Range::parse(d("2025-01-01"), d("2026-01-02")).is_err());
        assert!(Range::parse(d("2025-01-02"), d("2025-01-01")).is_err());
        assert!(Range::parse(None, d("2025-01-01")).is_err());
    }
}
