//! The decision tables in `policies/cases/*.json` run against the default policy: every case
//! through the cache and straight through Casbin, which must agree.

use serde::Deserialize;
use tsunagi::domain::{AgencyId, Category, Role};
use tsunagi::policy::PolicySet;

use crate::helpers::repo;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[allow(dead_code)]
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

#[tokio::test]
async fn decision_tables_hold_for_the_default_policy() {
    let set = PolicySet::load_dir(&repo().join("policies")).await.unwrap();
    let mut n = 0;
    let mut files: Vec<_> = std::fs::read_dir(repo().join("policies/cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    // preconditions.json holds the basis tables (run below), the others the Casbin tables.
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("preconditions.json"))
    {
        let table: Table = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for c in table.cases {
            let role = Role::parse(&c.role).unwrap();
            let want = match c.expect.as_str() {
                "allow" => true,
                "deny" => false,
                other => panic!("{}: expect must be allow or deny, not {other}", path.display()),
            };
            let plain = set.decide_uncached(role, &c.agency, &c.action, &c.object).unwrap();
            let cached = set.decide(role, &c.agency, &c.action, &c.object).unwrap();
            let cached_again = set.decide(role, &c.agency, &c.action, &c.object).unwrap();
            assert_eq!(
                *cached, plain,
                "cache and casbin disagree on {} {} {} {}",
                c.role, c.agency, c.action, c.object
            );
            assert_eq!(cached_again, cached);
            // Sealed categories are refused in code whatever the rules say.
            let effective = match Category::parse(&c.object) {
                Ok(cat) => {
                    set.may_receive(&[role], &AgencyId::parse(&c.agency).unwrap(), &c.action, cat)
                        .unwrap()
                        .0
                }
                Err(_) => plain.allowed,
            };
            assert_eq!(
                effective,
                want,
                "{}: {} at {} {} {}",
                path.display(),
                c.role,
                c.agency,
                c.action,
                c.object
            );
            if want {
                assert!(!plain.rules.is_empty(), "an allow names the rule that allowed it");
            }
            n += 1;
        }
    }
    assert!(
        n >= 20,
        "expected the decision tables to hold at least 20 cases, found {n}"
    );
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

/// Baseline facts with one case's changes applied.
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

#[test]
fn precondition_tables_walk_every_basis_both_ways() {
    use tsunagi::domain::preconditions as pre;
    let text = std::fs::read_to_string(repo().join("policies/cases/preconditions.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut n = 0;
    let mut run = |section: &str, decide: &dyn Fn(serde_json::Value) -> String| {
        let baseline = &doc[format!("{section}_baseline")];
        let cases = doc[section]
            .as_array()
            .unwrap_or_else(|| panic!("section {section} missing"));
        let mut codes = std::collections::BTreeSet::new();
        for c in cases {
            let got = decide(merged(baseline, &c["facts"]));
            assert_eq!(got, c["expect"].as_str().unwrap(), "{section}: {}", c["name"]);
            codes.insert(got);
            n += 1;
        }
        assert!(
            codes.iter().any(|c| c.starts_with("allow")),
            "{section}: no allowed case"
        );
        assert!(codes.len() > 1, "{section}: no refused case");
    };
    run("meeting", &|f| {
        outcome(pre::meeting(&serde_json::from_value(f).unwrap()))
    });
    run("emergency", &|f| {
        outcome(pre::emergency(&serde_json::from_value(f).unwrap()).map(|()| false))
    });
    run("legal_report", &|f| {
        outcome(pre::legal_report(&serde_json::from_value(f).unwrap()).map(|()| false))
    });
    run("internal", &|f| {
        outcome(pre::internal(&serde_json::from_value(f).unwrap()).map(|()| false))
    });
    assert!(n >= 30, "{n} cases");
}
