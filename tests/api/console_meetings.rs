//! The console's meeting screens over real TLS, on both engines: the secretariat convenes a body,
//! publishes pledge versions, creates a session and runs it (invitations, agenda, publication,
//! information requests, follow-ups, decision summary, the printable record); a member confirms
//! and accepts the pledge on their own terminal and only then sees the agenda; the asked agency
//! answers an information request. Each action is the JSON API's service (same log entries) and
//! each access rule answers 403 as a logged page.

use serde_json::{Value, json};

use super::console_support::{Browser, Page};
use super::helpers::{Caller, TestApp, engines, spawn_app, story};

async fn entries_of(app: &TestApp, event: &str) -> Vec<Value> {
    app.entries_since(0)
        .await
        .into_iter()
        .filter(|e| e["event"] == event)
        .collect()
}

/// The date `days` from now in Japan time (`YYYY-MM-DD`), as a date input gives it.
fn jst_date_in(days: i64) -> String {
    let t = time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap())
        + time::Duration::days(days);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

fn in_days(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The id after `prefix` in a redirect's location (up to `?`).
fn id_in(location: &str, prefix: &str) -> String {
    let rest = location
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{location} starts with {prefix}"));
    rest.split('?').next().unwrap().to_owned()
}

const PLEDGE: &str = "私は、この会議で知り得た秘密を漏らしません（社会福祉法 第106条の6第5項）。";

/// The ward's secretariat convenes a support meeting and a session tomorrow over the JSON API;
/// returns (body, session).
async fn convene(sec: &Caller) -> (String, String) {
    let (s, body) = sec
        .post(
            "/v1/bodies",
            &json!({"kind": "support-meeting", "name": "大田区支援会議", "rules_text": "必要な範囲でのみ共有する。",
                    "pledge_text": PLEDGE}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let body = body["id"].as_str().unwrap().to_owned();
    let (s, session) = sec
        .post(&format!("/v1/bodies/{body}/sessions"), &json!({"held_at": in_days(1)}))
        .await;
    assert_eq!(s, 201, "{session}");
    (body, session["id"].as_str().unwrap().to_owned())
}

async fn invite_api(sec: &Caller, session: &str, user: &str, agency: &str) {
    let (s, r) = sec
        .post(
            &format!("/v1/sessions/{session}/roster"),
            &json!({"user_id": user, "agency_id": agency}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
}

/// Posts a form of `page` (its csrf token) and follows the redirect; asserts the 303.
async fn submit(b: &mut Browser, csrf: &str, path: &str, fields: &[(&str, &str)]) -> Page {
    let mut form = vec![("csrf", csrf)];
    form.extend_from_slice(fields);
    let page = b.post(path, &form).await;
    assert_eq!(page.status, 303, "{path}: {}", page.body);
    b.follow(page).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secretariat_convenes_a_body_and_runs_a_session_from_the_console() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let mut b = Browser::new(&app, "welfare-coordination");
        b.login("kato", "meeting-secretariat").await;

        let list = b.get("/console/meetings").await;
        assert_eq!(list.status, 200, "{}", list.body);
        assert!(list.body.contains("会議体を設置する"), "{}", list.body);
        let csrf = list.csrf();

        // Convene: the same service as POST /v1/bodies, logged by kato.
        let page = b
            .post(
                "/console/meetings/bodies",
                &[
                    ("csrf", &csrf),
                    ("kind", "support-meeting"),
                    ("name", "大田区支援会議"),
                    ("rules_text", "必要な範囲でのみ共有する。"),
                    ("window_days", ""),
                    ("pledge_text", PLEDGE),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let body = id_in(&page.location(), "/console/meetings/bodies/");
        let created = entries_of(&app, "meeting-body-created").await;
        assert_eq!(created.len(), 1);
        assert_eq!(created[0]["user"], "kato");
        let page = b.follow(page).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("会議体を設置しました"), "the notice");
        assert!(page.body.contains("社会福祉法 第106条の6"));
        assert!(page.body.contains(PLEDGE), "version 1 is shown");
        let list = b.get("/console/meetings").await;
        assert!(list.body.contains(&format!("/console/meetings/bodies/{body}")));

        // A second pledge version.
        let page = submit(
            &mut b,
            &csrf,
            &format!("/console/meetings/bodies/{body}/pledge-texts"),
            &[("text", "第2版: 退任後も秘密を守ります。")],
        )
        .await;
        assert!(page.body.contains("第2版"), "{}", page.body);
        assert!(page.body.contains("退任後も秘密を守ります"));
        assert_eq!(app.last_entry().await["event"], "meeting-pledge-text-added");

        // A session, in Japan time.
        let day = jst_date_in(1);
        let page = b
            .post(
                &format!("/console/meetings/bodies/{body}/sessions"),
                &[("csrf", &csrf), ("date", &day), ("time", "14:00")],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let session = id_in(&page.location(), "/console/meetings/sessions/");
        let page = b.follow(page).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains(&format!("{day} 14:00")), "held at, JST");
        assert!(page.body.contains("まだ始まっていません"), "the window is not open yet");
        let sp = format!("/console/meetings/sessions/{session}");

        // An invitation is only an invitation.
        let page = submit(
            &mut b,
            &csrf,
            &format!("{sp}/invite"),
            &[("user_id", "suzuki"), ("agency_id", "sapota"), ("attendance", "member")],
        )
        .await;
        assert!(page.body.contains("招待中（本人の参加確認待ち）"), "{}", page.body);
        assert!(page.body.contains("最新版に未同意"));
        assert_eq!(app.last_entry().await["event"], "meeting-invitation");

        // Bad input: said beside the form, nothing changed, nothing logged.
        let before = app.audit_size().await;
        let page = b
            .post(
                &format!("{sp}/invite"),
                &[("csrf", &csrf), ("user_id", "suzuki"), ("agency_id", "no-such-agency")],
            )
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
        assert!(page.body.contains("agency_unknown"), "{}", page.body);
        assert!(page.body.contains("role=\"alert\""));
        assert_eq!(app.audit_size().await, before);
        // A form without the session's token is refused.
        let page = b.post(&format!("{sp}/publish"), &[("csrf", "forged")]).await;
        assert_eq!(page.status, 403);
        assert!(page.body.contains("csrf_rejected"));

        // Agenda by subject id; the case number is not for the secretariat role.
        let page = submit(
            &mut b,
            &csrf,
            &format!("{sp}/agenda"),
            &[("subject_id", &st.subject), ("household_id", ""), ("local_id", "")],
        )
        .await;
        assert!(page.body.contains(&st.subject), "{}", page.body);
        assert_eq!(app.last_entry().await["event"], "meeting-agenda-item-added");
        let page = b
            .post(
                &format!("{sp}/agenda"),
                &[("csrf", &csrf), ("subject_id", ""), ("local_id", "RSC-0001")],
            )
            .await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(page.body.contains("forbidden_by_policy"));
        assert_eq!(
            app.last_entry().await["event"],
            "console-forbidden",
            "the refusal is logged"
        );
        let page = b
            .post(&format!("{sp}/agenda"), &[("csrf", &csrf), ("subject_id", "")])
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("one_of_required"));
        assert!(page.body.contains("どれか1つだけを入力してください"));
        // Remove and add again.
        let marker = format!("{sp}/agenda/");
        let start = page.body.find(&marker).unwrap() + marker.len();
        let item = page.body[start..].split('/').next().unwrap().to_owned();
        let page = submit(&mut b, &csrf, &format!("{sp}/agenda/{item}/remove"), &[]).await;
        assert!(page.body.contains("に外しました"), "{}", page.body);
        assert_eq!(app.last_entry().await["event"], "meeting-agenda-item-removed");
        submit(&mut b, &csrf, &format!("{sp}/agenda"), &[("subject_id", &st.subject)]).await;

        // Publish: the window opens.
        let page = submit(&mut b, &csrf, &format!("{sp}/publish"), &[]).await;
        assert!(page.body.contains("議題は公開済みです"), "{}", page.body);
        assert!(page.body.contains("その後はフォローアップの担当者だけ"));
        assert_eq!(app.last_entry().await["event"], "meeting-agenda-published");

        // An information request to the regional support centre, for kato only.
        let page = submit(
            &mut b,
            &csrf,
            &format!("{sp}/info-requests"),
            &[
                ("asked_agency", "regional-support-centre"),
                ("subject_id", &st.subject),
                ("recipient_user", "kato"),
                ("recipient_agency", "welfare-coordination"),
            ],
        )
        .await;
        assert!(page.body.contains("回答待ち"), "{}", page.body);
        assert_eq!(app.last_entry().await["event"], "meeting-info-request-created");

        // Follow-up: the date must be ahead.
        let page = b
            .post(
                &format!("{sp}/followups"),
                &[
                    ("csrf", &csrf),
                    ("subject_id", &st.subject),
                    ("user_id", "suzuki"),
                    ("agency_id", "sapota"),
                    ("until", &jst_date_in(-2)),
                ],
            )
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("invalid_period"), "{}", page.body);
        let until = jst_date_in(90);
        let page = submit(
            &mut b,
            &csrf,
            &format!("{sp}/followups"),
            &[
                ("subject_id", &st.subject),
                ("user_id", "suzuki"),
                ("agency_id", "sapota"),
                ("until", &until),
            ],
        )
        .await;
        assert!(page.body.contains(&format!("{until} 23:59")), "{}", page.body);
        assert_eq!(app.last_entry().await["event"], "meeting-followup-assigned");

        // Decision summary.
        let page = submit(
            &mut b,
            &csrf,
            &format!("{sp}/summary"),
            &[("text", "SAPOTAが毎週訪問し、JOBOTAが就労支援を案内する。")],
        )
        .await;
        assert!(page.body.contains("SAPOTAが毎週訪問し"));
        assert_eq!(app.last_entry().await["event"], "meeting-decision-summary");

        // The printable record.
        let record = b.get(&format!("{sp}/record")).await;
        assert_eq!(record.status, 200, "{}", record.body);
        for part in [
            "会議録",
            "大田区支援会議",
            "suzuki",
            &st.subject,
            "回答待ち",
            "SAPOTAが毎週訪問し",
            "この開催回を根拠とする提供",
            &format!("{until} 23:59"),
        ] {
            assert!(record.body.contains(part), "{part} in the record");
        }

        // Every string exists in both languages (a missing one would show its key).
        let pages = [
            "/console/meetings".to_owned(),
            format!("/console/meetings/bodies/{body}"),
            sp.clone(),
            format!("{sp}/record"),
            "/console/invitations".to_owned(),
        ];
        for lang in ["ja", "en"] {
            let page = b.post("/console/lang", &[("lang", lang), ("back", "/console/")]).await;
            assert_eq!(page.status, 303);
            for path in &pages {
                let page = b.get(path).await;
                assert_eq!(page.status, 200, "{path}");
                assert!(page.body.contains(&format!("<html lang=\"{lang}\">")));
                assert!(
                    !page.body.contains(">meet-") && !page.body.contains("code-unknown"),
                    "{lang} {path}"
                );
            }
        }
        let page = b.get(&sp).await;
        assert!(page.body.contains("Invitations and confirmations"), "{}", page.body);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_configured_agency_convenes_and_another_secretariat_cannot_open_the_wards_session() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let ward = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let (body, session) = convene(&ward).await;

        let mut j = Browser::new(&app, "jobota");
        j.login("sec-ito", "meeting-secretariat").await;
        let list = j.get("/console/meetings").await;
        assert_eq!(list.status, 200);
        assert!(!list.body.contains(&body), "the ward's body is not JOBOTA's");
        let csrf = list.csrf();
        let page = j
            .post(
                "/console/meetings/bodies",
                &[
                    ("csrf", &csrf),
                    ("kind", "support-meeting"),
                    ("name", "x"),
                    ("rules_text", "x"),
                    ("pledge_text", "x"),
                ],
            )
            .await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(
            page.body
                .contains("この種類の会議体を設置できるのは、定められた機関だけです"),
            "{}",
            page.body
        );
        assert!(page.body.contains("not_convening_agency"));
        assert!(
            entries_of(&app, "meeting-body-created").await.len() == 1,
            "only the ward's"
        );

        for path in [
            format!("/console/meetings/sessions/{session}"),
            format!("/console/meetings/bodies/{body}"),
        ] {
            let page = j.get(&path).await;
            assert_eq!(page.status, 403, "{path}");
            assert!(page.body.contains("この会議体の事務局ではありません"), "{}", page.body);
            assert!(page.body.contains("not_secretariat"));
        }
        let record = j.get(&format!("/console/meetings/sessions/{session}/record")).await;
        assert_eq!(record.status, 403);
        assert!(record.body.contains("not_on_roster"));
        let refused = entries_of(&app, "console-forbidden").await;
        assert_eq!(refused.len(), 4, "each refusal is logged, the refused convening too");
        assert_eq!(refused[0]["reference"], "console:/console/meetings/bodies");
        assert_eq!(refused[0]["detail"]["code"], "not_convening_agency");
        let refused = &refused[1..];
        assert!(
            refused
                .iter()
                .all(|e| e["user"] == "sec-ito" && e["agency"] == "jobota")
        );
        assert_eq!(refused[0]["reference"], "console:/console/meetings/sessions/{id}");
        assert_eq!(refused[0]["detail"]["code"], "not_secretariat");

        // Nor can it act on the ward's session.
        let before = app.audit_size().await;
        let page = j
            .post(
                &format!("/console/meetings/sessions/{session}/invite"),
                &[("csrf", &csrf), ("user_id", "sec-ito"), ("agency_id", "jobota")],
            )
            .await;
        assert_eq!(page.status, 403);
        assert_eq!(app.audit_size().await, before + 1, "only the refusal is logged");
        let (_, view) = ward.get(&format!("/v1/sessions/{session}")).await;
        assert_eq!(view["roster"].as_array().unwrap().len(), 0, "nobody was invited");

        // Privacy officers in scope read the record (not the secretariat's page); one of
        // another organ does not.
        let record = format!("/console/meetings/sessions/{session}/record");
        let mut po = Browser::new(&app, "jobota");
        po.login("po-abe", "privacy-officer").await;
        let page = po.get(&record).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("会議録"));
        assert!(
            !page.body.contains("開催回の画面へ戻る"),
            "no link to the secretariat's page"
        );
        assert_eq!(
            po.get(&format!("/console/meetings/sessions/{session}")).await.status,
            403
        );
        let mut other = Browser::new(&app, "regional-support-centre");
        other.login("po-ono", "privacy-officer").await;
        let page = other.get(&record).await;
        assert_eq!(page.status, 403);
        assert!(page.body.contains("not_on_roster"));

        // A caseworker has no secretariat pages.
        let mut cw = Browser::new(&app, "jobota");
        cw.login("tanaka", "caseworker").await;
        let page = cw.get("/console/meetings").await;
        assert_eq!(page.status, 403);
        assert!(page.body.contains("forbidden_by_policy"));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitee_confirms_and_pledges_on_their_own_terminal_and_only_then_sees_the_agenda() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let (body, session) = convene(&sec).await;
        invite_api(&sec, &session, "suzuki", "sapota").await;
        let (s, r) = sec
            .post(
                &format!("/v1/sessions/{session}/agenda"),
                &json!({"subject_id": st.subject}),
            )
            .await;
        assert_eq!(s, 201, "{r}");

        let mut m = Browser::new(&app, "sapota");
        m.login("suzuki", "caseworker").await;
        let list = m.get("/console/invitations").await;
        assert_eq!(list.status, 200, "{}", list.body);
        assert!(list.body.contains("大田区支援会議"));
        assert!(list.body.contains("招待中（本人の参加確認待ち）"));
        assert!(list.body.contains(&format!("/console/invitations/{session}")));

        let path = format!("/console/invitations/{session}");
        let page = m.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains(PLEDGE), "the pledge text is on the page");
        assert!(
            page.body
                .contains("議題は、参加を確認し最新の誓約書に同意した構成員だけに表示されます")
        );
        assert!(
            !page.body.contains(&st.subject),
            "an unconfirmed invitee sees no agenda"
        );
        let csrf = page.csrf();

        // Not ticked, or an older version than the current one: nothing happens.
        let before = app.audit_size().await;
        let page = m
            .post(&format!("{path}/accept"), &[("csrf", &csrf), ("version", "1")])
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("チェックを入れてください"), "{}", page.body);
        let page = m
            .post(
                &format!("{path}/accept"),
                &[("csrf", &csrf), ("version", "0"), ("agree", "yes")],
            )
            .await;
        assert_eq!(page.status, 409);
        assert!(page.body.contains("改訂されました"));
        assert_eq!(app.audit_size().await, before, "nothing logged");
        let record = m.get(&format!("/console/meetings/sessions/{session}/record")).await;
        assert_eq!(record.status, 403, "not a member yet");
        assert!(record.body.contains("not_on_roster"));

        // Someone else cannot confirm suzuki's invitation.
        let mut other = Browser::new(&app, "jobota");
        other.login("tanaka", "caseworker").await;
        let page = other.get(&path).await;
        assert_eq!(page.status, 403);
        assert!(page.body.contains("この開催回に招待されていません"));
        let refused = entries_of(&app, "console-forbidden").await;
        assert_eq!(refused.last().unwrap()["detail"]["code"], "not_invited");

        // Ticked, version 1: confirmed and pledged, by suzuki, as over the API.
        let page = m
            .post(
                &format!("{path}/accept"),
                &[("csrf", &csrf), ("version", "1"), ("agree", "yes")],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let confirmed = entries_of(&app, "meeting-confirmation").await;
        let pledged = entries_of(&app, "meeting-pledge-accepted").await;
        assert_eq!((confirmed.len(), pledged.len()), (1, 1));
        assert_eq!(
            (&confirmed[0]["user"], &confirmed[0]["agency"]),
            (&json!("suzuki"), &json!("sapota"))
        );
        assert_eq!(pledged[0]["detail"]["version"], 1);
        let page = m.follow(page).await;
        assert!(
            page.body.contains("参加確認済みで、最新の誓約書に同意しています"),
            "{}",
            page.body
        );
        assert!(page.body.contains(&st.subject), "a member sees the agenda");
        let (_, view) = sec.get(&format!("/v1/sessions/{session}")).await;
        assert_eq!(view["roster"][0]["member"], true);
        let list = m.get("/console/invitations").await;
        assert!(list.body.contains("構成員として参加している開催回"));
        assert!(
            list.body
                .contains(&format!("/console/meetings/sessions/{session}/record"))
        );
        assert_eq!(
            m.get(&format!("/console/meetings/sessions/{session}/record"))
                .await
                .status,
            200
        );
        // A member is not the secretariat.
        assert_eq!(
            m.get(&format!("/console/meetings/sessions/{session}")).await.status,
            403
        );

        // A new pledge version: the member must accept it again, and sees the new text.
        let (s, _) = sec
            .post(
                &format!("/v1/bodies/{body}/pledge-texts"),
                &json!({"text": "第2版の誓約"}),
            )
            .await;
        assert_eq!(s, 201);
        let page = m.get(&path).await;
        assert!(page.body.contains("第2版の誓約"));
        assert!(page.body.contains("誓約書（第2版）"));
        assert!(!page.body.contains(&st.subject), "no current pledge, no agenda");
        let list = m.get("/console/invitations").await;
        assert!(list.body.contains("最新版に未同意"));

        // The secretariat records that suzuki leaves: access ends everywhere, the duty stays.
        let mut ward = Browser::new(&app, "welfare-coordination");
        ward.login("kato", "meeting-secretariat").await;
        let page = ward.get(&format!("/console/meetings/bodies/{body}")).await;
        let csrf = page.csrf();
        let remove = format!("/console/meetings/bodies/{body}/members/remove");
        let page = ward.post(&remove, &[("csrf", &csrf), ("user_id", "nobody")]).await;
        assert_eq!(page.status, 404);
        assert!(
            page.body.contains("この会議体の名簿にその方はいません"),
            "{}",
            page.body
        );
        let page = ward.post(&remove, &[("csrf", &csrf), ("user_id", "suzuki")]).await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(app.last_entry().await["event"], "meeting-member-removed");
        assert!(ward.follow(page).await.body.contains("退任を記録しました"));
        let list = m.get("/console/invitations").await;
        assert!(list.body.contains("退任した会議"), "{}", list.body);
        assert!(list.body.contains("守秘義務は続きます"));
        assert_eq!(m.get(&path).await.status, 403, "no open invitation any more");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_asked_agency_answers_an_information_request_from_its_own_console() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let (body, session) = convene(&sec).await;
        let ask = || {
            json!({"asked_agency": "regional-support-centre", "subject_id": st.subject,
            "recipient_user": "kato", "recipient_agency": "welfare-coordination"})
        };
        let (s, first) = sec.post(&format!("/v1/sessions/{session}/info-requests"), &ask()).await;
        assert_eq!(s, 201, "{first}");
        let first = first["id"].as_str().unwrap().to_owned();
        let (_, second) = sec.post(&format!("/v1/sessions/{session}/info-requests"), &ask()).await;
        let second = second["id"].as_str().unwrap().to_owned();

        let mut rsc = Browser::new(&app, "regional-support-centre");
        rsc.login("sato", "caseworker").await;
        let page = rsc.get("/console/invitations").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("自機関あての情報提供の求め"));
        assert!(page.body.contains(&st.subject));
        assert!(page.body.contains("kato / "), "the named recipient is shown");
        assert!(
            !page.body.contains("cat-reporter-identity"),
            "a sealed category is not offered"
        );
        let csrf = page.csrf();
        let answer = format!("/console/invitations/requests/{first}/answer");

        // Nothing chosen, a sealed category: said beside the form, nothing logged.
        let before = app.audit_size().await;
        let page = rsc.post(&answer, &[("csrf", &csrf), ("action", "provide")]).await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("1つ以上選んでください"), "{}", page.body);
        let page = rsc
            .post(
                &answer,
                &[("csrf", &csrf), ("action", "provide"), ("cat-reporter-identity", "on")],
            )
            .await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("category_sealed"), "{}", page.body);
        assert_eq!(app.audit_size().await, before);

        // Another agency's staff may not answer it.
        let mut j = Browser::new(&app, "jobota");
        let home = j.login("tanaka", "caseworker").await;
        let page = j
            .post(
                &answer,
                &[("csrf", &home.csrf()), ("action", "provide"), ("cat-identity", "on")],
            )
            .await;
        assert_eq!(page.status, 403);
        assert!(page.body.contains("not_asked_agency"));
        let inbox = j.get("/console/invitations").await;
        assert!(!inbox.body.contains(&first), "JOBOTA's inbox does not list it");

        // Provide two categories: the JSON API's service and log entry.
        let page = rsc
            .post(
                &answer,
                &[
                    ("csrf", &csrf),
                    ("action", "provide"),
                    ("cat-identity", "on"),
                    ("cat-household", "on"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let entry = app.last_entry().await;
        assert_eq!(entry["event"], "meeting-info-request-answered");
        assert_eq!(entry["user"], "sato");
        assert_eq!(entry["detail"]["categories"], json!(["identity", "household"]));
        let page = rsc.follow(page).await;
        assert!(page.body.contains("回答しました"));
        assert!(page.body.contains("本人確認情報・世帯"), "{}", page.body);
        // Answered once.
        let page = rsc
            .post(
                &answer,
                &[("csrf", &csrf), ("action", "provide"), ("cat-identity", "on")],
            )
            .await;
        assert_eq!(page.status, 409);
        assert!(page.body.contains("info_request_already_answered"));
        assert!(page.body.contains("すでに回答しています"), "{}", page.body);

        // Decline the other, with a reason.
        let page = rsc
            .post(
                &format!("/console/invitations/requests/{second}/answer"),
                &[
                    ("csrf", &csrf),
                    ("action", "decline"),
                    ("reason", "本人の同意を確認中のため"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(app.last_entry().await["detail"]["answer"], "declined");

        // The secretariat sees the answers on the session page.
        let mut ward = Browser::new(&app, "welfare-coordination");
        ward.login("kato", "meeting-secretariat").await;
        let page = ward.get(&format!("/console/meetings/sessions/{session}")).await;
        assert!(page.body.contains("提供済み"));
        assert!(page.body.contains("本人確認情報・世帯"));
        assert!(page.body.contains("本人の同意を確認中のため"));
        // The secretariat role answers no requests: its page has no inbox.
        let page = ward.get("/console/invitations").await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("自機関あての情報提供の求め"));
        // But kato is the named recipient: to receive the answer he accepts the pledge there.
        assert!(
            page.body.contains("回答の受け手に指定された情報提供の求め"),
            "{}",
            page.body
        );
        let pledge_path = format!("/console/invitations/bodies/{body}");
        assert!(page.body.contains(&pledge_path));
        let page = ward.get(&pledge_path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains(PLEDGE));
        let page = ward
            .post(
                &format!("{pledge_path}/accept"),
                &[("csrf", &page.csrf()), ("version", "1"), ("agree", "yes")],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let entry = app.last_entry().await;
        assert_eq!(
            (&entry["event"], &entry["user"]),
            (&json!("meeting-pledge-accepted"), &json!("kato"))
        );
        let page = ward.follow(page).await;
        assert!(page.body.contains("この会議の最新の誓約書に同意しています"));
        // Nobody else may open that pledge page.
        assert_eq!(j.get(&pledge_path).await.status, 403);
        // A privacy officer has neither part.
        let mut po = Browser::new(&app, "welfare-coordination");
        po.login("po-abe", "privacy-officer").await;
        assert_eq!(po.get("/console/invitations").await.status, 403);
        app.stop().await;
    }
}
