//! Decision tables (`policies/cases/*.json`): requests with the decision the policy must give,
//! `preconditions.json` with the basis preconditions walked both ways, and `decision.json` with
//! the cross-basis rules of [`crate::domain::decision::decide`] (sealed category, onward
//! disclosure, justification for special-care categories, internal reason, a failing basis)
//! walked both ways. Run by the test suite and by `tsunagi policy check`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::PolicySet;
use crate::domain::decision::{
    self as decision, BasisFinding, Decision, Facts, Origin, PolicyAnswer, PolicyOracle, RecordFact, SectionFact,
    SubjectFact,
};
use crate::domain::preconditions as pre;
use crate::domain::{AgencyId, BasisKind, Category, RecordId, RefusalReason, Role, Withheld};

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
    /// Cases of `decision.json` (the pure decision over gathered facts).
    pub decision_cases: usize,
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
        if path.ends_with("decision.json") {
            decision_table(&text, &path, &mut report)?;
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

fn outcome(r: Result<bool, RefusalReason>) -> String {
    match r {
        Ok(false) => "allow".into(),
        Ok(true) => "allow-via-follow-up".into(),
        Err(reason) => reason.code().into(),
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

/// `decision.json`: a baseline of facts and cases that change some of them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionDoc {
    #[serde(rename = "description")]
    _description: String,
    baseline: serde_json::Value,
    cases: Vec<DecisionCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionCase {
    name: String,
    /// The cross-basis rule this case walks (see [`CROSS_BASIS_RULES`]).
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    facts: serde_json::Value,
    expect: Expect,
}

/// The facts of one `decision.json` case, as written in the table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFacts {
    subject: SubjectFact,
    basis: BasisKind,
    /// `null`: the basis holds; otherwise the reason it fails.
    basis_fails: Option<RefusalReason>,
    covered: Vec<Category>,
    internal_reason: bool,
    justification: bool,
    requested: Option<Vec<Category>>,
    /// Record name → its purpose and provenance.
    records: BTreeMap<String, TableRecord>,
    /// `[record name, category]`, in record order.
    sections: Vec<(String, Category)>,
    /// Categories the sharing policy denies (everything else it allows).
    policy_denies: Vec<Category>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableRecord {
    same_purpose: bool,
    origin: Origin,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// `allowed` or `refused`.
    decision: String,
    #[serde(default)]
    reason: Option<RefusalReason>,
    #[serde(default)]
    disclosed: Option<Vec<Category>>,
    withheld: Vec<Withheld>,
}

struct TablePolicy<'a>(&'a [Category]);

impl PolicyOracle for TablePolicy<'_> {
    type Error = std::convert::Infallible;
    fn may_receive(&self, category: Category) -> Result<PolicyAnswer, Self::Error> {
        Ok(PolicyAnswer {
            allowed: !self.0.contains(&category),
            rules: vec!["table".into()],
        })
    }
}

/// The rules `decision.json` must walk both ways, each with the code that shows it fired.
const CROSS_BASIS_RULES: [(&str, &str); 5] = [
    ("sealed", "sealed"),
    ("onward_disclosure", "onward_disclosure"),
    ("justification_required", "justification_required"),
    ("internal_reason_required", "internal_reason_required"),
    ("basis_fails", "basis_fails"),
];

fn to_facts(t: TableFacts) -> Result<(Facts, BTreeMap<String, RecordId>), String> {
    let ids: BTreeMap<String, RecordId> = t.records.keys().map(|k| (k.clone(), RecordId::new_random())).collect();
    let id = |name: &str| ids.get(name).copied().ok_or_else(|| format!("unknown record {name}"));
    let mut records = Vec::new();
    for (name, r) in &t.records {
        records.push(RecordFact {
            id: id(name)?,
            same_purpose: r.same_purpose,
            origin: r.origin,
        });
    }
    let mut sections = Vec::new();
    for (name, category) in &t.sections {
        sections.push(SectionFact {
            record: id(name)?,
            category: *category,
        });
    }
    let facts = Facts {
        subject: t.subject,
        basis_kind: t.basis,
        basis: match t.basis_fails {
            Some(reason) => BasisFinding::Fails(reason),
            None => BasisFinding::Holds { covered: t.covered },
        },
        internal_reason_given: t.internal_reason,
        justification_given: t.justification,
        requested: t.requested,
        records,
        sections,
    };
    Ok((facts, ids))
}

/// The codes that show which rules fired in a decision (`basis_fails` for a failing basis).
fn fired(facts: &Facts, d: &Decision) -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = d.withheld().iter().map(|w| w.reason.code()).collect();
    if let Some(r) = d.refusal() {
        codes.push(r.code());
    }
    if matches!(facts.subject, SubjectFact::Found) && matches!(facts.basis, BasisFinding::Fails(_)) {
        codes.push("basis_fails");
    }
    codes
}

