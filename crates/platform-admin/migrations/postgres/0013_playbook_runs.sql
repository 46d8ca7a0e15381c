-- Playbook runs: a playbook's resolved plan, run step by step by jobs of
-- kind `playbook_run`, waiting on people where the plan says so. Keep it
-- in step with ../sqlite/0013_playbook_runs.sql.
--
-- Every transition of a run or a step is written before what it does is
-- done; `job_id` is the one job allowed to drive the run (a job finding
-- another id there stops), and a step's `job_id` is the job it started,
-- written in the transaction that enqueued it, so it is never sent twice.
CREATE TABLE playbook_runs (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    playbook_id TEXT NOT NULL,
    title TEXT NOT NULL,
    -- The playbook as it was given (YAML text), for the record.
    source TEXT NOT NULL,
    -- JSON text: the inputs as given, and the plan resolved from them.
    inputs TEXT NOT NULL,
    plan TEXT NOT NULL,
    state TEXT NOT NULL
        CHECK (state IN ('queued', 'running', 'waiting', 'succeeded', 'failed')),
    -- The index of the step the run is at; the number of steps once ended.
    cursor BIGINT NOT NULL DEFAULT 0,
    job_id TEXT COLLATE "C",
    starter TEXT NOT NULL,
    starter_kind TEXT NOT NULL,
    starter_id TEXT NOT NULL,
    -- Not a foreign key: incidents are their own capability.
    incident_id TEXT,
    error TEXT,
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL,
    finished_at TEXT COLLATE "C"
);
CREATE TABLE playbook_run_steps (
    run_id TEXT COLLATE "C" NOT NULL,
    idx BIGINT NOT NULL,
    step_id TEXT NOT NULL,
    state TEXT NOT NULL
        CHECK (state IN ('pending', 'running', 'waiting', 'succeeded', 'failed', 'skipped')),
    attempt BIGINT NOT NULL DEFAULT 0,
    started_at TEXT COLLATE "C",
    finished_at TEXT COLLATE "C",
    -- JSON text: what the step produced.
    result TEXT,
    error TEXT,
    -- The job an action started.
    job_id TEXT COLLATE "C",
    -- JSON text: the last value a check read, and when.
    live TEXT,
    -- JSON text: the indexes of the ticked checklist items.
    ticked TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE playbook_run_events (
    run_id TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    at TEXT COLLATE "C" NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    step_id TEXT,
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
