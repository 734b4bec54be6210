-- The gateway's state in PostgreSQL: one database shared by every replica.
-- Ids compare byte for byte (COLLATE "C"), as sled's keys do: id order is creation order.

-- Counters handed out in a transaction (the incident number).
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- The canonical incident (body) with the columns listings filter and sort on.
CREATE TABLE incidents (
    id          TEXT COLLATE "C" PRIMARY KEY,
    -- The number in the id: creation order.
    seq         BIGINT NOT NULL,
    body        JSONB NOT NULL,
    status      TEXT NOT NULL,
    priority    TEXT,
    service     TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    -- updated_at to the nanosecond, as the incident holds it: what the updated
    -- range filters compare (TIMESTAMPTZ keeps microseconds).
    updated_ns  BIGINT NOT NULL,
    -- updated_at to the millisecond: what ordering by change and its keyset compare.
    updated_ms  BIGINT NOT NULL,
    origin_desk TEXT NOT NULL,
    assignee    TEXT,
    -- Every desk party to the incident (origin, assignee): what a desk may see.
    parties     TEXT[] NOT NULL
);
CREATE INDEX incidents_status ON incidents (status, id);
CREATE INDEX incidents_priority ON incidents (priority, id);
CREATE INDEX incidents_service ON incidents (service, id);
CREATE INDEX incidents_seq ON incidents (seq, id);
CREATE INDEX incidents_updated ON incidents (updated_ms, id);
CREATE INDEX incidents_updated_ns ON incidents (updated_ns);
CREATE INDEX incidents_origin ON incidents (origin_desk, id);
CREATE INDEX incidents_assignee ON incidents (assignee, id);
CREATE INDEX incidents_parties ON incidents USING GIN (parties);

-- One desk ticket is one incident, whichever replica stored it.
CREATE TABLE refs (
    desk      TEXT COLLATE "C" NOT NULL,
    remote_id TEXT COLLATE "C" NOT NULL,
    incident  TEXT COLLATE "C" NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    CONSTRAINT refs_one_incident_per_ticket UNIQUE (desk, remote_id)
);
CREATE INDEX refs_incident ON refs (incident);

CREATE TABLE idempotency (
    desk        TEXT COLLATE "C" NOT NULL,
    key         TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT NOT NULL,
    incident    TEXT COLLATE "C" NOT NULL,
    CONSTRAINT idempotency_one_use_per_key UNIQUE (desk, key)
);

-- Outbox and dead letters share one numbering: a replayed dead letter takes its
-- place in its lane again.
CREATE SEQUENCE item_seq;

CREATE TABLE outbox (
    seq         BIGINT PRIMARY KEY DEFAULT nextval('item_seq'),
    incident    TEXT COLLATE "C" NOT NULL,
    desk        TEXT COLLATE "C" NOT NULL,
    body        JSONB NOT NULL,
    -- Due at (nanoseconds since the epoch, as the item holds it).
    not_before  BIGINT NOT NULL,
    -- The replica delivering the item, until lease_until: a dead replica's lease runs out.
    leased_by   TEXT,
    lease_until TIMESTAMPTZ
);
-- A lane is (incident, desk), in seq order.
CREATE INDEX outbox_lane ON outbox (incident, desk, seq);
CREATE INDEX outbox_due ON outbox (not_before, seq);

CREATE TABLE dead_letters (
    seq      BIGINT PRIMARY KEY,
    incident TEXT COLLATE "C" NOT NULL,
    desk     TEXT COLLATE "C" NOT NULL,
    body     JSONB NOT NULL
);
CREATE INDEX dead_letters_lane ON dead_letters (incident, desk);

CREATE TABLE audit (
    seq  BIGSERIAL PRIMARY KEY,
    body JSONB NOT NULL
);

CREATE TABLE escalations (
    id       TEXT COLLATE "C" PRIMARY KEY,
    incident TEXT COLLATE "C" NOT NULL,
    -- Set while waiting for an acknowledgement (nanoseconds since the epoch): what
    -- the escalation watch reads.
    deadline BIGINT,
    body     JSONB NOT NULL
);
CREATE INDEX escalations_deadline ON escalations (deadline, id) WHERE deadline IS NOT NULL;
CREATE INDEX escalations_incident ON escalations (incident);

CREATE TABLE contents (
    sha256  TEXT PRIMARY KEY,
    content BYTEA NOT NULL
);

CREATE TABLE cursors (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
