//! Fuzzes the My Number detector and the id parsers built on it: no input panics, a valid
//! number standing on its own is always found whatever text surrounds it, and a parsed local id
//! is already in its normal form (parsing it again gives the same id).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsunagi::domain::ids::LocalId;
use tsunagi::domain::my_number::contains_individual_number;
use tsunagi::domain::{AgencyId, FreeText, UserId};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let found = contains_individual_number(&text);

    // A valid number set apart by spaces is found wherever it stands.
    assert!(contains_individual_number(&format!("{text} 526044213780 ")));
    assert!(contains_individual_number(&format!(" ５２６０ー４４２１ー３７８０ {text}")));

    // Free text refuses exactly what the detector finds (when it is otherwise valid).
    if let Ok(t) = FreeText::parse("fuzz", &text) {
        assert!(!found, "free text accepted a My Number: {:?}", t.as_str());
    }

    // Ids never carry a My Number; a local id is a fixed point of its own normalisation.
    if let Ok(id) = UserId::parse(&text) {
        assert!(!contains_individual_number(id.as_str()));
    }
    let _ = AgencyId::parse(&text);
    if let Ok(id) = LocalId::parse(&text) {
        assert!(!contains_individual_number(id.as_str()));
        let again = LocalId::parse(id.as_str());
        assert_eq!(again.as_ref().ok(), Some(&id), "not idempotent: {text:?}");
    }
});
