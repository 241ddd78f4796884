//! Just enough of the Kafka wire protocol for readiness checks and topic creation.
//!
//! xtask stays free of librdkafka (a slow C build every `cargo xtask` would pay) and of a JVM
//! launch per admin call. Two non-flexible request versions that Kafka 4.x still serves
//! (KIP-896 removed only older ones) are enough: Metadata v4 and CreateTopics v4.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

const API_CREATE_TOPICS: i16 = 19;
const API_METADATA: i16 = 3;
const CLIENT_ID: &str = "xtask-stack";
/// Kafka error code for a topic that already exists.
const TOPIC_ALREADY_EXISTS: i16 = 36;

/// One broker as the cluster metadata lists it.
#[derive(Debug, Clone)]
pub struct Broker {
    pub node_id: i32,
    pub port: i32,
}

/// What Metadata answers about the cluster.
#[derive(Debug, Clone)]
pub struct ClusterMetadata {
    pub brokers: Vec<Broker>,
}

/// A topic to create.
#[derive(Debug, Clone)]
pub struct NewTopic<'a> {
    pub name: &'a str,
    pub partitions: i32,
    pub replication_factor: i16,
    pub configs: &'a [(&'a str, &'a str)],
}

/// Whether a topic was created or already existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicOutcome {
    Created,
    AlreadyExists,
}

/// Asks the broker at `address` for the cluster's brokers (Metadata v4, no topics).
pub fn metadata(address: SocketAddr, timeout: Duration) -> Result<ClusterMetadata> {
    let mut body = Vec::new();
    put_i32(&mut body, 0); // topics: empty array (not null = all topics)
    body.push(0); // allow_auto_topic_creation = false
    let response = round_trip(address, timeout, API_METADATA, 4, &body)?;
    let mut reader = Reader::new(&response);
    let _throttle_ms = reader.i32()?;
    let broker_count = reader.i32()?;
    let mut brokers = Vec::new();
    for _ in 0..broker_count.max(0) {
        let node_id = reader.i32()?;
        let _host = reader.string()?;
        let port = reader.i32()?;
        let _rack = reader.string()?;
        brokers.push(Broker { node_id, port });
    }
    // The cluster id, controller id and topics follow; nothing here needs them.
    Ok(ClusterMetadata { brokers })
}

/// Creates `topics` (CreateTopics v4); existing topics are left as they are.
pub fn create_topics(
    address: SocketAddr,
    timeout: Duration,
    topics: &[NewTopic<'_>],
) -> Result<Vec<(String, TopicOutcome)>> {
    let mut body = Vec::new();
    put_i32(
        &mut body,
        i32::try_from(topics.len()).context("too many topics")?,
    );
    for topic in topics {
        put_string(&mut body, topic.name)?;
        put_i32(&mut body, topic.partitions);
        body.extend_from_slice(&topic.replication_factor.to_be_bytes());
        put_i32(&mut body, 0); // no manual assignments
        put_i32(
            &mut body,
            i32::try_from(topic.configs.len()).context("too many configs")?,
        );
        for (name, value) in topic.configs {
            put_string(&mut body, name)?;
            put_string(&mut body, value)?;
        }
    }
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    put_i32(&mut body, timeout_ms);
    body.push(0); // validate_only = false
    let response = round_trip(address, timeout, API_CREATE_TOPICS, 4, &body)?;
    let mut reader = Reader::new(&response);
    let _throttle_ms = reader.i32()?;
    let count = reader.i32()?;
    let mut outcomes = Vec::new();
    for _ in 0..count.max(0) {
        let name = reader.string()?.unwrap_or_default();
        let error_code = reader.i16()?;
        let message = reader.string()?;
        let outcome = match error_code {
            0 => TopicOutcome::Created,
            TOPIC_ALREADY_EXISTS => TopicOutcome::AlreadyExists,
            code => bail!(
                "creating topic {name} failed with Kafka error {code}: {}",
                message.unwrap_or_default()
            ),
        };
        outcomes.push((name, outcome));
    }
    Ok(outcomes)
}

/// Sends one request (header v1) and returns the response body after its correlation id.
fn round_trip(
    address: SocketAddr,
    timeout: Duration,
    api_key: i16,
    api_version: i16,
    body: &[u8],
) -> Result<Vec<u8>> {
    const CORRELATION_ID: i32 = 1;
    let mut request = Vec::with_capacity(body.len() + 32);
    request.extend_from_slice(&api_key.to_be_bytes());
    request.extend_from_slice(&api_version.to_be_bytes());
    put_i32(&mut request, CORRELATION_ID);
    put_string(&mut request, CLIENT_ID)?;
    request.extend_from_slice(body);

    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .with_context(|| format!("connecting to Kafka at {address}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .context("setting a read timeout")?;
    stream
        .set_write_timeout(Some(timeout))
        .context("setting a write timeout")?;
    let size = i32::try_from(request.len()).context("request too large")?;
    stream
        .write_all(&size.to_be_bytes())
        .context("sending a Kafka request")?;
    stream
        .write_all(&request)
        .context("sending a Kafka request")?;

    let mut size = [0u8; 4];
    stream
        .read_exact(&mut size)
        .with_context(|| format!("reading a Kafka response from {address}"))?;
    let size = usize::try_from(i32::from_be_bytes(size)).context("negative response size")?;
    ensure!(
        (4..64 * 1024 * 1024).contains(&size),
        "implausible Kafka response size {size}"
    );
    let mut response = vec![0u8; size];
    stream
        .read_exact(&mut response)
        .with_context(|| format!("reading a Kafka response from {address}"))?;
    let mut reader = Reader::new(&response);
    let correlation_id = reader.i32()?;
    ensure!(
        correlation_id == CORRELATION_ID,
        "Kafka answered correlation id {correlation_id}, expected {CORRELATION_ID}"
    );
    Ok(response[4..].to_vec())
}

fn put_i32(buffer: &mut Vec<u8>, value: i32) {
    buffer.extend_from_slice(&value.to_be_bytes());
}

fn put_string(buffer: &mut Vec<u8>, value: &str) -> Result<()> {
    let len = i16::try_from(value.len()).with_context(|| format!("string too long: {value}"))?;
    buffer.extend_from_slice(&len.to_be_bytes());
    buffer.extend_from_slice(value.as_bytes());
    Ok(())
}

/// A bounds-checked big-endian reader over a response body.
struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        let end = self
            .position
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .context("truncated Kafka response")?;
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }

    fn i16(&mut self) -> Result<i16> {
        let bytes = self.take(2)?;
        Ok(i16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn i32(&mut self) -> Result<i32> {
        let bytes = self.take(4)?;
        Ok(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// A nullable string (length -1 = null).
    fn string(&mut self) -> Result<Option<String>> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let bytes = self.take(usize::try_from(len).context("negative string length")?)?;
        Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
    }
}
