//! Detects individual numbers (個人番号, "My Number") in text so the hub can refuse them: the hub
//! never stores one (docs/rules.md#R-C4).
//!
//! A candidate is twelve digits written either contiguously (not part of a longer digit run) or
//! as three groups of four separated by a single space or hyphen (half- or full-width); full-width
//! digits count. A candidate is refused when its twelfth digit is the check digit defined for
//! individual numbers (総務省令 第5条), which every real My Number satisfies — this keeps false
//! alarms on unrelated twelve-digit numbers to about one in eleven.

/// True when `text` contains something that looks like an individual number.
pub fn contains_individual_number(text: &str) -> bool {
    let groups = digit_groups(text);
    for (i, g) in groups.iter().enumerate() {
        if g.digits.len() == 12 && is_valid_my_number(&g.digits) {
            return true;
        }
        // 4-4-4 written with single separators.
        if g.digits.len() == 4
            && let (Some(b), Some(c)) = (groups.get(i + 1), groups.get(i + 2))
            && b.joined_to_previous
            && c.joined_to_previous
            && b.digits.len() == 4
            && c.digits.len() == 4
        {
            let all: Vec<u8> = g.digits.iter().chain(&b.digits).chain(&c.digits).copied().collect();
            if is_valid_my_number(&all) {
                return true;
            }
        }
    }
    false
}

/// True when the twelve digits carry a valid My Number check digit.
pub fn is_valid_my_number(digits: &[u8]) -> bool {
    if digits.len() != 12 || digits.iter().any(|d| *d > 9) {
        return false;
    }
    let Some((&check_digit, first_eleven)) = digits.split_last() else {
        return false;
    };
    // P_n is the n-th digit counting from the right of the first eleven; Q_n = n+1 (n<=6), n-5 (n>=7).
    let sum: u32 = first_eleven
        .iter()
        .rev()
        .zip(1..=11u32)
        .map(|(&d, n)| {
            let p = u32::from(d);
            let q = if n <= 6 { n + 1 } else { n - 5 };
            p * q
        })
        .sum();
    let r = sum % 11;
    let check = if r <= 1 { 0 } else { 11 - r };
    u32::from(check_digit) == check
}

struct Group {
    digits: Vec<u8>,
    /// The group follows the previous one across exactly one separator character.
    joined_to_previous: bool,
}

fn digit_value(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '\u{FF10}'..='\u{FF19}' => u8::try_from(u32::from(c) - 0xFF10).ok(),
        _ => None,
    }
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '\u{3000}' | '\u{FF0D}' | '\u{2010}' | '\u{2212}')
}

fn digit_groups(text: &str) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    // Characters since the last digit group ended: None = nothing yet / non-separator seen.
    let mut gap: Option<usize> = None;
    let mut joined = false;
    for c in text.chars() {
        if let Some(d) = digit_value(c) {
            if current.is_empty() {
                joined = gap == Some(1) && !groups.is_empty();
            }
            current.push(d);
        } else {
            if !current.is_empty() {
                groups.push(Group {
                    digits: std::mem::take(&mut current),
                    joined_to_previous: joined,
                });
                gap = Some(0);
            }
            gap = match (gap, is_separator(c)) {
                (Some(n), true) => Some(n + 1),
                _ => None,
            };
        }
    }
    if !current.is_empty() {
        groups.push(Group {
            digits: current,
            joined_to_previous: joined,
        });
    }
    groups
}

#[cfg(test)]
mod tests {
    #![expect(clippy::string_slice, reason = "tests slice ASCII fixtures at known positions")]

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

    #[test]
    fn known_check_digit() {
        assert!(is_valid_my_number(&digits("123456789018")));
        assert!(!is_valid_my_number(&digits("123456789012")));
    }

    #[test]
    fn finds_numbers_in_the_forms_people_write_them() {
        assert!(contains_individual_number("123456789018"));
        assert!(contains_individual_number("番号は1234-5678-9018です"));
        assert!(contains_individual_number("1234 5678 9018"));
        assert!(contains_individual_number("１２３４５６７８９０１８"));
        assert!(contains_individual_number("１２３４－５６７８－９０１８"));
    }

    #[test]
    fn leaves_ordinary_numbers_alone() {
        assert!(!contains_individual_number("03-1234-5678"));
        assert!(!contains_individual_number("1234567890181")); // 13 digits
        assert!(!contains_individual_number("123456789012")); // bad check digit
        assert!(!contains_individual_number("1234  5678  9018")); // not the printed form
        assert!(!contains_individual_number("born 1946-04-01, visited 2026-11-02"));
        assert!(!contains_individual_number(""));
    }

    proptest! {
        #[test]
        fn every_valid_number_is_found_wherever_it_stands(
            eleven in proptest::collection::vec(0u8..10, 11),
            prefix in "[a-zあ-ん ]{0,8}",
            suffix in "[a-zあ-ん ]{0,8}",
            grouped in any::<bool>(),
        ) {
            let d = with_check(&eleven);
            let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
            let written = if grouped { format!("{}-{}-{}", &s[0..4], &s[4..8], &s[8..12]) } else { s };
            let text = format!("{prefix}{written}{suffix}");
            prop_assert!(contains_individual_number(&text));
        }

        #[test]
        fn never_panics_on_arbitrary_text(s in "\\PC{0,64}") {
            let _ = contains_individual_number(&s);
        }
    }
}
