//! Support plans (支援プラン) and their monitoring (モニタリング), issue 11
//! (docs/rules.md#R-T4–R-T8): what a plan holds, its basis, its monitoring schedule and the
//! reasons a plan ends. Plain values, validated; no I/O.
//!
//! A plan's content (goals, each agency's role and lead person, agreed services) is case data:
//! it is sealed as a whole with the subject's data key (category `case-notes`) and opened only
//! with a [`crate::audit::TeamRelease`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{AgencyId, BasisKind, ConsentId, FreeText, SessionId, ValidationError};

/// The basis a plan's team exchanges content on: the person's consents (each naming the
/// receiving agency and `case-notes`), or one support-meeting session (its confirmed, pledged
/// members and its secretariat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PlanBasis {
    Consent { consent_ids: Vec<ConsentId> },
    SupportMeeting { session_id: SessionId },
}

impl PlanBasis {
    pub fn kind(&self) -> BasisKind {
        match self {
            PlanBasis::Consent { .. } => BasisKind::Consent,
            PlanBasis::SupportMeeting { .. } => BasisKind::SupportMeeting,
        }
    }
    /// The stored form of the kind (`consent` or `support-meeting`).
    pub fn kind_str(&self) -> &'static str {
        match self {
            PlanBasis::Consent { .. } => "consent",
            PlanBasis::SupportMeeting { .. } => "support-meeting",
        }
    }
    pub fn session(&self) -> Option<SessionId> {
        match self {
            PlanBasis::SupportMeeting { session_id } => Some(*session_id),
            PlanBasis::Consent { .. } => None,
        }
    }
}

/// One agency's part in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRole {
    pub agency: AgencyId,
    /// What the agency does (役割).
    pub role: String,
    /// The lead person at the agency (担当者), as written.
    pub lead: String,
}

/// The sealed part of a plan version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanContent {
    pub goals: Vec<String>,
    pub roles: Vec<PlanRole>,
    /// Agreed services (合意したサービス).
    pub services: Vec<String>,
}

const MAX_ITEMS: usize = 30;
const ITEM_CHARS: usize = 2000;
const LEAD_CHARS: usize = 200;

fn items(field: &str, raw: &[String], at_least_one: bool) -> Result<Vec<String>, ValidationError> {
    if at_least_one && raw.is_empty() {
        return Err(ValidationError::new(field, "empty", "name at least one"));
    }
    if raw.len() > MAX_ITEMS {
        return Err(ValidationError::new(field, "too_many", format!("at most {MAX_ITEMS}")));
    }
    raw.iter()
        .map(|s| {
            let t = FreeText::bounded(field, s.trim(), ITEM_CHARS)?;
            if t.as_str().is_empty() {
                return Err(ValidationError::new(field, "empty", "an item is empty"));
            }
            Ok(t.into_string())
        })
        .collect()
}

impl PlanContent {
    /// Validates goals (at least one), roles (at least one, one per agency, each with role
    /// text and a lead person) and services.
    pub fn parse(
        goals: &[String],
        roles: &[(String, String, String)],
        services: &[String],
    ) -> Result<Self, ValidationError> {
        let goals = items("goals", goals, true)?;
        let services = items("services", services, false)?;
        if roles.is_empty() {
            return Err(ValidationError::new(
                "roles",
                "empty",
                "give at least one agency a role",
            ));
        }
        if roles.len() > MAX_ITEMS {
            return Err(ValidationError::new(
                "roles",
                "too_many",
                format!("at most {MAX_ITEMS}"),
            ));
        }
        let mut out: Vec<PlanRole> = Vec::with_capacity(roles.len());
        for (agency, role, lead) in roles {
            let agency = AgencyId::parse(agency).map_err(|e| ValidationError {
                field: "roles.agency".into(),
                ..e
            })?;
            if out.iter().any(|r| r.agency == agency) {
                return Err(ValidationError::new(
                    "roles.agency",
                    "duplicate_agency",
                    "each agency has one role in a plan",
                ));
            }
            let role = FreeText::bounded("roles.role", role.trim(), ITEM_CHARS)?.into_string();
            let lead = FreeText::bounded("roles.lead", lead.trim(), LEAD_CHARS)?.into_string();
            if role.is_empty() || lead.is_empty() {
                return Err(ValidationError::new(
                    "roles",
                    "empty",
                    "each role needs its text and a lead person",
                ));
            }
            out.push(PlanRole { agency, role, lead });
        }
        Ok(Self {
            goals,
            roles: out,
            services,
        })
    }

