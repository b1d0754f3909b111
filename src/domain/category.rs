//! Data categories (docs/rules.md#R-C1). Every section of a case record carries exactly one, and each
//! category carries a sensitivity label that the consent and policy rules look at.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::ValidationError;

/// A data category. The set is closed: adding one is a code change, because the legal
/// treatment (special-care, sealed) must be decided, not configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Identity,
    Household,
    Health,
    MentalHealth,
    Disability,
    Livelihood,
    Employment,
    ChildWelfare,
    Safeguarding,
    CaseNotes,
    ReporterIdentity,
}

/// How carefully a category must be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sensitivity {
    Ordinary,
    /// Welfare-sensitive by local policy.
    WelfareSensitive,
    /// APPI 要配慮個人情報: must be named explicitly in a consent.
    SpecialCare,
    /// Never disclosed, never in a subject's report (who reported suspected abuse).
    Sealed,
}

impl Category {
    pub const ALL: [Category; 11] = [
        Category::Identity,
        Category::Household,
        Category::Health,
        Category::MentalHealth,
        Category::Disability,
        Category::Livelihood,
        Category::Employment,
        Category::ChildWelfare,
        Category::Safeguarding,
        Category::CaseNotes,
        Category::ReporterIdentity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Identity => "identity",
            Category::Household => "household",
            Category::Health => "health",
            Category::MentalHealth => "mental-health",
            Category::Disability => "disability",
            Category::Livelihood => "livelihood",
            Category::Employment => "employment",
            Category::ChildWelfare => "child-welfare",
            Category::Safeguarding => "safeguarding",
            Category::CaseNotes => "case-notes",
            Category::ReporterIdentity => "reporter-identity",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| ValidationError::new("category", "unknown_category", format!("unknown category '{s}'")))
    }

    /// The label of the category itself. `case-notes` inherits the highest label of what it is
    /// tagged with; untagged notes are treated as welfare-sensitive.
    pub fn sensitivity(self) -> Sensitivity {
        match self {
            Category::Health | Category::MentalHealth | Category::Disability => Sensitivity::SpecialCare,
            Category::Livelihood | Category::ChildWelfare | Category::Safeguarding | Category::CaseNotes => {
                Sensitivity::WelfareSensitive
            }
            Category::ReporterIdentity => Sensitivity::Sealed,
            Category::Identity | Category::Household | Category::Employment => Sensitivity::Ordinary,
        }
    }

    pub fn is_special_care(self) -> bool {
        self.sensitivity() == Sensitivity::SpecialCare
    }

    pub fn is_sealed(self) -> bool {
        self.sensitivity() == Sensitivity::Sealed
    }

    /// What "all categories" in a consent means: everything except special-care (which must be
    /// named) and sealed categories (which can never be consented away through the hub).
    pub fn all_general() -> impl Iterator<Item = Category> {
        Self::ALL.into_iter().filter(|c| !c.is_special_care() && !c.is_sealed())
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_json() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()).unwrap(), c);
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert_eq!(Category::parse("my-number").unwrap_err().code, "unknown_category");
    }

    #[test]
    fn all_general_excludes_special_care_and_sealed() {
        let general: Vec<_> = Category::all_general().collect();
        assert!(general.contains(&Category::Identity));
        assert!(!general.contains(&Category::Health));
        assert!(!general.contains(&Category::MentalHealth));
        assert!(!general.contains(&Category::Disability));
        assert!(!general.contains(&Category::ReporterIdentity));
    }
}
