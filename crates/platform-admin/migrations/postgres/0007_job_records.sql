-- What an operator sees of a job: what it acts on, who asked, when it
-- started and ended, what it produced, and its log. Keep it in step with
-- ../sqlite/0007_job_records.sql.
ALTER TABLE jobs ADD COLUMN target TEXT;
ALTER TABLE jobs ADD COLUMN actor TEXT;
-- JSON text: what a succeeded job produced (a backup's label and size…).
ALTER TABLE jobs ADD COLUMN result TEXT;
ALTER TABLE jobs ADD COLUMN started_at TEXT COLLATE "C";
ALTER TABLE jobs ADD COLUMN finished_at TEXT COLLATE "C";
-- One mutating job per target at a time: the routes check first to name
-- the job in the way, and this index refuses what races past the check.
CREATE UNIQUE INDEX jobs_one_per_target ON jobs (target)
    WHERE state IN ('queued', 'running');
CREATE TABLE job_log (
    job_id TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    at TEXT COLLATE "C" NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
