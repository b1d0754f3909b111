//! `GET /console/policy`: the policy in force as tables a non-programmer can read — one table
//! per basis (rows: role, and role × agency where a rule names an agency; columns: categories;
//! cells: may receive or not, and the numbered rules that decided), then the management actions.

use std::collections::{BTreeSet, HashMap};

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{RuleView, action_name, agency_name, basis_name, may};
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::ConsoleUser;
use crate::console::views::{self, Chrome};
use crate::domain::{BasisKind, Category, Role};
use crate::policy::PolicySet;
use crate::policy::rules::MANAGEMENT_ACTIONS;
use crate::services;
use crate::state::AppState;

/// One cell: the decision and the rules that made it.
pub(crate) struct Cell {
    /// `allow`, `deny` (a deny rule), `none` (no rule: refused by default) or `sealed` (code).
    pub mark: &'static str,
    pub label: String,
    /// "規則 57・88", or empty.
    pub refs: String,
}

pub(crate) struct Row {
    pub head: String,
    pub sub: Option<String>,
    pub cells: Vec<Cell>,
}

pub(crate) struct Table {
    pub id: String,
    pub title: String,
    pub lead: String,
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
    /// The rules of this table's actions, numbered as in the policy.
    pub rules: Vec<(usize, RuleView)>,
}

#[derive(Template)]
#[template(path = "console/policy_admin/matrix.html")]
struct MatrixPage {
    t: Tr,
    chrome: Chrome,
    lead: String,
    may_write: bool,
    tables: Vec<Table>,
}

struct Ctx<'a> {
    t: Tr,
    set: &'a PolicySet,
    numbers: HashMap<String, usize>,
}

impl Ctx<'_> {
    fn cell(&self, role: Role, agency: &str, action: &str, object: &str, sealed: bool) -> Result<Cell, ConsoleError> {
        let t = &self.t;
        let d = self
            .set
            .decide(role, agency, action, object)
            .map_err(|e| ConsoleError::internal(&format!("policy: {e}")))?;
        let mut nums: Vec<usize> = d.rules.iter().filter_map(|r| self.numbers.get(r).copied()).collect();
        nums.sort_unstable();
        let refs = if nums.is_empty() {
            String::new()
        } else {
            t.get1(
                "pa-matrix-rule-refs",
                "numbers",
                &nums
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(if t.lang() == "ja" { "・" } else { ", " }),
            )
        };
        let mark = if sealed {
            "sealed"
        } else if d.allowed {
            "allow"
        } else if d.rules.is_empty() {
            "none"
        } else {
            "deny"
        };
        Ok(Cell {
            mark,
            label: t.get(&format!("pa-matrix-{mark}")),
            refs,
        })
    }

    /// Agencies that rules for `action` name (not `*`), for `role` (or any role when `None`).
    fn named_agencies(&self, action: &str, role: Option<Role>) -> BTreeSet<String> {
        self.set
            .rules()
            .iter()
            .filter(|r| r.action == action && r.agency != "*")
            .filter(|r| role.is_none_or(|x| r.role == "*" || r.role == x.as_str()))
            .map(|r| r.agency.clone())
            .collect()
    }

    fn rules_of(&self, pred: impl Fn(&str) -> bool) -> Vec<(usize, RuleView)> {
        self.set
            .rules()
            .iter()
            .enumerate()
            .filter(|(_, r)| pred(&r.action))
            .map(|(i, r)| (i + 1, RuleView::of(&self.t, &r.to_string())))
            .collect()
    }

    fn basis_table(&self, b: BasisKind) -> Result<Table, ConsoleError> {
        let t = &self.t;
        let action = b.disclose_action();
        let mut rows = Vec::new();
        for role in Role::ALL {
            let named = self.named_agencies(action, Some(role));
            let sub = (!named.is_empty()).then(|| t.get("pa-matrix-other-agencies"));
            let mut agencies = vec![("*".to_owned(), sub)];
            agencies.extend(named.into_iter().map(|a| (a.clone(), Some(agency_name(t, &a)))));
            for (agency, sub) in agencies {
                let cells = Category::ALL
                    .iter()
                    .map(|c| self.cell(role, &agency, action, c.as_str(), c.is_sealed()))
                    .collect::<Result<Vec<_>, _>>()?;
                rows.push(Row {
                    head: t.role(role),
                    sub,
                    cells,
                });
            }
        }
        Ok(Table {
            id: format!("basis-{}", b.as_str()),
            title: t.get1("pa-matrix-basis-title", "basis", &basis_name(t, b)),
            lead: t.get(&format!("pa-basis-{}-desc", b.as_str())),
            columns: Category::ALL.iter().map(|c| t.category(*c)).collect(),
            rows,
            rules: self.rules_of(|a| a == action),
        })
    }

    fn management_table(&self) -> Result<Table, ConsoleError> {
        let t = &self.t;
        let mut rows = Vec::new();
        for action in MANAGEMENT_ACTIONS {
            let named = self.named_agencies(action, None);
            let sub = (!named.is_empty()).then(|| t.get("pa-matrix-other-agencies"));
            let mut agencies = vec![("*".to_owned(), sub)];
            agencies.extend(named.into_iter().map(|a| (a.clone(), Some(agency_name(t, &a)))));
            for (agency, sub) in agencies {
                let cells = Role::ALL
                    .iter()
                    .map(|r| self.cell(*r, &agency, action, "*", false))
                    .collect::<Result<Vec<_>, _>>()?;
                rows.push(Row {
                    head: action_name(t, action),
                    sub,
                    cells,
                });
            }
        }
        Ok(Table {
            id: "management".to_owned(),
            title: t.get("pa-matrix-management-title"),
            lead: t.get("pa-matrix-management-lead"),
            columns: Role::ALL.iter().map(|r| t.role(*r)).collect(),
            rows,
            rules: self.rules_of(|a| MANAGEMENT_ACTIONS.contains(&a)),
        })
    }
}

/// `GET /console/policy`: the policy in force (`policy:read`).
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let set = services::policy::in_force(&state, &user.principal)?;
    let t = user.tr;
    let ctx = Ctx {
        t,
        set: &set,
        numbers: set
            .rules()
            .iter()
            .enumerate()
            .map(|(i, r)| (r.to_string(), i + 1))
            .collect(),
    };
    let mut tables = BasisKind::ALL
        .iter()
        .map(|b| ctx.basis_table(*b))
        .collect::<Result<Vec<_>, _>>()?;
    tables.push(ctx.management_table()?);
    views::page(&MatrixPage {
        t,
        chrome: Chrome::of(&user, req.path()),
        lead: t.with(
            "pa-matrix-lead",
            &[
                (
                    "version",
                    &set.number().map_or_else(|| set.version().to_owned(), |n| n.to_string()),
                ),
                ("count", &set.rules().len().to_string()),
            ],
        ),
        may_write: may(&state, &user.principal, "policy:write"),
        tables,
    })
}
