//! Fuzzes the sharing policy's text as an admin submits it (`POST /v1/policy/proposals`,
//! `tsunagi policy check`): no input panics, and every rule that parses prints as a line that
//! parses back to the same rule.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsunagi::policy::parse_policy;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(rules) = parse_policy(&text) {
        let printed: String = rules.iter().map(|r| format!("{r}\n")).collect();
        let again = parse_policy(&printed).expect("printed rules parse");
        assert_eq!(again, rules);
    }
});
