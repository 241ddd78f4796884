-- Relays the accounting service's transactional outbox (database `accounting`, table
-- `public.outbox`) to the public topic `public_balance_sheet_entity_events` (the row's
-- `aggregatetype`), keyed by the balance-sheet id, with CloudEvents binary-mode headers.
-- Applied by `cargo xtask stack connectors` (PUT /connectors/accounting_outbox/config);
-- `${env:...}` comes from the environment or .stack/env. Why each setting: ksqldb/README.md.
CREATE SOURCE CONNECTOR IF NOT EXISTS accounting_outbox WITH (
    'connector.class' = 'io.debezium.connector.postgresql.PostgresConnector',
    'tasks.max' = '1',

    -- Source database; Debezium's role has REPLICATION and owns the service's tables
    -- through membership in the `accounting` role.
    'database.hostname' = '${env:STACK_PG_HOST}',
    'database.port' = '${env:STACK_PG_PORT}',
    'database.user' = '${env:DEBEZIUM_DB_USER}',
    'database.password' = '${env:DEBEZIUM_DB_PASSWORD}',
    'database.dbname' = 'accounting',
    -- Only names Debezium's own topics (heartbeats); events are routed by the EventRouter.
    'topic.prefix' = 'accounting_outbox',

    -- Logical decoding: PostgreSQL's built-in plugin (the default, decoderbufs, is not
    -- installed); one slot and one publication per connector, the publication created for
    -- the outbox table only.
    'plugin.name' = 'pgoutput',
    'slot.name' = 'accounting_outbox_slot',
    'publication.name' = 'accounting_outbox_pub',
    'publication.autocreate.mode' = 'filtered',
    'table.include.list' = 'public.outbox',
    -- The outbox is empty by design (rows are deleted in the inserting transaction):
    -- nothing to snapshot.
    'snapshot.mode' = 'no_data',

    -- Relay latency is bounded by this poll interval (default 500 ms): an idle relay waits
    -- up to twice this. 25 ms, not 10: see bench/results/tuning.md (10 costs an idle Connect
    -- about 30% of a core; 25 about 14%, 100 about 5%).
    'poll.interval.ms' = '25',
    -- `max.batch.size` stays at its default (2048): the task's poll waits for a full batch
    -- or the poll interval, so a lone change waits the interval once more, but a batch of
    -- one per poll halved the REST capacity under load (downstream consumers then commit
    -- per event): bench/results/tuning.md.
    -- An idle slot pins WAL: every 10 s write a logical message into this database's WAL
    -- so the slot's confirmed position advances; the message itself is not published.
    'heartbeat.interval.ms' = '10000',
    'heartbeat.action.query' = 'SELECT pg_logical_emit_message(false, ''stack-heartbeat'', now()::text)',
    'message.prefix.exclude.list' = 'stack-heartbeat',

    -- Key: the aggregateid text as UTF-8. Value: the payload bytes untouched (already
    -- Confluent-framed Avro); non-bytes records (heartbeats) go through the JSON delegate.
    'key.converter' = 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter' = 'io.debezium.converters.BinaryDataConverter',
    'value.converter.delegate.converter.type' = 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter.delegate.converter.type.schemas.enable' = 'false',

    -- Outbox EventRouter: topic = aggregatetype, key = aggregateid, value = payload,
    -- NULL payload = tombstone, CloudEvents attributes as headers, and the optional W3C
    -- `traceparent` of the write (ksqldb/README.md).
    'transforms' = 'outbox',
    'transforms.outbox.type' = 'io.debezium.transforms.outbox.EventRouter',
    'transforms.outbox.table.field.event.id' = 'id',
    'transforms.outbox.table.field.event.key' = 'aggregateid',
    'transforms.outbox.table.field.event.payload' = 'payload',
    'transforms.outbox.route.by.field' = 'aggregatetype',
    'transforms.outbox.route.topic.replacement' = '${routedByValue}',
    'transforms.outbox.route.tombstone.on.empty.payload' = 'true',
    'transforms.outbox.table.fields.additional.placement' = 'id:header:ce_id,type:header:ce_type,source:header:ce_source,time:header:ce_time,content_type:header:content-type,specversion:header:ce_specversion,traceparent:header:traceparent',

    -- Topics the connector creates itself (only its heartbeat topic: the event topics are
    -- created compacted by `stack up`).
    -- No `__debezium.context.*` headers: the event headers are part of the contract.
    'extended.headers.enabled' = 'false',

    'topic.creation.default.replication.factor' = '1',
    'topic.creation.default.partitions' = '1'
);
