//! The policy admin's console pages over real TLS, on both engines: the policy as a matrix,
//! the proposal editor (an invalid proposal shows its reason and changes nothing), the queue
//! (never one's own approval), simulation grouped with links to the log entries that would
//! flip, explain, history, diff and rollback — each through the same services (and log
//! entries) as `/v1/policy` — and the refusal page for anyone else.

use serde_json::json;

use super::console_support::Browser;
use super::helpers::{TestApp, disclosure_body, engines, spawn_app, spawn_app_with, story};

const EMPLOYMENT: &str = "p, caseworker, *, disclose:consent, employment, allow";

async fn count(app: &TestApp, event: &str) -> usize {
    app.entries_since(0)
        .await
        .iter()
        .filter(|e| e["event"] == event)
        .count()
}

async fn admin(app: &TestApp, user: &str) -> Browser {
    let mut b = Browser::new(app, "welfare-coordination");
    b.login(user, "policy-admin").await;
    b
}

/// Proposes through the editor; returns the proposal id.
async fn propose(b: &mut Browser, form: &[(&str, &str)]) -> String {
    let page = b.get("/console/policy/proposals/new").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.csrf();
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(form);
    let done = b.post("/console/policy/proposals", &fields).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let loc = done.location();
    let id = loc
        .strip_prefix("/console/policy/proposals/")
        .and_then(|r| r.strip_suffix("?done=proposed"))
        .unwrap_or_else(|| panic!("{loc}"))
        .to_owned();
    let page = b.follow(done).await;
    assert!(page.body.contains("提案しました"), "{}", page.body);
    id
}

/// Form fields, the refusal code, and the Japanese sentence the page shows.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

