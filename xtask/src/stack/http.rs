//! Plain-HTTP JSON calls to the loopback REST APIs (Kafka Connect, the registry).

use std::time::Duration;

use anyhow::{Context, Result};

/// An HTTP answer: status code and body text (any status; callers decide what is an error).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

fn reply(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    what: &str,
) -> Result<Reply> {
    let mut response = response.with_context(|| what.to_owned())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("{what}: reading the response body"))?;
    Ok(Reply { status, body })
}

pub fn get(url: &str, timeout: Duration) -> Result<Reply> {
    reply(agent(timeout).get(url).call(), &format!("GET {url}"))
}

pub fn put_json(url: &str, body: &serde_json::Value, timeout: Duration) -> Result<Reply> {
    reply(
        agent(timeout)
            .put(url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .send(body.to_string()),
        &format!("PUT {url}"),
    )
}

/// Whether `GET url` answers 200 within `timeout`.
pub fn answers_ok(url: &str, timeout: Duration) -> bool {
    get(url, timeout).is_ok_and(|reply| reply.status == 200)
}

pub fn post_empty(url: &str, timeout: Duration) -> Result<Reply> {
    reply(
        agent(timeout).post(url).send_empty(),
        &format!("POST {url}"),
    )
}
