-- The transactional outbox, shaped for Debezium's Outbox EventRouter (see ksqldb/README.md).
-- Rows are inserted and deleted in the same transaction as the state change: the table stays
-- empty, the WAL carries the event to Debezium, which ignores the DELETE.
CREATE TABLE IF NOT EXISTS outbox (
    id            uuid PRIMARY KEY,      -- CloudEvents ce_id
    aggregatetype text NOT NULL,         -- the destination topic (EventRouter route.by.field)
    aggregateid   text NOT NULL,         -- the Kafka message key
    type          text NOT NULL,         -- ce_type
    source        text NOT NULL,         -- ce_source
    time          text NOT NULL,         -- ce_time, RFC 3339
    content_type  text NOT NULL,         -- content-type header
    specversion   text NOT NULL,         -- ce_specversion
    payload       bytea                  -- Confluent-framed Avro; NULL publishes a tombstone
);
