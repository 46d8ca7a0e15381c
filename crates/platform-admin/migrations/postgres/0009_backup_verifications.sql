-- Each verification of a backup (repository check and restore test) and
-- how it went: a backup's verified flag is its latest. Keep it in step
-- with ../sqlite/0009_backup_verifications.sql.
CREATE TABLE backup_verifications (
    target TEXT COLLATE "C" NOT NULL,
    label TEXT COLLATE "C" NOT NULL,
    job_id TEXT COLLATE "C" NOT NULL,
    at TEXT COLLATE "C" NOT NULL,
    -- 1 passed, 0 failed.
    ok INTEGER NOT NULL,
    detail TEXT,
    PRIMARY KEY (target, label, job_id)
);
