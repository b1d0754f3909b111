//! The README's examples, run as a new user would paste them: every ```` ```sh ```` block from
//! "Quick start with curl" up to "The verifiable disclosure log" (the quick start, the
//! walkthroughs and the policy administration block), in order, in one bash session, against a
//! fresh hub on a free port — and every answer the README shows is checked against what the hub
//! really answered.
//!
//! The README's convention, which this test enforces:
//! - A line `# → TEXT` inside a block shows what the commands since the previous such line (or
//!   the start of the block) print. `…` stands for what differs from run to run; the other pieces
//!   of TEXT must appear in the output, in order.
//! - A ```` ```json ```` block right after a shell block shows what that block's last commands
//!   print (after its last `# →` line), with the same `…` rule; its lines are joined with their
//!   indentation removed (the hub answers compact JSON).
//! - No command answers with an error (`{"error":…}`) unless the answer shown for it is that
//!   error: a step that quietly started failing is caught even where the README shows nothing.
//! - The blocks set `HUB=${HUB:-https://127.0.0.1:8443}` and run `tsunagi`, a function that runs
//!   the binary `$TSUNAGI` names, or `cargo run -q --release --` when it is unset; this test sets
//!   `HUB` to its hub and `TSUNAGI` to the already-built binary.
//!   Dates are computed with `date`, relative to today, so the examples work on any day.

use std::process::Command;

use crate::helpers::*;

/// The sections whose shell blocks run: from this heading…
const FIRST_SECTION: &str = "## Quick start with curl";
/// …up to (not including) this one.
const END_SECTION: &str = "## The verifiable disclosure log";

const CHECK_MARK: &str = "@@readme-check@@";
const BLOCK_MARK: &str = "@@readme-block-end@@";

/// README lines with their 1-based line numbers.
type Lines = Vec<(usize, String)>;

/// One shell block and what the README shows it answers.
#[derive(Debug)]
struct Example {
    /// 1-based line of the opening fence in README.md.
    line: usize,
    section: String,
    script: Lines,
    /// Shown answers: (README line, text) — `# →` lines inside the block.
    checks: Lines,
    /// ```json blocks following it: (README line, joined text).
    answers: Lines,
}

fn examples(readme: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut section = String::new();
    let mut in_range = false;
    let mut fence: Option<(&str, usize, Lines)> = None;
    // Whether a ```json block would still belong to the last shell block (no other block since).
    let mut json_attaches = false;
    for (i, line) in readme.lines().enumerate() {
        let n = i + 1;
        if let Some((kind, start, ref mut body)) = fence {
            if line.trim_start().starts_with("```") {
                match kind {
                    "sh" if in_range => {
                        let checks = body
                            .iter()
                            .filter_map(|(l, t)| shown(t).map(|s| (*l, s.to_owned())))
                            .collect();
                        out.push(Example {
                            line: start,
                            section: section.clone(),
                            script: std::mem::take(body),
                            checks,
                            answers: Vec::new(),
                        });
                        json_attaches = true;
                    }
                    "json" if in_range && json_attaches => {
                        let joined: String = body.iter().map(|(_, t)| t.trim()).collect();
                        if let Some(last) = out.last_mut() {
                            last.answers.push((start, joined));
                        }
                    }
                    _ => json_attaches = false,
                }
                fence = None;
            } else {
                body.push((n, line.to_owned()));
            }
            continue;
        }
        if let Some(info) = line.trim_start().strip_prefix("```") {
            let kind = match info.trim() {
                "sh" | "bash" => "sh",
                "json" => "json",
                _ => "other",
            };
            fence = Some((kind, n, Vec::new()));
            continue;
        }
        if line.starts_with("## ") {
            if line.starts_with(FIRST_SECTION) {
                in_range = true;
            } else if line.starts_with(END_SECTION) {
                in_range = false;
            }
        }
        if line.starts_with("## ") || line.starts_with("### ") {
            section = line.trim_start_matches('#').trim().to_owned();
            json_attaches = false;
        }
    }
    out
}

/// The text of a `# → TEXT` line.
fn shown(line: &str) -> Option<&str> {
    line.trim_start().strip_prefix("# →").map(str::trim)
}

