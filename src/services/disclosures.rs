//! The disclosure road (README.md, "Architecture"): gather the facts → decide → audit log → open →
//! response. The facts of a request are read in one pass (`gather`: the subject with the
//! owner's sealed sections, the basis check, and the records' provenance in one query); the
//! decision is the pure [`crate::domain::decision::decide`]. Every exit after the request was
//! understood leaves an audit entry, and content is opened only with the [`Release`] the audit
//! log returns.

use std::collections::BTreeSet;

use time::OffsetDateTime;
use tracing::Instrument;

use crate::audit::{
    AuditError, DisclosureEntry, Outcome, PolicyRef, Receipt, Recorded, Release, ReleasePlan, Requester, Withheld,
};
use crate::domain::decision::{
    BasisFinding, Decision, Facts, Origin, PolicyAnswer, PolicyOracle, RecordFact, RefusalReason, SectionFact,
    SubjectFact, decide,
};
use crate::domain::{
    AgencyId, Basis, BasisContext, BasisKind, Category, ConsentId, FreeText, GrantId, InfoRequestId, Purpose, ReportId,
    Role, SessionId, SubjectId, ValidationError,
};
use crate::policy::basis::{self, BasisQuestion, BasisVerdict};
use crate::policy::{PolicyError, PolicySet};
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{DisclosedSection, SealedItem, SealedSections, SectionMeta, StoreError, SubjectRow};

/// A disclosure request, parsed.
#[derive(Debug, Clone)]
pub struct DisclosureRequest {
    pub subject: SubjectId,
    pub owner: AgencyId,
    pub purpose: Purpose,
    pub basis: Basis,
    /// Categories asked for; `None` asks for everything the basis and policy allow.
    pub categories: Option<Vec<Category>>,
    /// Why special-care categories are needed (required for them in meetings and conferences).
    pub justification: Option<FreeText>,
}

/// A basis as the requester names it (the JSON API's `basis`, the console's picker).
#[derive(Debug, Clone, Default)]
pub struct BasisFields {
    /// `consent`, `support-meeting`, `statutory-conference`, `legal-report`, `emergency`,
    /// `internal`.
    pub kind: String,
    pub consent_id: Option<String>,
    pub session_id: Option<String>,
    pub info_request_id: Option<String>,
    pub report_id: Option<String>,
    pub grant_id: Option<String>,
    pub reason: Option<String>,
}

/// A disclosure request as the requester gives it, before [`parse_request`].
#[derive(Debug, Clone, Default)]
pub struct RequestFields {
    pub subject_id: String,
    pub owner_agency: String,
    pub purpose: String,
    pub basis: BasisFields,
    /// `None` asks for everything the basis and policy allow; an empty list is refused.
    pub categories: Option<Vec<String>>,
    pub justification: Option<String>,
}

/// A required id field of the basis.
fn id_field<T>(
    value: Option<&str>,
    field: &'static str,
    parse: fn(&str) -> Result<T, ValidationError>,
) -> Result<T, ValidationError> {
    let v = value.ok_or_else(|| ValidationError::new(field, "missing_field", format!("this basis needs {field}")))?;
    parse(v).map_err(|e| e.at(field))
}

fn parse_basis(b: &BasisFields) -> Result<Basis, ValidationError> {
    let info_request = |b: &BasisFields| {
        b.info_request_id
            .as_deref()
            .map(|v| InfoRequestId::parse(v).map_err(|e| e.at("basis.info_request_id")))
            .transpose()
    };
    Ok(match BasisKind::parse(&b.kind)? {
        BasisKind::Consent => Basis::Consent {
            consent_id: id_field(b.consent_id.as_deref(), "basis.consent_id", ConsentId::parse)?,
        },
        BasisKind::SupportMeeting => Basis::SupportMeeting {
            session_id: id_field(b.session_id.as_deref(), "basis.session_id", SessionId::parse)?,
            info_request_id: info_request(b)?,
        },
        BasisKind::StatutoryConference => Basis::StatutoryConference {
            session_id: id_field(b.session_id.as_deref(), "basis.session_id", SessionId::parse)?,
            info_request_id: info_request(b)?,
        },
        BasisKind::LegalReport => Basis::LegalReport {
            report_id: id_field(b.report_id.as_deref(), "basis.report_id", ReportId::parse)?,
        },
        BasisKind::Emergency => Basis::Emergency {
            grant_id: id_field(b.grant_id.as_deref(), "basis.grant_id", GrantId::parse)?,
        },
        BasisKind::Internal => Basis::Internal {
            reason: b
                .reason
                .as_deref()
                .map(|r| FreeText::parse("basis.reason", r).map(FreeText::into_string))
                .transpose()?,
        },
    })
}

