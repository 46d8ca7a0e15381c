-- Each verification of a backup (repository check and restore test) and
-- how it went: a backup's verified flag is its latest. Keep it in step
-- with ../postgres/0009_backup_verifications.sql.
CREATE TABLE backup_verifications (
    target TEXT NOT NULL,
    label TEXT NOT NULL,
    job_id TEXT NOT NULL,
    at TEXT NOT NULL,
    -- 1 passed, 0 failed.
    ok INTEGER NOT NULL,
    detail TEXT,
    PRIMARY KEY (target, label, job_id)
);
