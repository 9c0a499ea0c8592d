//! A small closed-loop load generator: C tasks, each owning one keep-alive HTTP/1.1 connection (hyper's
//! connection API, no pool in the way), recording latencies in an HDR histogram.

use super::dataset::Rng;
use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One keep-alive connection to the server under test.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
    auth: Option<HeaderValue>,
}

impl Conn {
    pub async fn open(addr: SocketAddr, token: Option<&str>) -> Result<Conn> {
        let stream = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
            .await
            .context("connect timed out")??;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let auth = match token {
            Some(t) => Some(HeaderValue::from_str(&format!("Bearer {t}"))?),
            None => None,
        };
        Ok(Conn { sender, host: HeaderValue::from_str(&addr.to_string())?, auth })
    }

    /// Sends one request and reads the whole response body.
    pub async fn send(&mut self, method: Method, path: &str, json: Option<Vec<u8>>) -> Result<(StatusCode, Bytes)> {
        let mut req = Request::builder().method(method).uri(path).header(HOST, self.host.clone());
        if let Some(a) = &self.auth {
            req = req.header(AUTHORIZATION, a.clone());
        }
        let body = match json {
            Some(b) => {
                req = req.header(CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(b))
            }
            None => Full::new(Bytes::new()),
        };
        self.sender.ready().await?;
        let resp = self.sender.send_request(req.body(body)?).await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }
}

impl Conn {
    /// Sends one request with extra headers (a cookie, a form type) and returns the response headers too.
    pub async fn send_with(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(StatusCode, hyper::HeaderMap, Bytes)> {
        let mut req = Request::builder().method(method).uri(path).header(HOST, self.host.clone());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.sender.ready().await?;
        let resp = self.sender.send_request(req.body(Full::new(Bytes::from(body)))?).await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok((status, headers, bytes))
    }
}

/// Sends one request with a time limit; an error or timeout is an error.
pub async fn send_within(
    conn: &mut Conn,
    limit: Duration,
    method: Method,
    path: &str,
    json: Option<Vec<u8>>,
) -> Result<(StatusCode, Bytes)> {
    match tokio::time::timeout(limit, conn.send(method, path, json)).await {
        Ok(r) => r,
        Err(_) => bail!("no answer within {limit:?}"),
    }
}

/// Makes the request path for the next request of a phase.
pub type PathFn = Arc<dyn Fn(&mut Rng) -> String + Send + Sync>;

/// What one load phase measured.
pub struct PhaseResult {
    pub name: String,
    pub requests: u64,
    pub seconds: f64,
    pub histogram: Histogram<u64>,
    /// Non-2xx responses by status, counted over warm-up and measurement alike.
    pub non_2xx: BTreeMap<u16, u64>,
    /// Connection errors and timeouts, counted over warm-up and measurement alike.
    pub errors: u64,
    /// The first failure seen, for the report.
    pub first_failure: Option<String>,
}

impl PhaseResult {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
    pub fn p50_ms(&self) -> f64 {
        self.histogram.value_at_quantile(0.50) as f64 / 1000.0
    }
    pub fn p99_ms(&self) -> f64 {
        self.histogram.value_at_quantile(0.99) as f64 / 1000.0
    }
    pub fn max_ms(&self) -> f64 {
        self.histogram.max() as f64 / 1000.0
    }
    pub fn failures(&self) -> u64 {
        self.errors + self.non_2xx.values().sum::<u64>()
    }
}

struct TaskResult {
    requests: u64,
    histogram: Histogram<u64>,
    non_2xx: BTreeMap<u16, u64>,
    errors: u64,
    first_failure: Option<String>,
}

fn new_histogram() -> Histogram<u64> {
    // Microseconds from 1 µs to 60 s at 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Runs GET requests on `connections` connections for `warmup` (not measured) and then `measure`.
/// Only requests sent after the warm-up and answered before the end are measured.
pub async fn run_phase(
    name: &str,
    addr: SocketAddr,
    token: &str,
    connections: usize,
    warmup: Duration,
    measure: Duration,
    path: PathFn,
) -> Result<PhaseResult> {
    let start = Instant::now();
    let warm_end = start + warmup;
    let end = warm_end + measure;
    let mut tasks = Vec::with_capacity(connections);
    for c in 0..connections {
        let path = path.clone();
        let token = token.to_string();
        let seed = 0x5EED ^ ((c as u64 + 1) << 32) ^ name.len() as u64;
        tasks.push(tokio::spawn(async move { load_task(addr, token, warm_end, end, seed, path).await }));
    }
    let mut total = TaskResult {
        requests: 0,
        histogram: new_histogram(),
        non_2xx: BTreeMap::new(),
        errors: 0,
        first_failure: None,
    };
    for t in tasks {
        let r = t.await.context("load task panicked")?;
        total.requests += r.requests;
        total.histogram.add(&r.histogram).context("merging histograms")?;
        for (s, n) in r.non_2xx {
            *total.non_2xx.entry(s).or_default() += n;
        }
        total.errors += r.errors;
        if total.first_failure.is_none() {
            total.first_failure = r.first_failure;
        }
    }
    Ok(PhaseResult {
        name: name.to_string(),
        requests: total.requests,
        seconds: measure.as_secs_f64(),
        histogram: total.histogram,
        non_2xx: total.non_2xx,
        errors: total.errors,
        first_failure: total.first_failure,
    })
}

async fn load_task(
    addr: SocketAddr,
    token: String,
    warm_end: Instant,
    end: Instant,
    seed: u64,
    path: PathFn,
) -> TaskResult {
    let mut r = TaskResult {
        requests: 0,
        histogram: new_histogram(),
        non_2xx: BTreeMap::new(),
        errors: 0,
        first_failure: None,
    };
    let mut rng = Rng::new(seed);
    let mut conn: Option<Conn> = None;
    while Instant::now() < end {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Conn::open(addr, Some(&token)).await {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    r.errors += 1;
                    r.first_failure.get_or_insert_with(|| format!("connect: {e:#}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let p = path(&mut rng);
        let t0 = Instant::now();
        // Longer than the server's own 60 s request timeout, so a slow endpoint shows as its 503, not as ours.
        let res = send_within(c, Duration::from_secs(65), Method::GET, &p, None).await;
        let t1 = Instant::now();
        match res {
            Ok((status, body)) => {
                if !status.is_success() {
                    *r.non_2xx.entry(status.as_u16()).or_default() += 1;
                    r.first_failure.get_or_insert_with(|| {
                        format!("GET {p} -> {status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]))
                    });
                }
                // Latency counts for every request sent in the window, also one answered after it (no survivor
                // bias for slow endpoints); throughput counts only answers within the window.
                if t0 >= warm_end && t0 < end {
                    let us = (t1 - t0).as_micros().clamp(1, 60_000_000) as u64;
                    let _ = r.histogram.record(us);
                    if t1 <= end {
                        r.requests += 1;
                    }
                }
            }
            Err(e) => {
                r.errors += 1;
                r.first_failure.get_or_insert_with(|| format!("GET {p}: {e:#}"));
                conn = None;
            }
        }
    }
    r
}
