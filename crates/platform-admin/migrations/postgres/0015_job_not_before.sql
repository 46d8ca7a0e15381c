-- A job may be queued to run no earlier than a time: a playbook run that
-- polls a `wait_until` check is queued again for its next look instead of
-- holding a worker while it waits. A claim passes over a job not yet due.
-- Keep it in step with ../sqlite/0015_job_not_before.sql.
ALTER TABLE jobs ADD COLUMN not_before TEXT COLLATE "C";
-- What the worker reads to know how long to sleep: the earliest job that
-- is queued but not yet due.
CREATE INDEX jobs_not_before ON jobs (not_before) WHERE state = 'queued' AND not_before IS NOT NULL;
