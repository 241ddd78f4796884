-- The W3C trace context of the write that published the event (NULL without tracing); the
-- EventRouter places it in the Kafka message's optional `traceparent` header.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS traceparent text;
