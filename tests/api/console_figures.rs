//! The programme's figures in the console (事業実績, R-O4), over real TLS on both engines: the
//! coordination desk's caseworker finds the page in the navigation, sees the year's table and
//! SVG charts (titled and described, no script) with small cells as "<3", downloads the same
//! figures as CSV — every view logged — in Japanese and English; others get a logged 403 and no
//! link.

use serde_json::json;

use super::console_support::Browser;
use super::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_reads_the_figures_as_tables_charts_and_csv_and_others_cannot() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        // Four consultations this month, one refusal.
        let st = story(&app).await;
        for n in 2..=4 {
            let (s, r) = st
                .owner
                .post("/v1/subjects", &json!({"local_id": format!("RSC-000{n}")}))
                .await;
            assert_eq!(s, 201, "{r}");
        }
        let (s, _) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, &st.consent, "marketing"),
            )
            .await;
        assert_eq!(s, 403);

        let mut b = Browser::new(&app, "welfare-coordination");
        let home = b.login("cw-ito", "caseworker").await;
        assert!(
            home.body.contains("href=\"/console/figures\""),
            "the coordinator's navigation offers the figures"
        );
        let before = app.audit_size().await;
        let page = b.get("/console/figures").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(app.audit_size().await, before + 1, "the view is logged");
        let entry = app.last_entry().await;
        assert_eq!(
            (entry["event"].as_str(), entry["detail"]["format"].as_str()),
            (Some("figures-read"), Some("page"))
        );
        assert!(page.body.contains("<h1>事業実績</h1>"), "Japanese first");
        assert!(page.body.contains("年度計"));
        assert!(!page.body.contains("<script"), "no script");
        // The charts: SVG with a title and a description each.
        assert!(page.body.contains("<svg class=\"chart\""));
        assert!(
            page.body
                .contains("<title id=\"fig-chart-0-title\">相談受付（登録した人）（月別）</title>")
        );
        assert!(page.body.contains("<desc id=\"fig-chart-0-desc\">"));
        // The table: four consultations shown, the one refusal hidden as "<3".
        let consultations = page
            .body
            .lines()
            .find(|l| l.contains("<th scope=\"row\">相談受付（登録した人）</th>"))
            .unwrap_or_else(|| panic!("{}", page.body));
        assert!(consultations.contains("<td class=\"num\">4</td>"), "{consultations}");
        let refused = page
            .body
            .lines()
            .find(|l| l.contains("<th scope=\"row\">情報提供の拒否（"))
            .unwrap();
        assert!(refused.contains("<td class=\"num\">&#60;3</td>"), "{refused}");
        assert!(page.body.contains("href=\"/console/figures.csv?fiscal_year="));

        // The CSV download: the same cells.
        let csv = b.get("/console/figures.csv").await;
        assert_eq!(csv.status, 200);
        assert!(csv.header("content-type").starts_with("text/csv"));
        assert!(csv.header("content-disposition").contains("figures-"));
        assert!(csv.body.starts_with("measure,breakdown,"), "{}", csv.body);
        assert!(csv.body.contains("\r\nconsultations,,"));
        assert_eq!(app.last_entry().await["detail"]["format"], "csv");

        // Another year, and English.
        let page = b.get("/console/figures?fiscal_year=2024").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("2024年度（2024年4月〜2025年3月）"));
        let page = b
            .post("/console/lang", &[("lang", "en"), ("back", "/console/figures")])
            .await;
        let page = b.follow(page).await;
        assert!(page.body.contains("<html lang=\"en\""), "{}", page.body);
        assert!(page.body.contains("figures</h1>"));
        assert!(page.body.contains("Consultations registered"));
        // A year that is not a year: a 422 page, nothing logged.
        let before = app.audit_size().await;
        let page = b.get("/console/figures?fiscal_year=abc").await;
        assert_eq!(page.status, 422);
        assert_eq!(app.audit_size().await, before);

        // JOBOTA's caseworker: no link, and a logged 403.
        let mut other = Browser::new(&app, "jobota");
        let home = other.login("cw-tanaka", "caseworker").await;
        assert!(!home.body.contains("href=\"/console/figures\""));
        for path in ["/console/figures", "/console/figures.csv"] {
            let page = other.get(path).await;
            assert_eq!(page.status, 403, "{path}");
            let logged = app.last_entry().await;
            assert_eq!(logged["event"], "console-forbidden");
            assert_eq!(logged["detail"]["code"], "forbidden_by_policy");
        }
        // A privacy officer elsewhere reads them.
        let mut officer = Browser::new(&app, "regional-support-centre");
        let home = officer.login("po-ogawa", "privacy-officer").await;
        assert!(home.body.contains("href=\"/console/figures\""));
        assert_eq!(officer.get("/console/figures").await.status, 200);
        app.stop().await;
    }
}
