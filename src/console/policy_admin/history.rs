//! Version history (`/console/policy/versions`), one version with its diff from the previous
//! one, the diff of any two versions, and rollback — itself a new version — after a
//! confirmation page that shows what would change.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Choice, Problem, RuleView, may};
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::ConsoleUser;
use crate::console::views::{self, Chrome};
use crate::services;
use crate::state::AppState;
use crate::store::PolicyVersion;

pub(crate) struct VersionLine {
    pub version: i64,
    pub kind: String,
    pub author: String,
    pub reason: String,
    pub created: String,
    pub current: bool,
}

fn line(t: &Tr, v: &PolicyVersion, head: Option<i64>) -> VersionLine {
    VersionLine {
        version: v.version,
        kind: t.get(&format!("pa-kind-{}", v.kind)),
        author: v.author.clone(),
        reason: v.reason.clone(),
        created: views::local_time_ms(crate::store::to_ms(v.created_at)),
        current: Some(v.version) == head,
    }
}

fn version_choices(versions: &[PolicyVersion], current: i64) -> Vec<Choice> {
    versions
        .iter()
        .map(|v| {
            let n = v.version.to_string();
            Choice::new(&n, n.clone(), &current.to_string())
        })
        .collect()
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "console/policy_admin/versions.html")]
struct VersionsPage {
    t: Tr,
    chrome: Chrome,
    versions: Vec<VersionLine>,
    from: Vec<Choice>,
    to: Vec<Choice>,
}

/// `GET /console/policy/versions`: every version, newest first (`policy:read`).
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let versions = services::policy::versions(&state, &user.principal).await?;
    let head = versions.first().map(|v| v.version);
    let t = user.tr;
    let h = head.unwrap_or(1);
    views::page(&VersionsPage {
        t,
        chrome: Chrome::of(&user, req.path()),
        from: version_choices(&versions, (h - 1).max(1)),
        to: version_choices(&versions, h),
        versions: versions.iter().map(|v| line(&t, v, head)).collect(),
    })
}

#[derive(Template)]
#[template(path = "console/policy_admin/version.html")]
struct VersionPage {
    t: Tr,
    chrome: Chrome,
    v: VersionLine,
    proposal_id: Option<String>,
    added: Vec<RuleView>,
    removed: Vec<RuleView>,
    rules: Vec<RuleView>,
    may_roll_back: bool,
}

/// `GET /console/policy/versions/{version}`: its rules and what changed from the previous one.
pub async fn detail(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let d = services::policy::version(&state, &user.principal, path.into_inner()).await?;
    let head = state.store.policy_head().await?;
    let t = user.tr;
    let v = line(&t, &d.version, head);
    let notice = match q.done.as_deref() {
        Some("applied") => Some(t.get1("pa-notice-applied", "version", &v.version.to_string())),
        Some("rolled-back") => Some(t.get1("pa-notice-rolled-back", "version", &v.version.to_string())),
        _ => None,
    };
    views::page(&VersionPage {
        t,
        chrome: Chrome::of(&user, req.path()).with_notice(notice),
        may_roll_back: !v.current && may(&state, &user.principal, "policy:write"),
        v,
        proposal_id: d.version.proposal_id.clone(),
        added: RuleView::all(&t, &d.diff_from_previous.added),
        removed: RuleView::all(&t, &d.diff_from_previous.removed),
        rules: RuleView::all(&t, &d.rules),
    })
}

#[derive(Deserialize)]
pub struct DiffQuery {
    from: Option<i64>,
    to: Option<i64>,
}

#[derive(Template)]
#[template(path = "console/policy_admin/diff.html")]
struct DiffPage {
    t: Tr,
    chrome: Chrome,
    heading: String,
    from: Vec<Choice>,
    to: Vec<Choice>,
    added: Vec<RuleView>,
    removed: Vec<RuleView>,
}

/// `GET /console/policy/diff?from=&to=`: rules added and removed going from one version to
/// another (`policy:read`; 404 for a version that does not exist).
pub async fn diff(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    q: web::Query<DiffQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let versions = services::policy::versions(&state, &user.principal).await?;
    let head = versions.first().map_or(1, |v| v.version);
    let to_n = q.to.unwrap_or(head);
    let from_n = q.from.unwrap_or((to_n - 1).max(1));
    let d = services::policy::diff(&state, &user.principal, from_n, to_n).await?;
    let t = user.tr;
    views::page(&DiffPage {
        t,
        chrome: Chrome::of(&user, req.path()),
        from: version_choices(&versions, from_n),
        to: version_choices(&versions, to_n),
        heading: t.with(
            "pa-diff-heading",
            &[("from", &from_n.to_string()), ("to", &to_n.to_string())],
        ),
        added: RuleView::all(&t, &d.added),
        removed: RuleView::all(&t, &d.removed),
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct RollbackForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

#[derive(Template)]
#[template(path = "console/policy_admin/rollback.html")]
struct RollbackPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    target: i64,
    lead: String,
    added: Vec<RuleView>,
    removed: Vec<RuleView>,
    reason: String,
    problem: Option<Problem>,
}

async fn rollback_page(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    target: i64,
    reason: &str,
    problem: Option<Problem>,
) -> Result<RollbackPage, ConsoleError> {
    services::policy::may_edit(state, &user.principal)?;
    let head = state.store.policy_head().await?.unwrap_or(1);
    // What the rollback would change: from the version in force to the target's rules.
    let d = services::policy::diff(state, &user.principal, head, target).await?;
    let t = user.tr;
    Ok(RollbackPage {
        t,
        chrome: Chrome::of(user, req.path()),
        csrf: user.csrf.clone(),
        target,
        lead: t.with(
            "pa-rollback-lead",
            &[("target", &target.to_string()), ("head", &head.to_string())],
        ),
        added: RuleView::all(&t, &d.added),
        removed: RuleView::all(&t, &d.removed),
        reason: reason.to_owned(),
        problem,
    })
}

/// `GET /console/policy/versions/{version}/rollback`: the confirmation step (`policy:write`).
pub async fn confirm_rollback(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, ConsoleError> {
    views::page(&rollback_page(&state, &user, &req, path.into_inner(), "", None).await?)
}

/// `POST /console/policy/versions/{version}/rollback`: a new version with that version's rules,
/// through the same service as `POST /v1/policy/rollback`. A refused reason shows the
/// confirmation again with the reason; nothing changes.
pub async fn rollback(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<RollbackForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let target = path.into_inner();
    match services::policy::rollback(&state, &user.principal, target, &form.reason).await {
        Ok(v) => Ok(views::see_other(&format!(
            "/console/policy/versions/{}?done=rolled-back",
            v.version
        ))),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let t = user.tr;
            let problem = Problem {
                sentence: t.reason(&e.detail.code),
                code: e.detail.code.clone(),
                detail: None,
            };
            let page = rollback_page(&state, &user, &req, target, &form.reason, Some(problem)).await?;
            views::page_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}