const REMOVE_EMPLOYMENT: [(&str, &str); 2] = [("remove", EMPLOYMENT), ("reason", "就労の区分は同意の見直しまで止める")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caseworker_opening_the_policy_pages_gets_the_refusal_page_and_it_is_logged() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let mut b = Browser::new(&app, "jobota");
        b.login("cw-kato", "caseworker").await;
        for path in [
            "/console/policy",
            "/console/policy/proposals",
            "/console/policy/proposals/new",
            "/console/policy/versions",
            "/console/policy/explain?role=caseworker&agency=jobota&action=disclose:consent&object=health",
        ] {
            let before = count(&app, "console-forbidden").await;
            let page = b.get(path).await;
            assert_eq!(page.status, 403, "{path}");
            assert!(page.body.contains("許可されていません"), "{path}: {}", page.body);
            assert!(page.body.contains("forbidden_by_policy"));
            assert!(!page.body.contains("規則"), "no rule is shown: {path}");
            assert_eq!(count(&app, "console-forbidden").await, before + 1, "{path} is logged");
        }
        let last = app.last_entry().await;
        assert_eq!(last["event"], "console-forbidden");
        assert_eq!(last["user"], "cw-kato");
        assert_eq!(last["reference"], "console:/console/policy/explain");
        // A privacy officer may read the policy but not change it: no editor.
        let mut officer = Browser::new(&app, "welfare-coordination");
        officer.login("po-ito", "privacy-officer").await;
        assert_eq!(officer.get("/console/policy").await.status, 200);
        let page = officer.get("/console/policy/proposals/new").await;
        assert_eq!(page.status, 403);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_shows_who_may_receive_what_in_japanese_with_the_deciding_rules() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let mut b = admin(&app, "admin1").await;
        let home = b.get("/console/").await;
        assert!(home.body.contains("href=\"/console/policy\""));
        let page = b.get("/console/policy").await;
        assert_eq!(page.status, 200, "{}", page.body);
        for text in [
            "現在の共有ポリシー",
            "第1版",
            "「本人同意」を根拠とする提供",
            "「支援会議」を根拠とする提供",
            "管理の操作",
            "相談員",
            "システム連携",
            "就労",
            "提供可",
            "禁止",
            "規則なし",
            "封印",
            // The rule behind a cell, in words and as written.
            "システム連携・すべての機関：提供（本人同意）・精神保健 → 禁止",
            "p, system, *, disclose:consent, mental-health, deny",
        ] {
            assert!(page.body.contains(text), "{text} missing");
        }
        assert_eq!(page.body.matches("<h1>").count(), 1);
        // Each rule links to the editor with that rule chosen for removal.
        let link = "/console/policy/proposals/new?remove=p%2C%20system%2C%20%2A%2C%20disclose%3Aconsent%2C%20mental-health%2C%20deny";
        assert!(page.body.contains(link), "{}", page.body);
        let editor = b.get(link).await;
        assert_eq!(editor.status, 200);
        assert!(
            editor
                .body
                .contains("<option value=\"p, system, *, disclose:consent, mental-health, deny\" selected>"),
            "{}",
            editor.body
        );
        // A rule naming an agency adds a row for that agency.
        let id = propose(
            &mut b,
            &[
                ("add_role", "system"),
                ("add_agency", "jobota"),
                ("add_action", "disclose:consent"),
                ("add_object", "livelihood"),
                ("add_effect", "allow"),
                ("reason", "JOBOTAの就労支援システムに生活状況を"),
            ],
        )
        .await;
        let applied = b.get(&format!("/console/policy/proposals/{id}")).await;
        let csrf = applied.csrf();
        let done = b
            .post(&format!("/console/policy/proposals/{id}/apply"), &[("csrf", &csrf)])
            .await;
        assert_eq!(done.location(), "/console/policy/versions/2?done=applied");
        let page = b.get("/console/policy").await;
        assert!(page.body.contains("第2版"));
        assert!(page.body.contains("下記以外の機関"), "the wildcard row is labelled");
        assert!(page.body.contains("<span class=\"pa-sub\">jobota</span>"));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_proposal_shows_its_reason_and_changes_nothing() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let mut b = admin(&app, "admin1").await;
        let page = b.get("/console/policy/proposals/new").await;
        let csrf = page.csrf();
        let before = app.audit_size().await;
        let cases: [Case; 5] = [
            (
                &[
                    ("add_role", "caseworker"),
                    ("add_agency", "*"),
                    ("add_action", "disclose:consent"),
                    ("add_object", "reporter-identity"),
                    ("add_effect", "allow"),
                    ("reason", "試し"),
                ],
                "sealed_category",
                "封印された区分",
            ),
            (
                &[
                    ("add_role", "caseworker"),
                    ("add_agency", "*"),
                    ("add_action", "records:write"),
                    ("add_object", "health"),
                    ("add_effect", "allow"),
                    ("reason", "試し"),
                ],
                "invalid_object",
                "管理の操作には",
            ),
            (&[("reason", "試し")], "empty_change", "少なくとも一つ"),
            (
                &[
                    ("remove", "p, policy-admin, *, policy:write, *, allow"),
                    ("reason", "試し"),
                ],
                "would_lock_out_admins",
                "ポリシー管理者がいなくなります",
            ),
            (&[("remove", EMPLOYMENT), ("reason", "")], "empty", "空欄にはできません"),
        ];
        for (form, code, sentence) in cases {
            let mut fields = vec![("csrf", csrf.as_str())];
            fields.extend_from_slice(form);
            let page = b.post("/console/policy/proposals", &fields).await;
            assert_eq!(page.status, 422, "{code}: {}", page.body);
            assert!(page.body.contains(sentence), "{code}: {}", page.body);
            assert!(page.body.contains(code), "the code in small print");
            assert!(page.body.contains("role=\"alert\""));
            assert!(
                page.body
                    .contains("<form method=\"post\" action=\"/console/policy/proposals\""),
                "the form again"
            );
        }
        // The rule concerned is named, and the choices are kept.
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(cases[0].0);
        let page = b.post("/console/policy/proposals", &fields).await;
        assert!(
            page.body
                .contains("対象の規則: 相談員・すべての機関：提供（本人同意）・通報者の情報 → 許可"),
            "{}",
            page.body
        );
        assert!(page.body.contains("<option value=\"reporter-identity\" selected>"));
        // A written rule that is not in the policy is named too.
        let page = b
            .post(
                "/console/policy/proposals",
                &[
                    ("csrf", csrf.as_str()),
                    ("remove", EMPLOYMENT),
                    ("remove_more", "\np, system, *, disclose:consent, livelihood, allow\n"),
                    ("reason", "試し"),
                ],
            )
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("削除しようとした規則は、現在のポリシーにありません"));
        assert!(
            page.body
                .contains("対象の規則: システム連携・すべての機関：提供（本人同意）・生活・経済状況 → 許可"),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("<details class=\"pa-more\" open>"),
            "what was written is kept, in view"
        );
        assert_eq!(app.audit_size().await, before, "nothing logged");
        assert!(
            app.state.store.open_proposals(10).await.unwrap().is_empty(),
            "nothing stored"
        );
        assert_eq!(app.state.store.policy_head().await.unwrap(), Some(1));
        let queue = b.get("/console/policy/proposals").await;
        assert!(queue.body.contains("適用を待っている提案はありません"));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulation_groups_the_flips_with_links_to_the_entries_and_explain_compares() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let (s, r) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, &st.consent, "employment support"),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let index = r["audit_receipt"]["index"].as_u64().unwrap();
        let mut b = admin(&app, "admin1").await;
        let id = propose(&mut b, &REMOVE_EMPLOYMENT).await;
        let page = b.get(&format!("/console/policy/proposals/{id}/simulation")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for text in [
            "影響のシミュレーション",
            "jobota",
            "本人同意",
            "就労",
            "提供されていたが、提供されなくなる",
            &format!("href=\"/console/log/entries/{index}\""),
            "相談員・すべての機関：提供（本人同意）・就労 → 許可",
        ] {
            assert!(page.body.contains(text), "{text} missing: {}", page.body);
        }
        // The same numbers as the JSON API.
        let api = app.caller("admin1", "welfare-coordination", "policy-admin");
        let (_, report) = api
            .post(&format!("/v1/policy/proposals/{id}/simulate"), &json!({}))
            .await;
        assert_eq!(report["allowed_to_refused"], 1);
        assert_eq!(report["groups"][0]["count"], 1);
        // A period with nothing in it.
        let page = b
            .get(&format!(
                "/console/policy/proposals/{id}/simulation?from=2020-01-01&to=2020-01-31"
            ))
            .await;
        assert!(page.body.contains("判定が変わる記録はありません"), "{}", page.body);

        let page = b
            .get(&format!(
                "/console/policy/explain?role=caseworker&agency=jobota&action=disclose%3Aconsent&object=employment&proposal={id}"
            ))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        for text in [
            "現在のポリシー（第1版）",
            "許可されます。",
            "提案を適用した場合",
            "当てはまる規則がないため、許可されません。",
            EMPLOYMENT,
        ] {
            assert!(page.body.contains(text), "{text} missing: {}", page.body);
        }
        assert_eq!(count(&app, "policy-proposed").await, 1, "reading changes nothing");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_admin_approves_never_the_author_then_apply_history_diff_and_rollback() {
    for engine in engines() {
        let app = spawn_app_with(engine, |c| c.policy_admin.require_approval = true).await;
        let mut a = admin(&app, "admin1").await;
        let id = propose(&mut a, &REMOVE_EMPLOYMENT).await;
        assert_eq!(count(&app, "policy-proposed").await, 1);

        // The author is never offered the approve button, and cannot apply yet.
        let page = a.get(&format!("/console/policy/proposals/{id}")).await;
        assert!(page.body.contains("承認待ち"));
        assert!(page.body.contains("ご自身の提案は承認できません"));
        assert!(!page.body.contains("/approve\""), "no approve form for one's own");
        assert!(!page.body.contains("/apply\""), "no apply form before approval");
        assert!(page.body.contains("別のポリシー管理者の承認が必要です"));
        let queue = a.get("/console/policy/proposals").await;
        assert!(queue.body.contains("admin1"));
        assert!(!queue.body.contains("/approve\""));
        // Forced anyway: the service refuses, the page says why, nothing is approved.
        let csrf = page.csrf();
        let forced = a
            .post(&format!("/console/policy/proposals/{id}/approve"), &[("csrf", &csrf)])
            .await;
        assert_eq!(forced.status, 403);
        assert!(forced.body.contains("ご自身の提案は承認できません"), "{}", forced.body);
        assert!(forced.body.contains("cannot_approve_own"));
        assert_eq!(app.last_entry().await["event"], "console-forbidden");
        assert_eq!(count(&app, "policy-approved").await, 0);
        let forced = a
            .post(&format!("/console/policy/proposals/{id}/apply"), &[("csrf", &csrf)])
            .await;
        assert_eq!(forced.status, 409);
        assert!(forced.body.contains("承認が必要です"));
        assert_eq!(app.state.store.policy_head().await.unwrap(), Some(1));

        // Another admin sees the button and approves.
        let mut b = admin(&app, "admin2").await;
        let queue = b.get("/console/policy/proposals").await;
        assert!(
            queue
                .body
                .contains(&format!("/console/policy/proposals/{id}/approve\""))
        );
        let csrf_b = queue.csrf();
        let done = b
            .post(&format!("/console/policy/proposals/{id}/approve"), &[("csrf", &csrf_b)])
            .await;
        assert_eq!(done.status, 303);
        let page = b.follow(done).await;
        assert!(page.body.contains("提案を承認しました"));
        assert!(page.body.contains("admin2さんが承認済み"));
        assert_eq!(count(&app, "policy-approved").await, 1);

        // Meanwhile admin2 proposes something else against version 1.
        let other = propose(
            &mut b,
            &[
                ("add_role", "system"),
                ("add_agency", "*"),
                ("add_action", "disclose:consent"),
                ("add_object", "livelihood"),
                ("add_effect", "allow"),
                ("reason", "生活状況も連携する"),
            ],
        )
        .await;

        // The author applies: a new version, in force.
        let page = a.get(&format!("/console/policy/proposals/{id}")).await;
        assert!(page.body.contains("/apply\""));
        let done = a
            .post(&format!("/console/policy/proposals/{id}/apply"), &[("csrf", &csrf)])
            .await;
        assert_eq!(done.location(), "/console/policy/versions/2?done=applied");
        let page = a.follow(done).await;
        assert!(page.body.contains("第2版にしました"));
        assert!(page.body.contains("提案の適用"));
        assert!(
            page.body
                .contains("相談員・すべての機関：提供（本人同意）・就労 → 許可")
        );
        assert_eq!(app.state.policy.current().number(), Some(2));
        assert_eq!(count(&app, "policy-applied").await, 1);

        // The other proposal was made against version 1: it can no longer be applied.
        let page = a.get(&format!("/console/policy/proposals/{other}")).await;
        assert!(
            page.body.contains("この提案の後にポリシーが変わりました"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("/apply\""));
        // Pages for what does not exist.
        assert_eq!(a.get("/console/policy/proposals/no-such-proposal").await.status, 404);
        assert_eq!(a.get("/console/policy/versions/99").await.status, 404);

        // History and diff.
        let page = a.get("/console/policy/versions").await;
        assert!(page.body.contains("href=\"/console/policy/versions/2\""));
        assert!(page.body.contains("就労の区分は同意の見直しまで止める"));
        let page = a.get("/console/policy/diff?from=1&to=2").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("第1版から第2版への変更"));
        assert!(page.body.contains("削除する規則"));
        assert!(page.body.contains(EMPLOYMENT));
        assert_eq!(a.get("/console/policy/diff?from=1&to=9").await.status, 404);

        // Rollback: a confirmation first, a reason is required, then a new version.
        let confirm = a.get("/console/policy/versions/1/rollback").await;
        assert_eq!(confirm.status, 200);
        assert!(confirm.body.contains("第1版の規則で新しい版を作り"));
        assert!(confirm.body.contains("追加する規則"), "what comes back is shown");
        let refused = a
            .post(
                "/console/policy/versions/1/rollback",
                &[("csrf", &csrf), ("reason", "")],
            )
            .await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("空欄にはできません"));
        assert_eq!(app.state.store.policy_head().await.unwrap(), Some(2));
        let done = a
            .post(
                "/console/policy/versions/1/rollback",
                &[("csrf", &csrf), ("reason", "各課と相談するまで元に戻す")],
            )
            .await;
        assert_eq!(done.location(), "/console/policy/versions/3?done=rolled-back");
        let page = a.follow(done).await;
        assert!(page.body.contains("ロールバックし、第3版にしました"));
        assert_eq!(app.state.policy.current().number(), Some(3));
        assert_eq!(count(&app, "policy-rolled-back").await, 1);
        // The version in force offers no rollback to itself.
        let page = a.get("/console/policy/versions/3").await;
        assert!(!page.body.contains("/rollback\""));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_pages_have_an_english_version_with_the_same_structure() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let mut b = admin(&app, "admin1").await;
        let page = b.get("/console/policy").await;
        let csrf = page.csrf();
        let switched = b
            .post(
                "/console/lang",
                &[("lang", "en"), ("back", "/console/policy"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(switched.status, 303, "{}", switched.body);
        let page = b.get("/console/policy").await;
        assert!(page.body.contains("<html lang=\"en\">"));
        assert!(page.body.contains("Disclosure on the basis of consent"));
        assert!(page.body.contains("rule "));
        assert!(!page.body.contains("pa-matrix-"), "no missing string");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_rules_can_be_changed_in_one_proposal_as_written() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let mut b = admin(&app, "admin1").await;
        let id = propose(
            &mut b,
            &[
                ("remove", "p, system, *, disclose:consent, employment, allow"),
                (
                    "add_more",
                    "p, system, jobota, disclose:consent, employment, allow\r\np, system, jobota, disclose:consent, livelihood, allow\r\n",
                ),
                ("reason", "就労データはJOBOTAのシステムだけに"),
            ],
        )
        .await;
        let p = app.state.store.proposal(&id).await.unwrap().unwrap();
        assert_eq!(
            p.added,
            [
                "p, system, jobota, disclose:consent, employment, allow",
                "p, system, jobota, disclose:consent, livelihood, allow"
            ]
        );
        assert_eq!(p.removed, ["p, system, *, disclose:consent, employment, allow"]);
        let page = b.get(&format!("/console/policy/proposals/{id}")).await;
        assert!(
            page.body
                .contains("システム連携・jobota：提供（本人同意）・生活・経済状況 → 許可")
        );
        app.stop().await;
    }
}
