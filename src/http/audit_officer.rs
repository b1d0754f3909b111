//! The privacy officer's tools (`audit:read`): search the log, a subject's disclosure report
//! (JSON or CSV, every line with its inclusion proof), pseudonym → person lookup, and alerts.
//!
//! Every read of log entries is itself appended to the log (a `log-read` entry naming the
//! officer and the query, ids replaced by pseudonyms) before the answer leaves; if that append
//! fails, the answer is 503 `audit_unavailable`.

use std::collections::{BTreeMap, HashMap, HashSet};

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::authorize;
use crate::audit::proofs::ProofBuilder;
use crate::audit::report::{self, SubjectReport};
use crate::audit::{AuditEntry, IndexFields, LogReadEvent, Receipt};
use crate::domain::{AgencyId, BasisKind, HouseholdId, SubjectId, UserId, ValidationError};
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{AlertRow, AuditFilter};

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Appends the `log-read` entry for this read.
async fn log_read(
    state: &AppState,
    who: &Principal,
    action: &str,
    query: BTreeMap<String, String>,
    subject_pseudonym: Option<String>,
    results: u64,
) -> Result<Receipt, ApiError> {
    let now = state.clock.now();
    let event = LogReadEvent {
        at: rfc3339(now),
        user: who.user.to_string(),
        roles: who.roles.clone(),
        agency: who.agency.to_string(),
        organ: who.organ.to_string(),
        client_cert: who.cert_fingerprint.clone(),
        action: action.to_owned(),
        query,
        results,
    };
    let index = IndexFields {
        at_ms: crate::store::to_ms(now),
        decision: "read",
        subject_pseudonym,
        requester_agency: Some(who.agency.to_string()),
        requester_user: Some(who.user.to_string()),
        ..IndexFields::default()
    };
    Ok(state.audit.append(&AuditEntry::LogRead(event), index).await?)
}

/// Maps pseudonyms back to (kind, id), learning the pseudonyms of people not mapped yet.
async fn resolve(state: &AppState, pseudonyms: &[String]) -> Result<HashMap<String, (String, String)>, ApiError> {
    let wanted: HashSet<&String> = pseudonyms.iter().collect();
    let mut known = state.store.pseudonyms(pseudonyms).await?;
    if known.len() < wanted.len() {
        let unmapped = state.store.unmapped_people().await?;
        if !unmapped.is_empty() {
            let rows: Vec<(String, String, String)> = unmapped
                .into_iter()
                .map(|(kind, id)| (state.pseudonyms.pseudonym(&kind, &id), kind, id))
                .collect();
            state.store.insert_pseudonyms(&rows).await?;
            known = state.store.pseudonyms(pseudonyms).await?;
        }
    }
    Ok(known)
}

fn parse_time(field: &str, s: &str) -> Result<i64, ValidationError> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map(crate::store::to_ms)
        .map_err(|_| ValidationError::new(field, "invalid_time", "must be an RFC 3339 timestamp"))
}

fn short_token(field: &str, s: &str) -> Result<String, ValidationError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then(|| s.to_owned())
        .ok_or_else(|| ValidationError::new(field, "invalid_value", "must be 1-64 letters, digits, '-', '_' or '.'"))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Subject id (mapped to its pseudonym by the hub).
    pub subject: Option<String>,
    /// Or the subject's pseudonym as it appears in entries.
    pub subject_pseudonym: Option<String>,
    /// Household id.
    pub household: Option<String>,
    /// Requesting or owning agency.
    pub agency: Option<String>,
    /// Requesting user.
    pub user: Option<String>,
    /// Basis type, e.g. `consent`.
    pub basis: Option<String>,
    /// Meeting session id.
    pub session: Option<String>,
    /// `allowed` or `refused`.
    pub outcome: Option<String>,
    /// Entry kind: `disclosure`, `consent-recorded`, `consent-revoked`, `log-read`.
    pub kind: Option<String>,
    /// RFC 3339, inclusive.
    pub from: Option<String>,
    /// RFC 3339, exclusive.
    pub until: Option<String>,
    /// Cursor: only entries after this index (use `next_after` of the previous page).
    pub after: Option<u64>,
    /// Page size, 1-500 (default 100).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct EntryView {
    pub index: u64,
    pub leaf_hash: String,
    /// The subject behind the entry's pseudonym, when known to the hub.
    pub subject_id: Option<String>,
    pub household_id: Option<String>,
    /// The entry exactly as logged.
    #[schema(value_type = Object)]
    pub entry: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct SearchView {
    pub entries: Vec<EntryView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<u64>,
}

