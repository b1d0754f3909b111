//! The console: the policy admin's pages: the policy as a matrix, proposals, diff, simulation,
//! approvals, history and rollback, explain.
//!
//! Every page reads and every button acts through `crate::services::policy`, the same use
//! cases as the JSON API under `/v1/policy` (same capabilities, same log entries). Rules are
//! shown in words ([`RuleView`]) with the policy line in small print.

mod explain;
mod history;
mod matrix;
mod proposals;

use actix_web::web;

use super::i18n::Tr;
use crate::domain::{BasisKind, Category, Role};
use crate::policy::rules::{MANAGEMENT_ACTIONS, disclosure_basis};

/// Registers this area's routes (under `/console`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/policy", web::get().to(matrix::show))
        .route("/policy/proposals", web::get().to(proposals::queue))
        .route("/policy/proposals", web::post().to(proposals::create))
        .route("/policy/proposals/new", web::get().to(proposals::new_form))
        .route("/policy/proposals/{id}", web::get().to(proposals::detail))
        .route("/policy/proposals/{id}/approve", web::post().to(proposals::approve))
        .route("/policy/proposals/{id}/apply", web::post().to(proposals::apply))
        .route(
            "/policy/proposals/{id}/simulation",
            web::get().to(proposals::simulation),
        )
        .route("/policy/explain", web::get().to(explain::show))
        .route("/policy/versions", web::get().to(history::list))
        .route("/policy/versions/{version}", web::get().to(history::detail))
        .route(
            "/policy/versions/{version}/rollback",
            web::get().to(history::confirm_rollback),
        )
        .route("/policy/versions/{version}/rollback", web::post().to(history::rollback))
        .route("/policy/diff", web::get().to(history::diff));
}

/// A choice in a `<select>`.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    fn new(value: &str, label: String, current: &str) -> Self {
        Self {
            value: value.to_owned(),
            label,
            selected: value == current,
        }
    }
}

/// A basis's name for people.
fn basis_name(t: &Tr, b: BasisKind) -> String {
    t.get(&format!("pa-basis-{}", b.as_str()))
}

/// An action's name for people ("提供（本人同意）", "記録の作成").
fn action_name(t: &Tr, action: &str) -> String {
    if let Some(b) = disclosure_basis(action) {
        t.get1("pa-action-disclose", "basis", &basis_name(t, b))
    } else if MANAGEMENT_ACTIONS.contains(&action) {
        t.get(&format!("pa-action-{}", action.replace(':', "-")))
    } else {
        action.to_owned()
    }
}

fn role_name(t: &Tr, role: &str) -> String {
    if role == "*" {
        t.get("pa-any-role")
    } else {
        Role::parse(role).map_or_else(|_| role.to_owned(), |r| t.role(r))
    }
}

fn agency_name(t: &Tr, agency: &str) -> String {
    if agency == "*" {
        t.get("pa-any-agency")
    } else {
        agency.to_owned()
    }
}

fn object_name(t: &Tr, object: &str) -> String {
    if object == "*" {
        t.get("pa-any-object")
    } else {
        Category::parse(object).map_or_else(|_| object.to_owned(), |c| t.category(c))
    }
}

fn effect_name(t: &Tr, allow: bool) -> String {
    t.get(if allow { "pa-effect-allow" } else { "pa-effect-deny" })
}

/// One rule as people read it, with its policy line.
#[derive(Debug, Clone)]
pub(crate) struct RuleView {
    /// `p, role, agency, action, object, effect`.
    pub line: String,
    /// "相談員・すべての機関：提供（本人同意）・就労 → 許可".
    pub words: String,
}

impl RuleView {
    /// The words of a rule as written (also of a rule the service refused, to say which).
    fn of(t: &Tr, line: &str) -> Self {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let words = match fields.as_slice() {
            ["p", role, agency, action, object, effect] => {
                let effect = match *effect {
                    "allow" => effect_name(t, true),
                    "deny" => effect_name(t, false),
                    other => (*other).to_owned(),
                };
                let (role, agency) = (role_name(t, role), agency_name(t, agency));
                if MANAGEMENT_ACTIONS.contains(action) && *object == "*" {
                    t.with(
                        "pa-rule-words-management",
                        &[
                            ("role", &role),
                            ("agency", &agency),
                            ("action", &action_name(t, action)),
                            ("effect", &effect),
                        ],
                    )
                } else {
                    t.with(
                        "pa-rule-words",
                        &[
                            ("role", &role),
                            ("agency", &agency),
                            ("action", &action_name(t, action)),
                            ("object", &object_name(t, object)),
                            ("effect", &effect),
                        ],
                    )
                }
            }
            _ => line.to_owned(),
        };
        Self {
            line: fields.join(", "),
            words,
        }
    }

    fn all(t: &Tr, lines: &[String]) -> Vec<Self> {
        lines.iter().map(|l| Self::of(t, l)).collect()
    }
}

/// The role choices of a form (`*` first when `any`).
fn role_choices(t: &Tr, current: &str, any: bool) -> Vec<Choice> {
    let mut v = Vec::new();
    if any {
        v.push(Choice::new("*", t.get("pa-any-role"), current));
    }
    v.extend(Role::ALL.iter().map(|r| Choice::new(r.as_str(), t.role(*r), current)));
    v
}

/// The registered agencies, sorted (`*` first when `any`).
fn agency_choices(t: &Tr, state: &crate::state::AppState, current: &str, any: bool) -> Vec<Choice> {
    let mut ids: Vec<String> = state.agencies.keys().map(ToString::to_string).collect();
    ids.sort();
    let mut v = Vec::new();
    if any {
        v.push(Choice::new("*", t.get("pa-any-agency"), current));
    }
    v.extend(ids.iter().map(|a| {
        let name = state
            .agencies
            .iter()
            .find(|(k, _)| k.as_str() == a)
            .map_or_else(|| a.clone(), |(_, ag)| format!("{}（{a}）", ag.name));
        Choice::new(a, name, current)
    }));
    v
}

/// Every action the policy speaks about: disclosures by basis, then management actions.
fn action_choices(t: &Tr, current: &str) -> Vec<Choice> {
    BasisKind::ALL
        .iter()
        .map(|b| b.disclose_action())
        .chain(MANAGEMENT_ACTIONS.iter().copied())
        .map(|a| Choice::new(a, format!("{}（{a}）", action_name(t, a)), current))
        .collect()
}

/// `*` and every category.
fn object_choices(t: &Tr, current: &str) -> Vec<Choice> {
    let mut v = vec![Choice::new("*", t.get("pa-any-object-choice"), current)];
    v.extend(
        Category::ALL
            .iter()
            .map(|c| Choice::new(c.as_str(), t.category(*c), current)),
    );
    v
}

/// Whether the person may do a management action (to offer a button or not; the service decides).
fn may(state: &crate::state::AppState, who: &crate::principal::Principal, action: &str) -> bool {
    crate::policy::access::permitted(&state.policy.current(), who, action).is_ok()
}

/// A refusal shown near a form: the sentence and the code.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub sentence: String,
    pub code: String,
    /// Which line of a proposal it concerns, in words, if any.
    pub detail: Option<String>,
}
