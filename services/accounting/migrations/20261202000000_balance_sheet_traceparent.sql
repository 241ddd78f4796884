-- The W3C trace context of the request that last wrote the row (NULL without tracing).
-- Debezium captures it with the row, so the CDC translator continues the request's trace.
ALTER TABLE balance_sheet ADD COLUMN IF NOT EXISTS traceparent text;
