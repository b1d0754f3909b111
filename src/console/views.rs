//! What every console page shares: the layout's data ([`Chrome`]), the signed-in person's
//! header and navigation, the tasks each role has, and rendering a template into a response
//! (HTML, never cached, never compressed).

use actix_web::HttpResponse;
use actix_web::http::header;
use askama::Template;

use super::error::ConsoleError;
use super::i18n::Tr;
use super::session::ConsoleUser;
use crate::domain::Role;

/// A link in the navigation and on the home page.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: String,
    pub label: String,
    pub desc: String,
}

/// The signed-in person as the header shows them.
#[derive(Debug, Clone)]
pub struct UserView {
    /// "user (agency)".
    pub label: String,
    pub roles: String,
    pub development: bool,
    pub csrf: String,
    pub nav: Vec<NavItem>,
}

/// The layout's data: the person (if signed in), the current path (for the language switch and
/// the navigation's `aria-current`), and a one-line notice after a redirect.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub user: Option<UserView>,
    pub path: String,
    pub notice: Option<String>,
}

impl Chrome {
    /// For a page seen without a session (login, errors before login).
    pub fn anonymous(path: &str) -> Self {
        Self {
            user: None,
            path: local_path(path),
            notice: None,
        }
    }

    /// For a signed-in person's page at `path`.
    pub fn of(user: &ConsoleUser, path: &str) -> Self {
        let t = user.tr;
        let p = &user.principal;
        Self {
            user: Some(UserView {
                label: t.with(
                    "signed-in-as",
                    &[("user", p.user.as_str()), ("agency", user.agency_name.as_str())],
                ),
                roles: p.roles.iter().map(|r| t.role(*r)).collect::<Vec<_>>().join("・"),
                development: user.development,
                csrf: user.csrf.clone(),
                nav: tasks(&t, &p.roles),
            }),
            path: local_path(path),
            notice: None,
        }
    }

    pub fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }
}

/// An agency's registered name for people: the registry holds "日本語名 (English name)"; a
/// Japanese page shows the Japanese part, an English page the whole name.
pub fn agency_display_name(registered: &str, lang: &str) -> String {
    match (lang, registered.split_once(" (")) {
        ("ja", Some((ja, _))) if !ja.trim().is_empty() => ja.trim().to_owned(),
        _ => registered.to_owned(),
    }
}

/// `path` if it is a console path, else the console home: where the language switch may send
/// the browser back to (never another site).
pub fn local_path(path: &str) -> String {
    let ok = path.starts_with("/console/")
        && !path.starts_with("/console//")
        && !path.contains('\\')
        && path.chars().all(|c| c.is_ascii_graphic());
    if ok { path.to_owned() } else { "/console/".to_owned() }
}

/// The console's areas each role works in, in the order of the home page.
pub fn tasks(t: &Tr, roles: &[Role]) -> Vec<NavItem> {
    let has = |r: Role| roles.contains(&r);
    let mut v = Vec::new();
    let mut add = |href: &str, key: &str| {
        v.push(NavItem {
            href: href.to_owned(),
            label: t.get(key),
            desc: t.get(&format!("{key}-desc")),
        });
    };
    if has(Role::Caseworker) || has(Role::Supervisor) {
        add("/console/persons", "task-persons");
        add("/console/plans", "task-plans");
        add("/console/notifications", "task-notifications");
    }
    if has(Role::Caseworker) || has(Role::Supervisor) || has(Role::MeetingSecretariat) {
        add("/console/invitations", "task-invitations");
    }
    if has(Role::MeetingSecretariat) {
        add("/console/meetings", "task-meetings");
    }
    if has(Role::PrivacyOfficer) {
        add("/console/log", "task-log");
        add("/console/grants", "task-grants");
    }
    if has(Role::PolicyAdmin) {
        add("/console/policy", "task-policy");
    }
    if has(Role::Supervisor) || has(Role::PolicyAdmin) {
        add("/console/admin/sessions", "task-sessions-admin");
    }
    v
}

/// Renders a page: `200 text/html`, `Cache-Control: no-store` (the console's security headers
/// come from its middleware).
pub fn page(template: &impl Template) -> Result<HttpResponse, ConsoleError> {
    page_with_status(template, actix_web::http::StatusCode::OK)
}

/// Renders a page with `status`.
pub fn page_with_status(
    template: &impl Template,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let html = template.render()?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html))
}

/// 303 to `location` (POST-redirect-GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// A time for people: `YYYY-MM-DD HH:MM` in Japan time (UTC+9), as wards work in it.
pub fn local_time_ms(ms: i64) -> String {
    let Ok(t) = crate::store::from_ms(ms) else {
        return String::new();
    };
    let jst = t.to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC));
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    jst.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agency_is_named_in_the_pages_language() {
        let name = "地域包括支援センター (regional comprehensive support centre)";
        assert_eq!(agency_display_name(name, "ja"), "地域包括支援センター");
        assert_eq!(agency_display_name(name, "en"), name);
        assert_eq!(agency_display_name("Ward office", "ja"), "Ward office");
    }

    #[test]
    fn the_language_switch_goes_back_only_to_console_paths() {
        assert_eq!(local_path("/console/persons?x=1"), "/console/persons?x=1");
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/console//evil.example",
            "/v1/policy",
            "/console/\\x",
            "/console/a b",
        ] {
            assert_eq!(local_path(bad), "/console/", "{bad}");
        }
    }

    #[test]
    fn every_task_has_a_label_and_a_description_in_both_languages() {
        for l in super::super::i18n::Locale::ALL {
            let t = Tr::new(l);
            for item in tasks(&t, &Role::ALL) {
                assert!(!item.label.starts_with("task-"), "{}", item.label);
                assert!(!item.desc.starts_with("task-"), "{}", item.desc);
            }
        }
    }
}
