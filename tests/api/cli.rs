//! The command line as an operator uses it: `tsunagi policy check` on the shipped policy and on
//! a broken one.

use std::process::Command;

use crate::helpers::repo;

fn tsunagi(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tsunagi"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn policy_check_passes_on_the_shipped_policy_and_fails_on_a_broken_one() {
    let (ok, out) = tsunagi(&["policy", "check", "policies"]);
    assert!(ok, "{out}");
    assert!(out.contains("all decision tables hold"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    for f in ["model.conf", "bases.toml"] {
        std::fs::copy(repo().join("policies").join(f), dir.path().join(f)).unwrap();
    }
    std::fs::create_dir(dir.path().join("cases")).unwrap();
    std::fs::write(
        dir.path().join("policy.csv"),
        "p, caseworker, *, disclose:consent, reporter-identity, allow\n",
    )
    .unwrap();
    let (ok, out) = tsunagi(&["policy", "check", dir.path().to_str().unwrap()]);
    assert!(!ok, "a sealed grant must fail the check: {out}");
    assert!(out.contains("sealed"), "{out}");

    std::fs::write(
        dir.path().join("policy.csv"),
        "p, policy-admin, *, policy:write, *, allow\n",
    )
    .unwrap();
    std::fs::copy(
        repo().join("policies/cases/consent.json"),
        dir.path().join("cases/consent.json"),
    )
    .unwrap();
    let (ok, out) = tsunagi(&["policy", "check", dir.path().to_str().unwrap()]);
    assert!(!ok, "decision tables that do not hold must fail the check: {out}");
    assert!(out.contains("FAIL"), "{out}");
}
