//! The console's languages: Japanese first, English second, chosen by the person (a cookie set
//! from the language switch; before any choice, the browser's `Accept-Language`, else Japanese).
//! Strings live in Fluent files under `locales/<lang>/*.ftl` (one per area of the console),
//! compiled into the binary;
//! `tests` check that both languages have the same keys and that every refusal and withholding
//! reason of the disclosure decision has a sentence in each.

use std::borrow::Cow;
use std::collections::HashMap;

use actix_web::HttpRequest;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "ja",
        // No Unicode isolation marks around arguments: the text goes into HTML, escaped.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The name of the cookie that keeps the language choice (not a secret; `__Host-` so that no
/// other origin can set it).
pub const LANG_COOKIE: &str = "__Host-tsunagi-lang";

/// A console language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    Ja,
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::Ja, Locale::En];

    pub fn code(self) -> &'static str {
        match self {
            Locale::Ja => "ja",
            Locale::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ja" => Some(Locale::Ja),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    fn id(self) -> LanguageIdentifier {
        match self {
            Locale::Ja => fluent_templates::langid!("ja"),
            Locale::En => fluent_templates::langid!("en"),
        }
    }

    /// The person's choice (cookie), else the browser's first supported language, else Japanese.
    pub fn of_request(req: &HttpRequest) -> Self {
        if let Some(l) = req.cookie(LANG_COOKIE).and_then(|c| Locale::parse(c.value())) {
            return l;
        }
        let accept = req
            .headers()
            .get(actix_web::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for part in accept.split(',') {
            let tag = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if tag.starts_with("ja") {
                return Locale::Ja;
            }
            if tag.starts_with("en") {
                return Locale::En;
            }
        }
        Locale::Ja
    }
}

/// Looks strings up in one language; templates get one of these as `t`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub locale: Locale,
}

impl Tr {
    pub fn new(locale: Locale) -> Self {
        Self { locale }
    }

    /// The `lang` attribute of the page.
    pub fn lang(&self) -> &'static str {
        self.locale.code()
    }

    /// The string `key`; the key itself when missing (a test keeps that from happening).
    pub fn get(&self, key: &str) -> String {
        LOCALES
            .try_lookup(&self.locale.id(), key)
            .unwrap_or_else(|| key.to_owned())
    }

    /// The string `key` with one named argument.
    pub fn get1(&self, key: &str, name: &'static str, value: &str) -> String {
        self.with(key, &[(name, value)])
    }

    /// The string `key` with named arguments.
    pub fn with(&self, key: &str, args: &[(&'static str, &str)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue<'_>> = args
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), FluentValue::from(v.to_string())))
            .collect();
        LOCALES
            .try_lookup_with_args(&self.locale.id(), key, &map)
            .unwrap_or_else(|| key.to_owned())
    }

    /// Whether `key` exists in this language (no fallback).
    pub fn has(&self, key: &str) -> bool {
        LOCALES
            .try_lookup(&self.locale.id(), key)
            .is_some_and(|s| !s.is_empty())
    }

    /// The sentence for an error or reason code (`code-<code>`), or the generic one naming the
    /// code.
    pub fn reason(&self, code: &str) -> String {
        let key = format!("code-{code}");
        if self.has(&key) {
            self.get(&key)
        } else {
            self.get1("code-unknown", "code", code)
        }
    }

    /// A role's name for people.
    pub fn role(&self, role: crate::domain::Role) -> String {
        self.get(&format!("role-{}", role.as_str()))
    }

    /// A category's name for people.
    pub fn category(&self, c: crate::domain::Category) -> String {
        self.get(&format!("category-{}", c.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::decision::{RefusalReason, WithheldReason};

    /// Every message key of every `.ftl` file of one language (each area of the console has
    /// its own file).
    fn keys(lang: &str) -> std::collections::BTreeSet<String> {
        let dir = format!("{}/locales/{lang}", env!("CARGO_MANIFEST_DIR"));
        let mut keys = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            keys.extend(
                text.lines()
                    .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
                    .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned())),
            );
        }
        keys
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let ja = keys("ja");
        let en = keys("en");
        assert!(ja.len() > 20, "the Japanese file is loaded");
        let only_ja: Vec<_> = ja.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&ja).collect();
        assert!(
            only_ja.is_empty() && only_en.is_empty(),
            "ja only: {only_ja:?}; en only: {only_en:?}"
        );
    }

    #[test]
    fn every_refusal_and_withholding_reason_has_a_sentence_in_each_language() {
        for l in Locale::ALL {
            let t = Tr::new(l);
            for r in RefusalReason::ALL {
                assert!(
                    t.has(&format!("code-{}", r.code())),
                    "{}: refusal {}",
                    l.code(),
                    r.code()
                );
            }
            for w in WithheldReason::ALL {
                assert!(
                    t.has(&format!("code-{}", w.code())),
                    "{}: withheld {}",
                    l.code(),
                    w.code()
                );
            }
        }
    }

    #[test]
    fn every_role_and_category_has_a_name() {
        for l in Locale::ALL {
            let t = Tr::new(l);
            for r in crate::domain::Role::ALL {
                assert!(
                    t.has(&format!("role-{}", r.as_str())),
                    "{}: role {}",
                    l.code(),
                    r.as_str()
                );
            }
            for c in crate::domain::Category::ALL {
                assert!(
                    t.has(&format!("category-{}", c.as_str())),
                    "{}: {}",
                    l.code(),
                    c.as_str()
                );
            }
        }
    }

    #[test]
    fn japanese_is_the_default_and_arguments_are_not_isolated() {
        let t = Tr::new(Locale::Ja);
        assert_eq!(t.lang(), "ja");
        let s = t.reason("no_such_code_at_all");
        assert!(s.contains("no_such_code_at_all"), "{s}");
        assert!(!s.contains('\u{2068}'), "no isolation marks: {s:?}");
    }
}
