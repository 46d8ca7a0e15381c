-- A running job asked to stop: its worker sees this, stops the job's
-- processes and records it cancelled. Keep it in step with
-- ../sqlite/0008_job_cancel.sql.
ALTER TABLE jobs ADD COLUMN cancel_requested_at TEXT COLLATE "C";