fn filter_of(
    state: &AppState,
    q: &SearchQuery,
    logged: &mut BTreeMap<String, String>,
) -> Result<AuditFilter, ValidationError> {
    let mut f = AuditFilter {
        limit: q.limit.unwrap_or(100),
        after: q.after,
        ..AuditFilter::default()
    };
    if !(1..=500).contains(&f.limit) {
        return Err(ValidationError::new("limit", "invalid_value", "must be 1-500"));
    }
    if let Some(s) = &q.subject {
        let p = state.pseudonyms.pseudonym("subject", &SubjectId::parse(s)?.to_string());
        f.subject_pseudonym = Some(p);
    }
    if let Some(p) = &q.subject_pseudonym {
        f.subject_pseudonym = Some(short_token("subject_pseudonym", p)?);
    }
    if let Some(h) = &q.household {
        let id = HouseholdId::parse(h)?;
        f.household_pseudonym = Some(state.pseudonyms.pseudonym("household", &id.to_string()));
    }
    f.agency = q
        .agency
        .as_deref()
        .map(AgencyId::parse)
        .transpose()?
        .map(|a| a.to_string());
    f.user = q.user.as_deref().map(UserId::parse).transpose()?.map(|u| u.to_string());
    f.basis = q
        .basis
        .as_deref()
        .map(BasisKind::parse)
        .transpose()?
        .map(|b| b.as_str().to_owned());
    f.session = q.session.as_deref().map(|s| short_token("session", s)).transpose()?;
    f.decision = match q.outcome.as_deref() {
        None => None,
        Some(o @ ("allowed" | "refused")) => Some(o.to_owned()),
        Some(_) => {
            return Err(ValidationError::new(
                "outcome",
                "invalid_value",
                "must be allowed or refused",
            ));
        }
    };
    f.kind = q.kind.as_deref().map(|k| short_token("kind", k)).transpose()?;
    f.from_ms = q.from.as_deref().map(|t| parse_time("from", t)).transpose()?;
    f.until_ms = q.until.as_deref().map(|t| parse_time("until", t)).transpose()?;
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            logged.insert(k.to_owned(), v.clone());
        }
    };
    put("subject", &f.subject_pseudonym);
    put("household", &f.household_pseudonym);
    put("agency", &f.agency);
    put("user", &f.user);
    put("basis", &f.basis);
    put("session", &f.session);
    put("outcome", &f.decision);
    put("kind", &f.kind);
    put("from", &q.from);
    put("until", &q.until);
    put("after", &f.after.map(|a| a.to_string()));
    put("limit", &Some(f.limit.to_string()));
    Ok(f)
}