/// Does `output` show `expected`: its pieces between `…`, in order?
fn shows(output: &str, expected: &str) -> bool {
    let mut rest = output;
    for piece in expected.split('…').filter(|p| !p.is_empty()) {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// How many error answers a text holds. An answer the README does not show as an error must not
/// be one: a step that quietly started failing would otherwise pass unnoticed.
fn errors(text: &str) -> usize {
    text.matches(r#"{"error":"#).count()
}

/// The blocks as one bash script, with a marker printed where each answer is shown.
fn script(examples: &[Example]) -> String {
    let mut s = String::from("set -euo pipefail\n");
    for e in examples {
        s.push_str(&format!("# README.md line {} ({})\n", e.line, e.section));
        for (_, line) in &e.script {
            if shown(line).is_some() {
                s.push_str(&format!("printf '\\n%s\\n' '{CHECK_MARK}'\n"));
            } else {
                s.push_str(line);
                s.push('\n');
            }
        }
        s.push_str(&format!("printf '\\n%s\\n' '{BLOCK_MARK}'\n"));
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_examples_give_the_answers_the_readme_shows() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let examples = examples(&readme);
    let sections: std::collections::BTreeSet<&str> = examples.iter().map(|e| e.section.as_str()).collect();
    assert!(
        sections.len() >= 3,
        "expected the quick start, a walkthrough and the policy block, found {sections:?}"
    );
    for e in &examples {
        assert!(
            !e.checks.is_empty() || !e.answers.is_empty(),
            "README.md line {} ({}): a block the test runs shows no answer (`# → …` or a ```json block after it)",
            e.line,
            e.section
        );
    }
    assert!(
        Command::new("curl").arg("--version").output().is_ok(),
        "the README test needs curl"
    );
    let script = script(&examples);
    for engine in engines() {
        let app = spawn_app(engine).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("readme.sh");
        std::fs::write(&file, &script).unwrap();
        let hub = format!("https://127.0.0.1:{}", app.port);
        let run = tokio::task::spawn_blocking(move || {
            Command::new("bash")
                .arg(&file)
                .current_dir(repo())
                .env("HUB", hub)
                .env("TSUNAGI", env!("CARGO_BIN_EXE_tsunagi"))
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            run.status.success(),
            "{engine:?}: the README's blocks failed ({}).\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            run.status
        );
        // The output between markers, in the order the markers were printed.
        let mut segments: Vec<(&str, String)> = Vec::new();
        let mut current = String::new();
        for line in stdout.lines() {
            if line == CHECK_MARK || line == BLOCK_MARK {
                segments.push((
                    if line == CHECK_MARK { "check" } else { "block" },
                    std::mem::take(&mut current),
                ));
            } else {
                current.push_str(line);
                current.push('\n');
            }
        }
        let mut seg = segments.iter();
        for e in &examples {
            for (line, expected) in &e.checks {
                let (kind, out) = seg.next().expect("a marker for every shown answer");
                assert_eq!(*kind, "check", "README.md line {line}: markers out of step");
                assert!(
                    shows(out, expected) && errors(out) <= errors(expected),
                    "{engine:?}: README.md line {line} ({}) shows\n  {expected}\nbut the hub answered\n{out}\n--- stderr\n{stderr}",
                    e.section
                );
            }
            let (kind, tail) = seg.next().expect("a marker at the end of every block");
            assert_eq!(*kind, "block", "README.md line {}: markers out of step", e.line);
            for (line, expected) in &e.answers {
                assert!(
                    shows(tail, expected),
                    "{engine:?}: the answer shown at README.md line {line} ({})\n  {expected}\nis not what the hub answered\n{tail}\n--- stderr\n{stderr}",
                    e.section
                );
            }
            let shown_errors: usize = e.answers.iter().map(|(_, t)| errors(t)).sum();
            assert!(
                errors(tail) <= shown_errors,
                "{engine:?}: the end of the block at README.md line {} ({}) got an error the README does not show\n{tail}\n--- stderr\n{stderr}",
                e.line,
                e.section
            );
        }
        app.stop().await;
    }
}

#[test]
fn shown_answers_match_in_order_with_ellipses_for_what_varies() {
    let out = r#"{"disclosed":["identity"],"audit_receipt":{"index":7,"leaf_hash":"ab12"},"policy_version":"v1"}"#;
    assert!(shows(
        out,
        r#"{"disclosed":["identity"],…"index":…,"leaf_hash":"…"},"policy_version":"v1"}"#
    ));
    assert!(shows(out, "…"));
    assert!(!shows(out, r#"{"disclosed":["employment"]…"#));
    assert!(
        !shows(out, r#""policy_version":"v1"…"disclosed""#),
        "pieces must appear in order"
    );
}

#[test]
fn the_readme_parser_finds_blocks_checks_and_answers() {
    let md = "## Quick start with curl\n\n```sh\necho '{\"a\":1}'\n# → {\"a\":1}\necho two\n```\n\ntext\n\n```json\n{\"b\":\n  2}\n```\n\n## Walkthrough\n```sh\necho x\n```\n```text\nno\n```\n```json\n{}\n```\n## The verifiable disclosure log\n```sh\nnot run\n```\n";
    let ex = examples(md);
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].checks, [(5, "{\"a\":1}".to_owned())]);
    assert_eq!(ex[0].answers, [(11, "{\"b\":2}".to_owned())]);
    assert!(
        ex[1].answers.is_empty(),
        "a json block after another block is not an answer"
    );
    let s = script(&ex);
    assert!(s.contains("echo two") && !s.contains("not run") && s.matches(CHECK_MARK).count() == 1);
}
