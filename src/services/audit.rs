//! The privacy officer's reads of the log (`audit:read`): search, a subject's disclosure report
//! (every line with its inclusion proof), pseudonym → person lookup, and alerts. Both front ends
//! call these, so what an officer may see and what their reading leaves in the log cannot differ.
//!
//! Every read of log entries is itself appended to the log (a `log-read` entry naming the
//! officer, their scope and the query, ids replaced by pseudonyms) before the answer is handed
//! back; if that append fails, the caller gets 503 `audit_unavailable` and no answer.
//!
//! An officer reads within their log scope ([`Officer`], from `policy::access::log_scope`): the
//! entries of their own organ, or the whole log for the agencies configured as ward-wide
//! overseers. The scope goes into every store read. Fields that could point to an abuse reporter
//! are sealed in what is shown (`audit::report::seal_reporter`). Query values that look like an
//! individual number (My Number) are refused (422 `my_number_refused`) before anything is stored
//! or logged.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::audit::proofs::ProofBuilder;
use crate::audit::report::{self, SubjectReport};
use crate::audit::{AuditEntry, IndexFields, LogReadEvent, Receipt};
use crate::domain::my_number::contains_individual_number;
use crate::domain::{AgencyId, BasisKind, HouseholdId, SubjectId, UserId, ValidationError, parse_rfc3339, rfc3339};
use crate::http::error::ApiError;
use crate::policy::access::LogScope;
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{AlertRow, AuditFilter};

/// A privacy officer with their scope of the log: the only way to the reads below.
#[derive(Debug)]
pub struct Officer<'a> {
    who: &'a Principal,
    scope: LogScope,
}

impl Officer<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
    pub fn scope(&self) -> &LogScope {
        &self.scope
    }
}

/// The caller as a privacy officer (403 unless one).
pub fn officer<'a>(state: &AppState, who: &'a Principal) -> Result<Officer<'a>, ApiError> {
    Ok(Officer {
        who,
        scope: super::officer_scope(state, who)?,
    })
}

/// Refuses a query value that looks like an individual number: it would be logged verbatim.
fn no_my_number(field: &str, value: &str) -> Result<(), ValidationError> {
    if contains_individual_number(value) {
        return Err(ValidationError::new(
            field,
            "my_number_refused",
            "looks like an individual number (My Number), which the hub never stores or logs",
        ));
    }
    Ok(())
}

/// A pseudonym given by the caller. A known pseudonym is ours (a keyed hash, not a person's
/// number) even if its digits happen to look like an individual number; any other value that
/// does is refused before it is logged.
async fn pseudonym_input(state: &AppState, field: &str, raw: &str) -> Result<String, ApiError> {
    let p = short_token(field, raw)?;
    if contains_individual_number(&p) && !resolve(state, std::slice::from_ref(&p)).await?.contains_key(&p) {
        no_my_number(field, &p)?;
    }
    Ok(p)
}

