//! Detects individual numbers (個人番号, "My Number") in text so the hub can refuse them: the hub
//! never stores one (docs/rules.md#R-C4; Act on the Use of Numbers to Identify a Specific
//! Individual: an agency of this hub has no statutory use for it, so holding one would be
//! unlawful collection).
//!
//! Detection runs on a normalised form of the text, so the spellings people (and attackers) use
//! all look the same:
//!
//! 1. NFKC (`unicode-normalization`): full-width `１２３`, mathematical `𝟏𝟐𝟑`, circled and
//!    super/subscript digits become ASCII; `ｰ` becomes `ー`; NBSP and `　` become spaces.
//! 2. Digits: every Unicode decimal digit (general category Nd, e.g. Arabic-Indic `٥٢٦٠`,
//!    Devanagari, Thai) maps to its value through [`ND_ZEROS`], a table of the zero code points
//!    of every Nd run generated from the Unicode character database (a unit test checks it
//!    against the `unicode-properties` crate's general categories, so a Unicode update that adds
//!    digits fails the build's tests); kanji numerals `〇一二三四五六七八九`, `零` and
//!    `壱弐参` map to 0–9.
//! 3. Invisible characters are removed as if absent: general categories Cf (zero-width spaces
//!    and joiners, BOM, bidi marks, soft hyphen, tags), Mn and Me (combining and enclosing marks,
//!    variation selectors), Cc other than whitespace, and the Hangul fillers.
//! 4. Separators split digits into groups: whitespace (including newlines and NBSP), every
//!    dash-like character (category Pd, minus signs, `ー`, box-drawing lines), dots (`.`, `・`,
//!    `·`, `•`), slashes and underscores. At most [`MAX_GAP`] separator characters may stand
//!    between two groups of one number.
//!
//! A candidate is a run of consecutive groups totalling exactly twelve digits, written in a shape
//! people use for numbers: one contiguous run (not part of a longer one), groups of equal size
//! (4-4-4, 3-3-3-3, 2-2-…, one digit at a time), 8+4 or 4+8, or any grouping with the same
//! separator between every group. It is refused only when its twelfth digit is the check digit
//! defined for individual numbers (総務省令 第5条), which every real My Number satisfies: an
//! unrelated twelve-digit number passes the check about one time in eleven, and text whose digit
//! groups do not add up to twelve in one of those shapes (dates, phone numbers, postal codes,
//! amounts) never triggers it.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Most separator characters allowed between two digit groups of one number (e.g. " - ",
/// "\r\n", two spaces).
pub const MAX_GAP: usize = 4;

/// The zero of every run of Unicode decimal digits (general category Nd), ascending; each run is
/// ten consecutive code points 0–9 (a Unicode stability guarantee). Generated from the Unicode
/// Character Database; `nd_table_covers_every_decimal_digit` checks it against
/// `unicode-properties`.
const ND_ZEROS: &[u32] = &[
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6, 0xE50, 0xED0,
    0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620,
    0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30, 0x10D40, 0x11066, 0x110F0, 0x11136,
    0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x116D0, 0x116DA, 0x11730, 0x118E0, 0x11950, 0x11BF0,
    0x11C50, 0x11D50, 0x11DA0, 0x11DE0, 0x11F50, 0x16130, 0x16A60, 0x16AC0, 0x16B50, 0x16D70, 0x1CCF0, 0x1D7CE,
    0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E5F1, 0x1E950, 0x1FBF0,
];

/// True when `text` contains something that looks like an individual number.
pub fn contains_individual_number(text: &str) -> bool {
    let groups = digit_groups(text);
    (0..groups.len()).any(|start| candidate_at(&groups, start))
}

/// True when the twelve digits carry a valid My Number check digit.
pub fn is_valid_my_number(digits: &[u8]) -> bool {
    if digits.len() != 12 || digits.iter().any(|d| *d > 9) {
        return false;
    }
    let Some((&check_digit, first_eleven)) = digits.split_last() else {
        return false;
    };
    // P_n is the n-th digit counting from the right of the first eleven; Q_n = n+1 for n <= 6 and
    // n-5 for n >= 7.
    let sum: u32 = first_eleven
        .iter()
        .rev()
        .zip(1u32..)
        .map(|(p, n)| u32::from(*p) * if n <= 6 { n + 1 } else { n - 5 })
        .sum();
    let r = sum % 11;
    let check = if r <= 1 { 0 } else { 11 - r };
    u32::from(check_digit) == check
}

