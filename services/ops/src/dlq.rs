//! `ops dlq list | show | replay <topic>`: inspect and re-drive dead letters.
//!
//! `<topic>` is the original topic or its dead-letter topic (`<topic>.dlq`). Replaying
//! produces each dead letter again onto its original topic (original key, value and headers,
//! without the `dlq_*` ones) and then commits, for the consumer group `dlq-replay`, the
//! offset after it on the dead-letter topic: that committed offset marks what was replayed,
//! so a second `replay` sends only letters that arrived since.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use service_kit::codec::{EventCodec, frame_schema_id};
use service_kit::consumer::{DLQ_SUFFIX, DeadLetterHeaders, dead_letter_topic};

use crate::config::Endpoints;
use crate::kafka_groups::{self, StoredMessage};

/// The consumer group whose committed offsets on a dead-letter topic mark what was replayed.
pub const REPLAY_GROUP: &str = "dlq-replay";

#[derive(Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(Subcommand)]
enum DlqCommand {
    /// Count the dead letters of a topic and print one line per letter.
    List { topic: String },
    /// Print a dead letter's headers and its value (hex, and decoded when it is Avro).
    Show {
        topic: String,
        /// Only the letter at this offset of the dead-letter topic.
        #[arg(long)]
        offset: Option<i64>,
    },
    /// Produce the dead letters not replayed yet back onto their original topic.
    Replay { topic: String },
}

pub fn run(args: DlqArgs, info: &Endpoints) -> Result<()> {
    match args.command {
        DlqCommand::List { topic } => list(info, &topic),
        DlqCommand::Show { topic, offset } => show(info, &topic, offset),
        DlqCommand::Replay { topic } => {
            let replayed = replay(info, &topic)?;
            println!("dlq: replayed {replayed} dead letter(s)");
            Ok(())
        }
    }
}

/// `public_x` and `public_x.dlq` both name `public_x.dlq`.
pub fn dlq_topic_of(topic: &str) -> String {
    if topic.ends_with(DLQ_SUFFIX) {
        topic.to_string()
    } else {
        dead_letter_topic(topic)
    }
}

/// A message of a dead-letter topic, with its `dlq_*` headers read.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub message: StoredMessage,
}

impl DeadLetter {
    pub fn original_topic(&self) -> Option<String> {
        self.message.header(DeadLetterHeaders::ORIGINAL_TOPIC)
    }

    pub fn original_position(&self) -> String {
        format!(
            "{}[{}]@{}",
            self.original_topic().as_deref().unwrap_or("?"),
            self.message
                .header(DeadLetterHeaders::ORIGINAL_PARTITION)
                .as_deref()
                .unwrap_or("?"),
            self.message
                .header(DeadLetterHeaders::ORIGINAL_OFFSET)
                .as_deref()
                .unwrap_or("?"),
        )
    }

    pub fn error_class(&self) -> Option<String> {
        self.message.header(DeadLetterHeaders::ERROR_CLASS)
    }

    /// Which of the documented headers are absent.
    pub fn missing_headers(&self) -> Vec<&'static str> {
        [
            DeadLetterHeaders::ORIGINAL_TOPIC,
            DeadLetterHeaders::ORIGINAL_PARTITION,
            DeadLetterHeaders::ORIGINAL_OFFSET,
            DeadLetterHeaders::CONSUMER_GROUP,
            DeadLetterHeaders::ERROR_CLASS,
            DeadLetterHeaders::ERROR_MESSAGE,
            DeadLetterHeaders::ATTEMPTS,
        ]
        .into_iter()
        .filter(|name| self.message.header(name).is_none())
        .collect()
    }

    /// The original headers: everything but the `dlq_*` ones.
    pub fn original_headers(&self) -> impl Iterator<Item = &(String, Option<Vec<u8>>)> {
        self.message
            .headers
            .iter()
            .filter(|(key, _)| !key.starts_with("dlq_"))
    }
}

/// The dead letters of `topic` from `from` (per partition of the dead-letter topic).
pub fn read_letters(
    info: &Endpoints,
    topic: &str,
    from: &BTreeMap<i32, i64>,
) -> Result<Vec<DeadLetter>> {
    Ok(
        kafka_groups::read_topic(info.kafka()?, &dlq_topic_of(topic), from)?
            .into_iter()
            .map(|message| DeadLetter { message })
            .collect(),
    )
}

fn list(info: &Endpoints, topic: &str) -> Result<()> {
    let dlq = dlq_topic_of(topic);
    let letters = read_letters(info, &dlq, &BTreeMap::new())?;
    let replayed = replayed_up_to(info, &dlq)?;
    let pending = letters
        .iter()
        .filter(|l| {
            replayed
                .get(&l.message.partition)
                .is_none_or(|r| l.message.offset >= *r)
        })
        .count();
    println!(
        "{dlq}: {} dead letter(s), {pending} not replayed yet",
        letters.len()
    );
    for letter in &letters {
        println!(
            "  {:>3}@{:<6} from {:<48} {:<22} attempts {:<2} {}",
            letter.message.partition,
            letter.message.offset,
            letter.original_position(),
            letter.error_class().as_deref().unwrap_or("?"),
            letter
                .message
                .header(DeadLetterHeaders::ATTEMPTS)
                .as_deref()
                .unwrap_or("?"),
            letter
                .message
                .header(DeadLetterHeaders::ERROR_MESSAGE)
                .as_deref()
                .unwrap_or("")
        );
    }
    Ok(())
}

