//! A legal-report disclosure names the agency that filed the abuse report as its owner, and the
//! filing event names the reporting staff member: in a person's report (JSON and CSV) and in the
//! officers' log search, everything that could point to the reporter reads `sealed`, and a
//! search by the reporter's agency or user does not find those entries.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::log_support::*;

struct Filed {
    st: Story,
    report_id: String,
    disclosure: u64,
    filing: u64,
    records: Vec<String>,
}

/// SAPOTA (staff member suzuki) files a child-abuse report; child-services, the receiving
/// agency, then asks SAPOTA for its material under the report.
async fn filed(app: &TestApp) -> Filed {
    let st = story(app).await;
    let sapota = app.caller("suzuki", "sapota", "caseworker");
    let children = app.caller("abe", "child-services", "caseworker");
    let (s, _) = sapota
        .post(
            &format!("/v1/subjects/{}/links", st.subject),
            &json!({"local_id": "SAP-9"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, rec) = sapota
        .post(
            &format!("/v1/subjects/{}/records", st.subject),
            &json!({"purpose": "outreach", "sections": [{"category": "safeguarding", "content": "child seen with bruises at visit"}]}),
        )
        .await;
    assert_eq!(s, 201, "{rec}");
    let (s, report) = sapota
        .post(
            "/v1/legal-reports",
            &json!({"report_type": "child-abuse", "subject_id": st.subject,
                    "sections": [{"category": "safeguarding", "content": "suspected neglect of the grandchild"}],
                    "reporter": {"name": "鈴木 一郎", "contact": "03-0000-0000"}}),
        )
        .await;
    assert_eq!(s, 201, "{report}");
    let report_id = report["id"].as_str().unwrap().to_owned();
    let filing = app.audit_size().await - 1;
    let (s, r) = children
        .post(
            "/v1/disclosures",
            &json!({"subject_id": st.subject, "owner_agency": "sapota", "purpose": "child protection",
                    "basis": {"type": "legal-report", "report_id": report_id}}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let disclosure = r["audit_receipt"]["index"].as_u64().unwrap();
    let logged = app.last_entry().await;
    assert_eq!(logged["owner_agency"], "sapota", "the log itself keeps the truth");
    let records = logged["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    Filed {
        st,
        report_id,
        disclosure,
        filing,
        records,
    }
}

fn assert_nothing_points_to_the_reporter(text: &str, f: &Filed) {
    for secret in ["sapota", "suzuki", "鈴木", f.report_id.as_str()]
        .into_iter()
        .chain(f.records.iter().map(String::as_str))
    {
        assert!(!text.contains(secret), "{secret} points to the reporter: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_report_seals_the_agency_that_filed_the_abuse_report() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let f = filed(&app).await;
        let po = officer(&app);
        let (s, report) = po.get(&format!("/v1/audit/subjects/{}/report", f.st.subject)).await;
        assert_eq!(s, 200, "{report}");
        let line = report["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["index"].as_u64() == Some(f.disclosure))
            .cloned()
            .unwrap();
        assert_eq!(line["basis"], "legal-report");
        for field in ["owner_agency", "recipient_agency", "recipient_organ", "basis_ref"] {
            assert_eq!(line[field], "sealed", "{engine:?} {field}: {line}");
        }
        assert_eq!(line["disclosed"], json!(["safeguarding"]));
        assert_nothing_points_to_the_reporter(&report.to_string(), &f);

        let (s, csv) = po
            .get_text(&format!("/v1/audit/subjects/{}/report?format=csv", f.st.subject))
            .await;
        assert_eq!(s, 200);
        let row = csv
            .split("\r\n")
            .find(|r| r.starts_with(&format!("{},", f.disclosure)))
            .unwrap();
        assert!(
            row.contains(",allowed,sealed,sealed,sealed,legal-report,sealed,"),
            "{row}"
        );
        assert_nothing_points_to_the_reporter(&csv, &f);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_search_seals_the_reporter_and_cannot_be_used_to_unmask_it() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let f = filed(&app).await;
        let po = officer(&app);
        let (s, found) = po
            .get(&format!("/v1/audit/entries?subject={}&limit=500", f.st.subject))
            .await;
        assert_eq!(s, 200, "{found}");
        let entry = |i: u64| -> Value {
            found["entries"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["index"].as_u64() == Some(i))
                .cloned()
                .unwrap_or_else(|| panic!("{engine:?}: entry {i} not found: {found}"))
        };
        let d = entry(f.disclosure);
        assert_eq!(d["sealed"], true);
        assert_eq!(
            (
                &d["entry"]["owner_agency"],
                &d["entry"]["records"],
                &d["entry"]["basis"]["report_id"]
            ),
            (&json!("sealed"), &json!("sealed"), &json!("sealed"))
        );
        assert_eq!(d["entry"]["requester"]["agency"], "child-services");
        assert_nothing_points_to_the_reporter(&d.to_string(), &f);
        let e = entry(f.filing);
        assert_eq!(e["sealed"], true);
        assert_eq!(e["entry"]["event"], "legal-report-filed");
        for field in ["user", "agency", "reference"] {
            assert_eq!(e["entry"][field], "sealed", "{field}: {e}");
        }
        assert_eq!(e["entry"]["detail"]["receiving_agency"], "child-services");
        assert_nothing_points_to_the_reporter(&e.to_string(), &f);
        // Other entries are shown as logged.
        let first = &found["entries"][0];
        assert_eq!(
            (first["entry"]["kind"].as_str(), &first["sealed"]),
            (Some("consent-recorded"), &json!(false))
        );
        assert_eq!(first["entry"]["agency"], "regional-support-centre");

        // Searching by the reporter's agency or user finds neither entry.
        for query in ["agency=sapota", "user=suzuki"] {
            let (s, by) = po.get(&format!("/v1/audit/entries?{query}&limit=500")).await;
            assert_eq!(s, 200);
            let hits: Vec<u64> = by["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["index"].as_u64().unwrap())
                .collect();
            assert!(
                !hits.contains(&f.disclosure) && !hits.contains(&f.filing),
                "{engine:?} {query}: {hits:?}"
            );
        }
        // The receiving side stays searchable.
        let (_, by) = po.get("/v1/audit/entries?agency=child-services").await;
        assert!(
            by["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["index"].as_u64() == Some(f.disclosure))
        );
        app.stop().await;
    }
}
