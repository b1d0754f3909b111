//! Configuration of the lawful bases (`policies/bases.toml`): meeting access windows and who
//! convenes support meetings, emergency limits, where each kind of abuse report goes, and the
//! statutory conference types with the agency that convenes each. These are local choices; the
//! rules that are law are in code (`policy::basis`).

use std::path::Path;

use serde::Deserialize;

use super::PolicyError;
use crate::domain::{AgencyId, BodyKind, Category};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingRules {
    /// Default access window after a session, days (a body may set its own).
    pub window_days: u32,
    /// The one agency that convenes support meetings (Art. 106-6: the municipality; by default
    /// the ward's coordinating agency). Anyone else creating one is refused.
    pub convener: AgencyId,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyRules {
    pub max_hours: u32,
    pub categories: Vec<Category>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRoute {
    pub report_type: String,
    pub receiving_agency: AgencyId,
    pub statute: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConferenceType {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub statute: String,
    /// The one agency that convenes (and runs the secretariat of) this kind of conference.
    pub convener: AgencyId,
}

/// Log oversight: a privacy officer sees the log entries of their own organ; officers of these
/// agencies see the whole log (ward-wide oversight).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OversightRules {
    #[serde(default)]
    pub ward_wide: Vec<AgencyId>,
}

/// Team support (issue 11): who coordinates, and when a monitoring round is overdue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamRules {
    /// The coordinator's agency (多機関連携調整担当): its caseworkers and supervisors create and
    /// agree plans and see every plan's overdue monitoring rounds.
    pub coordinator: AgencyId,
    /// Days after a round's due date before it counts as overdue (and as late when recorded).
    #[serde(default = "default_grace_days")]
    pub grace_days: u32,
    /// How often the overdue check runs, seconds.
    #[serde(default = "default_overdue_check_secs")]
    pub overdue_check_secs: u64,
}

fn default_grace_days() -> u32 {
    14
}

fn default_overdue_check_secs() -> u64 {
    300
}

impl TeamRules {
    /// The grace period in milliseconds.
    pub fn grace_ms(&self) -> i64 {
        i64::from(self.grace_days) * 86_400_000
    }
}

/// The programme's figures (事業実績, docs/rules.md#R-O4): how small a count may be before it is
/// suppressed. Who reads them is the policy's `figures:read` rules, not this file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiguresRules {
    /// A count `1..small_cell` is shown as `<small_cell>` (zero is shown: it names nobody).
    #[serde(default = "FiguresRules::default_small_cell")]
    pub small_cell: u64,
}

impl FiguresRules {
    fn default_small_cell() -> u64 {
        3
    }
}

impl Default for FiguresRules {
    fn default() -> Self {
        Self {
            small_cell: Self::default_small_cell(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasesConfig {
    pub meetings: MeetingRules,
    pub emergency: EmergencyRules,
    pub legal_reports: Vec<ReportRoute>,
    pub conferences: Vec<ConferenceType>,
    /// Absent: no agency has ward-wide oversight (every officer is scoped to their organ).
    #[serde(default)]
    pub oversight: OversightRules,
    /// Team support: the coordinator's agency (required), 14 days' grace and a check every
    /// 5 minutes unless set.
    pub team: TeamRules,
    /// Absent: small cells are those under 3.
    #[serde(default)]
    pub figures: FiguresRules,
}

impl BasesConfig {
    pub fn load_dir(dir: &Path) -> Result<Self, PolicyError> {
        let path = dir.join("bases.toml");
        let text = std::fs::read_to_string(&path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let config: Self = toml::from_str(&text).map_err(|e| PolicyError::Model(format!("{}: {e}", path.display())))?;
        if config.emergency.categories.iter().any(|c| c.is_sealed()) {
            return Err(PolicyError::Model(
                "emergency categories may not include a sealed category".into(),
            ));
        }
        if config.emergency.max_hours == 0 || config.emergency.max_hours > 24 * 7 {
            return Err(PolicyError::Model(
                "emergency.max_hours must be between 1 and 168".into(),
            ));
        }
        if config.team.overdue_check_secs == 0 || config.team.grace_days > 365 {
            return Err(PolicyError::Model(
                "team.overdue_check_secs must be at least 1 and team.grace_days at most 365".into(),
            ));
        }
        if !(2..=1000).contains(&config.figures.small_cell) {
            return Err(PolicyError::Model(
                "figures.small_cell must be between 2 and 1000".into(),
            ));
        }
        Ok(config)
    }

    pub fn report_route(&self, report_type: &str) -> Option<&ReportRoute> {
        self.legal_reports.iter().find(|r| r.report_type == report_type)
    }

    pub fn conference(&self, kind: &str) -> Option<&ConferenceType> {
        self.conferences.iter().find(|c| c.kind == kind)
    }

    /// The agency that convenes a body of this kind (and conference type): the support-meeting
    /// convener, or the configured convener of a known conference type; `None` for an unknown
    /// type (nobody may convene it).
    pub fn convener(&self, kind: BodyKind, conference_type: Option<&str>) -> Option<&AgencyId> {
        match kind {
            BodyKind::SupportMeeting => Some(&self.meetings.convener),
            BodyKind::StatutoryConference => conference_type.and_then(|t| self.conference(t)).map(|c| &c.convener),
        }
    }
}
