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
