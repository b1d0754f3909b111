//! The caseworker's console screens over real TLS: registering and finding people by case
//! number, the person's page, records, consents and their revocation, asking for a disclosure
//! under a basis the picker offers, its result and proof, emergency grants, notifications — and
//! who may not open what. Each action is checked against the JSON API and the log: the console
//! goes through the same services.

use serde_json::Value;

use super::console_support::{Browser, Page};
use super::helpers::{TestApp, engines, spawn_app, story};

async fn entries_of(app: &TestApp, kind: &str) -> Vec<Value> {
    app.entries_since(0)
        .await
        .into_iter()
        .filter(|e| e["kind"] == kind || e["event"] == kind)
        .collect()
}

/// Registers `local` on the console; returns the person's id.
async fn register(b: &mut Browser, local: &str) -> String {
    let page = b.get("/console/persons").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.csrf();
    let page = b
        .post("/console/persons", &[("csrf", &csrf), ("local_id", local)])
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let to = page.location();
    assert!(to.ends_with("?done=registered"), "{to}");
    to.trim_start_matches("/console/persons/")
        .trim_end_matches("?done=registered")
        .to_owned()
}

fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let s = body.find(start).unwrap_or_else(|| panic!("{start} in {body}"));
    let rest = &body[s..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[tokio::test]
async fn a_caseworker_registers_finds_and_opens_a_person_and_writes_a_record() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let mut b = Browser::new(&app, "regional-support-centre");
        b.login("cw-sato", "caseworker").await;
        let page = b.get("/console/persons").await;
        assert!(page.body.contains("ケース番号で探す"), "{}", page.body);
        let csrf = page.csrf();

        let subject = register(&mut b, "RSC-0101").await;
        let page = b.get(&format!("/console/persons/{subject}?done=registered")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("相談者を登録しました。"));
        assert!(page.body.contains("ケース番号 RSC-0101"));
        assert!(page.body.contains("自機関の記録はまだありません。"));

        // The same person through the JSON API.
        let api = app.caller("sato", "regional-support-centre", "caseworker");
        let (s, found) = api.get("/v1/subjects/by-local-id/RSC-0101").await;
        assert_eq!(s, 200);
        assert_eq!(found["id"], subject.as_str());

        // A case number already in use, and a My Number, are refused next to the form.
        let page = b
            .post("/console/persons", &[("csrf", &csrf), ("local_id", "RSC-0101")])
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("すでに使われています"), "{}", page.body);
        assert!(page.body.contains("local_id_taken"));
        let page = b
            .post("/console/persons", &[("csrf", &csrf), ("local_id", "123456789018")])
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("my_number_refused"), "{}", page.body);

        // Finding by case number goes to the person's page; the number is never in a URL.
        let page = b
            .post("/console/persons/find", &[("csrf", &csrf), ("local_id", "RSC-0101")])
            .await;
        assert_eq!(page.status, 303);
        assert_eq!(page.location(), format!("/console/persons/{subject}"));
        let page = b
            .post("/console/persons/find", &[("csrf", &csrf), ("local_id", "RSC-9999")])
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("自機関には登録されていません"), "{}", page.body);

        // The record form: one textarea per category, none for the sealed one.
        let form = b.get(&format!("/console/persons/{subject}/records/new")).await;
        assert_eq!(form.status, 200, "{}", form.body);
        assert!(form.body.contains("name=\"content-health\""));
        assert!(form.body.contains("要配慮"));
        assert!(!form.body.contains("name=\"content-reporter-identity\""));
        let path = format!("/console/persons/{subject}/records");
        let empty = b
            .post(&path, &[("csrf", &csrf), ("purpose", "livelihood support")])
            .await;
        assert_eq!(empty.status, 422);
        assert!(empty.body.contains("invalid_sections"), "{}", empty.body);
        let page = b
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("purpose", "livelihood support"),
                    ("content-identity", "山田 花子, 大田区蒲田"),
                    ("content-employment", "looking for part-time work"),
                    ("content-health", "asthma"),
                    ("content-household", ""),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let page = b.follow(page).await;
        assert!(page.body.contains("記録を保存しました。"));
        let records = between(&page.body, "id=\"records-h\"", "</section>");
        for category in ["本人確認情報", "就労", "健康"] {
            assert!(records.contains(category), "{category}: {records}");
        }
        assert!(!records.contains("世帯"), "a blank category is left out");
        assert!(!page.body.contains("山田 花子"), "the person page shows no content");
        let (s, list) = api.get(&format!("/v1/subjects/{subject}/records")).await;
        assert_eq!(s, 200);
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["sections"].as_array().unwrap().len(), 3);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_consent_recorded_and_revoked_on_the_console_is_the_apis_consent() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let mut b = Browser::new(&app, "regional-support-centre");
        b.login("cw-sato", "caseworker").await;
        let subject = register(&mut b, "RSC-0102").await;
        let form = b.get(&format!("/console/persons/{subject}/consents/new")).await;
        assert_eq!(form.status, 200, "{}", form.body);
        assert!(form.body.contains("value=\"jobota\""));
        assert!(
            !form.body.contains("value=\"regional-support-centre\""),
            "not to itself"
        );
        let csrf = form.csrf();
        let path = format!("/console/persons/{subject}/consents");
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("given_by", "subject"),
            ("recipients", "jobota"),
            ("purposes", "employment support"),
            ("categories", "identity"),
            ("categories", "employment"),
            ("valid_until", "2099-12-31"),
            ("method", "oral-with-witness"),
            ("evidence_ref", "consent form 2026-555"),
        ];
        // Oral consent without a witness: refused next to the form, nothing recorded.
        let before = app.audit_size().await;
        let page = b.post(&path, &fields).await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("立会人の氏名が必要です"), "{}", page.body);
        assert!(
            page.body.contains("consent form 2026-555"),
            "the form keeps what was typed"
        );
        assert_eq!(app.audit_size().await, before);

        fields.push(("witness_name", "鈴木 一郎"));
        let page = b.post(&path, &fields).await;
        assert_eq!(page.status, 303, "{}", page.body);
        let page = b.follow(page).await;
        assert!(page.body.contains("同意を記録しました。"));
        let consents = between(&page.body, "id=\"consents-h\"", "</section>");
        assert!(consents.contains("JOBOTA"), "{consents}");
        assert!(consents.contains("employment support"));
        assert!(consents.contains("本人確認情報") && consents.contains("就労"));
        assert!(
            consents.contains("2099-12-31 23:59"),
            "valid until the end of that day, JST"
        );
        assert!(consents.contains(">有効<"));
        assert!(!consents.contains("鈴木"), "no evidence on the page");
        assert_eq!(entries_of(&app, "consent-recorded").await.len(), 1);

        let api = app.caller("sato", "regional-support-centre", "caseworker");
        let (s, list) = api.get(&format!("/v1/subjects/{subject}/consents")).await;
        assert_eq!(s, 200);
        let consent = list[0]["id"].as_str().unwrap().to_owned();
        assert_eq!(list[0]["witness_name"], "鈴木 一郎");
        assert_eq!(list[0]["method"], "oral-with-witness");

        // Revoking needs a reason, shown next to that consent's form.
        let revoke = format!("/console/consents/{consent}/revoke");
        let page = b
            .post(&revoke, &[("csrf", &csrf), ("subject", &subject), ("reason", " ")])
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("空欄にはできません"), "{}", page.body);
        let page = b
            .post(
                &revoke,
                &[("csrf", &csrf), ("subject", &subject), ("reason", "本人の申し出")],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let page = b.follow(page).await;
        assert!(page.body.contains("同意を撤回しました。"));
        assert!(page.body.contains(">撤回済み<"));
        assert_eq!(app.last_entry().await["kind"], "consent-revoked");
        let again = b
            .post(&revoke, &[("csrf", &csrf), ("subject", &subject), ("reason", "二度目")])
            .await;
        assert_eq!(again.status, 422);
        assert!(again.body.contains("すでに撤回されています"), "{}", again.body);
        app.stop().await;
    }
}

