//! The console: the privacy officer's pages (個人情報保護担当). Log search, an entry with its
//! inclusion proof checked against a signed checkpoint, the pseudonym lookup, a person's
//! disclosure report (printable, and as CSV), alerts, emergency grants awaiting review, the log's
//! health and a dashboard of disclosures and refusals per day.
//!
//! Every page calls the same service as the JSON API with the signed-in officer's principal:
//! the officer's log scope (their own organ, or ward-wide oversight by configuration) applies in
//! the service, and every read of log entries is itself logged there (`log-read`) before the
//! page is rendered. A page a person without the role opens answers 403 (the console's
//! middleware renders and logs it).

mod dashboard;
mod grants;
mod health;
mod report;
mod search;

use actix_web::web;
use serde_json::Value;

use super::i18n::Tr;
pub(crate) use dashboard::grid_step;

/// Registers this area's routes (under `/console`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/log", web::get().to(search::search))
        .route("/log/entries/{index}", web::get().to(search::entry))
        .route("/log/pseudonym", web::get().to(search::pseudonym))
        .route("/log/subjects/{id}/report", web::get().to(report::page))
        .route("/log/subjects/{id}/report.csv", web::get().to(report::csv))
        .route("/log/alerts", web::get().to(grants::alerts))
        .route("/log/health", web::get().to(health::page))
        .route("/log/health/checkpoint", web::get().to(health::checkpoint))
        .route("/log/health/vkeys", web::get().to(health::verifier_keys))
        .route("/log/dashboard", web::get().to(dashboard::page))
        .route("/grants", web::get().to(grants::list))
        .route("/grants/{id}/review", web::post().to(grants::review));
}

/// A link of the officer's own navigation (shown on each of their pages).
pub struct SubLink {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

/// The officer's pages, `current` marking the one shown.
fn subnav(t: &Tr, current: &str) -> Vec<SubLink> {
    [
        ("/console/log", "off-nav-search"),
        ("/console/log/alerts", "off-nav-alerts"),
        ("/console/grants", "off-nav-grants"),
        ("/console/log/dashboard", "off-nav-dashboard"),
        ("/console/log/health", "off-nav-health"),
    ]
    .into_iter()
    .map(|(href, key)| SubLink {
        href,
        label: t.get(key),
        current: href == current,
    })
    .collect()
}

/// `application/x-www-form-urlencoded` encoding of one query value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A query string from (name, value) pairs, without the leading `?`.
fn query_string(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A string field of a JSON object ("" when absent).
fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// An RFC 3339 time from an entry, in Japan time for people (as given when it does not parse).
fn local_time(rfc: &str) -> String {
    crate::domain::parse_rfc3339("at", rfc)
        .map(|t| super::views::local_time_ms(crate::store::to_ms(t)))
        .unwrap_or_else(|_| rfc.to_owned())
}

/// The label of `key-value` when the area has one, else the value itself.
fn label_or(t: &Tr, prefix: &str, value: &str) -> String {
    let key = format!("{prefix}-{value}");
    if t.has(&key) { t.get(&key) } else { value.to_owned() }
}

/// A basis type's name for people.
fn basis_label(t: &Tr, basis: &str) -> String {
    label_or(t, "off-basis", basis)
}

/// A log entry kind's (or event's) name for people.
fn kind_label(t: &Tr, kind: &str) -> String {
    label_or(t, "off-kind", kind)
}

/// A decision's name for people (`allowed`, `refused`, …).
fn decision_label(t: &Tr, decision: &str) -> String {
    label_or(t, "off-decision", decision)
}

/// A refusal or withholding shown to people: the sentence, with the code in small print.
pub struct Reason {
    pub sentence: String,
    pub code: String,
}

impl Reason {
    fn of(t: &Tr, code: &str) -> Self {
        Self {
            sentence: t.reason(code),
            code: code.to_owned(),
        }
    }
}

/// A category list for people (category names, joined).
fn categories(t: &Tr, list: &[String]) -> String {
    list.iter()
        .map(|c| {
            crate::domain::Category::parse(c)
                .map(|c| t.category(c))
                .unwrap_or_else(|_| c.clone())
        })
        .collect::<Vec<_>>()
        .join("、")
}
