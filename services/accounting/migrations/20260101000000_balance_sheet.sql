CREATE TABLE IF NOT EXISTS balance_sheet (
    id              uuid PRIMARY KEY,
    person_id       uuid        NOT NULL,
    date_calculated timestamptz NOT NULL,
    assets          bigint      NOT NULL,
    liabilities     bigint      NOT NULL
);
-- The list endpoint's order: newest first.
CREATE INDEX IF NOT EXISTS balance_sheet_newest ON balance_sheet (date_calculated DESC, id);