/// JOBOTA's caseworker links the person of the quick-start story on the console.
async fn jobota_with_person(app: &TestApp, subject: &str) -> Browser {
    let mut b = Browser::new(app, "jobota");
    b.login("cw-tanaka", "caseworker").await;
    let page = b.get("/console/persons").await;
    let csrf = page.csrf();
    let page = b
        .post(
            "/console/persons/link",
            &[("csrf", &csrf), ("subject_id", subject), ("local_id", "JOB-0077")],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), format!("/console/persons/{subject}?done=linked"));
    b
}

async fn ask(b: &mut Browser, subject: &str, basis: &str, purpose: &str) -> Page {
    let form = b.get(&format!("/console/persons/{subject}/disclosures/new")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.csrf();
    b.post(
        &format!("/console/persons/{subject}/disclosures"),
        &[("csrf", &csrf), ("basis", basis), ("purpose", purpose)],
    )
    .await
}

#[tokio::test]
async fn jobota_asks_under_the_consent_sees_disclosed_and_withheld_downloads_the_proof_and_is_told_of_the_revocation() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let s = story(&app).await;
        let mut b = jobota_with_person(&app, &s.subject).await;

        // The picker offers the consent that names JOBOTA, and internal use.
        let form = b.get(&format!("/console/persons/{}/disclosures/new", s.subject)).await;
        let consent_choice = format!("consent|regional-support-centre|{}", s.consent);
        assert!(form.body.contains(&consent_choice), "{}", form.body);
        assert!(form.body.contains("employment support"));
        assert!(!form.body.contains("consent form 2026-117"), "never the evidence");
        assert!(!form.body.contains("value=\"emergency|"), "no grant held");
        assert!(!form.body.contains("value=\"internal||\""), "not assigned to the case");

        let page = ask(&mut b, &s.subject, &consent_choice, "employment support").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("unemployed since 2019"), "the released content");
        assert!(page.body.contains("山田 太郎"));
        assert!(!page.body.contains("diabetes"), "health is not released");
        let withheld = between(&page.body, "id=\"withheld-h\"", "</section>");
        assert!(withheld.contains("健康"), "{withheld}");
        assert!(
            withheld.contains("根拠（同意・会議など）の範囲外の区分です。"),
            "{withheld}"
        );
        assert!(withheld.contains("not_covered_by_basis"));
        assert_eq!(page.header("cache-control"), "no-store");
        let entry = app.last_entry().await;
        assert_eq!(entry["kind"], "disclosure");
        assert_eq!(entry["decision"], "allowed");
        assert_eq!(entry["requester"]["user"], "cw-tanaka");
        let index = app.audit_size().await - 1;
        let link = format!("/console/receipts/{index}/proof");
        assert!(page.body.contains(&link), "{}", page.body);

        // The proof is the JSON API's tlog-proof file, once a checkpoint holds the entry.
        let mut proof = b.get(&link).await;
        for _ in 0..40 {
            if proof.status == 200 {
                break;
            }
            assert_eq!(proof.status, 409, "{}", proof.body);
            assert!(proof.body.contains("数秒後"), "{}", proof.body);
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            proof = b.get(&link).await;
        }
        assert_eq!(proof.status, 200, "{}", proof.body);
        assert!(proof.header("content-disposition").starts_with("attachment"));
        assert!(proof.body.starts_with("c2sp.org/tlog-proof@v1\n"), "{}", proof.body);
        let (st, view) = s.jobota.get(&format!("/v1/audit/proofs/inclusion?index={index}")).await;
        assert_eq!(st, 200);
        assert_eq!(view["tlog_proof"].as_str().unwrap(), proof.body);

        // A purpose the consent does not name: refused, in Japanese, with its receipt.
        let page = ask(&mut b, &s.subject, &consent_choice, "debt counselling").await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(page.body.contains("同意の利用目的に、この目的が含まれていません。"));
        assert!(page.body.contains("consent_purpose_not_in_scope"));
        assert!(!page.body.contains("unemployed"));
        assert_eq!(app.last_entry().await["decision"], "refused");
        assert!(page.body.contains(&format!("/console/receipts/{}/proof", index + 1)));

        // JOBOTA's person page lists both requests; no content.
        let person = b.get(&format!("/console/persons/{}", s.subject)).await;
        let asked = between(&person.body, "id=\"asked-h\"", "</section>");
        assert!(asked.contains("提供あり") && asked.contains("拒否"), "{asked}");
        assert!(asked.contains("consent_purpose_not_in_scope"));
        assert!(!person.body.contains("unemployed"));

        // The centre revokes on its console; JOBOTA is notified, and the picker drops it.
        let mut rsc = Browser::new(&app, "regional-support-centre");
        rsc.login("cw-sato", "caseworker").await;
        let page = rsc.get(&format!("/console/persons/{}", s.subject)).await;
        let csrf = page.csrf();
        let page = rsc
            .post(
                &format!("/console/consents/{}/revoke", s.consent),
                &[("csrf", &csrf), ("subject", &s.subject), ("reason", "本人が撤回")],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let notices = b.get("/console/notifications").await;
        assert_eq!(notices.status, 200);
        assert!(notices.body.contains("同意の撤回"), "{}", notices.body);
        assert!(notices.body.contains(&s.consent));
        let (st, api) = s.jobota.get("/v1/notifications").await;
        assert_eq!(st, 200);
        assert_eq!(api.as_array().unwrap().len(), 1);
        let person = b.get(&format!("/console/persons/{}", s.subject)).await;
        let about = between(&person.body, "id=\"notices-h\"", "</section>");
        assert!(about.contains("同意の撤回"), "{about}");
        let form = b.get(&format!("/console/persons/{}/disclosures/new", s.subject)).await;
        assert!(!form.body.contains(&consent_choice), "a revoked consent is not offered");
        // Named anyway (an old form): refused with the revocation's sentence.
        let csrf = form.csrf();
        let page = b
            .post(
                &format!("/console/persons/{}/disclosures", s.subject),
                &[
                    ("csrf", &csrf),
                    ("basis", &consent_choice),
                    ("purpose", "employment support"),
                ],
            )
            .await;
        assert_eq!(page.status, 403);
        assert!(page.body.contains("本人が同意を撤回しています。"), "{}", page.body);
        app.stop().await;
    }
}

