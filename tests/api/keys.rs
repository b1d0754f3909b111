//! Key-encryption key rotation without downtime: the hub runs with the new KEK as current and
//! the old one still accepted, disclosures go on under load while `tsunagi keys rotate-kek`
//! (the real command, in small batches) re-wraps every data key, and afterwards the old KEK can
//! be dropped: content stays readable, and a configuration that could not unwrap a stored key
//! is refused at start.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use super::helpers::{Engine, disclosure_body, engines, repo, spawn_configured, story, test_config};
use super::log_support::stdout;

fn keys_config(dir: &std::path::Path, url: &str, kek2: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("rotate.toml");
    let old = repo().join("certs-dev/kek.key");
    std::fs::write(
        &file,
        format!(
            "database_url = \"{url}\"\n[keys]\nkek_file = \"{}\"\nkek_id = \"kek-2\"\n\n[[keys.previous_keks]]\nid = \"kek-1\"\nfile = \"{}\"\n",
            kek2.display(),
            old.display()
        ),
    )
    .unwrap();
    file
}

fn tsunagi_with(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tsunagi"))
        .arg("--config")
        .arg(config)
        .args(args)
        .current_dir(repo())
        .env("TSUNAGI_LOG_LEVEL", "error")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kek_is_rotated_under_load_and_the_old_one_can_then_be_dropped() {
    for engine in engines() {
        let dir = tempfile::tempdir().unwrap();
        let kek2 = dir.path().join("kek-2.key");
        let mut raw = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw).unwrap();
        std::fs::write(
            &kek2,
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw),
        )
        .unwrap();

        // Before: everything under kek-1 (the development KEK).
        let a = spawn_configured(engine, None, Arc::new(tsunagi::clock::SystemClock), |_| {}).await;
        let s = story(&a).await;
        for i in 0..40 {
            let (status, b) = s
                .owner
                .post("/v1/subjects", &json!({"local_id": format!("RSC-K{i}")}))
                .await;
            assert_eq!(status, 201, "{b}");
        }
        let url = a.database_url.clone();
        a.stop_keeping_database().await;

        // The hub with kek-2 current and kek-1 still accepted, under load.
        let previous = tsunagi::config::PreviousKek {
            id: "kek-1".into(),
            file: repo().join("certs-dev/kek.key"),
        };
        let (k2, p) = (kek2.clone(), previous.clone());
        let b = spawn_configured(
            engine,
            Some(url.clone()),
            Arc::new(tsunagi::clock::SystemClock),
            move |c| {
                c.keys.kek_file = k2;
                c.keys.kek_id = "kek-2".into();
                c.keys.previous_keks = vec![p];
            },
        )
        .await;
        let jobota = b.caller("tanaka", "jobota", "caseworker");
        let body = disclosure_body(&s.subject, &s.consent, "employment support");
        let stop = Arc::new(AtomicBool::new(false));
        let mut load = Vec::new();
        for _ in 0..8 {
            let (client, token, url, body, stop) = (
                jobota.client.clone(),
                jobota.token.clone(),
                format!("{}/v1/disclosures", jobota.base),
                body.clone(),
                stop.clone(),
            );
            load.push(tokio::spawn(async move {
                let mut answered = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let r = client.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
                    let status = r.status().as_u16();
                    let v: serde_json::Value = r.json().await.unwrap();
                    assert_eq!(status, 200, "a disclosure failed during the rotation: {v}");
                    assert_eq!(
                        v["sections"][0]["content"], "山田 太郎, born 1976-05-01, 大田区蒲田",
                        "{v}"
                    );
                    answered += 1;
                }
                answered
            }));
        }
        let config = keys_config(dir.path(), &url, &kek2);
        let out = tokio::task::spawn_blocking({
            let config = config.clone();
            move || tsunagi_with(&config, &["keys", "rotate-kek", "--batch", "7"])
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "{engine:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout(&out).contains("re-wrapped 41 data keys under kek-2"),
            "{}",
            stdout(&out)
        );
        let progress = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(progress.contains("41 / 41 (100 %)"), "a progress bar: {progress}");
        stop.store(true, Ordering::Relaxed);
        let mut answered = 0;
        for l in load {
            answered += l.await.unwrap();
        }
        assert!(answered > 0);
        let status = tsunagi_with(&config, &["keys", "status"]);
        assert_eq!(
            stdout(&status),
            "current KEK: kek-2\nkek-2: 41 data keys\n",
            "{engine:?}"
        );
        b.stop_keeping_database().await;

        // The old KEK is dropped: everything is still readable.
        let k2 = kek2.clone();
        let c = spawn_configured(
            engine,
            Some(url.clone()),
            Arc::new(tsunagi::clock::SystemClock),
            move |c| {
                c.keys.kek_file = k2;
                c.keys.kek_id = "kek-2".into();
            },
        )
        .await;
        let (status, v) = c
            .caller("tanaka", "jobota", "caseworker")
            .post("/v1/disclosures", &body)
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            v["sections"][0]["content"], "山田 太郎, born 1976-05-01, 大田区蒲田",
            "{v}"
        );
        c.stop_keeping_database().await;

        // A hub that holds only kek-1 cannot unwrap them and refuses to start, saying why.
        let mut only_old = test_config(&url);
        only_old.keys.kek_id = "kek-1".into();
        let err = tsunagi::startup::Application::build(only_old)
            .await
            .err()
            .expect("refused");
        assert!(err.to_string().contains("kek-2"), "{err:#}");
        if engine == Engine::Postgres {
            super::helpers::drop_postgres_db(&url).await;
        }
    }
}
