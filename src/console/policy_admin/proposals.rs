//! Proposals: the editor (`/console/policy/proposals/new`), the queue of proposals awaiting
//! approval or application, one proposal with its approve and apply buttons, and its
//! simulation against recorded decisions. Every action is a `crate::services::policy` use case.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Choice, Problem, RuleView, action_choices, agency_choices, basis_name, may, object_choices, role_choices};
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::{ConsoleUser, CsrfForm};
use crate::console::views::{self, Chrome};
use crate::domain::{BasisKind, Category};
use crate::http::ApiError;
use crate::services;
use crate::state::AppState;
use crate::store::PolicyProposal;

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

fn notice(t: &Tr, done: Option<&str>) -> Option<String> {
    match done {
        Some("proposed") => Some(t.get("pa-notice-proposed")),
        Some("approved") => Some(t.get("pa-notice-approved")),
        _ => None,
    }
}

/// A proposal as the pages show it.
pub(crate) struct ProposalView {
    pub id: String,
    pub author: String,
    pub created: String,
    pub base_version: i64,
    pub added: Vec<RuleView>,
    pub removed: Vec<RuleView>,
    pub reason: String,
    pub status: String,
    /// The viewer wrote it (never offered the approve button).
    pub own: bool,
    pub may_approve: bool,
    pub may_apply: bool,
    /// Why it cannot be applied now, if it cannot.
    pub blocked: Option<String>,
    pub applied_version: Option<i64>,
    /// The approve button's name for screen readers (which proposal).
    pub approve_label: String,
}

fn view(t: &Tr, state: &AppState, user: &ConsoleUser, p: PolicyProposal, head: Option<i64>) -> ProposalView {
    let own = p.author == user.principal.user.as_str();
    let approval_needed = state.policy_admin.require_approval && p.approved_by.is_none();
    let stale = head != Some(p.base_version);
    let status = if let Some(v) = p.applied_version {
        t.get1("pa-status-applied", "version", &v.to_string())
    } else if let Some(a) = &p.approved_by {
        t.get1("pa-status-approved", "user", a)
    } else if state.policy_admin.require_approval {
        t.get("pa-status-awaiting")
    } else {
        t.get("pa-status-no-approval-needed")
    };
    let blocked = if p.applied_version.is_some() {
        None
    } else if stale {
        Some(t.reason("stale_proposal"))
    } else if approval_needed {
        Some(t.reason("approval_required"))
    } else {
        None
    };
    let may_write = may(state, &user.principal, "policy:write");
    ProposalView {
        may_approve: !own
            && p.approved_by.is_none()
            && p.applied_version.is_none()
            && may(state, &user.principal, "policy:approve"),
        may_apply: may_write && p.applied_version.is_none() && blocked.is_none(),
        blocked,
        own,
        status,
        created: views::local_time_ms(crate::store::to_ms(p.created_at)),
        approve_label: t.with(
            "pa-approve-label",
            &[
                ("author", &p.author),
                ("created", &views::local_time_ms(crate::store::to_ms(p.created_at))),
            ],
        ),
        added: RuleView::all(t, &p.added),
        removed: RuleView::all(t, &p.removed),
        applied_version: p.applied_version,
        base_version: p.base_version,
        reason: p.reason,
        author: p.author,
        id: p.id,
    }
}

#[derive(Template)]
#[template(path = "console/policy_admin/queue.html")]
struct QueuePage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    require_approval: bool,
    proposals: Vec<ProposalView>,
}

/// `GET /console/policy/proposals`: proposals not yet applied, newest first (`policy:read`).
pub async fn queue(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let list = services::policy::open_proposals(&state, &user.principal).await?;
    let head = state.store.policy_head().await?;
    let t = user.tr;
    let proposals = list.into_iter().map(|p| view(&t, &state, &user, p, head)).collect();
    views::page(&QueuePage {
        t,
        chrome: Chrome::of(&user, req.path()),
        csrf: user.csrf.clone(),
        require_approval: state.policy_admin.require_approval,
        proposals,
    })
}

#[derive(Template)]
#[template(path = "console/policy_admin/proposal.html")]
struct ProposalPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    p: ProposalView,
}

