//! The programme's figures (事業実績, docs/rules.md#R-O4): per fiscal year (April–March, Japan
//! time) and per month, what the ward's annual report counts — consultations registered,
//! referrals, support meetings and sessions, persons discussed, support plans, monitoring on time
//! and late, emergency grants, and disclosures and refusals by basis. Both front ends (the JSON
//! and CSV API, the console page) call [`figures`].
//!
//! - Counts only: no id, name or pseudonym leaves here.
//! - Small cells: a count `1..small_cell` (`[figures] small_cell` in `policies/bases.toml`,
//!   default 3) is shown as `"<3"`. So that the year total cannot give it back, a row with
//!   exactly one suppressed month also hides its smallest other non-zero month (complementary
//!   suppression), and a total under the threshold is itself suppressed. No total across rows is
//!   published (no "all bases" or "all kinds" row), so no column sum can give a cell back either.
//! - Who: `figures:read` ([`crate::policy::access::figures_reader`]).
//! - Every read is logged first: a `figures-read` event (who, the fiscal year, the format; no
//!   person), appended before the figures are handed back — 503 `audit_unavailable` otherwise.
//! - Measures over the team-support tables (referrals, plans, monitoring) are counted only when
//!   those tables exist; otherwise they are listed as `unavailable`.

use serde::Serialize;
use time::{Date, Month, OffsetDateTime, UtcOffset};
use utoipa::ToSchema;

use crate::domain::{BasisKind, ValidationError};
use crate::http::error::ApiError;
use crate::policy::access::{self, FiguresReader};
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::Tally;

/// Japan time (no daylight saving): the fiscal year and its months are Japanese calendar months.
const JST_SECONDS: i32 = 9 * 3600;

/// A fiscal year (年度): April 1 of `year` to March 31 of `year + 1`, Japan time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiscalYear(i32);

impl FiscalYear {
    /// `2000`–`2100`; `None` is the fiscal year `now` falls in.
    pub fn parse(raw: Option<&str>, now: OffsetDateTime) -> Result<Self, ValidationError> {
        match raw {
            None => Ok(Self::of(now)),
            Some(s) => s
                .parse::<i32>()
                .ok()
                .filter(|y| (2000..=2100).contains(y))
                .map(Self)
                .ok_or_else(|| {
                    ValidationError::new("fiscal_year", "invalid_fiscal_year", "must be a year from 2000 to 2100")
                }),
        }
    }

    /// The fiscal year that `t` falls in (Japan time).
    pub fn of(t: OffsetDateTime) -> Self {
        let local = t.to_offset(jst());
        if u8::from(local.month()) >= 4 {
            Self(local.year())
        } else {
            Self(local.year() - 1)
        }
    }

    pub fn year(self) -> i32 {
        self.0
    }

    /// The thirteen month boundaries (April 1 … next April 1, 00:00 Japan time), epoch ms.
    fn bounds(self) -> Result<[i64; 13], ValidationError> {
        let mut out = [0i64; 13];
        for (i, slot) in out.iter_mut().enumerate() {
            let (y, m) = month_of(self.0, i);
            let date = Date::from_calendar_date(y, m, 1)
                .map_err(|_| ValidationError::new("fiscal_year", "invalid_fiscal_year", "out of range"))?;
            let t = date.midnight().assume_offset(jst());
            *slot = crate::store::to_ms(t);
        }
        Ok(out)
    }

    /// `YYYY-MM` of the twelve months, April first.
    pub fn months(self) -> Vec<String> {
        (0..12)
            .map(|i| {
                let (y, m) = month_of(self.0, i);
                format!("{y:04}-{:02}", u8::from(m))
            })
            .collect()
    }
}

fn jst() -> UtcOffset {
    UtcOffset::from_whole_seconds(JST_SECONDS).unwrap_or(UtcOffset::UTC)
}

/// The calendar (year, month) of the `i`-th month of fiscal year `fy` (0 = April).
fn month_of(fy: i32, i: usize) -> (i32, Month) {
    let n = 3 + i; // months since January of `fy`, zero-based
    let year = fy + i32::try_from(n / 12).unwrap_or(0);
    let month = Month::January.nth_next(u8::try_from(n % 12).unwrap_or(0));
    (year, month)
}