/// Appends the `log-read` entry for this read.
async fn log_read(
    state: &AppState,
    officer: &Officer<'_>,
    action: &str,
    query: BTreeMap<String, String>,
    subject_pseudonym: Option<String>,
    results: u64,
) -> Result<Receipt, ApiError> {
    let (who, scope) = (officer.who, &officer.scope);
    let now = state.clock.now();
    let event = LogReadEvent {
        at: rfc3339(now),
        user: who.user.to_string(),
        roles: who.roles.clone(),
        agency: who.agency.to_string(),
        organ: who.organ.to_string(),
        client_cert: who.cert_fingerprint.clone(),
        action: action.to_owned(),
        scope: scope.label().to_owned(),
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

fn time_ms(field: &str, s: &str) -> Result<i64, ValidationError> {
    parse_rfc3339(field, s).map(crate::store::to_ms)
}

fn short_token(field: &str, s: &str) -> Result<String, ValidationError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then(|| s.to_owned())
        .ok_or_else(|| ValidationError::new(field, "invalid_value", "must be 1-64 letters, digits, '-', '_' or '.'"))
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
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
    /// The entry as logged, except that fields which could point to an abuse reporter read
    /// `"sealed"` (then `sealed` is true and the leaf hash covers the original bytes).
    #[schema(value_type = Object)]
    pub entry: serde_json::Value,
    pub sealed: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SearchView {
    pub entries: Vec<EntryView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<u64>,
}

/// The store filter of a search, and the query as it is logged (ids only as pseudonyms).
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
    // Values logged as given are checked first (subject and household ids are logged only as
    // pseudonyms; `subject_pseudonym` is checked by the caller).
    for (field, value) in [
        ("agency", &q.agency),
        ("user", &q.user),
        ("basis", &q.basis),
        ("session", &q.session),
        ("outcome", &q.outcome),
        ("kind", &q.kind),
        ("from", &q.from),
        ("until", &q.until),
    ] {
        if let Some(v) = value {
            no_my_number(field, v)?;
        }
    }
    if let Some(after) = q.after {
        no_my_number("after", &after.to_string())?;
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
    f.from_ms = q.from.as_deref().map(|t| time_ms("from", t)).transpose()?;
    f.until_ms = q.until.as_deref().map(|t| time_ms("until", t)).transpose()?;
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

/// One page of the log within the officer's scope (refusals included), oldest first, paginated
/// by index. The read is logged before the page is handed back.
pub async fn search(state: &AppState, officer: &Officer<'_>, q: &SearchQuery) -> Result<SearchView, ApiError> {
    let mut logged = BTreeMap::new();
    let filter = filter_of(state, q, &mut logged)?;
    if let Some(p) = &q.subject_pseudonym {
        pseudonym_input(state, "subject_pseudonym", p).await?;
    }
    let found = state.store.search_audit(&officer.scope, &filter).await?;
    let next_after = (found.len() as u32 == filter.limit)
        .then(|| found.last().map(|e| e.index))
        .flatten();
    let entries = entry_views(state, found).await?;
    log_read(
        state,
        officer,
        "search",
        logged,
        filter.subject_pseudonym.clone(),
        entries.len() as u64,
    )
    .await?;
    Ok(SearchView { entries, next_after })
}

/// Entries as officers see them: reporter details sealed, people's ids where the hub knows them.
async fn entry_views(state: &AppState, found: Vec<crate::store::FoundEntry>) -> Result<Vec<EntryView>, ApiError> {
    let pseudonyms: Vec<String> = found
        .iter()
        .flat_map(|e| [e.subject_pseudonym.clone(), e.household_pseudonym.clone()])
        .flatten()
        .collect();
    let people = resolve(state, &pseudonyms).await?;
    let id_of = |p: &Option<String>| p.as_ref().and_then(|p| people.get(p)).map(|(_, id)| id.clone());
    Ok(found
        .into_iter()
        .map(|e| {
            let mut entry = serde_json::from_slice(&e.entry).unwrap_or(serde_json::Value::Null);
            let sealed = report::seal_reporter(&mut entry);
            EntryView {
                index: e.index,
                leaf_hash: hex::encode(&e.leaf_hash),
                subject_id: id_of(&e.subject_pseudonym),
                household_id: id_of(&e.household_pseudonym),
                entry,
                sealed,
            }
        })
        .collect())
}

/// One entry of the officer's scope, as the search shows it (the console's entry page). The
/// read is logged first (`log-read`, action `entry`, the index in the query); an entry that does
/// not exist or lies outside the scope is 404 `entry_not_found` alike. One indexed read, however
/// sparse the scope.
pub async fn entry(state: &AppState, officer: &Officer<'_>, index: u64) -> Result<EntryView, ApiError> {
    let found = state.store.audit_entry(&officer.scope, index).await?;
    let query = BTreeMap::from([("index".to_owned(), index.to_string())]);
    let subject = found.as_ref().and_then(|e| e.subject_pseudonym.clone());
    log_read(state, officer, "entry", query, subject, u64::from(found.is_some())).await?;
    entry_views(state, found.into_iter().collect())
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("entry_not_found", "no log entry with that index in your scope"))
}

/// How a subject report is delivered (it is part of the logged query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Csv,
}

impl ReportFormat {
    /// `json` (also when absent) or `csv` (422 `invalid_value` on field `format` otherwise).
    pub fn parse(s: Option<&str>) -> Result<Self, ValidationError> {
        match s {
            None | Some("json") => Ok(Self::Json),
            Some("csv") => Ok(Self::Csv),
            Some(_) => Err(ValidationError::new("format", "invalid_value", "must be json or csv")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }
}

async fn known_subject(state: &AppState, subject: SubjectId) -> Result<(), ApiError> {
    if state.store.subject(subject).await?.is_none() {
        return Err(ApiError::not_found("subject_not_found", "no subject with that id"));
    }
    Ok(())
}

/// The subject's disclosure entries in the officer's scope, after the read is logged
/// (`subject-report`, with `format` in the logged query). Returns them and the read's receipt.
async fn report_entries(
    state: &AppState,
    officer: &Officer<'_>,
    subject: SubjectId,
    format: &str,
) -> Result<(Vec<crate::store::FoundEntry>, Receipt), ApiError> {
    let pseudonym = state.pseudonyms.pseudonym("subject", &subject.to_string());
    let found = state.store.disclosures_about(&officer.scope, &pseudonym).await?;
    let query = BTreeMap::from([
        ("subject".to_owned(), pseudonym.clone()),
        ("format".to_owned(), format.to_owned()),
    ]);
    let receipt = log_read(
        state,
        officer,
        "subject-report",
        query,
        Some(pseudonym),
        found.len() as u64,
    )
    .await?;
    Ok((found, receipt))
}

/// A subject's report as a page shows it (the console): the lines of [`subject_report`].
#[derive(Debug, Serialize)]
pub struct ReportSummary {
    pub subject_id: String,
    pub generated_at: String,
    /// As in [`SubjectReport`], with `inclusion_proof` empty.
    pub lines: Vec<report::ReportLine>,
}

/// The same report as [`subject_report`] — the same lines, scope, withholding and sealing, and
/// the same logged read (`format`: `html`) — without an inclusion proof per line: a page for a
/// person with thousands of lines must not compute thousands of proofs. Each line's proof is
/// had on demand ([`crate::services::log::inclusion`]); the JSON and CSV report carry them all.
pub async fn subject_report_summary(
    state: &AppState,
    officer: &Officer<'_>,
    subject: SubjectId,
) -> Result<ReportSummary, ApiError> {
    known_subject(state, subject).await?;
    let (found, _) = report_entries(state, officer, subject, "html").await?;
    Ok(ReportSummary {
        subject_id: subject.to_string(),
        generated_at: rfc3339(state.clock.now()),
        lines: found.iter().filter_map(|e| report::line(e, &[])).collect(),
    })
}

/// A subject's disclosure report (docs/rules.md#R-G7): every disclosure decision about the person
/// in the officer's scope, third-party details and sealed reporter details withheld, each line
/// with its inclusion proof against one signed checkpoint that also holds this read.
pub async fn subject_report(
    state: &AppState,
    officer: &Officer<'_>,
    subject: SubjectId,
    format: ReportFormat,
) -> Result<SubjectReport, ApiError> {
    known_subject(state, subject).await?;
    // Proofs are not served from a log known to be altered.
    state.checkpoints.ensure_consistent().await?;
    let (found, receipt) = report_entries(state, officer, subject, format.as_str()).await?;
    // One checkpoint for every line: one that also holds this read.
    let cp = state.checkpoints.covering(receipt.index).await?.ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "not_yet_checkpointed",
            "the log could not be checkpointed just now; try again in a few seconds",
        )
    })?;
    let signed = state.checkpoints.opened(&cp).await?;
    let mut tree = ProofBuilder::new(&state.store);
    let mut lines = Vec::with_capacity(found.len());
    for e in &found {
        let proof = match tree.inclusion(e.index, cp.size).await {
            Ok(p) => p,
            Err(err) => return Err(state.checkpoints.tree_failure(err).await.into()),
        };
        state
            .checkpoints
            .check_inclusion_in(&signed, e.index, &e.entry, &e.leaf_hash, &proof)
            .await?;
        lines.extend(report::line(e, &proof));
    }
    Ok(SubjectReport {
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
    })
}

