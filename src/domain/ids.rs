//! Identifiers. Agency, organ and user ids are short slugs chosen by people (`jobota`); local
//! ids are an agency's own case numbers; subject, household, record, section and consent ids are
//! UUIDs minted by the hub.
//!
//! Look-alikes are one id, or refused, never two: slugs are plain ASCII, so anything else
//! (full-width letters, invisible characters, spaces) is refused; local ids are normalised (NFKC,
//! dashes to `-`, whitespace trimmed and collapsed) after invisible and control characters are
//! refused, so `ＲＳＣ－０００１` and `RSC-0001` name the same subject. No id may be (or contain)
//! an individual number (My Number), in any spelling [`super::my_number`] recognises.

use serde::{Deserialize, Serialize};
use std::fmt;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::{ValidationError, my_number};

/// The error for an id that is (or contains) an individual number.
fn my_number_refused(field: &str) -> ValidationError {
    ValidationError::new(
        field,
        "my_number_refused",
        "looks like an individual number (My Number); it is never an id and the hub never stores one",
    )
}

/// Parses a slug: 1..=64 chars of `a-z`, `0-9`, `-`, `_`, `.`, starting with a letter or digit,
/// and not an individual number (`123456789018`, `1234-5678-9018`).
fn parse_slug(field: &str, s: &str) -> Result<String, ValidationError> {
    let ok_len = !s.is_empty() && s.len() <= 64;
    let ok_chars = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
    let ok_start = s
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok_len && ok_chars && ok_start {
        if my_number::contains_individual_number(s) {
            return Err(my_number_refused(field));
        }
        Ok(s.to_owned())
    } else {
        Err(ValidationError::new(
            field,
            "invalid_id",
            "must be 1-64 characters of a-z, 0-9, '-', '_' or '.', starting with a letter or digit",
        ))
    }
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, ValidationError> {
                parse_slug($field, s).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

slug_id!(
    /// An agency (`jobota`, `regional-support-centre`): the unit staff belong to and that owns records.
    AgencyId, "agency"
);
slug_id!(
    /// An organ (機関): the legal unit holding personal information under the APPI.
    OrganId, "organ"
);
slug_id!(
    /// A user as named by the token issuer (`sub`).
    UserId, "user"
);

/// An agency's own id for a person (case number, e.g. `RSC-0001`), as it links a subject.
///
/// Refused: invisible and format characters (category Cf: zero-width spaces, BOM, bidi marks
/// such as RLM or RLO; other controls, including tabs and newlines; variation selectors and
/// other default-ignorable characters; private-use and unassigned code points), `/`, more than
/// [`LocalId::MAX_CHARS`] characters, and individual numbers. Normalised: NFKC (full-width
/// letters and digits become ASCII, NBSP and the ideographic space a plain space), every dash
/// (U+2010–U+2015, minus signs, small and full-width hyphens) becomes `-`, and surrounding
/// whitespace is trimmed and inner runs collapse to one space. Stored and compared in that form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct LocalId(String);

impl LocalId {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "local_id";
        if s.chars().any(is_hidden) {
            return Err(ValidationError::new(
                FIELD,
                "invisible_characters",
                "contains invisible, format or control characters (e.g. zero-width space, BOM, \
                 bidi marks, tabs, newlines)",
            ));
        }
        let mut out = String::with_capacity(s.len());
        let mut pending_space = false;
        for c in s.nfkc() {
            if c.is_whitespace() {
                pending_space = !out.is_empty();
                continue;
            }
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(if is_dash(c) { '-' } else { c });
        }
        if out.is_empty() {
            return Err(ValidationError::new(FIELD, "empty", "must not be empty"));
        }
        // NFKC may itself produce a hidden character from a visible one (rare compatibility
        // mappings); check the result too.
        if out.chars().count() > Self::MAX_CHARS || out.contains('/') || out.chars().any(is_hidden) {
            return Err(ValidationError::new(
                FIELD,
                "invalid_local_id",
                format!("at most {} characters, no '/'", Self::MAX_CHARS),
            ));
        }
        if my_number::contains_individual_number(s) || my_number::contains_individual_number(&out) {
            return Err(my_number_refused(FIELD));
        }
        Ok(Self(out))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for LocalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Characters an id may not contain because they do not show, or show as something else:
/// controls (tabs and newlines included), format characters (Cf), line and paragraph separators,
/// private-use, surrogate and unassigned code points, and the default-ignorable marks and fillers.
fn is_hidden(c: char) -> bool {
    if c.is_ascii() {
        // In ASCII only the controls (Cc) are hidden.
        return c.is_ascii_control();
    }
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
            | GeneralCategory::Unassigned
    ) || matches!(
        c,
        '\u{034F}' // combining grapheme joiner
            | '\u{115F}'..='\u{1160}' // Hangul fillers
            | '\u{17B4}'..='\u{17B5}' // Khmer inherent vowels
            | '\u{180B}'..='\u{180F}' // Mongolian variation selectors and vowel separator
            | '\u{3164}' // Hangul filler
            | '\u{FE00}'..='\u{FE0F}' // variation selectors
            | '\u{FFA0}' // half-width Hangul filler
            | '\u{2800}' // braille blank
            | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
    )
}

/// Dashes that look like `-`: U+2010–U+2015, minus signs, small and full-width hyphen-minus.
/// (`ー`, the katakana prolonged sound mark, is a letter in a local id and stays.)
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '\u{2010}'
            ..='\u{2015}' | '\u{2212}' | '\u{02D7}' | '\u{2043}' | '\u{2796}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}'
    )
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            pub fn new_random() -> Self {
                Self(uuid::Uuid::new_v4())
            }
            pub fn parse(s: &str) -> Result<Self, ValidationError> {
                uuid::Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| ValidationError::new($field, "invalid_id", "must be a UUID"))
            }
            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A person being supported (支援対象者), as known to the hub.
    SubjectId, "subject_id"
);
uuid_id!(
    /// A household (世帯): subjects who live and are supported together.
    HouseholdId, "household_id"
);
uuid_id!(
    /// A case record owned by one agency.
    RecordId, "record_id"
);
uuid_id!(
    /// One section of a record; carries exactly one data category.
    SectionId, "section_id"
);
uuid_id!(
    /// A recorded consent (本人同意).
    ConsentId, "consent_id"
);
uuid_id!(
    /// A standing body: a support meeting (支援会議) or a statutory conference.
    BodyId, "body_id"
);
uuid_id!(
    /// One dated session of a body.
    SessionId, "session_id"
);
uuid_id!(
    /// A support plan (支援プラン) held by a team (issue 11).
    PlanId, "plan_id"
);
uuid_id!(
    /// An item on a session's agenda (one subject or household).
    AgendaItemId, "agenda_item_id"
);
uuid_id!(
    /// An information request of a session to an agency (Art. 106-6(3)).
    InfoRequestId, "info_request_id"
);
uuid_id!(
    /// An abuse report (legal reporting duty).
    ReportId, "report_id"
);
uuid_id!(
    /// A break-glass emergency grant.
    GrantId, "grant_id"
);
uuid_id!(
    /// A referral (つなぎ) of a person from one agency to another (docs/rules.md#R-T1).
    ReferralId, "referral_id"
);
uuid_id!(
    /// A note on a plan's team timeline (shared case notes, docs/rules.md#R-T9).
    NoteId, "note_id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_the_default_agencies_and_refuse_the_rest() {
        for ok in ["jobota", "regional-support-centre", "child-services", "a1", "x.y_z"] {
            assert!(AgencyId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "JOBOTA", "-x", "a b", "a/b", "ジョボタ", &"a".repeat(65)] {
            let err = AgencyId::parse(bad).unwrap_err();
            assert_eq!(err.code, "invalid_id", "{bad}");
        }
    }

    #[test]
    fn slugs_refuse_my_numbers_in_any_spelling() {
        for bad in [
            "123456789018",
            "1234-5678-9018",
            "1234.5678.9018",
            "u-123456789018",
            "1234_5678_9018",
        ] {
            let err = UserId::parse(bad).unwrap_err();
            assert_eq!(err.code, "my_number_refused", "{bad}");
            assert_eq!(err.field, "user");
        }
        // Twelve digits without a valid check digit are an ordinary id.
        assert!(UserId::parse("123456789012").is_ok());
        assert!(UserId::parse("cw-2024-0001").is_ok());
    }

    #[test]
    fn slugs_refuse_look_alikes() {
        for bad in [
            "jobota\u{200B}",
            "\u{FEFF}jobota",
            "jobota\u{200F}",
            "ｊｏｂｏｔａ",
            " jobota",
            "jobota ",
            "job\u{2010}ota",
            "jоbota", // Cyrillic о
        ] {
            assert_eq!(AgencyId::parse(bad).unwrap_err().code, "invalid_id", "{bad:?}");
        }
    }

    #[test]
    fn local_ids_normalise_look_alikes_to_one_id() {
        let canonical = LocalId::parse("RSC-0001").unwrap();
        for same in [
            "ＲＳＣ－０００１",
            "ＲＳＣ-０００１",
            "RSC\u{2010}0001",
            "RSC\u{2011}0001",
            "RSC\u{2212}0001",
            "RSC\u{FF0D}0001",
            " RSC-0001",
            "RSC-0001 ",
            "\u{3000}RSC-0001\u{A0}",
        ] {
            assert_eq!(LocalId::parse(same).unwrap(), canonical, "{same:?}");
        }
        assert_eq!(LocalId::parse("case  12").unwrap().as_str(), "case 12");
        assert_eq!(LocalId::parse("センター-１").unwrap().as_str(), "センター-1");
    }

    #[test]
    fn local_ids_refuse_invisible_characters() {
        for bad in [
            "RSC\u{200B}-0001",
            "\u{FEFF}RSC-0001",
            "\u{200F}RSC-0001",
            "RSC-0001\u{200E}",
            "\u{202E}1000-CSR",
            "RSC\u{2066}-0001",
            "RSC\u{00AD}-0001",
            "RSC\u{2060}-0001",
            "RSC-0001\u{FE0F}",
            "RSC\t0001",
            "RSC\n0001",
            "RSC\u{0007}0001",
            "RSC\u{E000}0001",
        ] {
            assert_eq!(LocalId::parse(bad).unwrap_err().code, "invisible_characters", "{bad:?}");
        }
        assert_eq!(LocalId::parse("   ").unwrap_err().code, "empty");
        assert_eq!(LocalId::parse("a/b").unwrap_err().code, "invalid_local_id");
        assert_eq!(LocalId::parse("ａ／ｂ").unwrap_err().code, "invalid_local_id");
        assert_eq!(LocalId::parse(&"x".repeat(65)).unwrap_err().code, "invalid_local_id");
        assert_eq!(
            LocalId::parse("5260ー4421ー3780").unwrap_err().code,
            "my_number_refused"
        );
        assert_eq!(
            LocalId::parse("RSC 526044213780").unwrap_err().code,
            "my_number_refused"
        );
    }

    /// The full-width form of an ASCII string (U+FF01..U+FF5E for '!'..'~', U+3000 for ' ').
    fn full_width(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                ' ' => '\u{3000}',
                '!'..='~' => char::from_u32(u32::from(c) - 0x21 + 0xFF01).unwrap(),
                other => other,
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn a_local_id_and_its_look_alikes_are_one_id(
            id in "[A-Za-z][A-Za-z0-9]{0,6}(-[A-Za-z0-9]{1,6}){0,3}",
            pad in "[ \u{3000}\u{A0}]{0,3}",
        ) {
            let plain = LocalId::parse(&id);
            proptest::prop_assume!(plain.is_ok());
            let plain = plain.unwrap();
            for look_alike in [
                full_width(&id),
                id.replace('-', "\u{2010}"),
                id.replace('-', "\u{2212}"),
                format!("{pad}{id}{pad}"),
            ] {
                proptest::prop_assert_eq!(LocalId::parse(&look_alike).unwrap(), plain.clone(), "{:?}", look_alike);
            }
            for hidden in ["\u{200B}", "\u{FEFF}", "\u{200F}", "\u{202E}", "\u{2060}"] {
                let with_hidden = format!("{id}{hidden}");
                proptest::prop_assert_eq!(LocalId::parse(&with_hidden).unwrap_err().code, "invisible_characters");
            }
        }

        #[test]
        fn a_parsed_local_id_is_already_normal(s in "\\PC{0,40}") {
            if let Ok(id) = LocalId::parse(&s) {
                proptest::prop_assert_eq!(LocalId::parse(id.as_str()).unwrap(), id);
            }
        }
    }

    #[test]
    fn uuid_ids_round_trip() {
        let id = SubjectId::new_random();
        assert_eq!(SubjectId::parse(&id.to_string()).unwrap(), id);
        assert!(SubjectId::parse("not-a-uuid").is_err());
    }
}