/// One published count: a number, or the suppression mark (`"<3"` for the default threshold).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Cell {
    Count(u64),
    /// A small count (or its complement), hidden: `"<N>"` with N the threshold.
    Suppressed(String),
}

impl Cell {
    /// As written in the CSV and on the page.
    pub fn text(&self) -> String {
        match self {
            Cell::Count(n) => n.to_string(),
            Cell::Suppressed(s) => s.clone(),
        }
    }
    pub fn count(&self) -> Option<u64> {
        match self {
            Cell::Count(n) => Some(*n),
            Cell::Suppressed(_) => None,
        }
    }
}

/// One row: a measure (and its breakdown), twelve months and the year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FigureRow {
    /// `consultations`, `referrals_made`, `referrals_accepted`, `referrals_declined`,
    /// `referrals_withdrawn`, `meetings_convened`, `sessions_held`, `persons_discussed`,
    /// `plans_started`, `plans_ended`, `monitoring_on_time`, `monitoring_late`,
    /// `emergency_grants`, `disclosures_allowed`, `disclosures_refused`.
    pub measure: &'static str,
    /// The body kind (`support-meeting`, `statutory-conference`) for meetings and sessions, the
    /// basis for disclosures; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<String>,
    /// April first.
    pub months: Vec<Cell>,
    /// The fiscal year (for `persons_discussed`: distinct persons over the year, not a sum).
    pub total: Cell,
}

/// The figures of one fiscal year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figures {
    pub fiscal_year: i32,
    /// `YYYY-MM`, April first (Japan time).
    pub months: Vec<String>,
    /// Counts `1..small_cell` are shown as `"<small_cell>"`.
    pub small_cell: u64,
    /// When the figures were counted (RFC 3339): the current year's figures still grow.
    pub as_of: String,
    pub rows: Vec<FigureRow>,
    /// Measures this hub cannot count yet (their tables are not in this database).
    pub unavailable: Vec<&'static str>,
}

/// The caller as a figures reader (403 `forbidden_by_policy` unless `figures:read`).
pub fn reader<'a>(state: &AppState, who: &'a Principal) -> Result<FiguresReader<'a>, ApiError> {
    Ok(access::figures_reader(&state.policy.current(), who)?)
}

/// Whether the caller may read the figures (for the console's navigation).
pub fn may_read(state: &AppState, who: &Principal) -> bool {
    access::figures_reader(&state.policy.current(), who).is_ok()
}

/// How a measure is counted: its rows' table, time column, key and the measures per key.
struct Source {
    /// A table that must exist (the team-support tables may not, yet).
    table: &'static str,
    tally: Tally,
    /// (measure, breakdown, the key value the store returns).
    rows: &'static [RowSpec],
}

