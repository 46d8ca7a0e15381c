"""The measuring half of bench/playbook-engine (which starts the server and
sets BENCH_*); argv is the direct client of the same store, reading SQL on
stdin (sqlite3 FILE, or psql URL)."""

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import datetime

URL = os.environ["BENCH_URL"]
TOKEN = os.environ["BENCH_TOKEN"]
BACKEND = os.environ["BENCH_BACKEND"]
STEPS = int(os.environ["BENCH_STEPS"])
ACTIONS = int(os.environ["BENCH_ACTIONS"])
DIRECT = sys.argv[1:]
ENDED = ("succeeded", "failed", "cancelled")


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("authorization", "Bearer " + TOKEN)
    if data is not None:
        req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def until(path, done, within=600):
    deadline = time.time() + within
    while time.time() < deadline:
        got = call("GET", path)
        if done(got):
            return got
        time.sleep(0.05)
    sys.exit(f"playbook-engine: {path} did not end within {within} s")


def run(source):
    started = call("POST", "/v1/playbook-runs", {"source": source})
    return until(f"/v1/playbook-runs/{started['id']}", lambda r: r["state"] in ENDED)


# (a) STEPS notes through the engine, against STEPS inserts made directly.
notes = "\n".join(f"  - {{id: n{i}, note: step {i}}}" for i in range(STEPS))
source = f"version: 1\nid: bench-notes\ntitle: Notes\nseverity: P4\nsteps:\n{notes}\n"
ran = run(source)
if ran["state"] != "succeeded":
    sys.exit(f"playbook-engine: the notes run {ran['state']}: {ran.get('error')}")
engine = at(ran["finished_at"]) - at(ran["created_at"])
inserts = "".join(
    "INSERT INTO playbook_run_events (run_id, seq, at, actor, kind, step_id, message) "
    f"VALUES ('bench-direct', {i}, '2026-01-01T00:00:00Z', 'bench', 'step_succeeded', 'n{i}', 'step {i}');\n"
    for i in range(STEPS)
)
t0 = time.perf_counter()
subprocess.run(DIRECT, input=inserts, text=True, check=True, stdout=subprocess.DEVNULL)
direct = time.perf_counter() - t0

# (b) ACTIONS backup.create steps, against the same jobs through the API.
backups = "\n".join(
    f"  - {{id: b{i}, action: {{name: backup.create, args: {{target: bench, type: full}}}}, on_failure: continue}}"
    for i in range(ACTIONS)
)
source = f"version: 1\nid: bench-actions\ntitle: Actions\nseverity: P4\nsteps:\n{backups}\n"
ran = run(source)
step_to_job = []
for step in ran["steps"]:
    job = until(f"/v1/jobs/{step['job']}", lambda j: j.get("started_at") is not None)
    step_to_job.append(at(job["started_at"]) - at(step["started_at"]))
api_to_job = []
for _ in range(ACTIONS):
    sent = time.time()
    job = call("POST", "/v1/backup-targets/bench/backups", {"type": "full"})
    job = until(f"/v1/jobs/{job['id']}", lambda j: j["state"] in ENDED)
    api_to_job.append(at(job["started_at"]) - sent)

step_ms = statistics.median(step_to_job) * 1000
api_ms = statistics.median(api_to_job) * 1000
print(f"== {BACKEND}")
print(f"(a) {STEPS} note steps through the engine: {engine:.3f} s ({engine / STEPS * 1000:.2f} ms a step)")
print(f"    {STEPS} inserts made directly:       {direct:.3f} s ({direct / STEPS * 1000:.2f} ms an insert)")
print(f"    ratio: {engine / direct:.1f}x the direct inserts")
print(f"(b) action step start to job start, median of {ACTIONS}: {step_ms:.1f} ms "
      f"(range {min(step_to_job) * 1000:.1f}-{max(step_to_job) * 1000:.1f})")
print(f"    API request to job start, median of {ACTIONS}:      {api_ms:.1f} ms "
      f"(range {min(api_to_job) * 1000:.1f}-{max(api_to_job) * 1000:.1f})")
print(f"    ratio: {step_ms / api_ms:.2f}x enqueueing through the API")
