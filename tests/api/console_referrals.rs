//! Referrals on the console (つなぎ, docs/rules.md#R-T1–R-T3) over real TLS: the regional
//! support centre's caseworker refers a person to JOBOTA from the person's page under the
//! consent the form offers; JOBOTA's caseworker finds it in the inbox, reads what travels with
//! it (a logged disclosure, the note shown), accepts it under JOBOTA's case number; a second
//! referral is withdrawn and then shows no material; mistakes are refused beside the form; the
//! pages are in Japanese and English; agencies outside the referral find nothing.

use serde_json::Value;

use super::console_support::Browser;
use super::helpers::{TestApp, engines, spawn_app, story};

const NOTE: &str = "午前中の面談を希望。母の介護あり。";

async fn last_entry(app: &TestApp) -> Value {
    app.last_entry().await
}

/// Refers the story's person to JOBOTA on the console; returns the referral page's path.
async fn refer(b: &mut Browser, subject: &str, consent: &str) -> String {
    let page = b.get(&format!("/console/persons/{subject}")).await;
    assert!(
        page.body.contains(&format!("/console/persons/{subject}/referrals/new")),
        "the person page offers to refer: {}",
        page.body
    );
    let form = b.get(&format!("/console/persons/{subject}/referrals/new")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("他機関へつなぐ"), "{}", form.body);
    let value = format!("consent:{consent}");
    assert!(
        form.body.contains(&value),
        "the consent is offered as the basis: {}",
        form.body
    );
    let csrf = form.csrf();
    let page = b
        .post(
            &format!("/console/persons/{subject}/referrals"),
            &[
                ("csrf", &csrf),
                ("to_agency", "jobota"),
                ("purpose", "employment support"),
                ("categories", "identity"),
                ("categories", "employment"),
                ("basis", &value),
                ("note", NOTE),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let to = page.location();
    assert!(to.ends_with("?done=referred"), "{to}");
    to.trim_end_matches("?done=referred").to_owned()
}

#[tokio::test]
async fn a_caseworker_refers_and_the_receiver_reads_and_accepts_on_the_console() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let mut rsc = Browser::new(&app, "regional-support-centre");
        let home = rsc.login("cw-sato", "caseworker").await;
        assert!(
            home.body.contains("/console/referrals"),
            "the nav links referrals: {}",
            home.body
        );

        // Mistakes are refused beside the form, nothing made.
        let form = rsc.get(&format!("/console/persons/{}/referrals/new", st.subject)).await;
        let csrf = form.csrf();
        let before = app.audit_size().await;
        let page = rsc
            .post(
                &format!("/console/persons/{}/referrals", st.subject),
                &[
                    ("csrf", &csrf),
                    ("to_agency", "sapota"),
                    ("purpose", "employment support"),
                    ("categories", "identity"),
                    ("basis", &format!("consent:{}", st.consent)),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
        assert!(page.body.contains("consent_recipient_not_in_scope"), "{}", page.body);
        assert_eq!(app.audit_size().await, before);

        let path = refer(&mut rsc, &st.subject, &st.consent).await;
        let page = rsc.get(&format!("{path}?done=referred")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("紹介しました。"), "{}", page.body);
        assert!(page.body.contains("回答待ち"));
        assert!(page.body.contains("紹介を取り下げる"), "the referrer may withdraw");
        assert!(
            !page.body.contains(NOTE),
            "the note is not shown to the referrer's page"
        );
        assert_eq!(last_entry(&app).await["event"], "referral-made");

        // JOBOTA's inbox, the referral, its material.
        let mut job = Browser::new(&app, "jobota");
        job.login("cw-tanaka", "caseworker").await;
        let inbox = job.get("/console/referrals").await;
        assert_eq!(inbox.status, 200, "{}", inbox.body);
        assert!(inbox.body.contains(&path), "{}", inbox.body);
        assert!(inbox.body.contains("地域包括支援センター"), "{}", inbox.body);
        let page = job.get(&path).await;
        assert!(page.body.contains("紹介を受理する"), "{}", page.body);
        assert!(!page.body.contains(NOTE));
        let csrf = page.csrf();
        let before = app.audit_size().await;
        let material = job.post(&format!("{path}/material"), &[("csrf", &csrf)]).await;
        assert_eq!(material.status, 200, "{}", material.body);
        assert!(material.body.contains(NOTE), "{}", material.body);
        assert!(material.body.contains("part-time"), "{}", material.body);
        assert!(!material.body.contains("insulin"));
        assert_eq!(app.audit_size().await, before + 1);
        let entry = last_entry(&app).await;
        assert_eq!(entry["kind"], "disclosure");
        assert_eq!(entry["attached"].as_array().map(Vec::len), Some(1), "{entry}");

        // Accepting with a case number already used is refused beside the form.
        let page = job
            .post(&format!("{path}/accept"), &[("csrf", &csrf), ("local_id", "")])
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
        assert!(page.body.contains("missing_field"), "{}", page.body);
        let page = job
            .post(&format!("{path}/accept"), &[("csrf", &csrf), ("local_id", "JOB-0042")])
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let page = job.follow(page).await;
        assert!(page.body.contains("紹介を受理し"), "{}", page.body);
        assert!(page.body.contains("JOB-0042"), "{}", page.body);
        let person = job.get(&format!("/console/persons/{}", st.subject)).await;
        assert_eq!(person.status, 200, "JOBOTA now knows the person: {}", person.body);

        // The referrer sees it accepted and is told.
        let page = rsc.get(&path).await;
        assert!(page.body.contains("受理"), "{}", page.body);
        assert!(!page.body.contains("紹介を取り下げる"));
        let notices = rsc.get("/console/notifications").await;
        assert!(notices.body.contains("紹介の受理"), "{}", notices.body);

        // In English.
        let csrf = page.csrf();
        let en = rsc
            .post(
                "/console/lang",
                &[("csrf", &csrf), ("lang", "en"), ("back", "/console/referrals")],
            )
            .await;
        let en = rsc.follow(en).await;
        assert!(en.body.contains("Outbox (made by your agency)"), "{}", en.body);
        assert!(en.body.contains("Accepted"), "{}", en.body);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_withdrawn_referral_shows_no_material_and_outsiders_find_nothing() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let mut rsc = Browser::new(&app, "regional-support-centre");
        rsc.login("cw-sato", "caseworker").await;
        let path = refer(&mut rsc, &st.subject, &st.consent).await;
        let page = rsc.get(&path).await;
        let csrf = page.csrf();
        let page = rsc
            .post(
                &format!("{path}/withdraw"),
                &[("csrf", &csrf), ("reason", "the person moved away")],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let page = rsc.follow(page).await;
        assert!(page.body.contains("紹介を取り下げました。"), "{}", page.body);
        assert!(page.body.contains("the person moved away"));
        assert_eq!(last_entry(&app).await["event"], "referral-withdrawn");

        let mut job = Browser::new(&app, "jobota");
        job.login("cw-tanaka", "caseworker").await;
        let page = job.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("取り下げ"), "{}", page.body);
        assert!(page.body.contains("共有される情報はもうありません"), "{}", page.body);
        assert!(!page.body.contains("申し送りと共有記録を読む"));
        let csrf = page.csrf();
        let before = app.audit_size().await;
        let page = job.post(&format!("{path}/material"), &[("csrf", &csrf)]).await;
        assert_eq!(page.status, 409, "{}", page.body);
        assert!(page.body.contains("referral_closed"), "{}", page.body);
        assert!(!page.body.contains(NOTE));
        assert_eq!(app.audit_size().await, before);

        let mut sap = Browser::new(&app, "sapota");
        sap.login("cw-suzuki", "caseworker").await;
        let page = sap.get(&path).await;
        assert_eq!(page.status, 404, "{}", page.body);
        let page = sap.get("/console/referrals").await;
        assert!(page.body.contains("自機関への紹介はありません。"), "{}", page.body);
        // A role without referral actions is refused (and the refusal logged).
        let mut officer = Browser::new(&app, "regional-support-centre");
        officer.login("po-ito", "privacy-officer").await;
        let page = officer.get("/console/referrals").await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert_eq!(last_entry(&app).await["event"], "console-forbidden");
        app.stop().await;
    }
}