type RowSpec = (&'static str, Option<&'static str>, &'static str);

const MEETINGS_CONVENED: &[RowSpec] = &[
    ("meetings_convened", Some("support-meeting"), "support-meeting"),
    (
        "meetings_convened",
        Some("statutory-conference"),
        "statutory-conference",
    ),
];

const SESSIONS_HELD: &[RowSpec] = &[
    ("sessions_held", Some("support-meeting"), "support-meeting"),
    ("sessions_held", Some("statutory-conference"), "statutory-conference"),
];

fn sources() -> Vec<Source> {
    vec![
        Source {
            table: "subjects",
            tally: Tally {
                from: "subjects",
                time: "created_at_ms",
                key: "''",
                count: "COUNT(*)",
                filter: "",
            },
            rows: &[("consultations", None, "")],
        },
        Source {
            table: "referrals",
            tally: Tally {
                from: "referrals",
                time: "created_at_ms",
                key: "''",
                count: "COUNT(*)",
                filter: "",
            },
            rows: &[("referrals_made", None, "")],
        },
        Source {
            table: "referrals",
            tally: Tally {
                from: "referrals",
                time: "answered_at_ms",
                key: "state",
                count: "COUNT(*)",
                filter: " AND answered_at_ms IS NOT NULL AND state IN ('accepted', 'declined', 'withdrawn')",
            },
            rows: &[
                ("referrals_accepted", None, "accepted"),
                ("referrals_declined", None, "declined"),
                ("referrals_withdrawn", None, "withdrawn"),
            ],
        },
        Source {
            table: "bodies",
            tally: Tally {
                from: "bodies",
                time: "created_at_ms",
                key: "kind",
                count: "COUNT(*)",
                filter: "",
            },
            rows: MEETINGS_CONVENED,
        },
        Source {
            table: "sessions",
            tally: Tally {
                from: "sessions s JOIN bodies b ON b.id = s.body_id",
                time: "s.held_at_ms",
                key: "b.kind",
                count: "COUNT(*)",
                filter: "",
            },
            rows: SESSIONS_HELD,
        },
        Source {
            table: "agenda_items",
            tally: Tally {
                from: "agenda_items a JOIN sessions s ON s.id = a.session_id",
                time: "s.held_at_ms",
                key: "''",
                count: "COUNT(DISTINCT a.subject_id)",
                filter: " AND a.subject_id IS NOT NULL AND a.removed_at_ms IS NULL",
            },
            rows: &[("persons_discussed", None, "")],
        },
        Source {
            table: "support_plans",
            tally: Tally {
                from: "support_plans",
                time: "created_at_ms",
                key: "''",
                count: "COUNT(*)",
                filter: "",
            },
            rows: &[("plans_started", None, "")],
        },
        Source {
            table: "support_plans",
            tally: Tally {
                from: "support_plans",
                time: "ended_at_ms",
                key: "''",
                count: "COUNT(*)",
                filter: " AND ended_at_ms IS NOT NULL AND state = 'ended'",
            },
            rows: &[("plans_ended", None, "")],
        },
        Source {
            table: "plan_monitoring",
            tally: Tally {
                from: "plan_monitoring",
                time: "recorded_at_ms",
                key: "CASE WHEN CAST(on_time AS INTEGER) = 1 THEN 'on-time' ELSE 'late' END",
                count: "COUNT(*)",
                filter: " AND recorded_at_ms IS NOT NULL AND on_time IS NOT NULL",
            },
            rows: &[
                ("monitoring_on_time", None, "on-time"),
                ("monitoring_late", None, "late"),
            ],
        },
        Source {
            table: "emergency_grants",
            tally: Tally {
                from: "emergency_grants",
                time: "created_at_ms",
                key: "''",
                count: "COUNT(*)",
                filter: "",
            },
            rows: &[("emergency_grants", None, "")],
        },
    ]
}

/// Disclosure decisions from the log's index columns (kind, decision, basis), never the entries.
const DISCLOSURES: Tally = Tally {
    from: "audit_entries",
    time: "at_ms",
    key: "COALESCE(basis, '') || '/' || decision",
    count: "COUNT(*)",
    filter: " AND kind = 'disclosure'",
};

/// Hides small cells of one row (see the module docs): `months` and the year `total`.
pub fn suppress(months: &[u64], total: u64, small: u64) -> (Vec<Cell>, Cell) {
    let mark = || Cell::Suppressed(format!("<{small}"));
    let is_small = |n: u64| n > 0 && n < small;
    let mut hidden: Vec<bool> = months.iter().map(|&n| is_small(n)).collect();
    let total_hidden = is_small(total);
    if !total_hidden && hidden.iter().filter(|h| **h).count() == 1 {
        // The total minus the shown months would give the one hidden month back: hide the
        // smallest other non-zero month as well (the earliest of equals).
        let complement = months
            .iter()
            .enumerate()
            .filter(|(i, n)| **n > 0 && !hidden.get(*i).copied().unwrap_or(true))
            .min_by_key(|(i, n)| (**n, *i))
            .map(|(i, _)| i);
        if let Some(slot) = complement.and_then(|i| hidden.get_mut(i)) {
            *slot = true;
        }
    }
    let cells = months
        .iter()
        .zip(hidden)
        .map(|(&n, h)| if h { mark() } else { Cell::Count(n) })
        .collect();
    let total = if total_hidden { mark() } else { Cell::Count(total) };
    (cells, total)
}

/// The raw counts of one row before suppression.
struct Raw {
    measure: &'static str,
    breakdown: Option<String>,
    months: [u64; 12],
    total: u64,
}

fn add(months: &mut [u64; 12], rows: &[(usize, String, u64)], key: &str) {
    for (b, k, n) in rows {
        if k == key
            && let Some(slot) = months.get_mut(*b)
        {
            *slot += n;
        }
    }
}

/// Counts the figures of `year` as of `now` (nothing after `now` is counted: a session booked
/// for next month has not been held).
async fn count(state: &AppState, year: FiscalYear, now_ms: i64) -> Result<(Vec<Raw>, Vec<&'static str>), ApiError> {
    let bounds = year.bounds()?.map(|b| b.min(now_ms.saturating_add(1)));
    let mut raws = Vec::new();
    let mut unavailable = Vec::new();
    for source in sources() {
        if !state.store.has_table(source.table).await? {
            unavailable.extend(source.rows.iter().map(|r| r.0));
            continue;
        }
        let rows = state.store.tally(&source.tally, &bounds).await?;
        for (measure, breakdown, key) in source.rows {
            let mut months = [0u64; 12];
            add(&mut months, &rows, key);
            let mut total = months.iter().sum();
            if *measure == "persons_discussed" {
                // Distinct over the year: one person discussed in May and June is one person.
                let year_bounds = [bounds[0], bounds[12]];
                total = state
                    .store
                    .tally(&source.tally, &year_bounds)
                    .await?
                    .iter()
                    .map(|r| r.2)
                    .sum();
            }
            raws.push(Raw {
                measure,
                breakdown: breakdown.map(str::to_owned),
                months,
                total,
            });
        }
    }
    let rows = state.store.tally(&DISCLOSURES, &bounds).await?;
    for (measure, decision) in [("disclosures_allowed", "allowed"), ("disclosures_refused", "refused")] {
        for basis in BasisKind::ALL {
            let mut months = [0u64; 12];
            add(&mut months, &rows, &format!("{}/{decision}", basis.as_str()));
            raws.push(Raw {
                measure,
                breakdown: Some(basis.as_str().to_owned()),
                total: months.iter().sum(),
                months,
            });
        }
    }
    Ok((raws, unavailable))
}

/// How the figures are read, for the log entry: `json`, `csv` or `page` (the console).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Page,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Page => "page",
        }
    }
}

