//! The log search (every filter of `GET /v1/audit/entries`, kept in the URL), one entry with its
//! inclusion proof checked against a signed checkpoint, and the pseudonym lookup.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use super::{
    Reason, SubLink, basis_label, categories, decision_label, kind_label, local_time, query_string, subnav, text,
};
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::ConsoleUser;
use crate::console::views::{self, Chrome};
use crate::domain::BasisKind;
use crate::http::ApiError;
use crate::services::audit::{self as svc, EntryView, SearchQuery};
use crate::services::log;
use crate::state::AppState;

/// The search form as the URL carries it: the API's filters, empty fields meaning "any". Dates
/// may be given as `YYYY-MM-DD` (a day in Japan time; `until` includes that day) or RFC 3339.
#[derive(Debug, Default, Deserialize)]
pub struct SearchForm {
    subject: Option<String>,
    subject_pseudonym: Option<String>,
    household: Option<String>,
    agency: Option<String>,
    user: Option<String>,
    basis: Option<String>,
    session: Option<String>,
    /// `allowed` or `refused` (also accepted as `decision`, the log's own word for it).
    #[serde(alias = "decision")]
    outcome: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    until: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// `YYYY-MM-DD` as the start of that day in Japan time (or of the next day, for an inclusive
/// end), RFC 3339; other values are passed on for the service to judge.
fn day_bound(v: Option<String>, next_day: bool) -> Option<String> {
    let v = v?;
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(&v, &fmt) {
        Ok(d) => {
            let d = if next_day { d.next_day().unwrap_or(d) } else { d };
            Some(format!("{d}T00:00:00+09:00"))
        }
        Err(_) => Some(v),
    }
}

impl SearchForm {
    /// The filters given, in the form's order, as (name, value) (for links that keep them).
    fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("subject", &self.subject),
            ("subject_pseudonym", &self.subject_pseudonym),
            ("household", &self.household),
            ("agency", &self.agency),
            ("user", &self.user),
            ("basis", &self.basis),
            ("session", &self.session),
            ("outcome", &self.outcome),
            ("kind", &self.kind),
            ("from", &self.from),
            ("until", &self.until),
            ("limit", &self.limit),
        ]
        .into_iter()
        .filter_map(|(k, v)| given(v).map(|v| (k, v)))
        .collect()
    }

    /// The API's query; a malformed page cursor or size is the same 422 the API gives.
    fn query(&self) -> Result<SearchQuery, ApiError> {
        let number = |field: &str, v: Option<String>| -> Result<Option<u64>, ApiError> {
            v.map(|s| {
                s.parse::<u64>().map_err(|_| {
                    crate::domain::ValidationError::new(field, "invalid_value", "must be a whole number").into()
                })
            })
            .transpose()
        };
        let limit = number("limit", given(&self.limit))?.map(|l| u32::try_from(l).unwrap_or(u32::MAX));
        Ok(SearchQuery {
            subject: given(&self.subject),
            subject_pseudonym: given(&self.subject_pseudonym),
            household: given(&self.household),
            agency: given(&self.agency),
            user: given(&self.user),
            basis: given(&self.basis),
            session: given(&self.session),
            outcome: given(&self.outcome),
            kind: given(&self.kind),
            from: day_bound(given(&self.from), false),
            until: day_bound(given(&self.until), true),
            after: number("after", given(&self.after))?,
            limit: Some(limit.unwrap_or(50)),
        })
    }
}

/// A choice of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices(t: &Tr, current: &Option<String>, options: Vec<(String, String)>) -> Vec<Choice> {
    let current = given(current).unwrap_or_default();
    let mut v = vec![Choice {
        value: String::new(),
        label: t.get("off-any"),
        selected: current.is_empty(),
    }];
    // A value the URL carries that the list lacks stays visible (and selected): the form never
    // shows "any" for a filter that is in force.
    let listed = current.is_empty() || options.iter().any(|(value, _)| *value == current);
    v.extend(options.into_iter().map(|(value, label)| Choice {
        selected: value == current,
        value,
        label,
    }));
    if !listed {
        v.push(Choice {
            label: current.clone(),
            value: current,
            selected: true,
        });
    }
    v
}

