CREATE TABLE IF NOT EXISTS balance_sheet (
    id              uuid PRIMARY KEY,
    person_id       uuid        NOT NULL,
    date_calculated timestamptz NOT NULL,
    assets          bigint      NOT NULL CHECK (assets >= 0),
    liabilities     bigint      NOT NULL CHECK (liabilities >= 0)
);
-- The list endpoint's order: newest first.
CREATE INDEX IF NOT EXISTS balance_sheet_newest ON balance_sheet (date_calculated DESC, id);
