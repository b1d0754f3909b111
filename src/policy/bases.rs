//! Configuration of the lawful bases (`policies/bases.toml`): meeting access windows, emergency
//! limits, where each kind of abuse report goes, and the statutory conference types. These are
//! local choices; the rules that are law are in code (`policy::basis`).

use std::path::Path;

use serde::Deserialize;

use super::PolicyError;
use crate::domain::{AgencyId, Category};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingRules {
    /// Default access window after a session, days (a body may set its own).
    pub window_days: u32,
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
}

/// Log oversight: a privacy officer sees the log entries of their own organ; officers of these
/// agencies see the whole log (ward-wide oversight).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OversightRules {
    #[serde(default)]
    pub ward_wide: Vec<AgencyId>,
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
        Ok(config)
    }

    pub fn report_route(&self, report_type: &str) -> Option<&ReportRoute> {
        self.legal_reports.iter().find(|r| r.report_type == report_type)
    }

    pub fn conference(&self, kind: &str) -> Option<&ConferenceType> {
        self.conferences.iter().find(|c| c.kind == kind)
    }
}
