//! The dashboard: disclosures and refusals per day, by basis and agency, in the officer's scope.
//! The chart is SVG drawn on the server (no script; the CSP allows inline SVG), and the same
//! figures are tables beside it (the chart's text alternative).

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::search::Choice;
use super::{SubLink, basis_label, subnav};
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::ConsoleUser;
use crate::console::views::{self, Chrome};
use crate::domain::BasisKind;
use crate::services::audit::{self as svc, ActivityCount};
use crate::state::AppState;

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Deserialize)]
pub struct DashboardForm {
    days: Option<String>,
    basis: Option<String>,
    agency: Option<String>,
}

/// Allowed and refused decisions of one group (a day, a basis, an agency).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub label: String,
    pub allowed: u64,
    pub refused: u64,
}

impl Tally {
    pub fn total(&self) -> u64 {
        self.allowed + self.refused
    }
    fn add(&mut self, c: &ActivityCount) {
        if c.decision == "refused" {
            self.refused += c.count;
        } else {
            self.allowed += c.count;
        }
    }
}

/// One day's stacked bar (SVG coordinates, formatted).
pub struct Bar {
    pub x: String,
    pub width: String,
    pub allowed_y: String,
    pub allowed_h: String,
    pub refused_y: String,
    pub refused_h: String,
    pub title: String,
    /// The day's label under the axis, on every few days.
    pub label: Option<(String, String)>,
}

/// A horizontal grid line with its value.
pub struct Tick {
    pub y: String,
    pub label: String,
}

/// The chart, drawn in a `WIDTH` × `HEIGHT` box.
pub struct Chart {
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    pub left: String,
    pub right: String,
    pub bottom: String,
    pub label_y: String,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 40.0;

fn px(v: f64) -> String {
    format!("{v:.1}")
}

/// A grid step for values up to `max`: the smallest of 1, 2, 5 × 10^k with four steps reaching it.
pub(crate) fn grid_step(max: u64) -> u64 {
    let mut scale = 1u64;
    loop {
        for m in [1u64, 2, 5] {
            let step = m.saturating_mul(scale);
            if step.saturating_mul(4) >= max {
                return step;
            }
        }
        scale = scale.saturating_mul(10);
    }
}

fn chart(t: &Tr, days: &[Tally]) -> Chart {
    let step = grid_step(days.iter().map(Tally::total).max().unwrap_or(0));
    let top = step * 4;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let bottom = TOP + plot_h;
    let n = days.len().max(1);
    let slot = plot_w / n as f64;
    let scale = plot_h / top as f64;
    let every = n.div_ceil(10);
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let x = LEFT + slot * i as f64 + slot * 0.15;
            let ah = d.allowed as f64 * scale;
            let rh = d.refused as f64 * scale;
            Bar {
                x: px(x),
                width: px(slot * 0.7),
                allowed_y: px(bottom - ah),
                allowed_h: px(ah),
                refused_y: px(bottom - ah - rh),
                refused_h: px(rh),
                title: t.with(
                    "off-dash-bar-title",
                    &[
                        ("day", &d.label),
                        ("allowed", &d.allowed.to_string()),
                        ("refused", &d.refused.to_string()),
                    ],
                ),
                label: (n - 1 - i).is_multiple_of(every).then(|| {
                    (
                        px(x + slot * 0.35),
                        d.label.get(5..).unwrap_or(&d.label).replace('-', "/"),
                    )
                }),
            }
        })
        .collect();
    let ticks = (0..=4u64)
        .map(|q| {
            let v = step * q;
            Tick {
                y: px(bottom - v as f64 * scale),
                label: v.to_string(),
            }
        })
        .collect();
    Chart {
        bars,
        ticks,
        left: px(LEFT),
        right: px(WIDTH - RIGHT),
        bottom: px(bottom),
        label_y: px(bottom + 18.0),
    }
}

#[derive(Template)]
#[template(path = "console/officer/dashboard.html")]
struct DashboardPage {
    t: Tr,
    chrome: Chrome,
    sub: Vec<SubLink>,
    days_choices: Vec<Choice>,
    bases: Vec<Choice>,
    agencies: Vec<Choice>,
    period: String,
    chart: Chart,
    width: String,
    height: String,
    by_day: Vec<Tally>,
    by_basis: Vec<Tally>,
    by_agency: Vec<Tally>,
    total_text: String,
}

fn choice(value: &str, label: String, current: &str) -> Choice {
    Choice {
        selected: value == current,
        value: value.to_owned(),
        label,
    }
}

