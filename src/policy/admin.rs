//! Policy administration: validating a proposed change, diffing versions, simulating a proposal
//! against the decisions recorded in the audit log, and explaining one decision under two
//! versions. Nothing here writes; `http::policy` records and applies.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::{PolicyError, PolicyRule, PolicySet, RuleError, parse_policy};
use crate::domain::{AgencyId, BasisKind, Category, Role};

/// A change validated against its base version.
#[derive(Debug, Clone)]
pub struct ValidChange {
    pub added: Vec<PolicyRule>,
    pub removed: Vec<PolicyRule>,
    /// The full rule set the change would produce.
    pub rules: Vec<PolicyRule>,
}

fn err(line: usize, code: &'static str, message: impl Into<String>) -> RuleError {
    RuleError {
        line,
        code,
        message: message.into(),
    }
}

fn parse_lines(lines: &[String], offset: usize) -> Result<Vec<PolicyRule>, RuleError> {
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let mut rules = parse_policy(l).map_err(|e| RuleError {
            line: offset + i + 1,
            ..e
        })?;
        match rules.pop() {
            Some(r) if rules.is_empty() => out.push(r),
            _ => return Err(err(offset + i + 1, "syntax", "one rule per entry")),
        }
    }
    Ok(out)
}

/// Validates a proposal: every line a valid rule naming registered agencies; removed rules
/// exist in the base; added rules are new; the result still lets policy admins change the
/// policy (no lock-out). Line numbers count added rules first, then removed ones.
pub fn validate_change(
    base: &[PolicyRule],
    add: &[String],
    remove: &[String],
    agencies: &HashSet<AgencyId>,
) -> Result<ValidChange, RuleError> {
    if add.is_empty() && remove.is_empty() {
        return Err(err(0, "empty_change", "add or remove at least one rule"));
    }
    let added = parse_lines(add, 0)?;
    let removed = parse_lines(remove, add.len())?;
    for (i, r) in added.iter().chain(removed.iter()).enumerate() {
        if r.agency != "*" && AgencyId::parse(&r.agency).map_or(true, |a| !agencies.contains(&a)) {
            return Err(err(
                i + 1,
                "unknown_agency",
                format!("agency '{}' is not registered", r.agency),
            ));
        }
    }
    for (i, r) in removed.iter().enumerate() {
        if !base.contains(r) {
            return Err(err(
                add.len() + i + 1,
                "unknown_rule_removed",
                format!("'{r}' is not in the current policy"),
            ));
        }
    }
    let mut rules: Vec<PolicyRule> = base.iter().filter(|r| !removed.contains(r)).cloned().collect();
    for (i, r) in added.iter().enumerate() {
        if rules.contains(r) {
            return Err(err(i + 1, "duplicate", format!("'{r}' is already in the policy")));
        }
        rules.push(r.clone());
    }
    let admins_keep_control = rules.iter().any(|r| {
        r.action == "policy:write" && r.effect == super::Effect::Allow && (r.role == "policy-admin" || r.role == "*")
    });
    if !admins_keep_control {
        return Err(err(
            0,
            "would_lock_out_admins",
            "the change would leave no policy admin able to change the policy",
        ));
    }
    Ok(ValidChange { added, removed, rules })
}

/// Rules in `to` but not `from`, and in `from` but not `to`.
pub fn diff(from: &[PolicyRule], to: &[PolicyRule]) -> (Vec<String>, Vec<String>) {
    let a: BTreeSet<String> = from.iter().map(ToString::to_string).collect();
    let b: BTreeSet<String> = to.iter().map(ToString::to_string).collect();
    (b.difference(&a).cloned().collect(), a.difference(&b).cloned().collect())
}