#[derive(Serialize, ToSchema)]
pub struct PersonView {
    pub pseudonym: String,
    /// `subject` or `household`.
    pub kind: String,
    pub id: String,
    /// For a subject: the case numbers the agencies in the officer's scope know them by — how
    /// the people who work with them name them (names themselves exist only inside encrypted
    /// records, which no officer reads).
    pub case_numbers: Vec<CaseNumber>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseNumber {
    pub agency: String,
    pub local_id: String,
}

/// Who is behind a pseudonym in the log (the lookup is logged, found or not). An officer scoped
/// to an organ resolves only pseudonyms that appear in entries of their scope (404
/// `pseudonym_unknown` otherwise, as for a pseudonym nobody has).
pub async fn lookup_pseudonym(state: &AppState, officer: &Officer<'_>, raw: &str) -> Result<PersonView, ApiError> {
    let scope = &officer.scope;
    let pseudonym = pseudonym_input(state, "pseudonym", raw).await?;
    let in_scope = scope.is_ward_wide() || state.store.pseudonym_in_scope(scope, &pseudonym).await?;
    let found = if in_scope {
        let people = resolve(state, std::slice::from_ref(&pseudonym)).await?;
        people.get(&pseudonym).cloned()
    } else {
        None
    };
    let subject = found
        .as_ref()
        .filter(|(k, _)| k == "subject")
        .map(|_| pseudonym.clone());
    let query = BTreeMap::from([("pseudonym".to_owned(), pseudonym.clone())]);
    log_read(
        state,
        officer,
        "pseudonym-lookup",
        query,
        subject,
        u64::from(found.is_some()),
    )
    .await?;
    let (kind, id) =
        found.ok_or_else(|| ApiError::not_found("pseudonym_unknown", "no subject or household has that pseudonym"))?;
    let mut case_numbers = Vec::new();
    if kind == "subject"
        && let Ok(subject) = SubjectId::parse(&id)
    {
        for (agency, local_id) in state.store.links_of(subject).await? {
            if scope.agencies().is_none_or(|a| a.contains(&agency)) {
                case_numbers.push(CaseNumber { agency, local_id });
            }
        }
    }
    Ok(PersonView {
        pseudonym,
        kind,
        id,
        case_numbers,
    })
}

#[derive(Serialize, ToSchema)]
pub struct AlertsView {
    pub alerts: Vec<AlertRow>,
}

/// Alerts in the officer's scope, newest first, since `since` (default 30 days ago), at most
/// `limit` (1-1000, default 100).
pub async fn alerts(
    state: &AppState,
    officer: &Officer<'_>,
    since: Option<OffsetDateTime>,
    limit: Option<u32>,
) -> Result<AlertsView, ApiError> {
    let since = crate::store::to_ms(since.unwrap_or_else(|| state.clock.now() - time::Duration::days(30)));
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ValidationError::new("limit", "invalid_value", "must be 1-1000").into());
    }
    let alerts = state.store.alerts(&officer.scope, since, limit).await?;
    Ok(AlertsView { alerts })
}