/// Who an entry is about, as the officer may see them: the person's id where the hub knows it
/// (the search resolved it within the officer's scope), otherwise the pseudonym.
pub struct PersonCell {
    pub subject_id: Option<String>,
    pub household_id: Option<String>,
    pub pseudonym: Option<String>,
}

impl PersonCell {
    fn of(e: &EntryView) -> Self {
        let pseudonym = e
            .entry
            .get("subject")
            .and_then(Value::as_str)
            .or_else(|| e.entry.get("household").and_then(Value::as_str))
            .map(str::to_owned);
        Self {
            subject_id: e.subject_id.clone(),
            household_id: e.household_id.clone(),
            pseudonym,
        }
    }

    /// The first characters of the pseudonym (the full one is in the link).
    pub fn short(&self) -> String {
        self.pseudonym
            .as_deref()
            .map(|p| p.chars().take(12).collect::<String>() + "…")
            .unwrap_or_default()
    }
}

/// One line of the result table.
pub struct Row {
    pub index: u64,
    pub at: String,
    pub kind: String,
    pub decision: String,
    pub refused: bool,
    pub reason: Option<Reason>,
    pub actor: String,
    pub owner: String,
    pub person: PersonCell,
    pub basis: String,
    pub purpose: String,
    pub sealed: bool,
}

fn kind_of(entry: &Value) -> String {
    match text(entry, "kind").as_str() {
        "event" => text(entry, "event"),
        k => k.to_owned(),
    }
}

/// The acting side of an entry: `user（agency）`.
fn actor_of(entry: &Value) -> String {
    let who = entry.get("requester").unwrap_or(entry);
    let (user, agency) = (text(who, "user"), text(who, "agency"));
    match (user.is_empty(), agency.is_empty()) {
        (true, true) => String::new(),
        (true, false) => agency,
        (false, true) => user,
        (false, false) => format!("{user}（{agency}）"),
    }
}

fn row(t: &Tr, e: &EntryView) -> Row {
    let entry = &e.entry;
    let decision = text(entry, "decision");
    let reason = entry.get("reason").and_then(Value::as_str).map(|c| Reason::of(t, c));
    Row {
        index: e.index,
        at: local_time(&text(entry, "at")),
        kind: kind_label(t, &kind_of(entry)),
        refused: decision == "refused",
        decision: if decision.is_empty() {
            String::new()
        } else {
            decision_label(t, &decision)
        },
        reason,
        actor: actor_of(entry),
        owner: text(entry, "owner_agency"),
        person: PersonCell::of(e),
        basis: entry
            .get("basis")
            .map(|b| text(b, "type"))
            .filter(|b| !b.is_empty())
            .map(|b| basis_label(t, &b))
            .unwrap_or_default(),
        purpose: text(entry, "purpose"),
        sealed: e.sealed,
    }
}

#[derive(Template)]
#[template(path = "console/officer/search.html")]
struct SearchPage {
    t: Tr,
    chrome: Chrome,
    sub: Vec<SubLink>,
    f: SearchForm,
    agencies: Vec<Choice>,
    bases: Vec<Choice>,
    outcomes: Vec<Choice>,
    kinds: Vec<Choice>,
    limits: Vec<Choice>,
    error: Option<(Reason, String)>,
    searched: bool,
    rows: Vec<Row>,
    next: Option<String>,
    first: Option<String>,
}

