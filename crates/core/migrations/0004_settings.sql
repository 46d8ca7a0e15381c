-- The desktop app's settings that are not a profile's: how loud its alert
-- notifications are (severity, quiet hours). One row per setting, its value
-- as JSON; a value that cannot be read is the setting's default.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
