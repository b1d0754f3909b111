//! A browser-like client for the console's HTML-level tests: the agency's client certificate,
//! a cookie jar of its own, no automatic redirects, and the headers a browser sends on a form
//! (`Origin`, `Sec-Fetch-Site: same-origin`).

use std::collections::BTreeMap;

use super::helpers::{TestApp, dev};

/// One page as the browser got it.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    pub fn location(&self) -> String {
        self.header("location")
    }

    /// The value of the first `<input name="csrf" value="…">` on the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a form with a csrf token") + marker.len();
        let rest = &self.body[start..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

pub struct Browser {
    client: reqwest::Client,
    base: String,
    origin: String,
    pub cookies: BTreeMap<String, String>,
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Browser {
    /// A browser on `agency`'s terminal (its client certificate).
    pub fn new(app: &TestApp, agency: &str) -> Self {
        let cert = dev(&format!("clients/{agency}.pem"));
        let key = dev(&format!("clients/{agency}.key"));
        let tls = tsunagi::tls::client_config(&dev("ca.pem"), Some((&cert, &key))).unwrap();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            client,
            base: app.url(""),
            origin: format!("https://localhost:{}", app.port),
            cookies: BTreeMap::new(),
        }
    }

    /// The same cookies on another agency's terminal.
    pub fn on_terminal_of(&self, app: &TestApp, agency: &str) -> Self {
        let mut b = Self::new(app, agency);
        b.cookies = self.cookies.clone();
        b
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, r: reqwest::Response) -> Page {
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        Page {
            status,
            headers,
            body: r.text().await.unwrap_or_default(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let r = self
            .client
            .get(format!("{}{}", self.base, path))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.finish(r).await
    }

    /// Follows redirects (GET) from `page` until a page that is not one, at most five.
    pub async fn follow(&mut self, mut page: Page) -> Page {
        for _ in 0..5 {
            if page.status != 303 && page.status != 302 {
                break;
            }
            let to = page.location();
            page = self.get(&to).await;
        }
        page
    }

    /// Posts a form as a browser does from a page of this origin.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_with(
            path,
            form,
            &[("origin", &self.origin.clone()), ("sec-fetch-site", "same-origin")],
        )
        .await
    }

    /// Posts a form with the given extra headers (e.g. none, or a foreign origin).
    pub async fn post_with(&mut self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut req = self
            .client
            .post(format!("{}{}", self.base, path))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        self.finish(r).await
    }

    /// Logs in with the development login as `user` with `role`; returns the home page.
    pub async fn login(&mut self, user: &str, role: &str) -> Page {
        let page = self.post("/console/login/dev", &[("user", user), ("role", role)]).await;
        assert_eq!(page.status, 303, "dev login: {}", page.body);
        assert_eq!(page.location(), "/console/");
        self.follow(page).await
    }
}
