-- Planning's read model, built only from canonical events. No foreign key between the two
-- tables: events of different topics arrive in any order (a balance sheet may precede its
-- person), and the model converges whatever the order.
CREATE TABLE IF NOT EXISTS person (
    id            uuid PRIMARY KEY,
    first_name    text NOT NULL,
    last_name     text NOT NULL,
    date_of_birth date,            -- NULL: unknown
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS balance_sheet (
    id              uuid PRIMARY KEY,
    person_id       uuid        NOT NULL,
    date_calculated timestamptz NOT NULL,
    assets          bigint      NOT NULL,
    liabilities     bigint      NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS balance_sheet_latest ON balance_sheet (person_id, date_calculated DESC);
