-- Nothing reads the outbox table: Debezium's EventRouter relays each INSERT from the WAL and
-- ignores deletes. This trigger deletes the rows a statement inserted at the end of that
-- statement, so the table stays empty without a DELETE from the writer — a write is one
-- statement (`WITH changed AS (...), ... INSERT INTO outbox ...`: a sibling CTE cannot delete
-- what its statement inserts) and no purge job is needed. Statement-level with a transition
-- table: one DELETE per statement, also for a batch.
CREATE OR REPLACE FUNCTION outbox_delete_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM outbox WHERE id IN (SELECT id FROM inserted);
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER outbox_delete_inserted AFTER INSERT ON outbox
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION outbox_delete_inserted();