#[tokio::test]
async fn people_outside_the_agency_or_the_role_cannot_open_a_persons_pages() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let s = story(&app).await;
        let person = format!("/console/persons/{}", s.subject);

        // A privacy officer of the owning agency: refused by policy, and the refusal is logged.
        let mut officer = Browser::new(&app, "regional-support-centre");
        officer.login("po-ito", "privacy-officer").await;
        let page = officer.get(&person).await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(page.body.contains("許可されていません"));
        let refused = entries_of(&app, "console-forbidden").await;
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0]["user"], "po-ito");
        assert_eq!(refused[0]["reference"], "console:/console/persons/{id}");
        assert_eq!(officer.get("/console/persons").await.status, 403);

        // JOBOTA's caseworker without a link: not found, and nothing can be written.
        let mut jobota = Browser::new(&app, "jobota");
        let home = jobota.login("cw-tanaka", "caseworker").await;
        let csrf = home.csrf();
        for path in [
            person.clone(),
            format!("{person}/records/new"),
            format!("{person}/consents/new"),
            format!("{person}/disclosures/new"),
            format!("{person}/emergency/new"),
        ] {
            let page = jobota.get(&path).await;
            assert_eq!(page.status, 404, "{path}: {}", page.body);
            assert!(page.body.contains("該当する本人が見つかりません。"), "{path}");
        }
        let before = app.audit_size().await;
        let page = jobota
            .post(
                &format!("{person}/records"),
                &[("csrf", &csrf), ("purpose", "x"), ("content-identity", "x")],
            )
            .await;
        assert_eq!(page.status, 404);
        assert_eq!(app.audit_size().await, before, "nothing logged, nothing written");
        assert_eq!(jobota.get("/console/persons/not-an-id").await.status, 404);

        // Another agency's receipt: no proof.
        let mut rsc = Browser::new(&app, "regional-support-centre");
        rsc.login("cw-sato", "caseworker").await;
        let page = jobota.get("/console/receipts/0/proof").await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(page.body.contains("entry_not_yours"));

        // A form without the session's token changes nothing.
        let page = rsc
            .post(
                &format!("{person}/records"),
                &[("csrf", "forged"), ("purpose", "x"), ("content-identity", "x")],
            )
            .await;
        assert_eq!(page.status, 403);
        assert!(page.body.contains("csrf_rejected"));
        let (_, list) = s.owner.get(&format!("/v1/subjects/{}/records", s.subject)).await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        app.stop().await;
    }
}

