-- Maintenance windows and the Alertmanager silences kept for them. Keep it
-- in step with ../sqlite/0012_maintenance.sql.
CREATE TABLE maintenance_windows (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    starts_at TEXT COLLATE "C" NOT NULL,
    -- The planned end, or the moment it was ended early.
    ends_at TEXT COLLATE "C" NOT NULL,
    -- JSON text: the matchers, as the API shows them.
    matchers TEXT NOT NULL,
    owner TEXT NOT NULL,
    reason TEXT NOT NULL,
    silence_id TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    ended_by TEXT,
    -- What the incidents' timelines were last told of it: scheduled,
    -- active or ended. The sweep tells them when the clock moves it on.
    told TEXT NOT NULL DEFAULT 'scheduled'
        CHECK (told IN ('scheduled', 'active', 'ended'))
);
CREATE INDEX maintenance_windows_untold ON maintenance_windows (told, id);
