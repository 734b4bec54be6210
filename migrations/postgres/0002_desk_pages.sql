-- A desk's page of the outbox or the dead letters: its own items in seq order,
-- from a cursor on, without reading the other desks' items.
CREATE INDEX outbox_desk ON outbox (desk, seq);
CREATE INDEX dead_letters_desk ON dead_letters (desk, seq);
