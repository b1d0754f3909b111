use super::*;
use crate::audit::checkpoint::NoteSigner;
use crate::audit::merkle::{consistency_proof, leaf_hash, root};
use proptest::prelude::*;

const ORIGIN: &str = "tsunagi.test";

fn log() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, &[1u8; 32]).unwrap()
}

async fn witness(dir: &Path) -> Witness {
    let mut logs = KnownLogs::new();
    logs.insert(ORIGIN.to_owned(), vec![log().verifier()]);
    Witness::open(
        &dir.join("w.db"),
        Cosigner::from_seed("w.test/1", &[2u8; 32]).unwrap(),
        logs,
    )
    .await
    .unwrap()
}

fn leaves(n: u64, salt: u8) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(&[salt, (i % 251) as u8, (i / 251) as u8]))
        .collect()
}

fn request(leaves: &[Hash], old: u64, size: u64) -> String {
    let body = Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: root(&leaves[..size as usize]),
        extensions: Vec::new(),
    }
    .body();
    let proof = if old == 0 || old == size {
        Vec::new()
    } else {
        consistency_proof(leaves, old, size).unwrap()
    };
    AddCheckpoint {
        old_size: old,
        proof,
        checkpoint: log().sign(&body).unwrap(),
    }
    .to_text()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Every consistent extension is cosigned; a fork below the cosigned size never is, whatever
    /// the sizes; the state survives reopening.
    #[test]
    fn only_consistent_extensions_are_cosigned(a in 1u64..40, b in 0u64..40, c in 1u64..40, at in 0u64..40) {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let w = witness(dir.path()).await;
            let honest = leaves(a + b + c, 0);
            let (s1, s2) = (a, a + b);
            let line = w.add_checkpoint(&request(&honest, 0, s1), 100).await.unwrap();
            assert!(line.starts_with("\u{2014} w.test/1 "));
            w.add_checkpoint(&request(&honest, s1, s2), 101).await.unwrap();
            w.close().await;
            let w = witness(dir.path()).await;
            assert_eq!(w.latest(ORIGIN).await.unwrap().unwrap().size, s2);
            // A fork: one leaf below s2 rewritten, the tree extended, signed with the log's key.
            let mut forked = honest.clone();
            let i = (at % s2) as usize;
            forked[i] = leaf_hash(b"rewritten");
            let s3 = s2 + c;
            let r = w.add_checkpoint(&request(&forked, s2, s3), 102).await;
            assert!(matches!(r, Err(Refusal::BadProof(_))), "{r:?}");
            let r = w.add_checkpoint(&request(&forked, s2, s2), 102).await;
            assert!(matches!(r, Err(Refusal::RootMismatch)), "{r:?}");
            assert_eq!(w.evidence_count(ORIGIN).await.unwrap(), 2);
            // The honest extension still is.
            w.add_checkpoint(&request(&honest, s2, s3), 103).await.unwrap();
            assert_eq!(w.latest(ORIGIN).await.unwrap().unwrap().size, s3);
        });
    }
}

#[test]
fn racing_submissions_never_roll_the_log_back() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let w = std::sync::Arc::new(witness(dir.path()).await);
        let l = leaves(64, 0);
        w.add_checkpoint(&request(&l, 0, 10), 1).await.unwrap();
        let tasks: Vec<_> = (11..40)
            .map(|size| {
                let w = w.clone();
                let body = request(&l, 10, size);
                tokio::spawn(async move { w.add_checkpoint(&body, 2).await })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(Refusal::StaleOldSize { size }) => assert!(size > 10),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(ok, 1, "exactly one extension from size 10 wins");
        assert!(w.latest(ORIGIN).await.unwrap().unwrap().size > 10);
    });
}
