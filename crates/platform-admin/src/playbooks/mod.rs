//! Playbook runs on the server: a playbook (the `opsdeck-playbook` format)
//! started with its inputs becomes a run whose resolved plan is stored, and
//! jobs of kind `playbook_run` run it step by step (`engine`), waiting on
//! people for manual steps and approvals. `routes` starts, shows, ticks,
//! approves, retries and resumes runs; `monitoring` is what checks and
//! silences ask of Prometheus and Alertmanager. Incidents are their own
//! capability: a run only keeps the id of the one it belongs to.

pub mod engine;
pub mod monitoring;
pub mod routes;
pub mod store;

/// The job kind that drives a run.
pub const KIND: &str = "playbook_run";

/// The job that drives run `run` from where it is.
pub fn driving_job(run: &str, actor: &str) -> crate::jobs::NewJob {
    crate::jobs::NewJob {
        kind: KIND.to_string(),
        tenant: None,
        payload: serde_json::json!({ "run": run }),
        // No target: the run itself says which job drives it (`job_id`), so
        // a continuation may be queued while the job that waited records
        // its end.
        target: None,
        actor: Some(actor.to_string()),
    }
}
