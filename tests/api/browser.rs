//! The console in a real browser: runs the Playwright stories in `tests/browser/` (node's test
//! runner, playwright-core driving Debian's Chromium, axe-core) against this build's hub binary,
//! on SQLite and — when `TSUNAGI_TEST_POSTGRES_URL` is set — on PostgreSQL.
//!
//! They need `node`, `tests/browser/node_modules` (`npm ci --prefix tests/browser`) and
//! `/usr/bin/chromium` with `fonts-noto-cjk`; `.ci/run` installs them and sets
//! `TSUNAGI_BROWSER_TESTS=1`, which makes anything missing a failure. Without that variable, a
//! machine lacking them skips these stories and says so.

use std::path::Path;
use std::process::Command;

use super::helpers::repo;

fn missing_tools(root: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    if Command::new("node").arg("--version").output().is_err() {
        missing.push("node".to_owned());
    }
    if !root.join("tests/browser/node_modules/playwright-core").exists() {
        missing.push("tests/browser/node_modules (npm ci --prefix tests/browser)".to_owned());
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    if !Path::new(&chromium).exists() {
        missing.push(chromium);
    }
    missing
}

#[test]
fn the_console_stories_pass_in_a_real_browser() {
    let root = repo();
    let required = std::env::var("TSUNAGI_BROWSER_TESTS").is_ok_and(|v| v == "1");
    let missing = missing_tools(&root);
    if !missing.is_empty() {
        assert!(!required, "TSUNAGI_BROWSER_TESTS=1 but missing: {missing:?}");
        eprintln!("SKIPPED: the browser stories need {missing:?} (see tests/browser/README.md)");
        return;
    }
    let mut engines = vec!["sqlite"];
    if std::env::var("TSUNAGI_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
        engines.push("postgres");
    }
    for engine in engines {
        let out = Command::new("node")
            .args(["--test", "--test-concurrency=1", "tests/browser/"])
            .current_dir(&root)
            .env("HUB_BIN", env!("CARGO_BIN_EXE_tsunagi"))
            .env("BROWSER_ENGINE", engine)
            .env("NODE_EXTRA_CA_CERTS", root.join("certs-dev/ca.pem"))
            .output()
            .expect("run node");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "browser stories failed on {engine}:\n{stdout}\n{stderr}"
        );
        println!("browser stories on {engine}:\n{stdout}");
    }
}