/// The value of `c` as a decimal digit, after NFKC: any Nd character, or a kanji numeral.
pub fn digit_value(c: char) -> Option<u8> {
    if c.is_ascii() {
        // The common case, without a Unicode table lookup.
        return c
            .is_ascii_digit()
            .then(|| u8::try_from(u32::from(c) - 0x30).ok())
            .flatten();
    }
    let kanji = match c {
        '〇' | '零' => Some(0),
        '一' | '壱' => Some(1),
        '二' | '弐' => Some(2),
        '三' | '参' => Some(3),
        '四' => Some(4),
        '五' => Some(5),
        '六' => Some(6),
        '七' => Some(7),
        '八' => Some(8),
        '九' => Some(9),
        _ => None,
    };
    if kanji.is_some() {
        return kanji;
    }
    if c.general_category() != GeneralCategory::DecimalNumber {
        return None;
    }
    let cp = u32::from(c);
    let zero = ND_ZEROS.iter().rev().find(|z| **z <= cp)?;
    u8::try_from(cp - zero).ok().filter(|v| *v <= 9)
}

/// Characters that do not show (or only decorate another): removed before detection, so a
/// zero-width space between digits joins them.
pub fn is_invisible(c: char) -> bool {
    if c.is_ascii() {
        // No ASCII character is Cf, Mn or Me: only the controls other than whitespace hide.
        return c.is_ascii_control() && !c.is_whitespace();
    }
    matches!(
        c.general_category(),
        GeneralCategory::Format | GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark
    ) || (c.is_control() && !c.is_whitespace())
        || matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}')
}

/// Dash-like characters: category Pd, minus signs, `ー`, horizontal lines.
pub fn is_dash(c: char) -> bool {
    if c.is_ascii() {
        // The only ASCII dash punctuation (Pd).
        return c == '-';
    }
    c.general_category() == GeneralCategory::DashPunctuation
        || matches!(
            c,
            '\u{2212}' // minus sign
                | '\u{02D7}' // modifier letter minus
                | '\u{2043}' // hyphen bullet
                | '\u{2796}' // heavy minus
                | '\u{FE63}' // small hyphen-minus
                | '\u{30FC}' // katakana-hiragana prolonged sound mark ー
                | '\u{2500}' // box drawings light horizontal ─
                | '\u{2501}' // box drawings heavy horizontal ━
                | '\u{23AF}' // horizontal line extension
                | '\u{2015}' // horizontal bar
        )
}

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || is_dash(c)
        || matches!(
            c,
            '.' | '\u{30FB}' // ・
                | '\u{00B7}' // ·
                | '\u{2022}' // •
                | '\u{2027}' // ‧
                | '\u{2219}' // ∙
                | '\u{22C5}' // ⋅
                | '/' | '\\' | '\u{2215}' | '\u{2044}' | '_'
        )
}

/// A maximal run of digits, and the separators between it and the previous group.
#[derive(Debug)]
struct Group {
    digits: Vec<u8>,
    /// The separator characters since the previous group, when only separators (at most
    /// [`MAX_GAP`] of them) stand between the two; `None` when something else does.
    gap: Option<String>,
}

fn digit_groups(text: &str) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    // Separators since the last group ended; None once anything else was seen.
    let mut gap: Option<String> = None;
    let mut current_gap: Option<String> = None;
    // NFKC leaves ASCII as it is: skip the normaliser for the common case.
    let normalised: std::borrow::Cow<'_, str> = if text.is_ascii() {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(text.nfkc().collect())
    };
    for c in normalised.chars() {
        if is_invisible(c) {
            continue;
        }
        if let Some(d) = digit_value(c) {
            if current.is_empty() {
                current_gap = gap
                    .take()
                    .filter(|g| !groups.is_empty() && g.chars().count() <= MAX_GAP);
            }
            current.push(d);
            continue;
        }
        if !current.is_empty() {
            groups.push(Group {
                digits: std::mem::take(&mut current),
                gap: current_gap.take(),
            });
            gap = Some(String::new());
        }
        gap = match gap {
            Some(mut g) if is_separator(c) => {
                if g.chars().count() <= MAX_GAP {
                    g.push(c);
                }
                Some(g)
            }
            _ => None,
        };
    }
    if !current.is_empty() {
        groups.push(Group {
            digits: current,
            gap: current_gap,
        });
    }
    groups
}

