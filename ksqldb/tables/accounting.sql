-- The accounting service's tables that Debezium captures (contract: ksqldb/README.md).
-- `cargo xtask stack connectors` applies this as the `accounting` role before creating the
-- connectors (a filtered publication needs the table to exist); the service's own migrations
-- must create identical tables with CREATE TABLE IF NOT EXISTS.

-- Transactional outbox, same shape as person's.
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

-- The domain table whose changes land on private_accounting_bal_sheet_cdc.
CREATE TABLE IF NOT EXISTS balance_sheet (
    id              uuid PRIMARY KEY,
    person_id       uuid NOT NULL,
    date_calculated timestamptz NOT NULL,
    assets          bigint NOT NULL,
    liabilities     bigint NOT NULL
);