/// Search the log (refusals included), oldest first, paginated by index.
#[utoipa::path(get, path = "/v1/audit/entries", tag = "audit", params(SearchQuery),
    responses((status = 200, body = SearchView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn search(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "audit:read")?;
    let mut logged = BTreeMap::new();
    let filter = filter_of(&state, &q, &mut logged)?;
    let found = state.store.search_audit(&filter).await?;
    let pseudonyms: Vec<String> = found
        .iter()
        .flat_map(|e| [e.subject_pseudonym.clone(), e.household_pseudonym.clone()])
        .flatten()
        .collect();
    let people = resolve(&state, &pseudonyms).await?;
    let id_of = |p: &Option<String>| p.as_ref().and_then(|p| people.get(p)).map(|(_, id)| id.clone());
    let next_after = (found.len() as u32 == filter.limit)
        .then(|| found.last().map(|e| e.index))
        .flatten();
    let entries: Vec<EntryView> = found
        .into_iter()
        .map(|e| EntryView {
            index: e.index,
            leaf_hash: hex::encode(&e.leaf_hash),
            subject_id: id_of(&e.subject_pseudonym),
            household_id: id_of(&e.household_pseudonym),
            entry: serde_json::from_slice(&e.entry).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    log_read(
        &state,
        &who,
        "search",
        logged,
        filter.subject_pseudonym.clone(),
        entries.len() as u64,
    )
    .await?;
    Ok(HttpResponse::Ok().json(SearchView { entries, next_after }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// A subject's disclosure report (docs/rules.md#R-G7): every disclosure decision about the person, with
/// third-party details and sealed reporter details withheld, each line with its inclusion proof
/// against one signed checkpoint.
#[utoipa::path(get, path = "/v1/audit/subjects/{id}/report", tag = "audit", params(ReportQuery),
    responses((status = 200, body = SubjectReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn subject_report(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "audit:read")?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ValidationError::new("format", "invalid_value", "must be json or csv").into()),
    };
    let subject = SubjectId::parse(&path)?;
    if state.store.subject(subject).await?.is_none() {
        return Err(ApiError::not_found("subject_not_found", "no subject with that id"));
    }
    let pseudonym = state.pseudonyms.pseudonym("subject", &subject.to_string());
    let found = state.store.disclosures_about(&pseudonym).await?;
    let query = BTreeMap::from([
        ("subject".to_owned(), pseudonym.clone()),
        ("format".to_owned(), if csv { "csv" } else { "json" }.to_owned()),
    ]);
    let receipt = log_read(
        &state,
        &who,
        "subject-report",
        query,
        Some(pseudonym),
        found.len() as u64,
    )
    .await?;
    // One checkpoint for every line: one that also holds this read.
    let cp = state.checkpoints.covering(receipt.index).await?.ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "not_yet_checkpointed",
            "the log could not be checkpointed just now; try again in a few seconds",
        )
    })?;
    let mut tree = ProofBuilder::new(&state.store);
    let mut lines = Vec::with_capacity(found.len());
    for e in &found {
        let proof = tree.inclusion(e.index, cp.size).await?;
        lines.extend(report::line(e, &proof));
    }
    let report = SubjectReport {
        subject_id: subject.to_string(),
        generated_at: rfc3339(state.clock.now()),
        checkpoint: report::checkpoint_view(&cp),
        verifier_keys: state
            .checkpoints
            .keys()
            .verifiers()
            .iter()
            .map(|v| v.to_vkey_string())
            .collect(),
        lines,
    };
    if csv {
        Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"disclosure-report-{subject}.csv\""),
            ))
            .body(report::to_csv(&report)))
    } else {
        Ok(HttpResponse::Ok().json(report))
    }
}

#[derive(Serialize, ToSchema)]
pub struct PersonView {
    pub pseudonym: String,
    /// `subject` or `household`.
    pub kind: String,
    pub id: String,
}

/// Who is behind a pseudonym in the log (the lookup is logged).
#[utoipa::path(get, path = "/v1/audit/pseudonyms/{pseudonym}", tag = "audit",
    responses((status = 200, body = PersonView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn resolve_pseudonym(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "audit:read")?;
    let pseudonym = short_token("pseudonym", &path)?;
    let people = resolve(&state, std::slice::from_ref(&pseudonym)).await?;
    let found = people.get(&pseudonym).cloned();
    let subject = found
        .as_ref()
        .filter(|(k, _)| k == "subject")
        .map(|_| pseudonym.clone());
    let query = BTreeMap::from([("pseudonym".to_owned(), pseudonym.clone())]);
    log_read(
        &state,
        &who,
        "pseudonym-lookup",
        query,
        subject,
        u64::from(found.is_some()),
    )
    .await?;
    let (kind, id) =
        found.ok_or_else(|| ApiError::not_found("pseudonym_unknown", "no subject or household has that pseudonym"))?;
    Ok(HttpResponse::Ok().json(PersonView { pseudonym, kind, id }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// RFC 3339; default 30 days ago.
    pub since: Option<String>,
    /// 1-1000 (default 100).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AlertsView {
    pub alerts: Vec<AlertRow>,
}

/// Alerts, newest first: `unusual-volume`, `verification-failed`.
#[utoipa::path(get, path = "/v1/audit/alerts", tag = "audit", params(AlertsQuery),
    responses((status = 200, body = AlertsView), (status = 403, body = ErrorBody)))]
pub async fn alerts(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<AlertsQuery>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "audit:read")?;
    let since = match &q.since {
        Some(s) => parse_time("since", s)?,
        None => crate::store::to_ms(state.clock.now() - time::Duration::days(30)),
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ValidationError::new("limit", "invalid_value", "must be 1-1000").into());
    }
    let alerts = state.store.alerts(since, limit).await?;
    Ok(HttpResponse::Ok().json(AlertsView { alerts }))
}
