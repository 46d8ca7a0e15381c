-- Durable jobs (backups, restores, failovers, playbook runs), taken by
-- several workers, each at most once at a time. Keep it in step with
-- ../postgres/0004_jobs.sql.
--
-- A worker that claims a job becomes its owner for one more attempt and
-- holds a lease it renews while it runs; a job whose lease ran out (its
-- worker died or stalled) is taken over by another worker, and the old
-- owner can then no longer report on it. Timestamps are fixed-width
-- RFC 3339 text, which SQLite compares byte-wise.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    -- The tenant's id, when the job is about one. Not a foreign key: a
    -- job's record outlives the tenant it was about.
    tenant TEXT,
    -- JSON text: what the job's kind needs to run.
    payload TEXT NOT NULL,
    state TEXT NOT NULL
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    lease_until TEXT,
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER,
    progress_phase TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- What a claim reads: the oldest queued job, and running jobs by the end
-- of their lease. Partial, so finished jobs (nearly all rows, in time)
-- never cost a claim anything.
CREATE INDEX jobs_queued ON jobs (id) WHERE state = 'queued';
CREATE INDEX jobs_running_lease ON jobs (lease_until) WHERE state = 'running';
