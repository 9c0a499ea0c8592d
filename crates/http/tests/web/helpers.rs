//! `TestApp` for the web UI: the real server in-process on a random port, on a fresh database of the chosen
//! backend, and `Browser`s that keep a session cookie and send the headers a browser sends.

use crate::client::Response;
use guanxi_core::access::Role;
use guanxi_http::{AppConfig, AppState};
use guanxi_store::accounts::{self, NewUser};
use guanxi_store::testing::{TestBackend, TestDb};
use uuid::Uuid;

pub struct TestApp {
    pub addr: String,
    pub db: guanxi_store::Db,
    client: crate::client::Client,
    test_db: Option<TestDb>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    pub async fn spawn(backend: TestBackend) -> Option<TestApp> {
        let test_db = TestDb::new(backend).await?;
        let db = test_db.db.clone();
        let state = AppState::new(db.clone(), AppConfig::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            guanxi_http::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .expect("server");
        });
        Some(TestApp {
            addr,
            db,
            client: crate::client::Client::new(),
            test_db: Some(test_db),
            shutdown: Some(tx),
            server: Some(server),
        })
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
        if let Some(t) = self.test_db.take() {
            t.cleanup().await;
        }
    }

    pub async fn team(&self, name: &str) -> Uuid {
        accounts::create_team(&self.db, name).await.expect("team").id
    }

    pub async fn user(&self, email: &str, role: Role, team: Option<Uuid>) -> Uuid {
        let hash = password_hash().await;
        accounts::create_user(
            &self.db,
            &NewUser { email, display_name: email, password_hash: &hash, role, team_id: team, locale: None },
        )
        .await
        .expect("user")
        .id
    }

    /// A browser with no session, asking for `lang` (an Accept-Language value).
    pub fn browser(&self, lang: &str) -> Browser {
        Browser { addr: self.addr.clone(), client: self.client.clone(), cookie: None, lang: lang.to_string() }
    }

    /// A browser signed in as `email`.
    pub async fn signed_in(&self, email: &str, lang: &str) -> Browser {
        let mut b = self.browser(lang);
        let r = b.post("/login", &[("email", email), ("password", PASSWORD), ("next", "/contacts")]).await;
        assert_eq!(r.status(), 303, "login failed");
        b.take_cookie(&r);
        assert!(b.cookie.is_some(), "no session cookie");
        b
    }
}

pub struct Browser {
    pub addr: String,
    client: crate::client::Client,
    pub cookie: Option<String>,
    pub lang: String,
}

impl Browser {
    fn with_headers(&self, rb: crate::client::RequestBuilder) -> crate::client::RequestBuilder {
        let rb = rb.header("accept-language", &self.lang);
        match &self.cookie {
            Some(c) => rb.header("cookie", c),
            None => rb,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.with_headers(self.client.get(format!("{}{}", self.addr, path))).send().await.expect("send")
    }

    /// A form post as a same-origin page sends it.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.post_with(path, form, &[("sec-fetch-site", "same-origin")]).await
    }

    pub async fn post_with(&self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Response {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            body.append_pair(k, v);
        }
        let mut rb = self
            .with_headers(self.client.post(format!("{}{}", self.addr, path)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.finish());
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        rb.send().await.expect("send")
    }

    /// A `multipart/form-data` post (a form with a file input): `(name, file name, content)` per part.
    pub async fn post_multipart(&self, path: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Response {
        const BOUNDARY: &str = "guanxi-test-boundary-7d1c";
        let mut body: Vec<u8> = Vec::new();
        for (name, file, content) in parts {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            let disposition = match file {
                Some(f) => format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/csv\r\n"
                ),
                None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n"),
            };
            body.extend_from_slice(disposition.as_bytes());
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        self.with_headers(self.client.post(format!("{}{}", self.addr, path)))
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .header("sec-fetch-site", "same-origin")
            .body(body)
            .send()
            .await
            .expect("send")
    }

    /// Keeps the session cookie a response sets.
    pub fn take_cookie(&mut self, r: &Response) {
        for v in r.headers().get_all("set-cookie") {
            let s = v.to_str().unwrap_or("");
            if let Some(rest) = s.strip_prefix("guanxi_session=") {
                let value = rest.split(';').next().unwrap_or("");
                self.cookie = (!value.is_empty()).then(|| format!("guanxi_session={value}"));
            }
        }
    }

    pub async fn html(&self, path: &str) -> String {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.text().await.expect("body")
    }
}

static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

async fn password_hash() -> String {
    HASH.get_or_init(|| async { guanxi_http::auth::hash_password(PASSWORD.to_string()).await.expect("hash") })
        .await
        .clone()
}

/// An admin caller for reading the store directly.
pub fn root() -> guanxi_core::access::Actor {
    use guanxi_core::access::{Actor, TokenScope};
    Actor { user_id: Uuid::nil(), team_id: None, role: Role::Admin, scope: TokenScope::ReadWrite }
}

/// A list query for every record.
pub fn everything() -> guanxi_core::filter::ListQuery {
    let params = guanxi_core::filter::ListParams { filters: &[], sort: None, limit: None, cursor: None, q: None };
    guanxi_core::filter::parse_list_query(&params, &[], &[], Uuid::nil()).expect("empty query")
}

/// Posts a form that must succeed; returns the id at the end of the redirect (`/companies/<id>?saved=1`).
pub async fn created(b: &Browser, path: &str, form: &[(&str, &str)]) -> String {
    let r = b.post(path, form).await;
    assert_eq!(r.status(), 303, "{path}: {}", r.text().await.unwrap_or_default());
    let loc = location(&r);
    loc.rsplit('/').next().unwrap_or("").split(['?', '#']).next().unwrap_or("").to_string()
}

pub fn location(r: &Response) -> String {
    r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

/// Runs the body against a `TestApp` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! web_test {
    ($name:ident, |$app:ident : &TestApp| async move $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let owned = $crate::helpers::TestApp::spawn(guanxi_store::testing::TestBackend::Sqlite)
                    .await
                    .expect("sqlite app");
                {
                    let $app = &owned;
                    $body
                }
                owned.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(owned) = $crate::helpers::TestApp::spawn(guanxi_store::testing::TestBackend::Postgres).await
                else {
                    return;
                };
                {
                    let $app = &owned;
                    $body
                }
                owned.stop().await;
            }
        }
    };
}
