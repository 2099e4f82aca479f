//! Reports at the edges of the calendar, on both stores: every valid range near 9999-12-31
//! (and near 0000-01-01) computes — the week after 9999-12-27 does not exist — and never
//! answers 5xx.

mod common;

use common::{Kind, World};
use jiff::civil::Date;
use jiff::ToSpan;
use serde_json::json;

const REPORTS: [&str; 4] =
    ["/reports/utilization", "/reports/cost", "/reports/cost?group_by=project&", "/reports/profitability"];

fn url(report: &str, from: Date, to: Date) -> String {
    let sep = if report.ends_with('&') { "" } else { "?" };
    format!("{report}{sep}from={from}&to={to}")
}

async fn ranges_at_the_end_of_the_calendar_compute(kind: Kind) {
    let w = World::new(kind).await;
    // The last representable instant is 9999-12-30T22:00:00Z; an hour on 9999-12-29 fits.
    let p = w.post(&w.owner, "/projects", json!({"name": "Edge", "hourly_rate_cents": 10000})).await;
    let p = p.expect(201)["id"].as_str().unwrap().to_string();
    let body = json!({"project_id": p, "start": "9999-12-29T10:00:00Z", "duration_seconds": 3600});
    w.post(&w.manager, "/time-entries", body).await.expect(201);
    let last = Date::MAX;
    let first: Date = "0000-01-01".parse().unwrap();
    for end in 0..9i64 {
        for len in [0i64, 1, 3, 6, 7, 8, 13, 20, 365] {
            let to = last.checked_sub(end.days()).unwrap();
            let from = to.checked_sub(len.days()).unwrap();
            let lo_from = first.checked_add(end.days()).unwrap();
            let lo_to = lo_from.checked_add(len.days()).unwrap();
            for report in REPORTS {
                for (a, b) in [(from, to), (lo_from, lo_to)] {
                    let r = w.get(&w.owner, &url(report, a, b)).await;
                    assert_eq!(r.status, 200, "{}: {}", url(report, a, b), r.body);
                }
            }
        }
    }
    let d = |s: &str| s.parse::<Date>().unwrap();
    let r = w.get(&w.owner, &url("/reports/cost", d("9999-12-28"), d("9999-12-31"))).await;
    assert_eq!(r.expect(200)["total"], json!({"seconds": 3600, "cost_cents": 4000}));
    let r = w.get(&w.owner, &url("/reports/profitability", d("9999-12-29"), d("9999-12-29"))).await;
    assert_eq!(r.expect(200)["data"][0]["revenue_cents"], json!(10000));
    let r = w.get(&w.owner, &url("/reports/utilization", d("9999-12-28"), d("9999-12-31"))).await;
    let rows = r.expect(200)["data"].as_array().unwrap().clone();
    assert!(rows.iter().all(|row| row["week_start"] == json!("9999-12-27")), "{rows:?}");
    let mine = rows.iter().find(|row| row["user_id"] == json!(w.manager.user_id)).unwrap();
    assert_eq!(mine["tracked_seconds"], json!(3600));
    // Dates outside the calendar or the format are still 400 invalid_query.
    for q in ["from=9999-12-28&to=10000-01-01", "from=9999-12-32&to=9999-12-31", "from=-0001-01-01&to=0000-01-01"] {
        w.get(&w.owner, &format!("/reports/cost?{q}")).await.expect_err(400, "invalid_query");
    }
}

both_stores!(ranges_at_the_end_of_the_calendar_compute);