/// Disclosure decisions of one local day, basis, requesting agency and outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityCount {
    /// The local day (`audit.alerts.day_offset_minutes`, Japan by default), `YYYY-MM-DD`.
    pub day: String,
    pub basis: String,
    /// The requesting (receiving) agency.
    pub agency: String,
    /// `allowed` or `refused`.
    pub decision: String,
    pub count: u64,
}

/// Disclosure decisions in the officer's scope per local day, basis, requesting agency and
/// outcome, for `from <= at < until` (at most 92 days). Counts only, no entries; the read is
/// logged all the same (`log-read`, action `activity`).
pub async fn activity(
    state: &AppState,
    officer: &Officer<'_>,
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Vec<ActivityCount>, ApiError> {
    if until <= from || until - from > time::Duration::days(92) {
        return Err(ValidationError::new("until", "invalid_value", "the period is 1 to 92 days").into());
    }
    let rows = state
        .store
        .disclosure_counts(
            &officer.scope,
            crate::store::to_ms(from),
            crate::store::to_ms(until),
            state.alerts.day_offset_ms(),
        )
        .await?;
    let query = BTreeMap::from([("from".to_owned(), rfc3339(from)), ("until".to_owned(), rfc3339(until))]);
    let total = rows.iter().map(|r| r.4).sum();
    log_read(state, officer, "activity", query, None, total).await?;
    Ok(rows
        .into_iter()
        .map(|(day, basis, agency, decision, count)| ActivityCount {
            day: OffsetDateTime::from_unix_timestamp(day.saturating_mul(86_400))
                .map(|d| d.date().to_string())
                .unwrap_or_default(),
            basis,
            agency,
            decision,
            count,
        })
        .collect())
}
