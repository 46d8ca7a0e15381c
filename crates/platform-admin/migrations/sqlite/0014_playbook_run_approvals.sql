-- Who approved a run's approval step, holding which role. Keep it in step
-- with ../postgres/0014_playbook_run_approvals.sql.
CREATE TABLE playbook_run_approvals (
    run_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    approver TEXT NOT NULL,
    role TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id, approver)
);
-- The runs of an incident, and every run newest first.
CREATE INDEX playbook_runs_incident ON playbook_runs (incident_id);