/// `GET /console/log`: the log search (logged by the service as a `log-read`, like the API's).
pub async fn search(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    f: web::Query<SearchForm>,
) -> Result<HttpResponse, ConsoleError> {
    let officer = svc::officer(&state, &user.principal)?;
    let t = user.tr;
    let f = f.into_inner();
    let result = match f.query() {
        Ok(q) => svc::search(&state, &officer, &q).await,
        Err(e) => Err(e),
    };
    let (rows, next, error) = match result {
        Ok(view) => {
            let next = view.next_after.map(|a| {
                let mut pairs = f.pairs();
                pairs.push(("after", a.to_string()));
                format!("/console/log?{}", query_string(&pairs))
            });
            (view.entries.iter().map(|e| row(&t, e)).collect(), next, None)
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::BAD_REQUEST => {
            let field = e.detail.field.clone().unwrap_or_default();
            (Vec::new(), None, Some((Reason::of(&t, &e.detail.code), field)))
        }
        Err(e) => return Err(e.into()),
    };
    let first = given(&f.after).map(|_| format!("/console/log?{}", query_string(&f.pairs())));
    let mut agencies: Vec<(String, String)> = state.agencies.keys().map(|a| (a.to_string(), a.to_string())).collect();
    agencies.sort();
    let bases = BasisKind::ALL
        .iter()
        .map(|b| (b.as_str().to_owned(), basis_label(&t, b.as_str())))
        .collect();
    let outcomes = ["allowed", "refused"]
        .into_iter()
        .map(|o| (o.to_owned(), decision_label(&t, o)))
        .collect();
    let kinds = [
        "disclosure",
        "consent-recorded",
        "consent-revoked",
        "log-read",
        "emergency-granted",
        "emergency-reviewed",
        "legal-report-filed",
        "console-forbidden",
    ]
    .into_iter()
    .map(|k| (k.to_owned(), kind_label(&t, k)))
    .collect();
    let limits = ["25", "50", "100", "200"]
        .into_iter()
        .map(|l| (l.to_owned(), t.get1("off-per-page", "n", l)))
        .collect::<Vec<_>>();
    let limit_now = Some(given(&f.limit).unwrap_or_else(|| "50".to_owned()));
    let page = SearchPage {
        t,
        chrome: Chrome::of(&user, req.path()),
        sub: subnav(&t, "/console/log"),
        agencies: choices(&t, &f.agency, agencies),
        bases: choices(&t, &f.basis, bases),
        outcomes: choices(&t, &f.outcome, outcomes),
        kinds: choices(&t, &f.kind, kinds),
        limits: choices(&t, &limit_now, limits).into_iter().skip(1).collect(),
        searched: error.is_none(),
        error,
        rows,
        next,
        first,
        f,
    };
    if page.error.is_some() {
        views::page_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
    } else {
        views::page(&page)
    }
}

/// The inclusion proof of an entry as the page shows it.
pub enum Proof {
    Verified {
        size: u64,
        signer: String,
        key_id: String,
        signed_at: String,
        hashes: usize,
        tlog_proof: String,
        /// One sentence: verified against the checkpoint of this size, signed by this key.
        detail: String,
    },
    Failed(Reason),
}

/// A labelled value of the entry.
pub struct Fact {
    pub label: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "console/officer/entry.html")]
struct EntryPage {
    t: Tr,
    chrome: Chrome,
    sub: Vec<SubLink>,
    index: u64,
    row: Row,
    facts: Vec<Fact>,
    leaf_hash: String,
    json: String,
    proof: Proof,
}