/// Whether the groups from `start` on spell a twelve-digit number in an accepted shape with a
/// valid check digit.
fn candidate_at(groups: &[Group], start: usize) -> bool {
    let mut total = 0usize;
    let mut end = start;
    for (i, g) in groups.iter().enumerate().skip(start) {
        if i > start && g.gap.is_none() {
            return false;
        }
        total += g.digits.len();
        end = i;
        if total >= 12 {
            break;
        }
    }
    if total != 12 {
        return false;
    }
    let Some(run) = groups.get(start..=end) else {
        return false;
    };
    let sizes: Vec<usize> = run.iter().map(|g| g.digits.len()).collect();
    let equal_sizes = sizes.windows(2).all(|w| w.first() == w.last());
    let eight_four = sizes == [8, 4] || sizes == [4, 8];
    let gaps: Vec<&str> = run.iter().skip(1).filter_map(|g| g.gap.as_deref()).collect();
    let same_gaps = gaps.windows(2).all(|w| w.first() == w.last());
    if !(equal_sizes || eight_four || same_gaps) {
        return false;
    }
    let digits: Vec<u8> = run.iter().flat_map(|g| g.digits.iter().copied()).collect();
    is_valid_my_number(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn digits(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    /// Appends the check digit to eleven digits.
    fn with_check(eleven: &[u8]) -> Vec<u8> {
        let mut v = eleven.to_vec();
        v.push(0);
        for d in 0..10 {
            v[11] = d;
            if is_valid_my_number(&v) {
                return v;
            }
        }
        unreachable!()
    }

    /// Twelve digits whose last one is *not* the check digit.
    fn with_wrong_check(eleven: &[u8], offset: u8) -> Vec<u8> {
        let mut v = with_check(eleven);
        v[11] = (v[11] + 1 + offset % 9) % 10;
        v
    }

    #[test]
    fn nd_table_covers_every_decimal_digit() {
        let mut zeros = Vec::new();
        let mut run_start: Option<u32> = None;
        for cp in 0..=0x10FFFFu32 {
            let nd = char::from_u32(cp).is_some_and(|c| c.general_category() == GeneralCategory::DecimalNumber);
            match (nd, run_start) {
                (true, None) => run_start = Some(cp),
                (true, Some(s)) if (cp - s) % 10 == 0 => zeros.push(cp),
                (false, Some(_)) => run_start = None,
                _ => {}
            }
            if nd && run_start == Some(cp) {
                zeros.push(cp);
            }
        }
        let table: Vec<u32> = ND_ZEROS.to_vec();
        assert_eq!(table, zeros, "regenerate ND_ZEROS: {zeros:#X?}");
        for z in &table {
            for v in 0..10u8 {
                let c = char::from_u32(z + u32::from(v)).unwrap();
                assert_eq!(digit_value(c), Some(v), "{c:?}");
            }
        }
    }

    #[test]
    fn known_check_digit() {
        assert!(is_valid_my_number(&digits("123456789018")));
        assert!(!is_valid_my_number(&digits("123456789012")));
        assert!(!is_valid_my_number(&digits("12345678901")));
    }

    /// 526044213780 has a valid check digit.
    #[test]
    fn finds_every_spelling_the_attack_used() {
        assert!(is_valid_my_number(&digits("526044213780")));
        for s in [
            "526044213780",
            "5260-4421-3780",
            "5260.4421.3780",
            "5260/4421/3780",
            "5260ー4421ー3780",
            "5260‐4421‐3780",
            "5260–4421–3780",
            "5260—4421—3780",
            "5260−4421−3780",
            "5260ｰ4421ｰ3780",
            "5260\u{A0}4421\u{A0}3780",
            "5260\u{200B}4421\u{200B}3780",
            "5\u{200B}2\u{200B}6\u{200B}0\u{200B}4\u{200B}4\u{200B}2\u{200B}1\u{200B}3\u{200B}7\u{200B}8\u{200B}0",
            "5260\n4421\n3780",
            "5260\r\n4421\r\n3780",
            "52604421 3780",
            "52604421-3780",
            "526-044-213-780",
            "5260  4421  3780",
            "5260 - 4421 - 3780",
            "五二六〇四四二一三七八〇",
            "五二六〇ー四四二一ー三七八〇",
            "５２６０ー４４２１ー３７８０",
            "𝟓𝟐𝟔𝟎𝟒𝟒𝟐𝟏𝟑𝟕𝟖𝟎",
            "٥٢٦٠٤٤٢١٣٧٨٠",
            "۵۲۶۰۴۴۲۱۳۷۸۰",
            "५२६०४४२१३७८०",
            "5 2 6 0 4 4 2 1 3 7 8 0",
            "52 60 44 21 37 80",
            "526044 213780",
            "5260-4421 3780",
            "\u{202E}5260-4421-3780\u{202C}",
            "5\u{0332}2\u{0332}6\u{0332}044213780",
            "番号：５２６０－４４２１－３７８０です",
        ] {
            assert!(contains_individual_number(s), "{s:?}");
        }
    }

    #[test]
    fn finds_numbers_in_the_forms_people_write_them() {
        assert!(contains_individual_number("123456789018"));
        assert!(contains_individual_number("番号は1234-5678-9018です"));
        assert!(contains_individual_number("1234 5678 9018"));
        assert!(contains_individual_number("１２３４５６７８９０１８"));
        assert!(contains_individual_number("１２３４－５６７８－９０１８"));
        assert!(contains_individual_number(
            "tel 03-1234-5678, 番号 1234-5678-9018 03-1234-5678"
        ));
    }

    #[test]
    fn leaves_ordinary_numbers_alone() {
        for s in [
            "03-1234-5678",
            "1234567890181", // 13 digits
            "123456789012",  // bad check digit
            "1234-5678-9012",
            "born 1946-04-01, visited 2026-11-02",
            "2026/11/02 2026/12/01",
            "2026-11-02 10:30 〒123-4567",
            "予約 2026年11月2日 午前10時",
            "一人暮らし、三日に一度の訪問",
            "",
        ] {
            assert!(!contains_individual_number(s), "{s:?}");
        }
        // 4-4-4 followed by more digits: the 4-4-4 is still found.
        assert!(contains_individual_number("5260-4421-3780-9"));
        // Too far apart to be one number.
        assert!(!contains_individual_number("5260      4421      3780"));
        assert!(!contains_individual_number("5260, 4421, 3780"));
    }

    /// Separator strings a writer might put between groups.
    fn separator() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(" ".to_owned()),
            Just("  ".to_owned()),
            Just("-".to_owned()),
            Just(" - ".to_owned()),
            Just(".".to_owned()),
            Just("/".to_owned()),
            Just("ー".to_owned()),
            Just("ｰ".to_owned()),
            Just("－".to_owned()),
            Just("\u{2010}".to_owned()),
            Just("\u{2011}".to_owned()),
            Just("\u{2012}".to_owned()),
            Just("\u{2013}".to_owned()),
            Just("\u{2014}".to_owned()),
            Just("\u{2015}".to_owned()),
            Just("\u{2212}".to_owned()),
            Just("\u{FE58}".to_owned()),
            Just("\u{A0}".to_owned()),
            Just("\u{3000}".to_owned()),
            Just("\n".to_owned()),
            Just("\r\n".to_owned()),
            Just("\u{200B}".to_owned()),
            Just("\u{2060}".to_owned()),
            Just("\u{FEFF}".to_owned()),
            Just("".to_owned()),
        ]
    }

    /// How a digit may be written.
    fn spell_digit(d: u8, script: u8) -> char {
        const KANJI: [char; 10] = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
        let base = match script % 6 {
            0 => 0x30,
            1 => 0xFF10,
            2 => 0x1D7CE,
            3 => 0x660,
            4 => 0x6F0,
            _ => return KANJI[usize::from(d)],
        };
        char::from_u32(base + u32::from(d)).unwrap()
    }

    /// The group sizes of a spelling.
    fn shape() -> impl Strategy<Value = Vec<usize>> {
        prop_oneof![
            Just(vec![12]),
            Just(vec![4, 4, 4]),
            Just(vec![8, 4]),
            Just(vec![4, 8]),
            Just(vec![3, 3, 3, 3]),
            Just(vec![6, 6]),
            Just(vec![2; 6]),
            Just(vec![1; 12]),
        ]
    }

    /// Writes twelve digits in `shape`, with the same separator between every group, or (for
    /// equal-size groups) a different separator each time.
    fn spell(d: &[u8], shape: &[usize], seps: &[String], mixed: bool, script: u8, per_digit_script: bool) -> String {
        let mut out = String::new();
        let mut i = 0;
        for (k, size) in shape.iter().enumerate() {
            if k > 0 {
                let sep = if mixed { &seps[k % seps.len()] } else { &seps[0] };
                out.push_str(sep);
            }
            for _ in 0..*size {
                let s = if per_digit_script {
                    script.wrapping_add(i as u8)
                } else {
                    script
                };
                out.push(spell_digit(d[i], s));
                i += 1;
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn every_spelling_of_a_valid_number_is_found(
            eleven in proptest::collection::vec(0u8..10, 11),
            shape in shape(),
            seps in proptest::collection::vec(separator(), 1..6),
            mixed in any::<bool>(),
            script in any::<u8>(),
            per_digit_script in any::<bool>(),
            prefix in "[a-zA-Zあ-んア-ン漢字 、。:,]{0,12}",
            suffix in "[a-zA-Zあ-んア-ン漢字 、。:,]{0,12}",
        ) {
            let d = with_check(&eleven);
            let mixed = mixed && shape.windows(2).all(|w| w[0] == w[1]);
            // Mixing in separators that are invisible merges groups into other shapes; mixed
            // spellings use visible separators.
            let seps: Vec<String> = if mixed {
                seps.into_iter().map(|s| if s.chars().all(is_invisible) { " ".to_owned() } else { s }).collect()
            } else {
                seps
            };
            let written = spell(&d, &shape, &seps, mixed, script, per_digit_script);
            let text = format!("{prefix} {written} {suffix}");
            prop_assert!(contains_individual_number(&text), "{text:?}");
        }

        #[test]
        fn an_invalid_check_digit_is_not_found(
            eleven in proptest::collection::vec(0u8..10, 11),
            offset in any::<u8>(),
            shape in shape(),
            seps in proptest::collection::vec(separator(), 1..6),
            script in any::<u8>(),
            prefix in "[a-zA-Zあ-ん漢字、。:,]{0,12}",
            suffix in "[a-zA-Zあ-ん漢字、。:,]{0,12}",
        ) {
            let d = with_wrong_check(&eleven, offset);
            let written = spell(&d, &shape, &seps, false, script, false);
            let text = format!("{prefix}、{written}。{suffix}");
            prop_assert!(!contains_individual_number(&text), "{text:?}");
        }

        /// Text without twelve digits in a row (numbers of at most eleven digits, kept apart by
        /// words or punctuation that is not a separator) is never refused.
        #[test]
        fn text_without_a_number_is_not_found(
            parts in proptest::collection::vec(
                prop_oneof!["[a-zA-Zあ-んア-ン漢字 ]{1,10}", "[0-9０-９〇一二三四五六七八九 ./ー-]{0,11}"],
                0..12,
            ),
        ) {
            // Numeric parts, whatever their inner separators, have fewer than twelve digits and
            // are kept apart from each other by a comma.
            let text = parts.join(", ");
            prop_assert!(!contains_individual_number(&text), "{text:?}");
        }

        #[test]
        fn never_panics_on_arbitrary_text(s in "\\PC{0,64}") {
            let _ = contains_individual_number(&s);
        }
    }
}
