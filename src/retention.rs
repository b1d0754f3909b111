//! Retention: how long each agency keeps each category of case record
//! (`policies/retention.toml`), and `tsunagi retention`, which deletes what has expired —
//! always after the log entry that says so.
//!
//! A rule names an agency (or `*`) and a category (or `*`) and a number of years counted from
//! the day the record was written; the most specific rule wins (agency and category, then
//! agency, then category, then the default). Expired sections are deleted record by record,
//! each after a `record-sections-expired` entry naming the record, the person's pseudonym, the
//! categories and the rule. A team's shared notes (case_notes) age the same way under the rule
//! for their author agency and category, plan by plan, each after a `case-notes-expired` entry.
//! A person with no section and no note left, and no support plan still running, is then
//! erased as
//! [`crate::services::subjects::erase`] does (their data key destroyed; `subject-erased`, ground
//! `retention-expiry`). The log itself is never shortened: it is the evidence of what happened.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use time::OffsetDateTime;

use crate::audit::AuditLog;
use crate::crypto::Pseudonymizer;
use crate::domain::{AgencyId, Category, PlanId, RecordId, SubjectId};
use crate::principal::Principal;
use crate::store::Store;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleText {
    agency: String,
    category: String,
    years: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    #[serde(default)]
    rule: Vec<RuleText>,
}

/// One retention rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub agency: Option<AgencyId>,
    pub category: Option<Category>,
    pub years: u32,
}

/// The configured rules (`policies/retention.toml`).
#[derive(Debug, Clone, Default)]
pub struct RetentionRules {
    rules: Vec<Rule>,
}

impl RetentionRules {
    /// Reads `dir/retention.toml`; a missing file means "keep everything".
    pub fn load_dir(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("retention.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(anyhow::anyhow!("{}: {e}", path.display())),
        };
        Self::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Parses the file's text: every agency and category must be valid, every rule at least
    /// one year, and no two rules may name the same agency and category.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let file: FileText = toml::from_str(text)?;
        let mut rules = Vec::new();
        let mut seen = BTreeSet::new();
        for r in file.rule {
            let agency = (r.agency != "*").then(|| AgencyId::parse(&r.agency)).transpose()?;
            let category = (r.category != "*").then(|| Category::parse(&r.category)).transpose()?;
            anyhow::ensure!(r.years >= 1, "a retention rule keeps records at least one year");
            anyhow::ensure!(
                seen.insert((r.agency.clone(), r.category.clone())),
                "two rules for agency {:?} and category {:?}",
                r.agency,
                r.category
            );
            rules.push(Rule {
                agency,
                category,
                years: r.years,
            });
        }
        Ok(Self { rules })
    }

    /// The years `agency` keeps `category`: the most specific rule, or `None` (kept).
    pub fn years_for(&self, agency: &AgencyId, category: Category) -> Option<u32> {
        let score = |r: &Rule| match (&r.agency, &r.category) {
            (Some(a), Some(c)) if a == agency && *c == category => Some(3),
            (Some(a), None) if a == agency => Some(2),
            (None, Some(c)) if *c == category => Some(1),
            (None, None) => Some(0),
            _ => None,
        };
        self.rules
            .iter()
            .filter_map(|r| score(r).map(|s| (s, r.years)))
            .max_by_key(|(s, _)| *s)
            .map(|(_, y)| y)
    }
}

/// A record: its id, the person it is about, its owning agency.
type RecordKey = (RecordId, SubjectId, AgencyId);
/// An expired section: its id, category and the retention (years) that ran out.
type ExpiredSection = (String, Category, u32);

/// An expired team note: its id, author agency, category and the retention (years) that ran out.
type ExpiredNote = (String, AgencyId, Category, u32);

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub sections_expired: u64,
    pub records_touched: u64,
    /// Team notes deleted, and the plans whose timelines they were on.
    pub notes_expired: u64,
    pub plans_touched: u64,
    pub subjects_erased: u64,
}

/// When something written at `written_ms` and kept `years` years expires.
fn expiry_ms(written_ms: i64, years: u32) -> Result<i64, crate::store::StoreError> {
    let written = crate::store::from_ms(written_ms)?;
    let until = written
        .replace_year(written.year().saturating_add(i32::try_from(years).unwrap_or(i32::MAX)))
        .unwrap_or(written + time::Duration::days(366 * i64::from(years)));
    Ok(crate::store::to_ms(until))
}