/// `GET /console/log/dashboard`: disclosure decisions per day of the last 7–90 days (the counts
/// are read by the same service and logged as a `log-read`).
pub async fn page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    f: web::Query<DashboardForm>,
) -> Result<HttpResponse, ConsoleError> {
    let officer = svc::officer(&state, &user.principal)?;
    let t = user.tr;
    let days: i64 = match f.days.as_deref() {
        Some("7") => 7,
        Some("30") => 30,
        Some("90") => 90,
        _ => 14,
    };
    let basis = f
        .basis
        .clone()
        .filter(|b| BasisKind::parse(b).is_ok())
        .unwrap_or_default();
    let agency = f
        .agency
        .clone()
        .filter(|a| state.agencies.keys().any(|k| k.as_str() == a))
        .unwrap_or_default();
    // Whole local days, today included.
    let offset = state.alerts.day_offset_ms();
    let today = (crate::store::to_ms(state.clock.now()) + offset).div_euclid(DAY_MS);
    let first = today - days + 1;
    let from = crate::store::from_ms(first * DAY_MS - offset)?;
    let until = crate::store::from_ms((today + 1) * DAY_MS - offset)?;
    let counts = svc::activity(&state, &officer, from, until).await?;
    let label_of = |day_no: i64| {
        time::OffsetDateTime::from_unix_timestamp(day_no * 86_400)
            .map(|d| d.date().to_string())
            .unwrap_or_default()
    };
    let mut by_day: BTreeMap<String, Tally> = (first..=today)
        .map(|d| {
            let label = label_of(d);
            (
                label.clone(),
                Tally {
                    label,
                    ..Tally::default()
                },
            )
        })
        .collect();
    let mut by_basis: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_agency: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for c in counts
        .iter()
        .filter(|c| basis.is_empty() || c.basis == basis)
        .filter(|c| agency.is_empty() || c.agency == agency)
    {
        if let Some(d) = by_day.get_mut(&c.day) {
            d.add(c);
        }
        by_basis
            .entry(c.basis.clone())
            .or_insert_with(|| Tally {
                label: basis_label(&t, &c.basis),
                ..Tally::default()
            })
            .add(c);
        by_agency
            .entry(c.agency.clone())
            .or_insert_with(|| Tally {
                label: c.agency.clone(),
                ..Tally::default()
            })
            .add(c);
        total.add(c);
    }
    let by_day: Vec<Tally> = by_day.into_values().collect();
    let days_choices = [7, 14, 30, 90]
        .into_iter()
        .map(|n| {
            choice(
                &n.to_string(),
                t.get1("off-dash-days-n", "n", &n.to_string()),
                &days.to_string(),
            )
        })
        .collect();
    let mut bases = vec![choice("", t.get("off-any"), &basis)];
    bases.extend(
        BasisKind::ALL
            .iter()
            .map(|b| choice(b.as_str(), basis_label(&t, b.as_str()), &basis)),
    );
    let mut names: Vec<String> = state.agencies.keys().map(ToString::to_string).collect();
    names.sort();
    let mut agencies = vec![choice("", t.get("off-any"), &agency)];
    agencies.extend(names.iter().map(|a| choice(a, a.clone(), &agency)));
    let period = t.with(
        "off-dash-period",
        &[("from", &label_of(first)), ("until", &label_of(today))],
    );
    views::page(&DashboardPage {
        t,
        chrome: Chrome::of(&user, req.path()),
        sub: subnav(&t, "/console/log/dashboard"),
        days_choices,
        bases,
        agencies,
        period,
        chart: chart(&t, &by_day),
        width: px(WIDTH),
        height: px(HEIGHT),
        by_day,
        by_basis: by_basis.into_values().collect(),
        by_agency: by_agency.into_values().collect(),
        total_text: t.with(
            "off-dash-total",
            &[
                ("allowed", &total.allowed.to_string()),
                ("refused", &total.refused.to_string()),
            ],
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_has_four_even_steps_that_reach_the_highest_bar() {
        for (max, step) in [
            (0, 1),
            (1, 1),
            (4, 1),
            (5, 2),
            (8, 2),
            (9, 5),
            (20, 5),
            (21, 10),
            (399, 100),
        ] {
            assert_eq!(grid_step(max), step, "{max}");
        }
    }

    #[test]
    fn the_chart_labels_the_last_day_and_draws_nothing_for_an_empty_period() {
        let t = Tr::new(crate::console::i18n::Locale::Ja);
        let days: Vec<Tally> = (1..=14)
            .map(|d| Tally {
                label: format!("2026-12-{d:02}"),
                allowed: 0,
                refused: 0,
            })
            .collect();
        let c = chart(&t, &days);
        assert_eq!(c.bars.len(), 14);
        assert_eq!(
            c.bars.last().and_then(|b| b.label.as_ref()).map(|l| l.1.as_str()),
            Some("12/14")
        );
        assert!(c.bars.iter().all(|b| b.allowed_h == "0.0" && b.refused_h == "0.0"));
        assert_eq!(c.ticks.len(), 5);
    }
}