fn sorted(mut w: Vec<Withheld>) -> Vec<(Category, &'static str)> {
    let mut v: Vec<_> = w.drain(..).map(|w| (w.category, w.reason.code())).collect();
    v.sort();
    v
}

fn decision_table(text: &str, path: &Path, report: &mut CasesReport) -> Result<(), String> {
    let doc: DecisionDoc = serde_json::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?;
    // rule → (seen firing, seen not firing)
    let mut walked: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for c in doc.cases {
        report.decision_cases += 1;
        let what = format!("{}: {}", path.display(), c.name);
        let facts: TableFacts =
            serde_json::from_value(merged(&doc.baseline, &c.facts)).map_err(|e| format!("{what}: {e}"))?;
        let policy_denies = facts.policy_denies.clone();
        let (facts, _) = to_facts(facts).map_err(|e| format!("{what}: {e}"))?;
        let expect = c.expect;
        let d = match decision::decide(&facts, &TablePolicy(&policy_denies)) {
            Ok(d) => d,
            Err(never) => match never {},
        };
        let (got_decision, got_reason, got_disclosed) = match &d {
            Decision::Allowed { release, .. } => {
                let mut cats: Vec<Category> = release
                    .iter()
                    .filter_map(|i| facts.sections.get(*i).map(|s| s.category))
                    .collect();
                cats.sort();
                cats.dedup();
                ("allowed", None, cats)
            }
            Decision::Refused { reason, .. } => ("refused", Some(*reason), Vec::new()),
        };
        let mut want_disclosed = expect.disclosed.clone().unwrap_or_default();
        want_disclosed.sort();
        if got_decision != expect.decision
            || got_reason != expect.reason
            || (expect.disclosed.is_some() && got_disclosed != want_disclosed)
            || sorted(d.withheld().to_vec()) != sorted(expect.withheld.clone())
        {
            report.failures.push(format!(
                "{what}: expected {} {:?} disclosed {:?} withheld {:?}, got {got_decision} {got_reason:?} disclosed {got_disclosed:?} withheld {:?}",
                expect.decision,
                expect.reason,
                want_disclosed,
                sorted(expect.withheld),
                sorted(d.withheld().to_vec()),
            ));
        }
        if let Some(rule) = c.rule.as_deref() {
            let code = CROSS_BASIS_RULES
                .iter()
                .find(|(r, _)| *r == rule)
                .map(|(_, code)| *code)
                .ok_or_else(|| format!("{what}: unknown rule {rule}"))?;
            let entry = walked.entry(rule.to_owned()).or_default();
            if fired(&facts, &d).contains(&code) {
                entry.0 = true;
            } else {
                entry.1 = true;
            }
        }
    }
    for (rule, _) in CROSS_BASIS_RULES {
        match walked.get(rule) {
            Some((true, true)) => {}
            _ => report.failures.push(format!(
                "{}: rule {rule} must be walked both ways (a case where it applies and one where it does not)",
                path.display()
            )),
        }
    }
    Ok(())
}