fn show(info: &Endpoints, topic: &str, offset: Option<i64>) -> Result<()> {
    let dlq = dlq_topic_of(topic);
    let letters: Vec<DeadLetter> = read_letters(info, &dlq, &BTreeMap::new())?
        .into_iter()
        .filter(|l| offset.is_none_or(|o| l.message.offset == o))
        .collect();
    if letters.is_empty() {
        bail!(
            "no dead letter in {dlq}{}",
            offset.map_or(String::new(), |o| format!(" at offset {o}"))
        );
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start tokio")?;
    let codec = EventCodec::new(info.registry()?)?;
    for letter in letters {
        let message = &letter.message;
        println!(
            "── {dlq} partition {} offset {}",
            message.partition, message.offset
        );
        println!(
            "key: {}",
            message.key_text().unwrap_or_else(|| "(none)".into())
        );
        println!("headers:");
        for (key, value) in &message.headers {
            let text = value
                .as_deref()
                .map_or("(null)".into(), |v| String::from_utf8_lossy(v).into_owned());
            println!("  {key}: {text}");
        }
        match &message.value {
            None => println!("value: (null: a tombstone)"),
            Some(value) => {
                println!("value: {} bytes", value.len());
                print!("{}", hex_dump(value, 256));
                match frame_schema_id(value) {
                    Err(error) => println!("decoded: not Avro ({error})"),
                    Ok(id) => match runtime.block_on(codec.decode_generic(value)) {
                        Ok(decoded) => println!("decoded with schema id {id}: {decoded:?}"),
                        Err(error) => println!("decoded: schema id {id}, but {error}"),
                    },
                }
            }
        }
    }
    Ok(())
}

/// Per partition of `dlq`, the offset up to which letters were replayed.
fn replayed_up_to(info: &Endpoints, dlq: &str) -> Result<BTreeMap<i32, i64>> {
    Ok(
        kafka_groups::group_positions(info.kafka()?, REPLAY_GROUP, &[dlq])?
            .into_iter()
            .filter_map(|p| p.committed.map(|c| (p.partition, c)))
            .collect(),
    )
}

/// Replays the letters of `topic`'s dead-letter topic not replayed yet; returns how many.
pub fn replay(info: &Endpoints, topic: &str) -> Result<usize> {
    let dlq = dlq_topic_of(topic);
    let from = replayed_up_to(info, &dlq)?;
    let letters = read_letters(info, &dlq, &from)?;
    if letters.is_empty() {
        return Ok(0);
    }
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", info.kafka()?)
        .set("enable.idempotence", "true")
        .create()
        .context("cannot create a Kafka producer")?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start tokio")?;
    let mut replayed = 0;
    for letter in &letters {
        let Some(original) = letter.original_topic() else {
            bail!(
                "{dlq} offset {} has no {} header; not replaying",
                letter.message.offset,
                DeadLetterHeaders::ORIGINAL_TOPIC
            );
        };
        let mut headers = OwnedHeaders::new();
        for (key, value) in letter.original_headers() {
            headers = headers.insert(Header {
                key,
                value: value.as_deref(),
            });
        }
        let mut record = FutureRecord::<[u8], [u8]>::to(&original).headers(headers);
        if let Some(key) = &letter.message.key {
            record = record.key(key.as_slice());
        }
        if let Some(value) = &letter.message.value {
            record = record.payload(value.as_slice());
        }
        runtime
            .block_on(producer.send(record, Duration::from_secs(30)))
            .map_err(|(error, _)| anyhow::anyhow!("cannot produce to {original}: {error}"))?;
        // Recorded letter by letter: an interrupted replay resumes after the last one sent.
        kafka_groups::commit_offsets(
            info.kafka()?,
            REPLAY_GROUP,
            &dlq,
            &BTreeMap::from([(letter.message.partition, letter.message.offset + 1)]),
        )?;
        println!(
            "dlq: {}@{} → {original} (was {})",
            letter.message.partition,
            letter.message.offset,
            letter.original_position()
        );
        replayed += 1;
    }
    Ok(replayed)
}

/// `offset: hex  ascii` lines of the first `limit` bytes.
fn hex_dump(bytes: &[u8], limit: usize) -> String {
    let mut out = String::new();
    for (row, chunk) in bytes.chunks(16).take(limit.div_ceil(16)).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|b| {
                if b.is_ascii_graphic() || *b == b' ' {
                    *b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!(
            "  {:04x}: {:<48} {ascii}\n",
            row * 16,
            hex.join(" ")
        ));
    }
    if bytes.len() > limit {
        out.push_str(&format!("  … {} more bytes\n", bytes.len() - limit));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_resolve_to_the_dead_letter_topic() {
        assert_eq!(dlq_topic_of("public_x"), "public_x.dlq");
        assert_eq!(dlq_topic_of("public_x.dlq"), "public_x.dlq");
    }

    #[test]
    fn hex_dump_shows_offsets_bytes_and_text() {
        let dump = hex_dump(b"\x00\x00\x00\x00\x07Bart", 256);
        assert!(
            dump.starts_with("  0000: 00 00 00 00 07 42 61 72 74"),
            "{dump}"
        );
        assert!(dump.trim_end().ends_with(".....Bart"), "{dump}");
        assert!(hex_dump(&[0u8; 40], 16).contains("… 24 more bytes"));
    }
}