/// The figures of `year`, small cells suppressed; the read is logged (`figures-read`) before
/// they are handed back.
pub async fn figures(
    state: &AppState,
    reader: &FiguresReader<'_>,
    year: FiscalYear,
    format: Format,
) -> Result<Figures, ApiError> {
    let now = state.clock.now();
    let small = state.bases.figures.small_cell;
    let (raws, unavailable) = count(state, year, crate::store::to_ms(now)).await?;
    let rows = raws
        .into_iter()
        .map(|r| {
            let (months, total) = suppress(&r.months, r.total, small);
            FigureRow {
                measure: r.measure,
                breakdown: r.breakdown,
                months,
                total,
            }
        })
        .collect();
    // The entry is the record of the read; nothing changes after it.
    let _read_on_record = state
        .audit
        .record_event(
            reader.who(),
            "figures-read",
            now,
            None,
            format!("figures:{}", year.year()),
            serde_json::json!({ "fiscal_year": year.year(), "format": format.as_str() }),
        )
        .await?;
    Ok(Figures {
        fiscal_year: year.year(),
        months: year.months(),
        small_cell: small,
        as_of: crate::domain::rfc3339(now),
        rows,
        unavailable,
    })
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The figures as CSV: `measure,breakdown,<12 months>,total`, suppressed cells as `<3`.
pub fn to_csv(f: &Figures) -> String {
    let mut out = String::from("measure,breakdown");
    for m in &f.months {
        out.push(',');
        out.push_str(m);
    }
    out.push_str(",total\r\n");
    for r in &f.rows {
        out.push_str(r.measure);
        out.push(',');
        out.push_str(&csv_field(r.breakdown.as_deref().unwrap_or_default()));
        for c in &r.months {
            out.push(',');
            out.push_str(&c.text());
        }
        out.push(',');
        out.push_str(&r.total.text());
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(cells: &[Cell]) -> Vec<Option<u64>> {
        cells.iter().map(Cell::count).collect()
    }

    #[test]
    fn small_cells_are_hidden_and_one_more_so_the_total_does_not_give_them_back() {
        let months = [5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 7];
        let (cells, total) = suppress(&months, 17, 3);
        assert_eq!(total, Cell::Count(17));
        // 1 is small; the smallest other non-zero month (4) is hidden too.
        assert_eq!(
            counts(&cells),
            [
                Some(5),
                None,
                Some(0),
                None,
                Some(0),
                Some(0),
                Some(0),
                Some(0),
                Some(0),
                Some(0),
                Some(0),
                Some(7)
            ]
        );
        assert_eq!(cells.get(1).map(Cell::text).as_deref(), Some("<3"));
    }

    #[test]
    fn two_small_cells_need_no_complement_and_a_small_total_is_hidden() {
        let (cells, total) = suppress(&[2, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0], 12, 3);
        assert_eq!(total, Cell::Count(12));
        assert_eq!(counts(&cells).iter().filter(|c| c.is_none()).count(), 2);
        assert_eq!(cells.get(3), Some(&Cell::Count(9)));

        let (cells, total) = suppress(&[0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 2, 3);
        assert_eq!(total, Cell::Suppressed("<3".into()));
        assert_eq!(cells.get(1), Some(&Cell::Suppressed("<3".into())));
        assert_eq!(cells.first(), Some(&Cell::Count(0)));
    }

    #[test]
    fn nothing_is_hidden_when_every_cell_is_zero_or_large_enough() {
        let (cells, total) = suppress(&[0, 3, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0], 13, 3);
        assert!(cells.iter().all(|c| c.count().is_some()));
        assert_eq!(total, Cell::Count(13));
        let (cells, _) = suppress(&[0, 4, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0], 9, 5);
        assert_eq!(cells.get(1).map(Cell::text).as_deref(), Some("<5"));
        assert_eq!(cells.get(3).map(Cell::text).as_deref(), Some("<5"));
    }

    #[test]
    fn the_fiscal_year_runs_april_to_march_in_japan_time() {
        use time::macros::datetime;
        // 2027-03-31 15:00 UTC is April 1 in Japan: the next fiscal year.
        assert_eq!(FiscalYear::of(datetime!(2027-03-31 14:59 UTC)).year(), 2026);
        assert_eq!(FiscalYear::of(datetime!(2027-03-31 15:00 UTC)).year(), 2027);
        assert_eq!(FiscalYear::of(datetime!(2026-12-03 05:00 UTC)).year(), 2026);
        let fy = FiscalYear(2026);
        let b = fy.bounds().unwrap();
        assert_eq!(b[0], crate::store::to_ms(datetime!(2026-03-31 15:00 UTC)));
        assert_eq!(b[9], crate::store::to_ms(datetime!(2026-12-31 15:00 UTC)));
        assert_eq!(b[12], crate::store::to_ms(datetime!(2027-03-31 15:00 UTC)));
        assert_eq!(fy.months().first().map(String::as_str), Some("2026-04"));
        assert_eq!(fy.months().last().map(String::as_str), Some("2027-03"));
        let now = datetime!(2026-12-03 05:00 UTC);
        assert!(FiscalYear::parse(Some("1999"), now).is_err());
        assert!(FiscalYear::parse(Some("twenty"), now).is_err());
        assert_eq!(FiscalYear::parse(None, now).map(FiscalYear::year).ok(), Some(2026));
    }

    #[test]
    fn csv_marks_suppressed_cells_and_quotes_nothing_it_need_not() {
        let f = Figures {
            fiscal_year: 2026,
            months: FiscalYear(2026).months(),
            small_cell: 3,
            as_of: String::new(),
            rows: vec![FigureRow {
                measure: "consultations",
                breakdown: None,
                months: suppress(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4], 5, 3).0,
                total: Cell::Count(5),
            }],
            unavailable: vec![],
        };
        let csv = to_csv(&f);
        let mut lines = csv.lines();
        assert!(lines.next().unwrap().starts_with("measure,breakdown,2026-04,2026-05"));
        assert_eq!(lines.next(), Some("consultations,,<3,0,0,0,0,0,0,0,0,0,0,<3,5"));
    }
}
