//! Validated free text: purposes and notes. Every text that enters the hub passes through here,
//! so the My Number refusal and control-character checks cannot be forgotten by a handler.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::{ValidationError, my_number};

fn validate(field: &str, s: &str, max_chars: usize, multiline: bool) -> Result<(), ValidationError> {
    if s.trim().is_empty() {
        return Err(ValidationError::new(field, "empty", "must not be empty"));
    }
    if s.chars().count() > max_chars {
        return Err(ValidationError::new(
            field,
            "too_long",
            format!("must be at most {max_chars} characters"),
        ));
    }
    let bad_control = s
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')));
    if bad_control {
        return Err(ValidationError::new(
            field,
            "control_characters",
            "contains control characters",
        ));
    }
    if my_number::contains_individual_number(s) {
        return Err(ValidationError::new(
            field,
            "my_number_refused",
            "looks like an individual number (My Number); the hub never stores one",
        ));
    }
    Ok(())
}

/// The purpose of a use or disclosure (利用目的), e.g. "employment support". Compared
/// case-insensitively with whitespace collapsed, so "Employment  support" names the same purpose.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Purpose(String);

impl Purpose {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        validate("purpose", s, 200, false)?;
        Ok(Self(s.split_whitespace().collect::<Vec<_>>().join(" ")))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn same_purpose(&self, other: &Purpose) -> bool {
        self.0.to_lowercase() == other.0.to_lowercase()
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Purpose {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Multi-line free text (case notes, evidence references, reasons): at most 64 KiB of
/// characters, tabs and newlines allowed, no individual numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FreeText(String);

impl FreeText {
    pub const MAX_CHARS: usize = 65_536;

    pub fn parse(field: &str, s: &str) -> Result<Self, ValidationError> {
        validate(field, s, Self::MAX_CHARS, true)?;
        Ok(Self(s.to_owned()))
    }
    /// Free text under a field's own, lower limit of `max` characters (a name, a reason):
    /// `too_long` before any other check, then the checks of [`FreeText::parse`].
    pub fn bounded(field: &str, s: &str, max: usize) -> Result<Self, ValidationError> {
        if s.chars().count() > max {
            return Err(ValidationError::new(
                field,
                "too_long",
                format!("at most {max} characters"),
            ));
        }
        Self::parse(field, s)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_compare_loosely_but_validate_strictly() {
        let a = Purpose::parse("Employment  support").unwrap();
        let b = Purpose::parse("employment support").unwrap();
        assert!(a.same_purpose(&b));
        assert_eq!(Purpose::parse("   ").unwrap_err().code, "empty");
        assert_eq!(Purpose::parse("a\u{0007}b").unwrap_err().code, "control_characters");
        assert_eq!(Purpose::parse(&"x".repeat(201)).unwrap_err().code, "too_long");
    }

    #[test]
    fn free_text_refuses_my_number() {
        let err = FreeText::parse("note", "個人番号 1234 5678 9018 を確認").unwrap_err();
        assert_eq!(err.code, "my_number_refused");
        assert!(FreeText::parse("note", "line one\nline two").is_ok());
    }

    #[test]
    fn bounded_text_says_its_own_limit_first() {
        let err = FreeText::bounded("name", &" ".repeat(201), 200).unwrap_err();
        assert_eq!((err.code, err.message.as_str()), ("too_long", "at most 200 characters"));
        assert_eq!(FreeText::bounded("name", " ", 200).unwrap_err().code, "empty");
        assert_eq!(FreeText::bounded("name", "佐藤", 2).unwrap().as_str(), "佐藤");
    }
}
