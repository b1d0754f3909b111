//! Signed checkpoints, receipts with inclusion proofs, consistency between checkpoints, key
//! rotation, and a gapless log under concurrent appends — also from two hub instances.

use std::sync::Arc;

use serde_json::Value;
use tsunagi::audit::alerts::Alerts;
use tsunagi::audit::checkpoint::open_checkpoint;
use tsunagi::audit::checkpointer::Checkpointer;
use tsunagi::audit::keys::{LogKeys, parse_vkeys};
use tsunagi::audit::merkle::Hash;
use tsunagi::audit::proof_file::{ConsistencyProofFile, InclusionProofFile};
use tsunagi::audit::verify::Problem;
use tsunagi::clock::SystemClock;

use crate::helpers::*;
use crate::log_support::*;

fn leaf(hex_str: &str) -> Hash {
    Hash::try_from(hex::decode(hex_str).unwrap().as_slice()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_get_inclusion_proofs_against_signed_checkpoints() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let body = disclosure_body(&st.subject, &st.consent, "employment support");
        let (s, first) = st.jobota.post("/v1/disclosures", &body).await;
        assert_eq!(s, 200, "{first}");
        let receipt = first["audit_receipt"].clone();
        let index = receipt["index"].as_u64().unwrap();

        // The recipient asks for a proof at once: a checkpoint covering the entry is signed.
        let (s, proof) = st
            .jobota
            .get(&format!("/v1/audit/proofs/inclusion?index={index}"))
            .await;
        assert_eq!(s, 200, "{engine:?}: {proof}");
        assert_eq!(proof["leaf_hash"], receipt["leaf_hash"]);
        let (s, vkeys) = st.jobota.get_text("/v1/audit/verifier-keys").await;
        assert_eq!(s, 200);
        let verifiers = parse_vkeys(&vkeys).unwrap();
        assert_eq!(verifiers[0].name(), "tsunagi.local");
        let file = InclusionProofFile::parse(proof["tlog_proof"].as_str().unwrap()).unwrap();
        let cp = file
            .check(
                &leaf(receipt["leaf_hash"].as_str().unwrap()),
                &verifiers,
                Some("tsunagi.local"),
            )
            .unwrap();
        assert!(cp.size > index);
        // A forged leaf does not pass.
        assert!(file.check(&[9u8; 32], &verifiers, None).is_err());

        // The owning agency may fetch it too; an unrelated agency may not; a privacy officer may.
        let (s, _) = st.owner.get(&format!("/v1/audit/proofs/inclusion?index={index}")).await;
        assert_eq!(s, 200);
        let sapota = app.caller("ito", "sapota", "caseworker");
        let (s, err) = sapota.get(&format!("/v1/audit/proofs/inclusion?index={index}")).await;
        assert_eq!((s, err["error"]["code"].as_str()), (403, Some("entry_not_yours")));
        let (s, _) = officer(&app)
            .get(&format!("/v1/audit/proofs/inclusion?index={index}"))
            .await;
        assert_eq!(s, 200);
        let (s, err) = sapota.get("/v1/audit/proofs/inclusion?index=99999").await;
        assert_eq!((s, err["error"]["code"].as_str()), (404, Some("entry_not_found")));

        // The log grows; the next checkpoint is consistent with the first, and the old receipt
        // is also provable against the newer checkpoint.
        for _ in 0..5 {
            let (s, _) = st.jobota.post("/v1/disclosures", &body).await;
            assert_eq!(s, 200);
        }
        let second = checkpoint(&app).await;
        assert!(second.size > cp.size);
        let (s, latest) = st.jobota.get_text("/v1/audit/checkpoint").await;
        assert_eq!(s, 200);
        assert_eq!(latest, second.note);
        let (s, c) = st
            .jobota
            .get(&format!("/v1/audit/proofs/consistency?from={}", cp.size))
            .await;
        assert_eq!(s, 200, "{c}");
        assert_eq!(c["to"].as_u64(), Some(second.size));
        let cf = ConsistencyProofFile::parse(c["proof_file"].as_str().unwrap()).unwrap();
        let (old, new) = cf.check(&verifiers, Some("tsunagi.local")).unwrap();
        assert_eq!((old.size, new.size), (cp.size, second.size));
        let (s, p2) = st
            .jobota
            .get(&format!(
                "/v1/audit/proofs/inclusion?index={index}&size={}",
                second.size
            ))
            .await;
        assert_eq!(s, 200);
        let f2 = InclusionProofFile::parse(p2["tlog_proof"].as_str().unwrap()).unwrap();
        f2.check(&leaf(receipt["leaf_hash"].as_str().unwrap()), &verifiers, None)
            .unwrap();
        let (s, err) = st.jobota.get("/v1/audit/proofs/consistency?from=12345").await;
        assert_eq!((s, err["error"]["code"].as_str()), (404, Some("checkpoint_not_found")));
        // Nothing grew: no new checkpoint is signed.
        assert!(app.state.checkpoints.checkpoint_now().await.unwrap().is_none());
        assert!(verify(&app).await.ok());
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_keeps_old_checkpoints_verifiable() {
    for engine in engines() {
        let app = quiet_app(engine).await;
        fill(&app, 20).await;
        let old_keys = app.state.checkpoints.keys();
        let first = checkpoint(&app).await;
        let old_vkey = old_keys.verifiers()[0].to_vkey_string();

        // A new key, configured with the retired key's verifier key.
        let store = app.state.store.clone();
        let alerts = Alerts::new(store.clone(), Arc::new(SystemClock), Default::default());
        let new_keys = Arc::new(LogKeys::new("tsunagi.local", &[42u8; 32], &[old_vkey]).unwrap());
        let rotated = Checkpointer::new(store, new_keys.clone(), Arc::new(SystemClock), alerts);
        fill(&app, 7).await;
        let second = rotated.checkpoint_now().await.unwrap().unwrap();
        assert_ne!(first.key_id, second.key_id);
        assert_eq!(second.key_id, hex::encode(new_keys.verifiers()[0].key_id()));
        // Both checkpoints open with the published keys; the new one not with the old key alone.
        open_checkpoint(&first.note, new_keys.verifiers()).unwrap();
        open_checkpoint(&second.note, new_keys.verifiers()).unwrap();
        assert!(open_checkpoint(&second.note, &old_keys.verifiers()[..1]).is_err());
        // The whole log verifies with the new key list; without the retired key, the old
        // checkpoint is reported.
        let opts = |verifiers| tsunagi::audit::verify::VerifyOptions {
            verifiers,
            origin: "tsunagi.local".into(),
            saved_checkpoints: vec![],
            page: 100,
        };
        let r = tsunagi::audit::verify::verify_log(&app.state.store, &opts(new_keys.verifiers().to_vec()))
            .await
            .unwrap();
        assert!(r.ok(), "{:?}", r.problems);
        let r = tsunagi::audit::verify::verify_log(&app.state.store, &opts(new_keys.verifiers()[..1].to_vec()))
            .await
            .unwrap();
        assert!(matches!(r.problems.first(), Some(Problem::CheckpointSignature { size, .. }) if *size == first.size));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hub_instances_append_and_checkpoint_one_gapless_log() {
    for engine in engines() {
        let a = spawn_app(engine).await;
        // A second instance on the same database (PostgreSQL: what a load balancer would run).
        let b = tsunagi::startup::Application::build(test_config(&a.database_url))
            .await
            .unwrap();
        let b_state = b.state().clone();
        let b_handle = b.handle();
        tokio::spawn(b.run_until_stopped());
        let before = a.audit_size().await;
        let mut tasks = Vec::new();
        for i in 0..8 {
            let log = if i % 2 == 0 {
                a.state.audit.clone()
            } else {
                b_state.audit.clone()
            };
            let (ca, cb) = (a.state.checkpoints.clone(), b_state.checkpoints.clone());
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for j in 0..25 {
                    let event = tsunagi::audit::ConsentEvent {
                        at: "2026-11-20T00:00:00Z".into(),
                        user: format!("u{i}-{j}"),
                        agency: "jobota".into(),
                        subject: "x".into(),
                        consent_id: tsunagi::domain::ConsentId::new_random(),
                    };
                    let r = log
                        .append(
                            &tsunagi::audit::AuditEntry::ConsentRecorded(event),
                            tsunagi::audit::IndexFields {
                                decision: "recorded",
                                ..Default::default()
                            },
                        )
                        .await
                        .unwrap();
                    got.push(r.index);
                    // Both instances try to checkpoint while the log grows.
                    if j % 5 == 0 {
                        let c = if i % 2 == 0 { &ca } else { &cb };
                        c.checkpoint_now().await.unwrap();
                    }
                }
                got
            }));
        }
        let mut indexes: Vec<u64> = Vec::new();
        for t in tasks {
            indexes.extend(t.await.unwrap());
        }
        indexes.sort_unstable();
        assert_eq!(indexes, (before..before + 200).collect::<Vec<_>>(), "{engine:?}");
        a.state.checkpoints.checkpoint_now().await.unwrap();
        let report = verify(&a).await;
        assert!(report.ok(), "{engine:?}: {:?}", report.problems);
        assert_eq!(report.entries, before + 200);
        assert!(report.checkpoints >= 2);
        b_handle.stop(true).await;
        b_state.store.close().await;
        a.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_need_an_authenticated_user_and_name_the_log() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let (s, note) = st.jobota.get_text("/v1/audit/checkpoint").await;
        assert_eq!(s, 200, "{note}");
        assert!(note.starts_with("tsunagi.local\n"), "{note}");
        let anonymous = client_with(Some((&dev("clients/jobota.pem"), &dev("clients/jobota.key"))));
        let r = anonymous.get(app.url("/v1/audit/checkpoint")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "token_missing");
        app.stop().await;
    }
}
