CREATE TABLE IF NOT EXISTS person (
    id            uuid PRIMARY KEY,
    created       timestamptz NOT NULL,
    modified      timestamptz NOT NULL,
    first_name    varchar(50) NOT NULL,
    last_name     varchar(50) NOT NULL,
    date_of_birth timestamptz
);
-- The list endpoint's order (last name, first name; id breaks ties so pages are stable).
CREATE INDEX IF NOT EXISTS person_by_name ON person (last_name, first_name, id);
