-- Change data capture of accounting's `public.balance_sheet` table into the private topic
-- `private_accounting_bal_sheet_cdc`; an accounting consumer turns each change into the
-- canonical `balance_sheet_created` event and writes it to accounting's outbox. The topic is
-- ours, not a contract: JSON, the Debezium envelope without schemas. Message shape and the
-- reasons for each setting: ksqldb/README.md.
CREATE SOURCE CONNECTOR IF NOT EXISTS accounting_bal_sheet_cdc WITH (
    'connector.class' = 'io.debezium.connector.postgresql.PostgresConnector',
    'tasks.max' = '1',

    'database.hostname' = '${env:STACK_PG_HOST}',
    'database.port' = '${env:STACK_PG_PORT}',
    'database.user' = '${env:DEBEZIUM_DB_USER}',
    'database.password' = '${env:DEBEZIUM_DB_PASSWORD}',
    'database.dbname' = 'accounting',
    -- Debezium names the table's topic accounting_cdc.public.balance_sheet; the `route`
    -- transform below renames it.
    'topic.prefix' = 'accounting_cdc',

    'plugin.name' = 'pgoutput',
    'slot.name' = 'accounting_bal_sheet_cdc_slot',
    'publication.name' = 'accounting_bal_sheet_cdc_pub',
    'publication.autocreate.mode' = 'filtered',
    'table.include.list' = 'public.balance_sheet',
    -- Rows written before the connector first ran are emitted once (op = 'r'), so balance
    -- sheets created while no connector existed are not lost.
    'snapshot.mode' = 'initial',

    -- As for the outbox connectors (bench/results/tuning.md).
    'poll.interval.ms' = '25',
    'heartbeat.interval.ms' = '10000',
    'heartbeat.action.query' = 'SELECT pg_logical_emit_message(false, ''stack-heartbeat'', now()::text)',
    'message.prefix.exclude.list' = 'stack-heartbeat',

    -- Unambiguous values: timestamptz is always an ISO-8601 UTC string
    -- (io.debezium.time.ZonedTimestamp, e.g. 2022-12-08T04:41:29.568289Z); uuid is its text
    -- form; bigint a JSON integer; numeric (none today) a decimal string, not base64 bytes.
    'time.precision.mode' = 'adaptive_time_microseconds',
    'decimal.handling.mode' = 'string',
    -- A delete is one event with op = 'd'; no extra null-valued tombstone (the topic is not
    -- compacted, so a tombstone would only be noise for the consumer).
    'tombstones.on.delete' = 'false',

    -- Key: the balance-sheet id as plain UTF-8 text (not a {"id": ...} struct).
    'key.converter' = 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter' = 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter.schemas.enable' = 'false',

    -- Only the table's records (not heartbeats, whose key has no `id`) are re-keyed and
    -- renamed onto the private topic.
    'predicates' = 'isBalanceSheet',
    'predicates.isBalanceSheet.type' = 'org.apache.kafka.connect.transforms.predicates.TopicNameMatches',
    'predicates.isBalanceSheet.pattern' = 'accounting_cdc\.public\.balance_sheet',
    'transforms' = 'key,route',
    'transforms.key.type' = 'org.apache.kafka.connect.transforms.ExtractField$Key',
    'transforms.key.field' = 'id',
    'transforms.key.predicate' = 'isBalanceSheet',
    'transforms.route.type' = 'org.apache.kafka.connect.transforms.RegexRouter',
    'transforms.route.regex' = 'accounting_cdc\.public\.balance_sheet',
    'transforms.route.replacement' = 'private_accounting_bal_sheet_cdc',
    'transforms.route.predicate' = 'isBalanceSheet',

    -- No `__debezium.context.*` headers: the event headers are part of the contract.
    'extended.headers.enabled' = 'false',

    'topic.creation.default.replication.factor' = '1',
    'topic.creation.default.partitions' = '1'
);