/// One category decision that a proposal would change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Flip {
    pub index: u64,
    pub agency: String,
    pub basis: String,
    pub category: String,
    /// `allowed->refused` or `refused->allowed`.
    pub direction: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlipGroup {
    pub agency: String,
    pub basis: String,
    pub category: String,
    pub direction: &'static str,
    pub count: usize,
    /// Log indexes of up to five examples.
    pub examples: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimulationReport {
    pub entries_examined: usize,
    /// Category decisions that reached the policy (not refused earlier by the basis).
    pub decisions_examined: usize,
    pub allowed_to_refused: usize,
    pub refused_to_allowed: usize,
    /// Disclosures that would be refused outright (every disclosed category flips).
    pub requests_newly_refused: usize,
    pub groups: Vec<FlipGroup>,
}

/// Replays recorded disclosure entries (`(index, entry bytes)`) under `proposed`: for each
/// category the policy decided (disclosed, or withheld as `policy_denied`), would the proposal
/// decide otherwise?
pub fn simulate(entries: &[(u64, Vec<u8>)], proposed: &PolicySet) -> Result<SimulationReport, PolicyError> {
    let mut flips = Vec::new();
    let mut decisions = 0usize;
    let mut newly_refused = 0usize;
    for (index, bytes) in entries {
        let Ok(e) = serde_json::from_slice::<Value>(bytes) else {
            continue;
        };
        let Ok(basis) = BasisKind::parse(e.pointer("/basis/type").and_then(Value::as_str).unwrap_or_default()) else {
            continue;
        };
        let Ok(agency) = AgencyId::parse(
            e.pointer("/requester/agency")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ) else {
            continue;
        };
        let roles: Vec<Role> = e
            .pointer("/requester/roles")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().and_then(|r| Role::parse(r).ok()))
                    .collect()
            })
            .unwrap_or_default();
        let cats = |v: Option<&Value>| -> Vec<Category> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().and_then(|c| Category::parse(c).ok()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let disclosed = cats(e.get("disclosed"));
        let denied: Vec<Category> = e
            .get("withheld")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|w| w.get("reason").and_then(Value::as_str) == Some("policy_denied"))
                    .filter_map(|w| {
                        w.get("category")
                            .and_then(Value::as_str)
                            .and_then(|c| Category::parse(c).ok())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut still_disclosed = 0usize;
        for (category, was_allowed) in disclosed
            .iter()
            .map(|c| (*c, true))
            .chain(denied.iter().map(|c| (*c, false)))
        {
            decisions += 1;
            let (now_allowed, _) = proposed.may_receive(&roles, &agency, basis.disclose_action(), category)?;
            if was_allowed && now_allowed {
                still_disclosed += 1;
            }
            if was_allowed != now_allowed {
                flips.push(Flip {
                    index: *index,
                    agency: agency.to_string(),
                    basis: basis.to_string(),
                    category: category.to_string(),
                    direction: if was_allowed {
                        "allowed->refused"
                    } else {
                        "refused->allowed"
                    },
                });
            }
        }
        if !disclosed.is_empty() && still_disclosed == 0 {
            newly_refused += 1;
        }
    }
    let mut groups: BTreeMap<(String, String, String, &'static str), FlipGroup> = BTreeMap::new();
    for f in &flips {
        let g = groups
            .entry((f.agency.clone(), f.basis.clone(), f.category.clone(), f.direction))
            .or_insert_with(|| FlipGroup {
                agency: f.agency.clone(),
                basis: f.basis.clone(),
                category: f.category.clone(),
                direction: f.direction,
                count: 0,
                examples: Vec::new(),
            });
        g.count += 1;
        if g.examples.len() < 5 {
            g.examples.push(f.index);
        }
    }
    Ok(SimulationReport {
        entries_examined: entries.len(),
        decisions_examined: decisions,
        allowed_to_refused: flips.iter().filter(|f| f.direction == "allowed->refused").count(),
        refused_to_allowed: flips.iter().filter(|f| f.direction == "refused->allowed").count(),
        requests_newly_refused: newly_refused,
        groups: groups.into_values().collect(),
    })
}
