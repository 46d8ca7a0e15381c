-- The profile each window of the desktop app is on: its own choice, apart
-- from the CLI's current profile (kept in profiles.toml), so neither face
-- moves the other to another environment. Keyed by the window's label.
CREATE TABLE window_profile (
    window     TEXT PRIMARY KEY NOT NULL,
    profile    TEXT NOT NULL,
    chosen_at  TEXT NOT NULL
);