/// `GET /console/policy/proposals/{id}` (`policy:read`).
pub async fn detail(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let p = services::policy::proposal(&state, &user.principal, &path).await?;
    let head = state.store.policy_head().await?;
    let t = user.tr;
    views::page(&ProposalPage {
        t,
        chrome: Chrome::of(&user, req.path()).with_notice(notice(&t, q.done.as_deref())),
        csrf: user.csrf.clone(),
        p: view(&t, &state, &user, p, head),
    })
}

/// The editor's fields: one rule to add (no role: none), one to remove (empty: none), a reason.
#[derive(Debug, Default, Deserialize)]
pub struct ProposeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    add_role: String,
    #[serde(default)]
    add_agency: String,
    #[serde(default)]
    add_action: String,
    #[serde(default)]
    add_object: String,
    #[serde(default)]
    add_effect: String,
    #[serde(default)]
    remove: String,
    /// More rules to add, one per line, as written in policy.csv.
    #[serde(default)]
    add_more: String,
    /// More rules to remove, one per line.
    #[serde(default)]
    remove_more: String,
    #[serde(default)]
    reason: String,
}

impl ProposeForm {
    /// The rules to add and to remove, in the order the service numbers them.
    fn change(&self) -> (Vec<String>, Vec<String>) {
        let more = |text: &str| -> Vec<String> {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let mut add = Vec::new();
        if !self.add_role.is_empty() {
            add.push(format!(
                "p, {}, {}, {}, {}, {}",
                self.add_role, self.add_agency, self.add_action, self.add_object, self.add_effect
            ));
        }
        add.extend(more(&self.add_more));
        let mut remove = Vec::new();
        if !self.remove.is_empty() {
            remove.push(self.remove.clone());
        }
        remove.extend(more(&self.remove_more));
        (add, remove)
    }
}

#[derive(Template)]
#[template(path = "console/policy_admin/new.html")]
struct NewPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    version: String,
    roles: Vec<Choice>,
    agencies: Vec<Choice>,
    actions: Vec<Choice>,
    objects: Vec<Choice>,
    allow: bool,
    removable: Vec<Choice>,
    add_more: String,
    remove_more: String,
    reason: String,
    problem: Option<Problem>,
}

fn new_page(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    f: &ProposeForm,
    problem: Option<Problem>,
) -> Result<NewPage, ConsoleError> {
    let set = services::policy::for_editing(state, &user.principal)?;
    let t = user.tr;
    let mut roles = vec![Choice::new("", t.get("pa-new-no-addition"), &f.add_role)];
    roles.extend(role_choices(&t, &f.add_role, true));
    let mut removable = vec![Choice::new("", t.get("pa-new-no-removal"), &f.remove)];
    removable.extend(set.rules().iter().enumerate().map(|(i, r)| {
        let v = RuleView::of(&t, &r.to_string());
        Choice::new(
            &v.line,
            format!(
                "{} {}",
                t.get1("pa-rule-number", "number", &(i + 1).to_string()),
                v.words
            ),
            &f.remove,
        )
    }));
    let action = if f.add_action.is_empty() {
        "disclose:consent"
    } else {
        &f.add_action
    };
    let agency = if f.add_agency.is_empty() { "*" } else { &f.add_agency };
    let object = if f.add_object.is_empty() { "*" } else { &f.add_object };
    Ok(NewPage {
        t,
        chrome: Chrome::of(user, req.path()),
        csrf: user.csrf.clone(),
        version: set.number().map_or_else(|| set.version().to_owned(), |n| n.to_string()),
        roles,
        agencies: agency_choices(&t, state, agency, true),
        actions: action_choices(&t, action),
        objects: object_choices(&t, object),
        allow: f.add_effect != "deny",
        removable,
        add_more: f.add_more.clone(),
        remove_more: f.remove_more.clone(),
        reason: f.reason.clone(),
        problem,
    })
}

/// `GET /console/policy/proposals/new`: the editor (`policy:write`), its fields optionally
/// filled from the query (e.g. `?remove=<rule>` from the matrix's rule list).
pub async fn new_form(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    q: web::Query<ProposeForm>,
) -> Result<HttpResponse, ConsoleError> {
    views::page(&new_page(&state, &user, &req, &q, None)?)
}