/// `GET /console/log/entries/{index}`: one entry in the officer's scope (a logged read, sealed
/// as the search seals) and its inclusion proof, computed and checked against a signed
/// checkpoint by the same service as `GET /v1/audit/proofs/inclusion`. An entry outside the
/// scope is "not found".
pub async fn entry(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let officer = svc::officer(&state, &user.principal)?;
    let t = user.tr;
    let index: u64 = path.parse().map_err(|_| ConsoleError::not_found())?;
    let found = svc::entry(&state, &officer, index).await?;
    let proof = match log::inclusion(&state, &user.principal, index, None).await {
        Ok(p) => match log::checkpoint(&state, &user.principal, Some(p.tree_size)).await {
            Ok(cp) => Proof::Verified {
                detail: t.with(
                    "off-proof-verified-detail",
                    &[("size", &p.tree_size.to_string()), ("signer", &cp.key_name)],
                ),
                size: p.tree_size,
                signer: cp.key_name,
                key_id: cp.key_id,
                signed_at: views::local_time_ms(cp.signed_at_ms),
                hashes: p.proof.len(),
                tlog_proof: p.tlog_proof,
            },
            Err(e) => Proof::Failed(Reason::of(&t, &e.detail.code)),
        },
        Err(e) => Proof::Failed(Reason::of(&t, &e.detail.code)),
    };
    let entry = &found.entry;
    let mut facts = Vec::new();
    let mut fact = |key: &str, value: String| {
        if !value.is_empty() {
            facts.push(Fact {
                label: t.get(key),
                value,
            });
        }
    };
    let list = |k: &str| -> Vec<String> {
        entry
            .get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().or_else(|| c.get("category").and_then(Value::as_str)))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    fact("off-col-disclosed", categories(&t, &list("disclosed")));
    fact("off-col-withheld", categories(&t, &list("withheld")));
    fact("off-col-reference", text(entry, "reference"));
    fact("off-col-action", text(entry, "action"));
    fact("off-col-scope", text(entry, "scope"));
    fact(
        "off-col-policy",
        entry.get("policy").map(|p| text(p, "version")).unwrap_or_default(),
    );
    let json = serde_json::to_string_pretty(entry).unwrap_or_default();
    views::page(&EntryPage {
        t,
        chrome: Chrome::of(&user, req.path()),
        sub: subnav(&t, ""),
        index,
        row: row(&t, &found),
        facts,
        leaf_hash: found.leaf_hash.clone(),
        json,
        proof,
    })
}

#[derive(Debug, Deserialize)]
pub struct PseudonymForm {
    pseudonym: Option<String>,
}

/// What the lookup found.
pub enum Lookup {
    Nothing,
    /// The person or household, and (agency name, case number) pairs in the officer's scope.
    Found {
        kind: String,
        id: String,
        case_numbers: Vec<(String, String)>,
    },
    Failed(Reason),
}

#[derive(Template)]
#[template(path = "console/officer/pseudonym.html")]
struct PseudonymPage {
    t: Tr,
    chrome: Chrome,
    sub: Vec<SubLink>,
    pseudonym: String,
    lookup: Lookup,
}

/// `GET /console/log/pseudonym?pseudonym=…`: who is behind a pseudonym (the same logged lookup
/// as `GET /v1/audit/pseudonyms/{pseudonym}`; people outside the officer's scope are unknown).
pub async fn pseudonym(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    f: web::Query<PseudonymForm>,
) -> Result<HttpResponse, ConsoleError> {
    let officer = svc::officer(&state, &user.principal)?;
    let t = user.tr;
    let p = given(&f.pseudonym).unwrap_or_default();
    let (lookup, status) = if p.is_empty() {
        (Lookup::Nothing, StatusCode::OK)
    } else {
        match svc::lookup_pseudonym(&state, &officer, &p).await {
            Ok(v) => (
                Lookup::Found {
                    kind: v.kind,
                    id: v.id,
                    case_numbers: v
                        .case_numbers
                        .into_iter()
                        .map(|c| {
                            let name = crate::domain::AgencyId::parse(&c.agency)
                                .ok()
                                .and_then(|a| state.agencies.get(&a).map(|a| a.name.clone()))
                                .unwrap_or_else(|| c.agency.clone());
                            (name, c.local_id)
                        })
                        .collect(),
                },
                StatusCode::OK,
            ),
            Err(e) if e.status.is_client_error() => (Lookup::Failed(Reason::of(&t, &e.detail.code)), e.status),
            Err(e) => return Err(e.into()),
        }
    };
    let page = PseudonymPage {
        t,
        chrome: Chrome::of(&user, req.path()),
        sub: subnav(&t, ""),
        pseudonym: p,
        lookup,
    };
    views::page_with_status(&page, status)
}
