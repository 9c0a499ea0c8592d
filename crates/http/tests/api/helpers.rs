//! `TestApp`: the real server in-process on a random port, on a fresh database of the chosen backend.

use crate::client::{Method, RequestBuilder, Response};
use guanxi_core::access::{Role, TokenScope};
use guanxi_http::{AppConfig, AppState};
use guanxi_store::accounts::{self, NewUser};
use guanxi_store::testing::{TestBackend, TestDb};
use serde_json::Value;
use uuid::Uuid;

pub struct TestApp {
    pub addr: String,
    pub db: guanxi_store::Db,
    pub client: crate::client::Client,
    test_db: Option<TestDb>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// A signed-in API user.
#[derive(Clone)]
pub struct TestUser {
    #[allow(dead_code)]
    pub id: Uuid,
    pub team_id: Option<Uuid>,
    pub token: String,
    pub email: String,
}

/// A precomputed Argon2id hash of `correct horse battery` (hashing per user would slow every test down).
pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    /// None when PostgreSQL is not available outside CI.
    pub async fn spawn(backend: TestBackend) -> Option<TestApp> {
        TestApp::spawn_with(backend, AppConfig::default()).await
    }

    /// [`TestApp::spawn`] with settings of the test's choosing (small import batches, …).
    pub async fn spawn_with(backend: TestBackend, config: AppConfig) -> Option<TestApp> {
        let test_db = TestDb::new(backend).await?;
        let db = test_db.db.clone();
        let state = AppState::new(db.clone(), config);
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

    /// A user with an API token of the given scope.
    pub async fn user(&self, email: &str, role: Role, team: Option<Uuid>, scope: TokenScope) -> TestUser {
        let hash = password_hash().await;
        let u = accounts::create_user(
            &self.db,
            &NewUser { email, display_name: email, password_hash: &hash, role, team_id: team, locale: None },
        )
        .await
        .expect("user");
        let token = guanxi_http::auth::new_secret();
        accounts::create_token(&self.db, u.id, "test", scope, &guanxi_http::auth::secret_hash(&token))
            .await
            .expect("token");
        TestUser { id: u.id, team_id: team, token, email: email.to_string() }
    }

    pub async fn admin(&self) -> TestUser {
        let team = self.team("HQ").await;
        self.user("admin@example.com", Role::Admin, Some(team), TokenScope::ReadWrite).await
    }

    pub fn req(&self, user: Option<&TestUser>, method: Method, path: &str) -> RequestBuilder {
        let rb = self.client.request(method, format!("{}{}", self.addr, path));
        match user {
            Some(u) => rb.bearer_auth(&u.token),
            None => rb,
        }
    }

    pub async fn get(&self, user: &TestUser, path: &str) -> Response {
        self.req(Some(user), Method::GET, path).send().await.expect("send")
    }

    pub async fn post(&self, user: &TestUser, path: &str, body: &Value) -> Response {
        self.req(Some(user), Method::POST, path).json(body).send().await.expect("send")
    }

    pub async fn patch(&self, user: &TestUser, path: &str, version: Option<i64>, body: &Value) -> Response {
        let mut rb = self.req(Some(user), Method::PATCH, path).json(body);
        if let Some(v) = version {
            rb = rb.header("if-match", format!("\"{v}\""));
        }
        rb.send().await.expect("send")
    }

    pub async fn delete(&self, user: &TestUser, path: &str) -> Response {
        self.req(Some(user), Method::DELETE, path).send().await.expect("send")
    }

    /// Creates a contact and returns its JSON (asserting 201).
    pub async fn contact(&self, user: &TestUser, body: Value) -> Value {
        let r = self.post(user, "/api/v1/contacts", &body).await;
        let status = r.status();
        let json: Value = r.json().await.expect("json");
        assert_eq!(status, 201, "create contact: {json}");
        json
    }
}

static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

async fn password_hash() -> String {
    HASH.get_or_init(|| async { guanxi_http::auth::hash_password(PASSWORD.to_string()).await.expect("hash") })
        .await
        .clone()
}

/// The problem+json body of a response, asserting status and content type.
pub async fn problem(r: Response, status: u16) -> Value {
    assert_eq!(r.status().as_u16(), status, "unexpected status");
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert_eq!(ct, "application/problem+json");
    r.json().await.expect("problem json")
}

/// Field names of a validation problem.
pub fn fields(p: &Value) -> Vec<String> {
    p["errors"]
        .as_array()
        .map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

/// Runs the body against a `TestApp` on SQLite and on PostgreSQL:
/// `app_test!(name, |app: &TestApp| async move { ... });`
#[macro_export]
macro_rules! app_test {
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