/// The rule a refusal's `rules[n]` field names, in words.
fn problem_of(t: &Tr, e: &ApiError, add: &[String], remove: &[String]) -> Problem {
    let line = e
        .detail
        .field
        .as_deref()
        .and_then(|f| f.strip_prefix("rules["))
        .and_then(|f| f.strip_suffix(']'))
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| n.checked_sub(1));
    let detail = line
        .and_then(|i| add.iter().chain(remove.iter()).nth(i))
        .map(|l| t.get1("pa-problem-rule", "rule", &RuleView::of(t, l).words));
    Problem {
        sentence: t.reason(&e.detail.code),
        code: e.detail.code.clone(),
        detail,
    }
}

/// `POST /console/policy/proposals`: proposes the change through the same service as
/// `POST /v1/policy/proposals`. Refused input (422) shows the editor again with the reason;
/// nothing is stored or logged.
pub async fn create(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    form: web::Form<ProposeForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let f = form.into_inner();
    let (add, remove) = f.change();
    match services::policy::propose(&state, &user.principal, &add, &remove, &f.reason).await {
        Ok(p) => Ok(views::see_other(&format!(
            "/console/policy/proposals/{}?done=proposed",
            p.id
        ))),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let problem = problem_of(&user.tr, &e, &add, &remove);
            let page = new_page(&state, &user, &req, &f, Some(problem))?;
            views::page_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /console/policy/proposals/{id}/approve` (`policy:approve`; never one's own: the
/// service refuses with 403 `cannot_approve_own`, shown as the refusal page).
pub async fn approve(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let p = services::policy::approve(&state, &user.principal, &path).await?;
    Ok(views::see_other(&format!(
        "/console/policy/proposals/{}?done=approved",
        p.id
    )))
}

/// `POST /console/policy/proposals/{id}/apply` (`policy:write`): a new version, in force.
pub async fn apply(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let v = services::policy::apply(&state, &user.principal, &path).await?;
    Ok(views::see_other(&format!(
        "/console/policy/versions/{}?done=applied",
        v.version
    )))
}

#[derive(Deserialize)]
pub struct PeriodQuery {
    /// `YYYY-MM-DD` (Japan time), from the start of that day.
    from: Option<String>,
    /// `YYYY-MM-DD` (Japan time), to the end of that day.
    to: Option<String>,
}

/// A group of flips as the page shows it.
pub(crate) struct GroupView {
    pub agency: String,
    pub basis: String,
    pub category: String,
    pub direction: String,
    pub newly_refused: bool,
    pub count: usize,
    pub examples: Vec<u64>,
}

#[derive(Template)]
#[template(path = "console/policy_admin/simulation.html")]
struct SimulationPage {
    t: Tr,
    chrome: Chrome,
    p: ProposalView,
    from: String,
    to: String,
    report: crate::policy::admin::SimulationReport,
    groups: Vec<GroupView>,
}

fn day(s: Option<&str>, time_of_day: &str) -> Option<String> {
    s.filter(|d| !d.is_empty()).map(|d| format!("{d}T{time_of_day}+09:00"))
}

/// `GET /console/policy/proposals/{id}/simulation`: which recorded decisions would flip,
/// grouped by agency, basis, category and direction, with links to example log entries
/// (`policy:read`; nothing is written).
pub async fn simulation(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let from = day(q.from.as_deref(), "00:00:00");
    let to = day(q.to.as_deref(), "23:59:59.999");
    let report = services::policy::simulate(&state, &user.principal, &path, from.as_deref(), to.as_deref()).await?;
    let p = services::policy::proposal(&state, &user.principal, &path).await?;
    let head = state.store.policy_head().await?;
    let t = user.tr;
    let groups = report
        .groups
        .iter()
        .map(|g| GroupView {
            agency: g.agency.clone(),
            basis: BasisKind::parse(&g.basis).map_or_else(|_| g.basis.clone(), |b| basis_name(&t, b)),
            category: Category::parse(&g.category).map_or_else(|_| g.category.clone(), |c| t.category(c)),
            direction: t.get(if g.direction == "allowed->refused" {
                "pa-sim-allowed-to-refused"
            } else {
                "pa-sim-refused-to-allowed"
            }),
            newly_refused: g.direction == "allowed->refused",
            count: g.count,
            examples: g.examples.clone(),
        })
        .collect();
    views::page(&SimulationPage {
        t,
        chrome: Chrome::of(&user, req.path()),
        p: view(&t, &state, &user, p, head),
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
        report,
        groups,
    })
}