/// Deletes every section and team note whose retention has run out at `now` (each after its log
/// entry), then erases the persons left with nothing at all. `dry_run` only counts.
pub async fn apply(
    store: &Store,
    audit: &AuditLog,
    pseudonyms: &Pseudonymizer,
    rules: &RetentionRules,
    actor: &Principal,
    now: OffsetDateTime,
    dry_run: bool,
) -> anyhow::Result<Outcome> {
    let now_ms = crate::store::to_ms(now);
    let mut expired: BTreeMap<RecordKey, Vec<ExpiredSection>> = BTreeMap::new();
    for s in store.section_ages().await? {
        let Some(years) = rules.years_for(&s.owner, s.category) else {
            continue;
        };
        if expiry_ms(s.record_created_at_ms, years)? <= now_ms {
            expired
                .entry((s.record, s.subject, s.owner))
                .or_default()
                .push((s.section, s.category, years));
        }
    }
    let mut outcome = Outcome::default();
    let mut subjects = BTreeSet::new();
    for ((record, subject, owner), sections) in expired {
        outcome.records_touched += 1;
        outcome.sections_expired += sections.len() as u64;
        subjects.insert(subject);
        if dry_run {
            continue;
        }
        let categories: BTreeSet<&str> = sections.iter().map(|(_, c, _)| c.as_str()).collect();
        let years: BTreeSet<u32> = sections.iter().map(|(_, _, y)| *y).collect();
        let logged = audit
            .record_event(
                actor,
                "record-sections-expired",
                now,
                Some(pseudonyms.pseudonym("subject", &subject.to_string())),
                record.to_string(),
                serde_json::json!({ "owner": owner.as_str(), "categories": categories, "retention_years": years }),
            )
            .await?;
        let ids: Vec<String> = sections.into_iter().map(|(id, _, _)| id).collect();
        store.delete_sections(record, &ids, &logged).await?;
    }
    // Team notes: their author agency's rule for the note's category.
    let mut expired_notes: BTreeMap<(PlanId, SubjectId), Vec<ExpiredNote>> = BTreeMap::new();
    for n in store.note_ages().await? {
        let Some(years) = rules.years_for(&n.author, n.category) else {
            continue;
        };
        if expiry_ms(n.created_at_ms, years)? <= now_ms {
            expired_notes
                .entry((n.plan, n.subject))
                .or_default()
                .push((n.note, n.author, n.category, years));
        }
    }
    for ((plan, subject), notes) in expired_notes {
        outcome.plans_touched += 1;
        outcome.notes_expired += notes.len() as u64;
        subjects.insert(subject);
        if dry_run {
            continue;
        }
        let authors: BTreeSet<&str> = notes.iter().map(|(_, a, _, _)| a.as_str()).collect();
        let categories: BTreeSet<&str> = notes.iter().map(|(_, _, c, _)| c.as_str()).collect();
        let years: BTreeSet<u32> = notes.iter().map(|(_, _, _, y)| *y).collect();
        let logged = audit
            .record_event(
                actor,
                "case-notes-expired",
                now,
                Some(pseudonyms.pseudonym("subject", &subject.to_string())),
                plan.to_string(),
                serde_json::json!({
                    "notes": notes.len(), "authors": authors, "categories": categories, "retention_years": years
                }),
            )
            .await?;
        let ids: Vec<String> = notes.into_iter().map(|(id, _, _, _)| id).collect();
        store.delete_notes(plan, &ids, &logged).await?;
    }
    for subject in subjects {
        if dry_run
            || store.sections_left(subject).await? > 0
            || store.notes_left(subject).await? > 0
            || store.active_plans(subject).await? > 0
            || store.subject_erased(subject).await?
        {
            continue;
        }
        let logged = audit
            .record_event(
                actor,
                "subject-erased",
                now,
                Some(pseudonyms.pseudonym("subject", &subject.to_string())),
                "retention-expiry".to_owned(),
                serde_json::json!({ "ground": "retention-expiry", "reason": "every record's retention period ended" }),
            )
            .await?;
        store.erase_subject(subject, &logged).await?;
        outcome.subjects_erased += 1;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_rule_wins_and_bad_rules_are_refused() {
        let rules = RetentionRules::parse(
            "[[rule]]\nagency = \"*\"\ncategory = \"*\"\nyears = 10\n\
             [[rule]]\nagency = \"jobota\"\ncategory = \"*\"\nyears = 7\n\
             [[rule]]\nagency = \"*\"\ncategory = \"employment\"\nyears = 6\n\
             [[rule]]\nagency = \"jobota\"\ncategory = \"employment\"\nyears = 5\n",
        )
        .unwrap();
        let jobota = AgencyId::parse("jobota").unwrap();
        let sapota = AgencyId::parse("sapota").unwrap();
        assert_eq!(rules.years_for(&jobota, Category::Employment), Some(5));
        assert_eq!(rules.years_for(&jobota, Category::Health), Some(7));
        assert_eq!(rules.years_for(&sapota, Category::Employment), Some(6));
        assert_eq!(rules.years_for(&sapota, Category::Health), Some(10));
        assert_eq!(RetentionRules::default().years_for(&sapota, Category::Health), None);
        for bad in [
            "[[rule]]\nagency = \"*\"\ncategory = \"*\"\nyears = 0\n",
            "[[rule]]\nagency = \"no such!\"\ncategory = \"*\"\nyears = 1\n",
            "[[rule]]\nagency = \"*\"\ncategory = \"gossip\"\nyears = 1\n",
            "[[rule]]\nagency = \"*\"\ncategory = \"*\"\nyears = 1\n[[rule]]\nagency = \"*\"\ncategory = \"*\"\nyears = 2\n",
            "[[rule]]\nagency = \"*\"\ncategory = \"*\"\nyears = 1\nmonths = 2\n",
        ] {
            assert!(RetentionRules::parse(bad).is_err(), "{bad}");
        }
    }
}
