//! `GET /console/policy/explain`: one question (role, agency, action, object) answered under
//! the policy in force and, if chosen, under a proposal, with the rules that decided.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Choice, RuleView, action_choices, agency_choices, object_choices, role_choices};
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::ConsoleUser;
use crate::console::views::{self, Chrome};
use crate::services;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct ExplainQuery {
    #[serde(default)]
    role: String,
    #[serde(default)]
    agency: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    proposal: String,
}

/// One answer as the page shows it.
pub(crate) struct AnswerView {
    pub heading: String,
    pub allowed: bool,
    pub verdict: String,
    pub rules: Vec<RuleView>,
}

#[derive(Template)]
#[template(path = "console/policy_admin/explain.html")]
struct ExplainPage {
    t: Tr,
    chrome: Chrome,
    roles: Vec<Choice>,
    agencies: Vec<Choice>,
    actions: Vec<Choice>,
    objects: Vec<Choice>,
    proposals: Vec<Choice>,
    question: Option<String>,
    answers: Vec<AnswerView>,
}

fn answer(t: &Tr, heading: String, a: services::policy::Answer) -> AnswerView {
    AnswerView {
        heading,
        allowed: a.allowed,
        verdict: t.get(if a.allowed {
            "pa-explain-allowed"
        } else if a.rules.is_empty() {
            "pa-explain-no-rule"
        } else {
            "pa-explain-denied"
        }),
        rules: RuleView::all(t, &a.rules),
    }
}

/// `GET /console/policy/explain` (`policy:read`).
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    q: web::Query<ExplainQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let open = services::policy::open_proposals(&state, &user.principal).await?;
    let t = user.tr;
    let mut answers = Vec::new();
    let mut question = None;
    if !q.role.is_empty() {
        let proposal = Some(q.proposal.as_str()).filter(|p| !p.is_empty());
        let e = services::policy::explain(
            &state,
            &user.principal,
            &services::policy::Question {
                role: &q.role,
                agency: &q.agency,
                action: &q.action,
                object: &q.object,
                proposal_id: proposal,
            },
        )
        .await?;
        question = Some(t.with(
            "pa-explain-question",
            &[
                ("role", &super::role_name(&t, &q.role)),
                ("agency", &super::agency_name(&t, &q.agency)),
                ("action", &super::action_name(&t, &q.action)),
                ("object", &super::object_name(&t, &q.object)),
            ],
        ));
        let version = e.current.version.flatten().map_or_else(String::new, |n| n.to_string());
        answers.push(answer(&t, t.get1("pa-explain-current", "version", &version), e.current));
        if let Some(p) = e.proposed {
            answers.push(answer(&t, t.get("pa-explain-proposed"), p));
        }
    }
    let role = if q.role.is_empty() { "caseworker" } else { &q.role };
    let action = if q.action.is_empty() {
        "disclose:consent"
    } else {
        &q.action
    };
    let object = if q.object.is_empty() { "identity" } else { &q.object };
    let mut proposals = vec![Choice::new("", t.get("pa-explain-no-proposal"), &q.proposal)];
    proposals.extend(open.iter().map(|p| {
        let first = p
            .removed
            .iter()
            .chain(p.added.iter())
            .next()
            .map(|l| RuleView::of(&t, l).words)
            .unwrap_or_default();
        Choice::new(
            &p.id,
            t.with(
                "pa-explain-proposal-choice",
                &[("author", &p.author), ("summary", &first)],
            ),
            &q.proposal,
        )
    }));
    views::page(&ExplainPage {
        t,
        chrome: Chrome::of(&user, req.path()),
        roles: role_choices(&t, role, false),
        agencies: agency_choices(&t, &state, &q.agency, false),
        actions: action_choices(&t, action),
        objects: object_choices(&t, object),
        proposals,
        question,
        answers,
    })
}