/// Validates a disclosure request: ids, purpose, basis and its reference, categories, the
/// justification's text.
pub fn parse_request(b: RequestFields) -> Result<DisclosureRequest, ValidationError> {
    let subject = SubjectId::parse(&b.subject_id)?;
    let owner = AgencyId::parse(&b.owner_agency).map_err(|e| e.at("owner_agency"))?;
    let purpose = Purpose::parse(&b.purpose)?;
    let basis = parse_basis(&b.basis)?;
    let categories = b
        .categories
        .map(|list| {
            if list.is_empty() {
                return Err(ValidationError::new(
                    "categories",
                    "empty",
                    "omit categories or name at least one",
                ));
            }
            list.iter()
                .map(|c| Category::parse(c).map_err(|e| e.at("categories")))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let justification = b
        .justification
        .as_deref()
        .map(|j| FreeText::parse("justification", j))
        .transpose()?;
    Ok(DisclosureRequest {
        subject,
        owner,
        purpose,
        basis,
        categories,
        justification,
    })
}

#[derive(Debug)]
pub enum DisclosureOutcome {
    Disclosed {
        sections: Vec<DisclosedSection>,
        disclosed: Vec<Category>,
        withheld: Vec<Withheld>,
        receipt: Receipt,
        policy_version: String,
    },
    Refused {
        /// Its code and message are what the client sees.
        reason: RefusalReason,
        /// Empty when the basis does not hold.
        withheld: Vec<Withheld>,
        receipt: Receipt,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum DisclosureError {
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

fn rfc3339_ms(t: OffsetDateTime) -> String {
    let t = t
        .replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The sharing policy of one version, for one requester and basis.
struct Policy<'a> {
    set: &'a PolicySet,
    roles: &'a [Role],
    agency: &'a AgencyId,
    action: &'static str,
}

impl PolicyOracle for Policy<'_> {
    type Error = PolicyError;
    fn may_receive(&self, category: Category) -> Result<PolicyAnswer, PolicyError> {
        let (allowed, rules) = self.set.may_receive(self.roles, self.agency, self.action, category)?;
        Ok(PolicyAnswer { allowed, rules })
    }
}

/// The facts of one request, gathered in one pass, and what goes on record besides them.
struct Gathered {
    facts: Facts,
    context: BasisContext,
    subject_row: Option<SubjectRow>,
    sealed: Option<SealedSections>,
    /// The sections, in the order of `facts.sections`.
    index: Vec<SectionMeta>,
}

/// Reads everything the decision depends on: the subject with the owner's sections (one
/// query), the basis check's facts, and — only when some record came from a session — the
/// provenance of all the owner's records about the subject (one query).
async fn gather(
    state: &AppState,
    who: &Principal,
    req: &DisclosureRequest,
    now: OffsetDateTime,
) -> Result<Gathered, DisclosureError> {
    let kind = req.basis.kind();
    let mut g = Gathered {
        facts: Facts {
            subject: SubjectFact::NotFound,
            basis_kind: kind,
            basis: BasisFinding::Fails(RefusalReason::SubjectNotFound),
            internal_reason_given: matches!(&req.basis, Basis::Internal { reason: Some(r) } if !r.trim().is_empty()),
            justification_given: req.justification.is_some(),
            requested: req.categories.clone(),
            records: Vec::new(),
            sections: Vec::new(),
        },
        context: BasisContext::default(),
        subject_row: None,
        sealed: None,
        index: Vec::new(),
    };
    let Some((row, sealed)) = state.store.subject_with_sections(req.subject, &req.owner).await? else {
        return Ok(g);
    };
    if !state.agencies.contains_key(&req.owner) {
        g.facts.subject = SubjectFact::OwnerUnknown;
        g.subject_row = Some(row);
        return Ok(g);
    }
    if sealed.erased() {
        g.facts.subject = SubjectFact::Erased;
        g.subject_row = Some(row);
        return Ok(g);
    }
    g.facts.subject = SubjectFact::Found;
    let question = BasisQuestion {
        subject: req.subject,
        household: row.household,
        owner: &req.owner,
        requester: who,
        purpose: &req.purpose,
        now,
        agencies: &state.agencies,
        config: &state.bases,
    };
    let verdict = basis::check(&state.store, &req.basis, &question)
        .instrument(tracing::info_span!("basis_check"))
        .await?;
    g.subject_row = Some(row);
    match verdict {
        BasisVerdict::Fails(reason) => {
            g.facts.basis = BasisFinding::Fails(reason);
            // Nothing about the owner's records goes into a decision whose basis fails.
            return Ok(g);
        }
        BasisVerdict::Holds { covered, context } => {
            g.facts.basis = BasisFinding::Holds { covered };
            g.context = context;
        }
    }
    g.index = sealed.index().cloned().collect();
    g.facts.sections = g
        .index
        .iter()
        .map(|s| SectionFact {
            record: s.record,
            category: s.category,
        })
        .collect();
    let provenance = if g.index.iter().any(|s| sealed.origin_session_of(s.record).is_some()) {
        state
            .store
            .record_provenance(req.subject, &req.owner, kind.as_str())
            .await?
    } else {
        Vec::new()
    };
    for s in &g.index {
        if g.facts.records.iter().any(|r| r.id == s.record) {
            continue;
        }
        let same_purpose = sealed
            .purpose_of(s.record)
            .and_then(|p| Purpose::parse(p).ok())
            .is_some_and(|p| p.same_purpose(&req.purpose));
        let origin = match sealed.origin_session_of(s.record) {
            None => Origin::Own,
            Some(_) => match provenance.iter().find(|p| p.0 == s.record) {
                Some((_, Some(body), _)) if g.context.body == Some(*body) => Origin::SameBody,
                Some((_, _, true)) => Origin::Approved,
                _ => Origin::OtherBody,
            },
        };
        g.facts.records.push(RecordFact {
            id: s.record,
            same_purpose,
            origin,
        });
    }
    g.sealed = Some(sealed);
    Ok(g)
}

/// Walks one disclosure request down the road.
pub async fn disclose(
    state: &AppState,
    who: &Principal,
    req: DisclosureRequest,
) -> Result<DisclosureOutcome, DisclosureError> {
    Ok(disclose_with(state, who, req, Vec::new()).await?.0)
}

/// Walks one disclosure request down the road with sealed items of the owner's besides its
/// records (a referral's note): if the decision is allowed they are released with the
/// sections, listed on the entry (`attached`) and opened only with the entry's [`Release`];
/// if refused they stay sealed. Returns the outcome and the opened items (label, text).
#[tracing::instrument(name = "disclosure", skip_all, fields(basis = %req.basis.kind(), owner = %req.owner))]
pub async fn disclose_with(
    state: &AppState,
    who: &Principal,
    req: DisclosureRequest,
    attachments: Vec<SealedItem>,
) -> Result<(DisclosureOutcome, Vec<(String, String)>), DisclosureError> {
    let now = state.clock.now();
    // One policy version for the whole request.
    let policy = state.policy.current();
    let g = gather(state, who, &req, now).await?;
    let decision = {
        let _span = tracing::info_span!("policy_decision").entered();
        let oracle = Policy {
            set: &policy,
            roles: &who.roles,
            agency: &who.agency,
            action: req.basis.kind().disclose_action(),
        };
        decide(&g.facts, &oracle)?
    };
    let (outcome, sections) = match &decision {
        Decision::Allowed { release, .. } => (
            Outcome::Allowed,
            release.iter().filter_map(|i| g.index.get(*i).cloned()).collect(),
        ),
        Decision::Refused { .. } => (Outcome::Refused, Vec::new()),
    };
    if outcome == Outcome::Allowed && req.basis.kind() == BasisKind::Emergency {
        tracing::warn!(
            alert = "emergency-disclosure",
            "break-glass disclosure under an emergency grant"
        );
    }
    let withheld = decision.withheld().to_vec();
    let plan = ReleasePlan {
        subject: req.subject,
        owner: req.owner.clone(),
        sections,
        attached: attachments.iter().map(|a| a.label().to_owned()).collect(),
    };
    let entry = DisclosureEntry {
        request_id: uuid::Uuid::new_v4(),
        at: rfc3339_ms(now),
        requester: Requester::of(who),
        owner_agency: req.owner.to_string(),
        subject: state.pseudonyms.pseudonym("subject", &req.subject.to_string()),
        household: g
            .subject_row
            .as_ref()
            .and_then(|s| s.household)
            .map(|h| state.pseudonyms.pseudonym("household", &h.to_string())),
        records: Vec::new(),
        disclosed: Vec::new(),
        withheld: withheld.clone(),
        basis: req.basis.clone(),
        basis_context: g.context.clone(),
        justification: req.justification.as_ref().map(|j| j.as_str().to_owned()),
        purpose: req.purpose.to_string(),
        decision: outcome,
        reason: decision.refusal().map(|r| r.code().to_owned()),
        policy: PolicyRef {
            version: policy.version().to_owned(),
            rules: decision.rules().to_vec(),
        },
        attached: Vec::new(),
        team: None,
    };
    let recorded = state
        .audit
        .record_disclosure(entry, plan, crate::store::to_ms(now))
        .instrument(tracing::info_span!("audit_append"))
        .await?;
    match recorded {
        Recorded::Allowed(release) => {
            let sections = open(state, g.sealed.as_ref(), &release)?;
            let disclosed = sections
                .iter()
                .map(|s| s.category)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let opened = state.store.open_attached(&release, &attachments).await?;
            Ok((
                DisclosureOutcome::Disclosed {
                    sections,
                    disclosed,
                    withheld,
                    receipt: release.receipt().clone(),
                    policy_version: policy.version().to_owned(),
                },
                opened,
            ))
        }
        Recorded::Refused(receipt) => {
            let reason = decision.refusal().unwrap_or(RefusalReason::NoCategoryAllowed);
            Ok((
                DisclosureOutcome::Refused {
                    reason,
                    withheld,
                    receipt,
                },
                Vec::new(),
            ))
        }
    }
}

#[tracing::instrument(name = "records_open", skip_all, fields(sections = release.sections().len()))]
fn open(
    state: &AppState,
    sealed: Option<&SealedSections>,
    release: &Release,
) -> Result<Vec<DisclosedSection>, StoreError> {
    match sealed {
        Some(sealed) => state.store.open_released(sealed, release),
        None if release.sections().is_empty() => Ok(Vec::new()),
        None => Err(StoreError::Corrupt("a release without sections to open".into())),
    }
}

/// A lawful basis the caller could name for a request about one person: each one is on file and
/// could hold for this caller (the decision still checks it in full when the request is made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BasisOption {
    /// A consent in force that names the caller's agency as a recipient (scope only).
    Consent(crate::domain::ConsentScope),
    /// A session with the person on its agenda, of which the caller is a confirmed member.
    Session {
        kind: BasisKind,
        session: SessionId,
        held_at: OffsetDateTime,
    },
    /// An emergency grant the caller holds, not ended and not expired.
    Emergency {
        grant: GrantId,
        owner: AgencyId,
        expires_at: OffsetDateTime,
        reviewed: Option<String>,
    },
    /// An abuse report about the person that the caller's agency is the designated receiver of.
    LegalReport { report: ReportId, report_type: String },
    /// Internal use: the caller is assigned to the person's case (for records of agencies of
    /// the caller's own organ).
    Internal,
}

/// The bases the caller could name for a request about `subject`: consents in force naming the
/// caller's agency, sessions the caller is a confirmed member of with the person on the agenda,
/// emergency grants the caller holds that have not ended, abuse reports the caller's agency
/// received, and internal use when the caller is assigned to the person's case.
pub async fn basis_options(
    state: &AppState,
    who: &Principal,
    subject: SubjectId,
) -> Result<Vec<BasisOption>, StoreError> {
    let now = state.clock.now();
    let (consents, sessions, grants, reports, assigned) = futures_util::try_join!(
        state.store.consent_scopes_naming(subject, &who.agency),
        state
            .store
            .sessions_of_member_about(&who.user, &who.agency, subject, now),
        state.store.grants_held(subject, &who.agency, &who.user),
        state.store.reports_received(subject, &who.agency),
        state.store.is_assigned(subject, &who.agency, &who.user),
    )?;
    let mut out: Vec<BasisOption> = consents
        .into_iter()
        .filter(|s| crate::policy::access::consent_offered_to(who, s))
        // In force for the caller now (the domain's own rule, asked with one of the consent's
        // purposes: the request's purpose is not known yet).
        .filter(|s| {
            s.purposes
                .first()
                .is_some_and(|p| s.covers(subject, &s.recorded_by_agency, &who.agency, p, now).is_ok())
        })
        .map(BasisOption::Consent)
        .collect();
    out.extend(
        sessions
            .into_iter()
            .map(|(session, kind, held_at)| BasisOption::Session {
                kind: kind.basis(),
                session,
                held_at,
            }),
    );
    out.extend(
        grants
            .into_iter()
            .filter(|g| g.expires_at > now)
            .map(|g| BasisOption::Emergency {
                grant: g.id,
                owner: g.owner_agency,
                expires_at: g.expires_at,
                reviewed: g.review_outcome,
            }),
    );
    out.extend(
        reports
            .into_iter()
            .map(|(report, report_type)| BasisOption::LegalReport { report, report_type }),
    );
    if assigned {
        out.push(BasisOption::Internal);
    }
    Ok(out)
}

/// A disclosure the caller's agency asked for about one person, as its log entry records it
/// (no content: what was asked, under which basis, what was decided).
#[derive(Debug, Clone)]
pub struct AskedDisclosure {
    /// The entry's index (the receipt).
    pub index: u64,
    pub at: String,
    pub user: String,
    pub owner_agency: String,
    pub basis: String,
    /// The basis's reference (consent, session, report or grant id).
    pub basis_ref: Option<String>,
    pub purpose: String,
    pub allowed: bool,
    pub reason: Option<String>,
    pub disclosed: Vec<String>,
    pub withheld: Vec<(String, String)>,
}

/// The disclosures the caller's agency asked for about `subject` (allowed and refused), newest
/// first, from the log entries the agency may prove (`audit:proof`: its own requests).
pub async fn asked_about(
    state: &AppState,
    who: &Principal,
    subject: SubjectId,
) -> Result<Vec<AskedDisclosure>, crate::http::ApiError> {
    let scope =
        crate::policy::access::proof_scope(&state.policy.current(), who, &state.agencies, &state.bases.oversight)?;
    let mut filter = crate::store::AuditFilter {
        subject_pseudonym: Some(state.pseudonyms.pseudonym("subject", &subject.to_string())),
        kind: Some("disclosure".to_owned()),
        limit: 500,
        ..crate::store::AuditFilter::default()
    };
    // Page through (500 at a time, by index) so that the newest are never cut off.
    let mut found = Vec::new();
    loop {
        let page = state.store.search_audit(&scope, &filter).await?;
        let full = page.len() == 500;
        filter.after = page.last().map(|e| e.index);
        found.extend(page);
        if !full {
            break;
        }
    }
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let mut out: Vec<AskedDisclosure> = found
        .into_iter()
        .filter(|f| f.requester_agency.as_deref() == Some(who.agency.as_str()))
        .filter_map(|f| {
            let e: serde_json::Value = serde_json::from_slice(&f.entry).ok()?;
            let at = |p: &str| e.pointer(p);
            let list = |p: &str| at(p).and_then(|v| v.as_array()).cloned().unwrap_or_default();
            Some(AskedDisclosure {
                index: f.index,
                at: text(at("/at")),
                user: text(at("/requester/user")),
                owner_agency: text(at("/owner_agency")),
                basis: text(at("/basis/type")),
                basis_ref: [
                    "/basis/consent_id",
                    "/basis/session_id",
                    "/basis/report_id",
                    "/basis/grant_id",
                ]
                .iter()
                .find_map(|p| at(p).and_then(|v| v.as_str()).map(str::to_owned)),
                purpose: text(at("/purpose")),
                allowed: at("/decision").and_then(|v| v.as_str()) == Some("allowed"),
                reason: at("/reason").and_then(|v| v.as_str()).map(str::to_owned),
                disclosed: list("/disclosed").iter().map(|v| text(Some(v))).collect(),
                withheld: list("/withheld")
                    .iter()
                    .map(|w| (text(w.get("category")), text(w.get("reason"))))
                    .collect(),
            })
        })
        .collect();
    out.reverse();
    Ok(out)
}
