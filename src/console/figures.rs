//! The console: the programme's figures (事業実績, docs/rules.md#R-O4) for the ward's coordinators
//! and privacy officers. One fiscal year per page: a table per month (the same cells as the API,
//! `<3` and all), bar charts of the main measures drawn as SVG on the server (no script; each
//! with a title and a description, the table being their text alternative), and the CSV download.
//! The page and the download call [`crate::services::figures`], which checks `figures:read`,
//! suppresses small cells and logs the read before anything is shown.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::ConsoleError;
use super::i18n::Tr;
use super::officer::grid_step;
use super::session::ConsoleUser;
use super::views::{self, Chrome, NavItem};
use crate::services::figures::{self as svc, Cell, FigureRow, Figures, FiscalYear, Format};
use crate::state::AppState;

/// Registers the page and the download (under `/console`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/figures", web::get().to(page))
        .route("/figures.csv", web::get().to(csv));
}

/// The navigation item, for those the policy lets read the figures.
pub fn task(t: &Tr) -> NavItem {
    NavItem {
        href: "/console/figures".to_owned(),
        label: t.get("task-figures"),
        desc: t.get("task-figures-desc"),
    }
}

#[derive(Debug, Deserialize)]
pub struct YearForm {
    fiscal_year: Option<String>,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One line of the table, as shown.
pub struct Line {
    pub label: String,
    pub cells: Vec<String>,
    pub total: String,
}

/// One month's bar (SVG coordinates, formatted).
pub struct Bar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    pub title: String,
    pub label_x: String,
    pub label: String,
    /// The suppression mark drawn instead of a bar: (x, y, text).
    pub mark: Option<(String, String, String)>,
}

pub struct Tick {
    pub y: String,
    pub label: String,
}

/// A chart of one measure over the twelve months.
pub struct Chart {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    pub left: String,
    pub right: String,
    pub bottom: String,
    pub label_y: String,
}

const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;

fn px(v: f64) -> String {
    format!("{v:.1}")
}

/// The month names (April first) in the page's language.
fn month_names(t: &Tr, f: &Figures) -> Vec<String> {
    f.months
        .iter()
        .map(|m| {
            let n = m.get(5..).and_then(|s| s.parse::<u8>().ok()).unwrap_or(0);
            t.get(&format!("fig-month-{n}"))
        })
        .collect()
}

/// A measure's name for people, with its breakdown (a basis or a kind of body).
fn label(t: &Tr, r: &FigureRow) -> String {
    let measure = t.get(&format!("fig-m-{}", r.measure));
    match &r.breakdown {
        None => measure,
        Some(b) => {
            let key = [format!("off-basis-{b}"), format!("fig-kind-{b}")]
                .into_iter()
                .find(|k| t.has(k));
            let part = key.map_or_else(|| b.clone(), |k| t.get(&k));
            t.with("fig-row-breakdown", &[("measure", &measure), ("breakdown", &part)])
        }
    }
}

fn chart(t: &Tr, idx: usize, r: &FigureRow, months: &[String], small: u64) -> Chart {
    let shown: Vec<u64> = r.months.iter().filter_map(Cell::count).collect();
    let step = grid_step(shown.iter().copied().max().unwrap_or(0).max(small));
    let top = step * 4;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let bottom = TOP + plot_h;
    let slot = plot_w / 12.0;
    let scale = plot_h / top as f64;
    let name = label(t, r);
    let bars = r
        .months
        .iter()
        .zip(months)
        .enumerate()
        .map(|(i, (cell, month))| {
            let x = LEFT + slot * i as f64 + slot * 0.15;
            let h = cell.count().map_or(0.0, |n| n as f64 * scale);
            Bar {
                x: px(x),
                y: px(bottom - h),
                width: px(slot * 0.7),
                height: px(h),
                title: t.with("fig-bar-title", &[("month", month), ("value", &cell.text())]),
                label_x: px(x + slot * 0.35),
                label: month.clone(),
                mark: match cell {
                    Cell::Suppressed(s) => Some((px(x + slot * 0.35), px(bottom - 4.0), s.clone())),
                    Cell::Count(_) => None,
                },
            }
        })
        .collect();
    let ticks = (0..=4u64)
        .map(|q| Tick {
            y: px(bottom - (step * q) as f64 * scale),
            label: (step * q).to_string(),
        })
        .collect();
    Chart {
        id: format!("fig-chart-{idx}"),
        desc: t.with("fig-chart-desc", &[("measure", &name), ("small", &small.to_string())]),
        title: t.with("fig-chart-title", &[("measure", &name)]),
        bars,
        ticks,
        left: px(LEFT),
        right: px(WIDTH - RIGHT),
        bottom: px(bottom),
        label_y: px(bottom + 18.0),
    }
}

/// The rows charted, when this hub counts them.
const CHARTED: [(&str, Option<&str>); 4] = [
    ("consultations", None),
    ("referrals_made", None),
    ("sessions_held", Some("support-meeting")),
    ("plans_started", None),
];

#[derive(Template)]
#[template(path = "console/figures.html")]
struct FiguresPage {
    t: Tr,
    chrome: Chrome,
    years: Vec<Choice>,
    heading: String,
    csv_href: String,
    as_of: String,
    small_note: String,
    months: Vec<String>,
    lines: Vec<Line>,
    charts: Vec<Chart>,
    unavailable: Vec<String>,
    width: String,
    height: String,
}

