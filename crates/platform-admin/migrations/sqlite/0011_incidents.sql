-- Incidents, their timelines and the alerts linked to them. Keep it in step
-- with ../postgres/0011_incidents.sql. Timestamps are fixed-width RFC 3339
-- text, compared byte-wise.
CREATE TABLE incidents (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('P1', 'P2', 'P3', 'P4')),
    commander TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('open', 'acknowledged', 'mitigated', 'resolved')),
    opened_by TEXT NOT NULL,
    started_at TEXT NOT NULL,
    acknowledged_at TEXT,
    mitigated_at TEXT,
    resolved_at TEXT,
    -- The seq of the newest timeline event: an append bumps it first, which
    -- serialises appends to one incident on both databases.
    last_seq INTEGER NOT NULL DEFAULT 0,
    -- How many times the escalation sweep handed it on.
    escalation_level INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX incidents_by_status ON incidents (status, id);
-- Everything that happened during an incident, in order. Other modules
-- (playbook runs) append here too, inside their own transactions.
CREATE TABLE incident_events (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    -- JSON text, or NULL.
    detail TEXT,
    PRIMARY KEY (incident_id, seq)
);
-- Alertmanager alerts linked to an incident, as the client read them.
CREATE TABLE incident_alerts (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    alertname TEXT NOT NULL,
    -- JSON text: the labels object.
    labels TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    linked_by TEXT NOT NULL,
    PRIMARY KEY (incident_id, fingerprint)
);
