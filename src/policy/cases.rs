//! Decision tables (`policies/cases/*.json`): requests with the decision the policy must give,
//! and `preconditions.json` with the basis preconditions walked both ways. Run by the test
//! suite and by `tsunagi policy check`.

use std::path::Path;

use serde::Deserialize;

use super::PolicySet;
use crate::domain::preconditions as pre;
use crate::domain::{AgencyId, Category, Role};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[expect(
        dead_code,
        reason = "the table's description is for its readers; deny_unknown_fields needs the field"
    )]
    description: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    role: String,
    agency: String,
    action: String,
    object: String,
    expect: String,
}

/// What a run checked.
#[derive(Debug, Default)]
pub struct CasesReport {
    pub policy_cases: usize,
    pub precondition_cases: usize,
    /// One line per case that did not hold.
    pub failures: Vec<String>,
}

/// Runs every table in `cases_dir` against `set`. Errors are for unreadable tables; wrong
/// decisions are `failures`.
pub fn run_cases(set: &PolicySet, cases_dir: &Path) -> Result<CasesReport, String> {
    let mut report = CasesReport::default();
    let mut files: Vec<_> = std::fs::read_dir(cases_dir)
        .map_err(|e| format!("{}: {e}", cases_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if path.ends_with("preconditions.json") {
            preconditions(&text, &path, &mut report)?;
            continue;
        }
        let table: Table = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for c in table.cases {
            report.policy_cases += 1;
            let what = format!(
                "{}: {} at {} {} {}",
                path.display(),
                c.role,
                c.agency,
                c.action,
                c.object
            );
            let want = match c.expect.as_str() {
                "allow" => true,
                "deny" => false,
                other => return Err(format!("{what}: expect must be allow or deny, not {other}")),
            };
            let role = Role::parse(&c.role).map_err(|e| format!("{what}: {e}"))?;
            let plain = set
                .decide_uncached(role, &c.agency, &c.action, &c.object)
                .map_err(|e| e.to_string())?;
            let cached = set
                .decide(role, &c.agency, &c.action, &c.object)
                .map_err(|e| e.to_string())?;
            if *cached != plain {
                report.failures.push(format!("{what}: cache and casbin disagree"));
            }
            // Sealed categories are refused in code whatever the rules say.
            let effective = match (Category::parse(&c.object), AgencyId::parse(&c.agency)) {
                (Ok(cat), Ok(agency)) => {
                    set.may_receive(&[role], &agency, &c.action, cat)
                        .map_err(|e| e.to_string())?
                        .0
                }
                _ => plain.allowed,
            };
            if effective != want {
                report.failures.push(format!(
                    "{what}: expected {}, got {}",
                    c.expect,
                    if effective { "allow" } else { "deny" }
                ));
            }
            if effective && plain.rules.is_empty() {
                report
                    .failures
                    .push(format!("{what}: an allow must name the rule that allowed it"));
            }
        }
    }
    Ok(report)
}

fn merged(baseline: &serde_json::Value, changes: &serde_json::Value) -> serde_json::Value {
    let mut v = baseline.clone();
    if let (Some(obj), Some(ch)) = (v.as_object_mut(), changes.as_object()) {
        for (k, x) in ch {
            obj.insert(k.clone(), x.clone());
        }
    }
    v
}

fn outcome(r: Result<bool, &'static str>) -> String {
    match r {
        Ok(false) => "allow".into(),
        Ok(true) => "allow-via-follow-up".into(),
        Err(code) => code.into(),
    }
}

fn decide_section(section: &str, facts: serde_json::Value) -> Result<String, serde_json::Error> {
    Ok(match section {
        "meeting" => outcome(pre::meeting(&serde_json::from_value(facts)?)),
        "emergency" => outcome(pre::emergency(&serde_json::from_value(facts)?).map(|()| false)),
        "legal_report" => outcome(pre::legal_report(&serde_json::from_value(facts)?).map(|()| false)),
        _ => outcome(pre::internal(&serde_json::from_value(facts)?).map(|()| false)),
    })
}

fn preconditions(text: &str, path: &Path, report: &mut CasesReport) -> Result<(), String> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?;
    for section in ["meeting", "emergency", "legal_report", "internal"] {
        let baseline = doc
            .get(format!("{section}_baseline"))
            .unwrap_or(&serde_json::Value::Null);
        let cases = doc
            .get(section)
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| format!("{}: section {section} missing", path.display()))?;
        let (mut allowed, mut refused) = (false, false);
        for c in cases {
            report.precondition_cases += 1;
            let name = c["name"].as_str().unwrap_or("?");
            let got = decide_section(section, merged(baseline, &c["facts"]))
                .map_err(|e| format!("{}: {section}/{name}: {e}", path.display()))?;
            allowed |= got.starts_with("allow");
            refused |= !got.starts_with("allow");
            if Some(got.as_str()) != c["expect"].as_str() {
                report
                    .failures
                    .push(format!("{section}/{name}: expected {}, got {got}", c["expect"]));
            }
        }
        if !(allowed && refused) {
            report
                .failures
                .push(format!("{section}: the table must walk the basis both ways"));
        }
    }
    Ok(())
}
