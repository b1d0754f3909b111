//! Fuzzes what a witness parses from the network: the `add-checkpoint` request, the signed note
//! it carries and its signature lines. No input panics; a parsed request prints back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsunagi::audit::checkpoint::Checkpoint;
use tsunagi::audit::cosignature::split_note;
use tsunagi::witness::protocol::AddCheckpoint;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(req) = AddCheckpoint::parse(&text) {
        assert_eq!(AddCheckpoint::parse(&req.to_text()).ok(), Some(req.clone()));
        if let Ok((body, _)) = split_note(&req.checkpoint) {
            let _ = Checkpoint::parse_body(body);
        }
    }
    let _ = split_note(&text);
});