fn year_label(t: &Tr, y: i32) -> String {
    t.with("fig-year", &[("year", &y.to_string()), ("next", &(y + 1).to_string())])
}

/// `GET /console/figures`: one fiscal year (default the current one); the read is logged.
pub async fn page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    f: web::Query<YearForm>,
) -> Result<HttpResponse, ConsoleError> {
    let reader = svc::reader(&state, &user.principal)?;
    let now = state.clock.now();
    let year = FiscalYear::parse(f.fiscal_year.as_deref().filter(|s| !s.is_empty()), now)?;
    let figures = svc::figures(&state, &reader, year, Format::Page).await?;
    let t = user.tr;
    let current = FiscalYear::of(now).year();
    let mut years: Vec<i32> = (current.saturating_sub(5)..=current).rev().collect();
    if !years.contains(&year.year()) {
        years.push(year.year());
    }
    let months = month_names(&t, &figures);
    let small = figures.small_cell;
    let charts = CHARTED
        .iter()
        .filter_map(|(m, b)| {
            figures
                .rows
                .iter()
                .find(|r| r.measure == *m && r.breakdown.as_deref() == *b)
        })
        .enumerate()
        .map(|(i, r)| chart(&t, i, r, &months, small))
        .collect();
    let lines = figures
        .rows
        .iter()
        .map(|r| Line {
            label: label(&t, r),
            cells: r.months.iter().map(Cell::text).collect(),
            total: r.total.text(),
        })
        .collect();
    let as_of = crate::domain::parse_rfc3339("as_of", &figures.as_of)
        .map(|at| views::local_time_ms(crate::store::to_ms(at)))
        .unwrap_or_default();
    views::page(&FiguresPage {
        chrome: Chrome::of(&user, req.path()),
        years: years
            .into_iter()
            .map(|y| Choice {
                value: y.to_string(),
                label: year_label(&t, y),
                selected: y == year.year(),
            })
            .collect(),
        heading: year_label(&t, year.year()),
        csv_href: format!("/console/figures.csv?fiscal_year={}", year.year()),
        as_of: t.get1("fig-as-of", "at", &as_of),
        small_note: t.get1("fig-small-note", "small", &small.to_string()),
        months,
        lines,
        charts,
        unavailable: figures
            .unavailable
            .iter()
            .map(|m| t.get(&format!("fig-m-{m}")))
            .collect(),
        width: px(WIDTH),
        height: px(HEIGHT),
        t,
    })
}

/// `GET /console/figures.csv`: the same figures as a download (logged as a `csv` read).
pub async fn csv(
    state: web::Data<AppState>,
    user: ConsoleUser,
    f: web::Query<YearForm>,
) -> Result<HttpResponse, ConsoleError> {
    let reader = svc::reader(&state, &user.principal)?;
    let year = FiscalYear::parse(f.fiscal_year.as_deref().filter(|s| !s.is_empty()), state.clock.now())?;
    let figures = svc::figures(&state, &reader, year, Format::Csv).await?;
    Ok(crate::http::figures::csv_response(&figures))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::i18n::Locale;

    #[test]
    fn every_measure_month_and_kind_has_a_name_in_both_languages() {
        let measures = [
            "consultations",
            "referrals_made",
            "referrals_accepted",
            "referrals_declined",
            "referrals_withdrawn",
            "meetings_convened",
            "sessions_held",
            "persons_discussed",
            "plans_started",
            "plans_ended",
            "monitoring_on_time",
            "monitoring_late",
            "emergency_grants",
            "disclosures_allowed",
            "disclosures_refused",
        ];
        for l in Locale::ALL {
            let t = Tr::new(l);
            for m in measures {
                assert!(t.has(&format!("fig-m-{m}")), "{}: {m}", l.code());
            }
            for n in 1..=12 {
                assert!(t.has(&format!("fig-month-{n}")), "{}: {n}", l.code());
            }
            for k in ["support-meeting", "statutory-conference"] {
                assert!(t.has(&format!("fig-kind-{k}")), "{}: {k}", l.code());
            }
            for b in crate::domain::BasisKind::ALL {
                assert!(t.has(&format!("off-basis-{}", b.as_str())), "{}: {b:?}", l.code());
            }
            assert!(!task(&t).label.starts_with("task-"));
        }
    }

    #[test]
    fn a_suppressed_month_is_marked_not_drawn() {
        let t = Tr::new(Locale::En);
        let row = FigureRow {
            measure: "consultations",
            breakdown: None,
            months: svc::suppress(&[5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9], 19, 3).0,
            total: Cell::Count(19),
        };
        let months: Vec<String> = (1..=12).map(|m| format!("m{m}")).collect();
        let c = chart(&t, 0, &row, &months, 3);
        assert_eq!(c.bars.len(), 12);
        let may = c.bars.get(1).unwrap();
        assert_eq!(may.height, "0.0");
        assert_eq!(may.mark.as_ref().map(|m| m.2.as_str()), Some("<3"));
        assert!(c.bars.first().unwrap().mark.is_none());
        assert!(c.title.contains("Consultations"), "{}", c.title);
    }
}
