//! The other lawful bases' facts: an abuse report (legal-report intake) and an emergency
//! (break-glass) grant with its review — with typed ids. Stored by `crate::store::bases`; the
//! rules in `policy::basis` (docs/rules.md, R-B4 and R-B5).

use serde::Serialize;
use time::OffsetDateTime;

use super::{AgencyId, GrantId, RecordId, ReportId, SubjectId};

#[derive(Debug, Clone, Serialize)]
pub struct LegalReport {
    pub id: ReportId,
    pub report_type: String,
    pub subject_id: SubjectId,
    pub reporter_agency: AgencyId,
    pub receiving_agency: AgencyId,
    pub record_id: RecordId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmergencyGrant {
    pub id: GrantId,
    pub subject_id: SubjectId,
    pub owner_agency: AgencyId,
    pub user_id: String,
    pub agency_id: AgencyId,
    /// The stated risk and why consent is impracticable (opened for privacy officers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grounds: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reviewed_at: Option<OffsetDateTime>,
    pub reviewed_by: Option<String>,
    pub review_outcome: Option<String>,
    pub review_note: Option<String>,
}