#[tokio::test]
async fn an_emergency_grant_needs_its_grounds_alerts_and_is_then_offered_as_a_basis() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let s = story(&app).await;
        let mut b = jobota_with_person(&app, &s.subject).await;
        let form = b.get(&format!("/console/persons/{}/emergency/new", s.subject)).await;
        assert_eq!(form.status, 200, "{}", form.body);
        assert!(form.body.contains("個人情報保護担当"), "the review warning");
        assert!(form.body.contains("生命・身体"));
        let csrf = form.csrf();
        let path = format!("/console/persons/{}/emergency", s.subject);
        let before = app.audit_size().await;
        let page = b
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("owner_agency", "regional-support-centre"),
                    ("risk", ""),
                    ("why_consent_impracticable", "意識がない"),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
        assert!(page.body.contains("空欄にはできません"), "{}", page.body);
        assert_eq!(app.audit_size().await, before);
        let page = b
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("owner_agency", "regional-support-centre"),
                    ("risk", "自宅で倒れているとの通報"),
                    ("why_consent_impracticable", "意識がなく家族とも連絡が取れない"),
                    ("hours", "6"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let granted = entries_of(&app, "emergency-granted").await;
        assert_eq!(granted.len(), 1);
        assert_eq!(granted[0]["detail"]["hours"], 6);
        let page = b.follow(page).await;
        assert!(page.body.contains("緊急時の提供を申請しました。"), "{}", page.body);
        assert!(page.body.contains("value=\"emergency|regional-support-centre|"));
        assert!(page.body.contains("確認待ち"));
        let unreviewed = app
            .caller("po-ito", "regional-support-centre", "privacy-officer")
            .get("/v1/emergency-grants/unreviewed")
            .await;
        assert_eq!(unreviewed.0, 200);
        assert_eq!(unreviewed.1.as_array().unwrap().len(), 1);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_picker_offers_a_session_only_to_a_confirmed_member_and_a_report_to_its_receiver() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let s = story(&app).await;
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let (st, body) = sec
            .post(
                "/v1/bodies",
                &serde_json::json!({"kind": "support-meeting", "name": "大田区支援会議", "rules_text": "r",
                    "pledge_text": "守秘義務を守ります。"}),
            )
            .await;
        assert_eq!(st, 201, "{body}");
        let held = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let (st, session) = sec
            .post(
                &format!("/v1/bodies/{}/sessions", body["id"].as_str().unwrap()),
                &serde_json::json!({"held_at": held}),
            )
            .await;
        assert_eq!(st, 201, "{session}");
        let session = session["id"].as_str().unwrap().to_owned();
        let (st, r) = sec
            .post(
                &format!("/v1/sessions/{session}/roster"),
                &serde_json::json!({"user_id": "cw-suzuki", "agency_id": "sapota"}),
            )
            .await;
        assert_eq!(st, 201, "{r}");
        let (st, r) = sec
            .post(
                &format!("/v1/sessions/{session}/agenda"),
                &serde_json::json!({"subject_id": s.subject}),
            )
            .await;
        assert_eq!(st, 201, "{r}");

        // SAPOTA's caseworker, invited but not confirmed: no session on offer.
        let mut b = Browser::new(&app, "sapota");
        let home = b.login("cw-suzuki", "caseworker").await;
        let csrf = home.csrf();
        let page = b
            .post(
                "/console/persons/link",
                &[("csrf", &csrf), ("subject_id", &s.subject), ("local_id", "SAP-0001")],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let choice = format!("support-meeting||{session}");
        let form = b.get(&format!("/console/persons/{}/disclosures/new", s.subject)).await;
        assert!(!form.body.contains(&choice), "invited only: not offered");
        assert!(
            !form.body.contains("value=\"consent|"),
            "the consent names JOBOTA, not SAPOTA"
        );

        // Confirmed: offered. Asked under it (owner chosen in the form): refused until the
        // pledge, with the Japanese sentence.
        let suzuki = app.caller("cw-suzuki", "sapota", "caseworker");
        let (st, r) = suzuki
            .post(
                &format!("/v1/sessions/{session}/roster/confirm"),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(st, 200, "{r}");
        let form = b.get(&format!("/console/persons/{}/disclosures/new", s.subject)).await;
        assert!(form.body.contains(&choice), "{}", form.body);
        assert!(form.body.contains("支援会議"));
        let path = format!("/console/persons/{}/disclosures", s.subject);
        let page = b
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("basis", &choice),
                    ("owner_agency", "regional-support-centre"),
                    ("purpose", "multi-agency support planning"),
                ],
            )
            .await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(page.body.contains("誓約書への同意がありません"), "{}", page.body);
        let entry = app.last_entry().await;
        assert_eq!(entry["reason"], "no_pledge");
        assert_eq!(entry["owner_agency"], "regional-support-centre");

        // No basis chosen: the form says so, nothing is logged.
        let before = app.audit_size().await;
        let page = b
            .post(&path, &[("csrf", &csrf), ("owner_agency", "sapota"), ("purpose", "x")])
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
        assert!(page.body.contains("必須の項目が入力されていません"), "{}", page.body);
        assert!(page.body.contains("missing_field"));
        // An unknown kind is refused by the service's parser.
        let page = b
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("basis", "rumour||"),
                    ("owner_agency", "sapota"),
                    ("purpose", "x"),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
        assert!(page.body.contains("その根拠の種類はありません"), "{}", page.body);
        assert_eq!(app.audit_size().await, before);

        // An abuse report about the person: offered to the receiving agency's staff.
        let (st, report) = suzuki
            .post(
                "/v1/legal-reports",
                &serde_json::json!({"report_type": "child-abuse", "subject_id": s.subject,
                    "sections": [{"category": "safeguarding", "content": "suspected neglect"}],
                    "reporter": {"name": "鈴木 一郎"}}),
            )
            .await;
        assert_eq!(st, 201, "{report}");
        let mut cs = Browser::new(&app, "child-services");
        cs.login("cw-mori", "supervisor").await;
        let form = cs.get(&format!("/console/persons/{}/disclosures/new", s.subject)).await;
        assert_eq!(form.status, 200, "the receiving agency knows the person: {}", form.body);
        let report_choice = format!("legal-report||{}", report["id"].as_str().unwrap());
        assert!(form.body.contains(&report_choice), "{}", form.body);
        assert!(
            !b.get(&format!("/console/persons/{}/disclosures/new", s.subject))
                .await
                .body
                .contains(&report_choice)
        );

        // Internal use: offered once a supervisor assigns the caseworker to the case.
        let mut rsc = Browser::new(&app, "regional-support-centre");
        rsc.login("cw-sato", "caseworker").await;
        let path = format!("/console/persons/{}/disclosures/new", s.subject);
        assert!(!rsc.get(&path).await.body.contains("value=\"internal||\""));
        let (st, r) = app
            .caller("sv-mori", "regional-support-centre", "supervisor")
            .post(
                &format!("/v1/subjects/{}/assignments", s.subject),
                &serde_json::json!({"user_id": "cw-sato"}),
            )
            .await;
        assert_eq!(st, 201, "{r}");
        let form = rsc.get(&path).await;
        assert!(form.body.contains("value=\"internal||\""), "{}", form.body);
        let page = rsc
            .post(
                &format!("/console/persons/{}/disclosures", s.subject),
                &[
                    ("csrf", &form.csrf()),
                    ("basis", "internal||"),
                    ("owner_agency", "regional-support-centre"),
                    ("purpose", "long-term care support"),
                ],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("diabetes"),
            "own records, same purpose: {}",
            page.body
        );

        // A policy admin has no caseworker's pages.
        let mut admin = Browser::new(&app, "sapota");
        admin.login("pa-abe", "policy-admin").await;
        assert_eq!(admin.get("/console/persons").await.status, 403);
        assert_eq!(admin.get("/console/notifications").await.status, 403);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_screens_speak_english_after_the_switch() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let s = story(&app).await;
        let mut b = Browser::new(&app, "regional-support-centre");
        b.login("cw-sato", "caseworker").await;
        let page = b
            .post("/console/lang", &[("lang", "en"), ("back", "/console/persons")])
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let page = b.get(&format!("/console/persons/{}", s.subject)).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("<html lang=\"en\">"));
        assert!(
            page.body.contains("Consents (recorded by your agency)"),
            "{}",
            page.body
        );
        assert!(page.body.contains("in force"));
        for (path, heading) in [
            ("/console/persons", "Find or register a person"),
            ("/console/notifications", "Notifications"),
        ] {
            let page = b.get(path).await;
            assert_eq!(page.status, 200);
            assert!(page.body.contains(&format!("<h1>{heading}</h1>")), "{}", page.body);
        }
        app.stop().await;
    }
}