    /// The agencies with a role, in the order given.
    pub fn agencies(&self) -> Vec<AgencyId> {
        self.roles.iter().map(|r| r.agency.clone()).collect()
    }
}

/// The next monitoring dates (e.g. three rounds a year): 1 to 12 dates, strictly increasing,
/// each after `now`.
pub fn monitoring_schedule(
    dates: &[OffsetDateTime],
    now: OffsetDateTime,
) -> Result<Vec<OffsetDateTime>, ValidationError> {
    if dates.is_empty() {
        return Err(ValidationError::new(
            "monitoring",
            "empty",
            "name at least one monitoring date",
        ));
    }
    if dates.len() > 12 {
        return Err(ValidationError::new(
            "monitoring",
            "too_many",
            "at most 12 monitoring dates",
        ));
    }
    let mut prev = now;
    for d in dates {
        if *d <= prev {
            return Err(ValidationError::new(
                "monitoring",
                "invalid_schedule",
                "monitoring dates must be in the future and in order",
            ));
        }
        prev = *d;
    }
    Ok(dates.to_vec())
}

/// Why a plan ended (終結). A code, never free text: figures count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    GoalsMet,
    Moved,
    Declined,
    Transferred,
    Deceased,
    Other,
}

impl EndReason {
    pub const ALL: [EndReason; 6] = [
        EndReason::GoalsMet,
        EndReason::Moved,
        EndReason::Declined,
        EndReason::Transferred,
        EndReason::Deceased,
        EndReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::GoalsMet => "goals-met",
            EndReason::Moved => "moved",
            EndReason::Declined => "declined",
            EndReason::Transferred => "transferred",
            EndReason::Deceased => "deceased",
            EndReason::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            ValidationError::new(
                "reason",
                "unknown_end_reason",
                "one of goals-met, moved, declined, transferred, deceased, other",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn content_needs_goals_and_one_role_per_agency() {
        let role = |a: &str| (a.to_owned(), "visits".to_owned(), "Sato".to_owned());
        assert_eq!(
            PlanContent::parse(&[], &[role("jobota")], &[]).unwrap_err().code,
            "empty"
        );
        assert_eq!(
            PlanContent::parse(&["work".into()], &[role("jobota"), role("jobota")], &[])
                .unwrap_err()
                .code,
            "duplicate_agency"
        );
        let c = PlanContent::parse(&["work".into()], &[role("jobota")], &["meals".into()]).unwrap();
        assert_eq!(c.agencies(), vec![AgencyId::parse("jobota").unwrap()]);
    }

    #[test]
    fn schedules_are_future_and_ordered() {
        let now = datetime!(2026-12-01 00:00 UTC);
        assert!(monitoring_schedule(&[datetime!(2027-01-01 00:00 UTC)], now).is_ok());
        assert_eq!(
            monitoring_schedule(&[datetime!(2026-11-01 00:00 UTC)], now)
                .unwrap_err()
                .code,
            "invalid_schedule"
        );
        assert_eq!(monitoring_schedule(&[], now).unwrap_err().code, "empty");
    }

    #[test]
    fn end_reasons_are_codes() {
        for r in EndReason::ALL {
            assert_eq!(EndReason::parse(r.as_str()).unwrap(), r);
        }
        assert_eq!(EndReason::parse("bored").unwrap_err().code, "unknown_end_reason");
    }
}
