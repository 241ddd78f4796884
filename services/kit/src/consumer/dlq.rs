//! Dead letters: a message that can never be handled is copied, value and headers intact, to
//! `<topic>.dlq` with headers saying where it came from and why it failed.

use std::time::Duration;

use anyhow::Context as _;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;

use super::RawEvent;

pub const DLQ_SUFFIX: &str = ".dlq";

/// Names of the headers added to a dead letter.
pub struct DeadLetterHeaders;

impl DeadLetterHeaders {
    pub const ORIGINAL_TOPIC: &'static str = "dlq_original_topic";
    pub const ORIGINAL_PARTITION: &'static str = "dlq_original_partition";
    pub const ORIGINAL_OFFSET: &'static str = "dlq_original_offset";
    pub const CONSUMER_GROUP: &'static str = "dlq_consumer_group";
    pub const ERROR_CLASS: &'static str = "dlq_error_class";
    pub const ERROR_MESSAGE: &'static str = "dlq_error_message";
    pub const ATTEMPTS: &'static str = "dlq_attempts";
}

pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}{DLQ_SUFFIX}")
}

pub(super) async fn send(
    producer: &FutureProducer,
    group: &str,
    raw: &RawEvent,
    class: &str,
    message: &str,
    attempts: u32,
) -> anyhow::Result<()> {
    let headers = headers(group, raw, class, message, attempts);
    let topic = dead_letter_topic(&raw.topic);
    let mut record = FutureRecord::<[u8], [u8]>::to(&topic).headers(headers);
    if let Some(key) = &raw.key {
        record = record.key(key.as_slice());
    }
    if let Some(value) = &raw.value {
        record = record.payload(value.as_slice());
    }
    producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(error, _)| anyhow::anyhow!("cannot produce to {topic}: {error}"))?;
    Ok(())
}

/// The headers of `raw`'s dead letter: its own, then where it came from and why it failed.
pub(super) fn headers(
    group: &str,
    raw: &RawEvent,
    class: &str,
    message: &str,
    attempts: u32,
) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new();
    if let Some(original) = &raw.headers {
        for header in original.iter() {
            headers = headers.insert(Header {
                key: header.key,
                value: header.value,
            });
        }
    }
    let partition = raw.partition.to_string();
    let offset = raw.offset.to_string();
    let attempts = attempts.to_string();
    for (key, value) in [
        (DeadLetterHeaders::ORIGINAL_TOPIC, raw.topic.as_str()),
        (DeadLetterHeaders::ORIGINAL_PARTITION, &partition),
        (DeadLetterHeaders::ORIGINAL_OFFSET, &offset),
        (DeadLetterHeaders::CONSUMER_GROUP, group),
        (DeadLetterHeaders::ERROR_CLASS, class),
        (DeadLetterHeaders::ERROR_MESSAGE, message),
        (DeadLetterHeaders::ATTEMPTS, &attempts),
    ] {
        headers = headers.insert(Header {
            key,
            value: Some(value),
        });
    }
    headers
}

/// Creates the dead-letter topics of `topics` if they do not exist yet.
pub(super) async fn ensure_topics(bootstrap_servers: &str, topics: &[&str]) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        .create()
        .context("cannot create the Kafka admin client")?;
    let names: Vec<String> = topics.iter().map(|t| dead_letter_topic(t)).collect();
    let new_topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|name| NewTopic::new(name, 1, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics(&new_topics, &options)
        .await
        .context("cannot create dead-letter topics")?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => anyhow::bail!("cannot create dead-letter topic {topic}: {code}"),
        }
    }
    Ok(())
}
