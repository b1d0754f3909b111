//! The decision tables in `policies/cases/*.json` run against the default policy (through the
//! same runner as `tsunagi policy check`): Casbin tables through the cache and straight through
//! Casbin, and the basis precondition tables both ways.

use tsunagi::domain::{AgencyId, Category, Role};
use tsunagi::policy::PolicySet;
use tsunagi::policy::cases::run_cases;

use crate::helpers::repo;

#[tokio::test]
async fn decision_tables_hold_for_the_default_policy() {
    let set = PolicySet::load_dir(&repo().join("policies")).await.unwrap();
    let report = run_cases(&set, &repo().join("policies/cases")).unwrap();
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    assert!(
        report.policy_cases >= 40,
        "expected at least 40 policy cases, found {}",
        report.policy_cases
    );
    assert!(
        report.precondition_cases >= 30,
        "expected at least 30 precondition cases, found {}",
        report.precondition_cases
    );
    assert!(
        report.decision_cases >= 30,
        "expected at least 30 cross-basis decision cases, found {}",
        report.decision_cases
    );
}

/// A `decision.json` with one case: the baseline facts, and `case` merged over them.
fn decision_table(cases: serde_json::Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let table = serde_json::json!({
        "description": "x",
        "baseline": {
            "subject": "found", "basis": "consent", "basis_fails": null, "covered": ["identity", "health"],
            "internal_reason": false, "justification": false, "requested": null,
            "records": {"r1": {"same_purpose": true, "origin": "own"}},
            "sections": [["r1", "identity"], ["r1", "health"]], "policy_denies": []
        },
        "cases": cases
    });
    std::fs::write(dir.path().join("decision.json"), table.to_string()).unwrap();
    dir
}

#[tokio::test]
async fn the_cross_basis_table_reports_a_wrong_decision_and_a_rule_walked_one_way() {
    let set = PolicySet::load_dir(&repo().join("policies")).await.unwrap();
    // Claims that special care flows under a support meeting without a justification.
    let dir = decision_table(serde_json::json!([
        {"name": "wrong", "rule": "justification_required", "facts": {"basis": "support-meeting"},
         "expect": {"decision": "allowed", "disclosed": ["identity", "health"], "withheld": []}}
    ]));
    let report = run_cases(&set, dir.path()).unwrap();
    assert_eq!(report.decision_cases, 1);
    assert!(
        report.failures.iter().any(|f| f.contains("wrong: expected allowed")),
        "{:#?}",
        report.failures
    );
    // Every cross-basis rule must be walked both ways: here none is.
    for rule in [
        "sealed",
        "onward_disclosure",
        "justification_required",
        "internal_reason_required",
        "basis_fails",
    ] {
        assert!(
            report
                .failures
                .iter()
                .any(|f| f.contains(&format!("rule {rule} must be walked both ways"))),
            "{rule}: {:#?}",
            report.failures
        );
    }
    // A failing basis that lists categories is a wrong expectation too.
    let dir = decision_table(serde_json::json!([
        {"name": "leaky", "facts": {"basis_fails": "consent_not_found"},
         "expect": {"decision": "refused", "reason": "consent_not_found",
                    "withheld": [{"category": "health", "reason": "not_covered_by_basis"}]}}
    ]));
    let report = run_cases(&set, dir.path()).unwrap();
    assert!(
        report.failures.iter().any(|f| f.contains("leaky: expected")),
        "{:#?}",
        report.failures
    );
}

#[tokio::test]
async fn a_wrong_expectation_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("wrong.json"),
        r#"{"description": "x", "cases": [{"role": "system", "agency": "jobota", "action": "disclose:consent", "object": "health", "expect": "allow"}]}"#,
    )
    .unwrap();
    let set = PolicySet::load_dir(&repo().join("policies")).await.unwrap();
    let report = run_cases(&set, dir.path()).unwrap();
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
}

#[tokio::test]
async fn a_wildcard_allow_cannot_unseal_reporter_identity() {
    let model = std::fs::read_to_string(repo().join("policies/model.conf")).unwrap();
    let rules = tsunagi::policy::parse_policy("p, *, *, disclose:consent, *, allow").unwrap();
    let set = PolicySet::build(&model, rules).await.unwrap();
    let (ok, _) = set
        .may_receive(
            &[Role::Caseworker],
            &AgencyId::parse("jobota").unwrap(),
            "disclose:consent",
            Category::ReporterIdentity,
        )
        .unwrap();
    assert!(!ok);
}
