-- The person service's transactional outbox (contract: ksqldb/README.md).
-- `cargo xtask stack connectors` applies this as the `person` role before creating the
-- connector (a filtered publication needs the table to exist); the service's own migration
-- must create the identical table with CREATE TABLE IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS outbox (
    id            uuid PRIMARY KEY,  -- CloudEvents ce_id
    aggregatetype text NOT NULL,     -- the topic the event is routed to
    aggregateid   text NOT NULL,     -- the Kafka message key (the entity id)
    type          text NOT NULL,     -- ce_type
    source        text NOT NULL,     -- ce_source
    time          text NOT NULL,     -- ce_time, ISO-8601
    content_type  text NOT NULL,     -- content-type, 'application/avro'
    specversion   text NOT NULL,     -- ce_specversion, '1.0'
    payload       bytea              -- Confluent-framed Avro; NULL = tombstone
);
