//! The privacy officer's console pages over real TLS: the log search (filters in the URL,
//! paging, people by id where the officer may see them), an entry with its inclusion proof
//! verified against a signed checkpoint, the pseudonym lookup, the person's report (page and
//! CSV), alerts, emergency grants and their review, the log's health and the dashboard — each
//! read logged like the API's, each page refused (and the refusal logged) to anyone else, and an
//! officer of a private corporation reading only its own organ's entries.

use serde_json::{Value, json};

use super::console_support::Browser;
use super::helpers::*;

const RSC: &str = "regional-support-centre";

/// The story's person, one disclosure to JOBOTA and one refusal (purpose outside the consent).
/// Returns (story, allowed index, refused index).
async fn with_decisions(app: &TestApp) -> (Story, u64, u64) {
    let st = story(app).await;
    let (s, b) = st
        .jobota
        .post(
            "/v1/disclosures",
            &disclosure_body(&st.subject, &st.consent, "employment support"),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let allowed = b["audit_receipt"]["index"].as_u64().unwrap();
    let (s, b) = st
        .jobota
        .post(
            "/v1/disclosures",
            &disclosure_body(&st.subject, &st.consent, "debt counselling"),
        )
        .await;
    assert_eq!(s, 403, "{b}");
    let refused = b["error"]["audit_receipt"]["index"].as_u64().unwrap();
    (st, allowed, refused)
}

async fn officer_browser(app: &TestApp, agency: &str, user: &str) -> Browser {
    let mut b = Browser::new(app, agency);
    b.login(user, "privacy-officer").await;
    b
}

fn entry_link(index: u64) -> String {
    format!("href=\"/console/log/entries/{index}\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_searches_pages_and_sees_people_by_id_and_every_search_is_logged() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let (st, allowed, refused) = with_decisions(&app).await;
        let mut b = officer_browser(&app, "welfare-coordination", "po-kobayashi").await;

        let page = b.get(&format!("/console/log?subject={}", st.subject)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("記録の検索"), "Japanese first");
        for i in [allowed, refused] {
            assert!(page.body.contains(&entry_link(i)), "{engine:?}: entry {i} listed");
        }
        // The person by id (the search resolved them in scope), the refusal in words and code.
        assert!(
            page.body
                .contains(&format!("/console/log/subjects/{}/report", st.subject))
        );
        assert!(page.body.contains("拒否"));
        assert!(page.body.contains("consent_purpose_not_in_scope"));
        assert!(page.body.contains("同意の利用目的に、この目的が含まれていません。"));
        // The filter stays in the form.
        assert!(page.body.contains(&format!("value=\"{}\"", st.subject)));
        let read = app.last_entry().await;
        assert_eq!(
            (read["kind"].as_str(), read["action"].as_str()),
            (Some("log-read"), Some("search"))
        );
        let logged_subject = read["query"]["subject"].as_str().unwrap().to_owned();
        assert_ne!(logged_subject, st.subject, "the log names the person only by pseudonym");

        // Paging: one per page, the next page through the cursor, filters kept.
        let page = b
            .get(&format!(
                "/console/log?subject={}&outcome=&limit=25&kind=disclosure",
                st.subject
            ))
            .await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(&entry_link(allowed)) && page.body.contains(&entry_link(refused)));
        let small = b
            .get(&format!("/console/log?subject={}&kind=disclosure&limit=1", st.subject))
            .await;
        // limit=1 is not a choice of the form, but the API's range is 1-500: kept as given, and
        // shown as the size in force.
        assert!(small.body.contains("<option value=\"1\" selected>1</option>"));
        assert!(small.body.contains(&entry_link(allowed)) && !small.body.contains(&entry_link(refused)));
        let next = format!(
            "/console/log?subject={}&#38;kind=disclosure&#38;limit=1&#38;after={allowed}",
            st.subject
        );
        assert!(small.body.contains(&next), "{}", small.body);
        let second = b.get(&next.replace("&#38;", "&")).await;
        assert!(second.body.contains(&entry_link(refused)) && !second.body.contains(&entry_link(allowed)));
        assert!(second.body.contains("最初のページへ"));

        // Refusals only, by agency and basis, in a day range (Japan time).
        let today = time::OffsetDateTime::now_utc()
            .to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap())
            .date();
        let page = b
            .get(&format!(
                "/console/log?agency=jobota&basis=consent&outcome=refused&from={today}&until={today}"
            ))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains(&entry_link(refused)) && !page.body.contains(&entry_link(allowed)));
        let q = &app.last_entry().await["query"];
        assert_eq!(q["outcome"], "refused");
        // `decision`, the log's own word, is the same filter.
        let page = b.get("/console/log?decision=refused&agency=jobota").await;
        assert!(page.body.contains(&entry_link(refused)) && !page.body.contains(&entry_link(allowed)));
        assert_eq!(q["from"], format!("{today}T00:00:00+09:00"));

        // Bad input: a clear message by the form, 422, nothing logged.
        let before = app.audit_size().await;
        let page = b.get("/console/log?from=yesterday").await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("<form method=\"get\" action=\"/console/log\""));
        assert!(page.body.contains("invalid_time"), "{}", page.body);
        let page = b.get("/console/log?after=x").await;
        assert_eq!(page.status, 422);
        assert_eq!(app.audit_size().await, before, "a refused query is not logged");

        // The pseudonym lookup (logged), from a pseudonym seen in the log.
        let page = b
            .get(&format!("/console/log/pseudonym?pseudonym={logged_subject}"))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains(&st.subject));
        // …and the case number the regional support centre knows the person by, with its name.
        assert!(page.body.contains("RSC-0001"), "{}", page.body);
        assert!(page.body.contains("ケース番号（地域包括支援センター"), "{}", page.body);
        let read = app.last_entry().await;
        assert_eq!(read["action"], "pseudonym-lookup");
        let page = b.get("/console/log/pseudonym?pseudonym=nobody-has-this").await;
        assert_eq!(page.status, 404);
        assert!(page.body.contains("pseudonym_unknown"));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_shows_its_proof_verified_against_a_signed_checkpoint_and_the_report_prints_and_downloads() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let (st, allowed, refused) = with_decisions(&app).await;
        let mut b = officer_browser(&app, "welfare-coordination", "po-kobayashi").await;

        let page = b.get(&format!("/console/log/entries/{allowed}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("検証済み"), "{}", page.body);
        let cp = app.state.store.latest_checkpoint().await.unwrap().unwrap();
        assert!(cp.size > allowed);
        assert!(page.body.contains(&cp.key_name), "the signer is named");
        assert!(page.body.contains("署名付きチェックポイント（記録件数"));
        assert!(
            page.body.contains("c2sp.org/tlog-proof@v1"),
            "the proof file is offered"
        );
        assert!(page.body.contains("employment support"));
        // Reading the entry is logged (with its index, not the person).
        let read = app.last_entry().await;
        assert_eq!(read["action"], "entry");
        assert_eq!(read["query"]["index"], allowed.to_string());
        // An entry outside the officer's scope is not found, and that read is logged too.
        let ward_read = app.audit_size().await - 1;
        let mut rsc = officer_browser(&app, RSC, "po-ogawa").await;
        assert_eq!(rsc.get(&format!("/console/log/entries/{ward_read}")).await.status, 404);
        assert_eq!(app.last_entry().await["results"], 0);
        // Out of the log: not found.
        assert_eq!(b.get("/console/log/entries/999999").await.status, 404);
        assert_eq!(b.get("/console/log/entries/abc").await.status, 404);

        // The person's report: the same lines as the API, each linked to its entry.
        let page = b.get(&format!("/console/log/subjects/{}/report", st.subject)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for i in [allowed, refused] {
            assert!(page.body.contains(&entry_link(i)));
        }
        assert!(page.body.contains("提供 1件・拒否 1件"), "{}", page.body);
        assert!(
            page.body
                .contains(&format!("/console/log/subjects/{}/report.csv", st.subject))
        );
        let read = app.last_entry().await;
        assert_eq!(read["action"], "subject-report");
        assert_eq!(read["query"]["format"], "html");
        let css = b.get("/console/static/console.css").await;
        assert!(
            css.body.contains("@media print"),
            "the report prints without the chrome"
        );

        let csv = b.get(&format!("/console/log/subjects/{}/report.csv", st.subject)).await;
        assert_eq!(csv.status, 200);
        assert!(csv.header("content-type").starts_with("text/csv"));
        assert!(csv.header("content-disposition").contains("attachment"));
        let po = app.caller("kobayashi", "welfare-coordination", "privacy-officer");
        let (_, api_csv) = po
            .get_text(&format!("/v1/audit/subjects/{}/report?format=csv", st.subject))
            .await;
        assert_eq!(
            csv.body.lines().next(),
            api_csv.lines().next(),
            "the same CSV as the API"
        );
        assert_eq!(csv.body.lines().count(), 3, "a header and two lines: {}", csv.body);
        assert_eq!(app.last_entry().await["query"]["format"], "csv");
        // An unknown person is not found.
        let page = b
            .get("/console/log/subjects/00000000-0000-4000-8000-000000000000/report")
            .await;
        assert_eq!(page.status, 404);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_privacy_officers_open_these_pages_and_a_refusal_is_logged() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let (st, allowed, _) = with_decisions(&app).await;
        let mut b = Browser::new(&app, "jobota");
        b.login("cw-tanaka", "caseworker").await;
        for path in [
            "/console/log".to_owned(),
            format!("/console/log/entries/{allowed}"),
            format!("/console/log/subjects/{}/report", st.subject),
            format!("/console/log/subjects/{}/report.csv", st.subject),
            "/console/log/pseudonym?pseudonym=x".to_owned(),
            "/console/log/alerts".to_owned(),
            "/console/log/health".to_owned(),
            "/console/log/health/checkpoint".to_owned(),
            "/console/log/dashboard".to_owned(),
            "/console/grants".to_owned(),
        ] {
            let page = b.get(&path).await;
            assert_eq!(page.status, 403, "{engine:?} {path}");
            assert!(
                page.body.contains("この操作は許可されていません"),
                "{path}: a page, in Japanese"
            );
            let logged = app.last_entry().await;
            assert_eq!(logged["event"], "console-forbidden", "{path}");
            assert_eq!(logged["user"], "cw-tanaka");
            assert_eq!(logged["detail"]["code"], "forbidden_by_policy");
        }
        let page = b.get("/console/").await;
        assert!(
            !page.body.contains("href=\"/console/log\""),
            "no link to the officer's pages"
        );
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_corporations_officer_sees_only_its_own_organs_entries() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let (st, across, _) = with_decisions(&app).await;
        // Ward-internal: JOBOTA registers its own person and records a consent for SAPOTA.
        let (s, own) = st.jobota.post("/v1/subjects", &json!({"local_id": "JOB-0001"})).await;
        assert_eq!(s, 201, "{own}");
        let ward_subject = own["id"].as_str().unwrap().to_owned();
        let mut consent = consent_body("2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z");
        consent["recipients"] = json!(["sapota"]);
        let (s, c) = st
            .jobota
            .post(&format!("/v1/subjects/{ward_subject}/consents"), &consent)
            .await;
        assert_eq!(s, 201, "{c}");
        let ward_internal = app.audit_size().await - 1;

        let mut rsc = officer_browser(&app, RSC, "po-ogawa").await;
        let page = rsc.get("/console/log?limit=200").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains(&entry_link(across)),
            "{engine:?}: its own organ's entry"
        );
        assert!(
            !page.body.contains(&entry_link(ward_internal)),
            "{engine:?}: the corporation's officer read a ward entry"
        );
        assert!(!page.body.contains(&ward_subject), "nor the ward's person");
        let read = app.last_entry().await;
        assert_eq!(read["scope"], "organ:regional-support-operator");
        // Filters and direct links cannot widen the scope.
        let page = rsc.get("/console/log?agency=jobota&kind=consent-recorded").await;
        assert!(!page.body.contains(&entry_link(ward_internal)));
        assert_eq!(
            rsc.get(&format!("/console/log/entries/{ward_internal}")).await.status,
            404
        );
        let report = rsc.get(&format!("/console/log/subjects/{ward_subject}/report")).await;
        assert_eq!(report.status, 200);
        assert!(report.body.contains("この方についての情報提供の記録はありません。"));

        // The ward-wide officer sees both.
        let mut wide = officer_browser(&app, "welfare-coordination", "po-kobayashi").await;
        let page = wide.get("/console/log?limit=200").await;
        assert!(page.body.contains(&entry_link(across)) && page.body.contains(&entry_link(ward_internal)));
        assert_eq!(app.last_entry().await["scope"], "ward-wide");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_reviews_an_emergency_grant_from_the_alerts_and_the_review_is_logged() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let grant_body = json!({"subject_id": st.subject, "owner_agency": RSC,
            "risk": "no answer for three days, neighbours report a fall", "why_consent_impracticable": "unreachable"});
        let (s, grant) = st.jobota.post("/v1/emergency-grants", &grant_body).await;
        assert_eq!(s, 201, "{grant}");
        let id = grant["id"].as_str().unwrap().to_owned();
        let mut b = officer_browser(&app, "welfare-coordination", "po-ito").await;

        let alerts = b.get("/console/log/alerts").await;
        assert_eq!(alerts.status, 200, "{}", alerts.body);
        assert!(alerts.body.contains("緊急提供の許可") && alerts.body.contains(&id));
        assert!(alerts.body.contains("href=\"/console/grants\""));

        let page = b.get("/console/grants").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("neighbours report a fall"), "the grounds are shown");
        let read = app.last_entry().await;
        assert_eq!(
            (read["event"].as_str(), read["user"].as_str()),
            (Some("emergency-grounds-read"), Some("po-ito"))
        );
        let csrf = page.csrf();
        let action = format!("/console/grants/{id}/review");

        // No finding chosen: said by the form, nothing recorded.
        let before = app.audit_size().await;
        let page = b
            .post(&action, &[("csrf", &csrf), ("note", "called the neighbours")])
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
        assert!(
            page.body
                .contains("「正当だった」か「正当ではなかった」かを選んでください。")
        );
        assert!(page.body.contains("called the neighbours"), "the note is kept");
        let page = b
            .post(&action, &[("csrf", "forged"), ("outcome", "justified"), ("note", "x")])
            .await;
        assert_eq!(page.status, 403);
        let reviewed = app
            .state
            .store
            .emergency_grant(tsunagi::domain::GrantId::parse(&id).unwrap(), None)
            .await
            .unwrap()
            .unwrap();
        assert!(reviewed.reviewed_at.is_none(), "nothing changed");
        let after = app.audit_size().await;
        assert!(
            entries_since(&app, before, after)
                .await
                .iter()
                .all(|e| e["event"] != "emergency-reviewed"),
            "no review logged"
        );

        let page = b
            .post(
                &action,
                &[
                    ("csrf", &csrf),
                    ("outcome", "not-justified"),
                    ("note", "the person was reachable by phone"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(page.location(), "/console/grants?done=not-justified");
        let logged = app.last_entry().await;
        assert_eq!(logged["event"], "emergency-reviewed");
        assert_eq!(logged["detail"]["outcome"], "not-justified");
        let page = b.follow(page).await;
        assert!(page.body.contains("事後確認を記録しました（正当ではなかった）"));
        assert!(!page.body.contains(&id), "no longer awaiting review");
        // The grant ended: the next disclosure under it is refused (the same service as the API).
        let (s, r) = st
            .jobota
            .post(
                "/v1/disclosures",
                &json!({"subject_id": st.subject, "owner_agency": RSC, "purpose": "safety check",
                    "basis": {"type": "emergency", "grant_id": id}}),
            )
            .await;
        assert_eq!((s, r["error"]["code"].as_str()), (403, Some("grant_revoked")));
        // Reviewing twice is refused with a sentence.
        let page = b
            .post(&action, &[("csrf", &csrf), ("outcome", "justified"), ("note", "again")])
            .await;
        assert_eq!(page.status, 409);
        assert!(page.body.contains("すでに事後確認が記録されています"));
        app.stop().await;
    }
}

async fn entries_since(app: &TestApp, from: u64, to: u64) -> Vec<Value> {
    app.state
        .store
        .audit_entries(from, u32::try_from(to - from).unwrap())
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.entry).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_page_and_the_dashboard_show_the_log_and_its_figures_without_script() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let (_st, _, _) = with_decisions(&app).await;
        let mut b = officer_browser(&app, "welfare-coordination", "po-kobayashi").await;
        app.state.checkpoints.checkpoint_now().await.unwrap();

        let page = b.get("/console/log/health").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("記録と署名付きチェックポイントは一致しています。"));
        let cp = app.state.store.latest_checkpoint().await.unwrap().unwrap();
        assert!(page.body.contains(&format!("<dd>{}</dd>", cp.size)), "{}", page.body);
        let note = b.get("/console/log/health/checkpoint").await;
        assert_eq!(note.status, 200);
        assert!(note.body.starts_with("tsunagi.local\n"), "{}", note.body);
        assert!(note.header("content-disposition").contains("attachment"));
        let keys = b.get("/console/log/health/vkeys").await;
        assert!(keys.body.starts_with("tsunagi.local+"), "{}", keys.body);

        let page = b.get("/console/log/dashboard?days=7").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("<svg class=\"chart\""));
        assert!(page.body.contains("role=\"img\""));
        assert!(!page.body.contains("<script"), "no script");
        assert!(page.body.contains("提供 1件・拒否 1件"), "{}", page.body);
        assert!(page.body.contains("本人同意"), "by basis");
        assert!(page.body.contains("<th scope=\"row\">jobota</th>"), "by agency");
        let read = app.last_entry().await;
        assert_eq!(
            (read["kind"].as_str(), read["action"].as_str()),
            (Some("log-read"), Some("activity"))
        );
        // Filtered by basis: nothing under a support meeting.
        let page = b.get("/console/log/dashboard?days=30&basis=support-meeting").await;
        assert!(page.body.contains("提供 0件・拒否 0件"));

        // English, by the switch.
        let page = b
            .post("/console/lang", &[("lang", "en"), ("back", "/console/log/dashboard")])
            .await;
        let page = b.follow(page).await;
        assert!(page.body.contains("<html lang=\"en\">"));
        assert!(page.body.contains("Disclosures and refusals per day"), "{}", page.body);
        assert!(page.body.contains("1 disclosed, 1 refused"));
        let page = b.get("/console/log?outcome=refused").await;
        assert!(page.body.contains("Search the log") && page.body.contains("Refused"));
        app.stop().await;
    }
}
