-- How many events changed each entity's row: each applied upsert adds one. The inbox makes
-- every event apply at most once, so the count equals the number of state changes the
-- producer published for the entity (rows that existed before this migration start at 0).
-- It lets the chaos suite see a double application that the final state would hide.
ALTER TABLE person ADD COLUMN IF NOT EXISTS applied_events bigint NOT NULL DEFAULT 0;
ALTER TABLE balance_sheet ADD COLUMN IF NOT EXISTS applied_events bigint NOT NULL DEFAULT 0;
