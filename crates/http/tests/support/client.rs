//! A small HTTP/1.1 test client over hyper (the server's own HTTP stack), with the few conveniences the tests use:
//! JSON bodies, bearer tokens, status/headers/JSON/text of the answer. No redirects are followed and no cookies are
//! kept: tests set the headers they mean to send. (reqwest would pull a second tower-http into the build.)

#![allow(dead_code)]

use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use axum::http::Method;

#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

#[derive(Clone)]
pub struct Client {
    inner: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    pub fn new() -> Client {
        Client { inner: HyperClient::builder(TokioExecutor::new()).build_http() }
    }

    pub fn request(&self, method: Method, url: impl AsRef<str>) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            method,
            url: url.as_ref().to_string(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    pub fn get(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    pub fn post(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::POST, url)
    }
}

pub struct RequestBuilder {
    client: Client,
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Bytes,
}

impl RequestBuilder {
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let name = HeaderName::from_bytes(name.as_ref().as_bytes()).expect("header name");
        let value = HeaderValue::from_str(value.as_ref()).expect("header value");
        self.headers.append(name, value);
        self
    }

    pub fn bearer_auth(self, token: impl AsRef<str>) -> Self {
        let v = format!("Bearer {}", token.as_ref());
        self.header("authorization", v)
    }

    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.body = Bytes::from(serde_json::to_vec(body).expect("json body"));
        if !self.headers.contains_key(header::CONTENT_TYPE) {
            self.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    pub async fn send(self) -> Result<Response, Error> {
        let mut req = Request::builder().method(self.method).uri(&self.url);
        if let Some(h) = req.headers_mut() {
            h.extend(self.headers);
        }
        let req = req.body(Full::new(self.body)).map_err(|e| Error(e.to_string()))?;
        let resp = self.client.inner.request(req).await.map_err(|e| Error(e.to_string()))?;
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.map_err(|e| Error(e.to_string()))?.to_bytes();
        Ok(Response { status: parts.status, headers: parts.headers, body: bytes })
    }
}

pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Response {
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    pub async fn json<T: DeserializeOwned>(self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error(format!("{e}: {}", String::from_utf8_lossy(&self.body))))
    }

    pub async fn text(self) -> Result<String, Error> {
        String::from_utf8(self.body.to_vec()).map_err(|e| Error(e.to_string()))
    }

    pub async fn bytes(self) -> Result<Bytes, Error> {
        Ok(self.body)
    }
}
