-- Requests for a second person's approval of one destructive action (the
-- two-person rule). Keep it in step with ../sqlite/0016_approval_requests.sql.
CREATE TABLE approval_requests (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    -- backup.restore, cluster.switchover, cluster.failover, tenant.delete.
    action TEXT NOT NULL,
    -- The backup target's or cluster's id, or the tenant's slug.
    target TEXT NOT NULL,
    -- Canonical JSON text of the request body the grant covers: the body
    -- read as the action's request type and written again.
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    -- The role a granter must hold, as the rule named it when asked.
    role TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    -- Who may use it: the requester's subject.
    requester_kind TEXT NOT NULL,
    requester_id TEXT NOT NULL,
    requested_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    -- Stored state; one past expires_at and not decided or not used is
    -- shown expired.
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'granted', 'denied', 'expired', 'used')),
    decided_by TEXT,
    decided_at TEXT COLLATE "C",
    note TEXT,
    used_at TEXT COLLATE "C"
);
CREATE INDEX approval_requests_state ON approval_requests (state, id);
