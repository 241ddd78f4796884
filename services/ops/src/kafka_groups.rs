//! Consumer-group and topic facts from the broker, for `dlq`, `rebuild`, chaos and bench: lag of a
//! group, its members, resetting its offsets, reading a topic from given offsets.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A consumer that never joins a group nor commits by itself: `group` only names whose
/// committed offsets it reads or writes.
pub fn standalone_consumer(bootstrap_servers: &str, group: &str) -> Result<BaseConsumer> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .create()
        .context("cannot create a Kafka consumer")
}

/// The partition numbers of `topic`.
pub fn partitions(consumer: &BaseConsumer, topic: &str) -> Result<Vec<i32>> {
    let metadata = consumer
        .fetch_metadata(Some(topic), TIMEOUT)
        .with_context(|| format!("cannot read the metadata of {topic}"))?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        bail!("topic {topic} does not exist");
    };
    if let Some(error) = found.error() {
        bail!("topic {topic}: {error:?}");
    }
    Ok(found.partitions().iter().map(|p| p.id()).collect())
}

/// Where one partition of a group stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionPosition {
    pub topic: String,
    pub partition: i32,
    /// The group's committed offset (the next message it will read), if it committed one.
    pub committed: Option<i64>,
    pub low: i64,
    pub high: i64,
}

impl PartitionPosition {
    /// Messages the group has not finished. Without a commit the group starts at the low
    /// watermark (`auto.offset.reset=earliest`).
    pub fn lag(&self) -> i64 {
        (self.high - self.committed.unwrap_or(self.low).max(self.low)).max(0)
    }
}

/// The committed offsets and watermarks of `group` on every partition of `topics`.
pub fn group_positions(
    bootstrap_servers: &str,
    group: &str,
    topics: &[&str],
) -> Result<Vec<PartitionPosition>> {
    let consumer = standalone_consumer(bootstrap_servers, group)?;
    let mut list = TopicPartitionList::new();
    for topic in topics {
        for partition in partitions(&consumer, topic)? {
            list.add_partition(topic, partition);
        }
    }
    let committed = consumer
        .committed_offsets(list, TIMEOUT)
        .with_context(|| format!("cannot read the committed offsets of {group}"))?;
    let mut positions = Vec::new();
    for element in committed.elements() {
        let (low, high) = consumer
            .fetch_watermarks(element.topic(), element.partition(), TIMEOUT)
            .with_context(|| format!("watermarks of {}", element.topic()))?;
        positions.push(PartitionPosition {
            topic: element.topic().to_string(),
            partition: element.partition(),
            committed: match element.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            },
            low,
            high,
        });
    }
    Ok(positions)
}

/// The summed lag of `group` on `topics`.
pub fn group_lag(bootstrap_servers: &str, group: &str, topics: &[&str]) -> Result<i64> {
    Ok(group_positions(bootstrap_servers, group, topics)?
        .iter()
        .map(PartitionPosition::lag)
        .sum())
}

/// How many consumers are members of `group` right now.
pub fn group_members(bootstrap_servers: &str, group: &str) -> Result<usize> {
    let consumer = standalone_consumer(bootstrap_servers, "xtask-group-inspector")?;
    let list = consumer
        .fetch_group_list(Some(group), TIMEOUT)
        .with_context(|| format!("cannot describe group {group}"))?;
    Ok(list
        .groups()
        .iter()
        .find(|g| g.name() == group)
        .map_or(0, |g| g.members().len()))
}

