//! `tsunagi audit export` writes C2SP tlog-tiles that an outside auditor checks without the hub:
//! this test reads the files with its own tile-path and Merkle code (only SHA-256 from ring and
//! the signed-note opener are shared) — and the offline proof commands round-trip.

use std::path::Path;

use ring::digest::{SHA256, digest};
use tsunagi::audit::checkpoint::{NoteVerifier, open_checkpoint};

use crate::helpers::*;
use crate::log_support::*;

fn sha(parts: &[&[u8]]) -> [u8; 32] {
    let all: Vec<u8> = parts.concat();
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, &all).as_ref());
    out
}

/// RFC 6962 MTH, written out again from the RFC.
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => sha(&[]),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            sha(&[&[1u8], &mth(&leaves[..k]), &mth(&leaves[k..])])
        }
    }
}

fn tile_index(n: u64) -> String {
    let s = format!("{n:03}");
    let digits = s.len().div_ceil(3) * 3;
    let s = format!("{n:0digits$}");
    let groups: Vec<&str> = (0..digits / 3).map(|i| &s[i * 3..i * 3 + 3]).collect();
    let last = groups.len() - 1;
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| if i < last { format!("x{g}") } else { (*g).to_owned() })
        .collect::<Vec<_>>()
        .join("/")
}

fn read_tile(dir: &Path, kind: &str, index: u64, width: u64) -> Vec<u8> {
    let suffix = if width < 256 {
        format!(".p/{width}")
    } else {
        String::new()
    };
    let path = dir.join(format!("tile/{kind}/{}{suffix}", tile_index(index)));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_verifies_without_the_hub() {
    assert_eq!(tile_index(1_234_067), "x001/x234/067");
    for engine in engines() {
        let app = quiet_app(engine).await;
        let st = story(&app).await;
        let (s, _) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, &st.consent, "employment support"),
            )
            .await;
        assert_eq!(s, 200);
        fill(&app, 300).await;
        let cp = checkpoint(&app).await;
        fill(&app, 4).await; // past the checkpoint: not exported

        let dir = tempfile::tempdir().unwrap();
        let out = tsunagi(
            &app.database_url,
            &["audit", "export", dir.path().to_str().unwrap()],
            &repo(),
        );
        assert!(out.status.success(), "{}", stdout(&out));

        // The auditor's side: keys, checkpoint, tiles, entries.
        let vkeys: Vec<NoteVerifier> = std::fs::read_to_string(dir.path().join("vkeys"))
            .unwrap()
            .lines()
            .map(|l| NoteVerifier::parse(l).unwrap())
            .collect();
        let note = std::fs::read_to_string(dir.path().join("checkpoint")).unwrap();
        let signed = open_checkpoint(&note, &vkeys).unwrap();
        assert_eq!((signed.origin.as_str(), signed.size), ("tsunagi.local", cp.size));
        let n = signed.size;
        let mut leaves: Vec<[u8; 32]> = Vec::new();
        let mut entries: Vec<Vec<u8>> = Vec::new();
        for t in 0..n.div_ceil(256) {
            let width = (n - t * 256).min(256);
            let tile = read_tile(dir.path(), "0", t, width);
            assert_eq!(tile.len() as u64, width * 32);
            leaves.extend(tile.chunks(32).map(|c| <[u8; 32]>::try_from(c).unwrap()));
            let bundle = read_tile(dir.path(), "entries", t, width);
            let mut at = 0;
            while at < bundle.len() {
                let len = u16::from_be_bytes([bundle[at], bundle[at + 1]]) as usize;
                entries.push(bundle[at + 2..at + 2 + len].to_vec());
                at += 2 + len;
            }
        }
        assert_eq!(leaves.len() as u64, n);
        assert_eq!(entries.len() as u64, n);
        for (e, l) in entries.iter().zip(&leaves) {
            assert_eq!(&sha(&[&[0u8], e]), l, "an entry does not hash to its tile's leaf hash");
        }
        assert_eq!(mth(&leaves), signed.root, "{engine:?}: root recomputed from the tiles");
        // The level-1 tile holds the root of the full level-0 tile.
        let level1 = read_tile(dir.path(), "1", 0, 1);
        assert_eq!(level1, mth(&leaves[..256]).to_vec());
        assert!(serde_json::from_slice::<serde_json::Value>(&entries[1]).unwrap()["kind"] == "disclosure");
        assert!(dir.path().join(format!("checkpoints/{n}")).exists());
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_proof_files_round_trip_through_the_cli() {
    for engine in engines() {
        let app = quiet_app(engine).await;
        fill(&app, 30).await;
        let old = checkpoint(&app).await;
        fill(&app, 9).await;
        let new = checkpoint(&app).await;
        let dir = tempfile::tempdir().unwrap();
        let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
        let run = |args: &[&str]| tsunagi(&app.database_url, args, &repo());

        let out = run(&["audit", "vkeys"]);
        assert!(out.status.success());
        std::fs::write(p("vkeys"), &out.stdout).unwrap();
        let out = run(&[
            "audit",
            "proof",
            "inclusion",
            "--index",
            "7",
            "--out",
            &p("e7.tlog-proof"),
            "--entry-out",
            &p("e7"),
        ]);
        assert!(out.status.success(), "{}", stdout(&out));
        let text = std::fs::read_to_string(p("e7.tlog-proof")).unwrap();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 7\n"), "{text}");

        // Offline: no database in the environment at all.
        let check = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_tsunagi"))
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap()
        };
        let ok = check(&[
            "audit",
            "check-proof",
            "inclusion",
            &p("e7.tlog-proof"),
            "--vkeys",
            &p("vkeys"),
            "--entry",
            &p("e7"),
            "--origin",
            "tsunagi.local",
        ]);
        assert!(ok.status.success(), "{}", stdout(&ok));
        assert!(stdout(&ok).contains("OK: entry 7"), "{}", stdout(&ok));
        let mut forged = std::fs::read(p("e7")).unwrap();
        forged[10] ^= 1;
        std::fs::write(p("e7"), forged).unwrap();
        let bad = check(&[
            "audit",
            "check-proof",
            "inclusion",
            &p("e7.tlog-proof"),
            "--vkeys",
            &p("vkeys"),
            "--entry",
            &p("e7"),
        ]);
        assert!(!bad.status.success(), "{}", stdout(&bad));

        let old_size = old.size.to_string();
        let out = run(&[
            "audit",
            "proof",
            "consistency",
            "--old",
            &old_size,
            "--out",
            &p("c.proof"),
        ]);
        assert!(out.status.success(), "{}", stdout(&out));
        let ok = check(&[
            "audit",
            "check-proof",
            "consistency",
            &p("c.proof"),
            "--vkeys",
            &p("vkeys"),
        ]);
        assert!(ok.status.success(), "{}", stdout(&ok));
        assert!(
            stdout(&ok).contains(&format!(
                "of size {} extends its earlier tree of size {}",
                new.size, old.size
            )),
            "{}",
            stdout(&ok)
        );
        app.stop().await;
    }
}