/// Waits until `group` has at least one member (a restarted consumer joined).
pub fn wait_for_members(bootstrap_servers: &str, group: &str, timeout: Duration) -> Result<()> {
    let started = Instant::now();
    loop {
        if group_members(bootstrap_servers, group).unwrap_or(0) > 0 {
            return Ok(());
        }
        if started.elapsed() > timeout {
            bail!("no consumer joined {group} within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Commits the low watermark of every partition of `topics` for `group`, so the group reads
/// them again from the beginning. The broker accepts it only while the group has no member.
pub fn reset_to_beginning(bootstrap_servers: &str, group: &str, topics: &[&str]) -> Result<()> {
    let consumer = standalone_consumer(bootstrap_servers, group)?;
    let mut list = TopicPartitionList::new();
    for topic in topics {
        for partition in partitions(&consumer, topic)? {
            let (low, _) = consumer
                .fetch_watermarks(topic, partition, TIMEOUT)
                .with_context(|| format!("watermarks of {topic}"))?;
            list.add_partition_offset(topic, partition, Offset::Offset(low))
                .with_context(|| format!("offset of {topic}[{partition}]"))?;
        }
    }
    consumer
        .commit(&list, CommitMode::Sync)
        .with_context(|| format!("cannot reset the offsets of {group} (is it still running?)"))
}

/// Commits explicit offsets (the next message to read) for `group`.
pub fn commit_offsets(
    bootstrap_servers: &str,
    group: &str,
    topic: &str,
    offsets: &BTreeMap<i32, i64>,
) -> Result<()> {
    let consumer = standalone_consumer(bootstrap_servers, group)?;
    let mut list = TopicPartitionList::new();
    for (partition, offset) in offsets {
        list.add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .with_context(|| format!("offset of {topic}[{partition}]"))?;
    }
    consumer
        .commit(&list, CommitMode::Sync)
        .with_context(|| format!("cannot commit offsets of {group}"))
}

/// The high watermark (next offset) of every partition of `topic`.
pub fn end_offsets(bootstrap_servers: &str, topic: &str) -> Result<BTreeMap<i32, i64>> {
    let consumer = standalone_consumer(bootstrap_servers, "xtask-offsets-reader")?;
    let mut ends = BTreeMap::new();
    for partition in partitions(&consumer, topic)? {
        let (_, high) = consumer
            .fetch_watermarks(topic, partition, TIMEOUT)
            .with_context(|| format!("watermarks of {topic}"))?;
        ends.insert(partition, high);
    }
    Ok(ends)
}

/// One message as read back from a topic.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl StoredMessage {
    /// The last value of header `name` as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| value.as_deref())
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    }

    pub fn key_text(&self) -> Option<String> {
        self.key
            .as_deref()
            .map(|k| String::from_utf8_lossy(k).into_owned())
    }
}

/// Every message of `topic` from `from` (per partition; the low watermark where absent) to
/// the high watermark at the time of the call.
pub fn read_topic(
    bootstrap_servers: &str,
    topic: &str,
    from: &BTreeMap<i32, i64>,
) -> Result<Vec<StoredMessage>> {
    let consumer = standalone_consumer(bootstrap_servers, "xtask-topic-reader")?;
    let mut list = TopicPartitionList::new();
    let mut remaining: BTreeMap<i32, i64> = BTreeMap::new();
    for partition in partitions(&consumer, topic)? {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition, TIMEOUT)
            .with_context(|| format!("watermarks of {topic}"))?;
        let start = from.get(&partition).copied().unwrap_or(low).max(low);
        if start < high {
            list.add_partition_offset(topic, partition, Offset::Offset(start))
                .with_context(|| format!("offset of {topic}[{partition}]"))?;
            remaining.insert(partition, high);
        }
    }
    let mut messages = Vec::new();
    if remaining.is_empty() {
        return Ok(messages);
    }
    consumer.assign(&list).context("cannot assign partitions")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !remaining.is_empty() {
        if Instant::now() > deadline {
            bail!("reading {topic} did not reach its end within 60 s");
        }
        let Some(result) = consumer.poll(Duration::from_millis(500)) else {
            // Nothing came: partitions whose position passed their end (the last offsets
            // were transaction markers or compacted away) are done.
            if let Ok(positions) = consumer.position() {
                for element in positions.elements() {
                    if let Offset::Offset(next) = element.offset()
                        && remaining
                            .get(&element.partition())
                            .is_some_and(|end| next >= *end)
                    {
                        remaining.remove(&element.partition());
                    }
                }
            }
            continue;
        };
        let message = result.with_context(|| format!("reading {topic}"))?;
        let partition = message.partition();
        let offset = message.offset();
        let Some(end) = remaining.get(&partition).copied() else {
            continue;
        };
        if offset < end {
            messages.push(StoredMessage {
                partition,
                offset,
                key: message.key().map(<[u8]>::to_vec),
                value: message.payload().map(<[u8]>::to_vec),
                headers: message
                    .headers()
                    .map(|headers| {
                        headers
                            .iter()
                            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
        if offset + 1 >= end {
            remaining.remove(&partition);
        }
    }
    messages.sort_by_key(|m| (m.partition, m.offset));
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(committed: Option<i64>, low: i64, high: i64) -> PartitionPosition {
        PartitionPosition {
            topic: "t".into(),
            partition: 0,
            committed,
            low,
            high,
        }
    }

    #[test]
    fn lag_counts_from_the_commit_or_the_beginning() {
        assert_eq!(position(Some(7), 0, 10).lag(), 3);
        assert_eq!(position(None, 4, 10).lag(), 6);
        // A commit below the low watermark (compacted or deleted away) starts at the low one.
        assert_eq!(position(Some(1), 4, 10).lag(), 6);
        assert_eq!(position(Some(10), 0, 10).lag(), 0);
    }
}
