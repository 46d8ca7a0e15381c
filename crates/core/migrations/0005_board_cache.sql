-- The last dashboard panels each server's Prometheus answered with, drawn,
-- so a console started while Prometheus is unreachable still shows what
-- was last seen, marked stale with its age. Keyed like the tenant cache by
-- the profile's server; the board is the JSON the window is sent.
CREATE TABLE board_cache (
    server     TEXT NOT NULL,
    dashboard  TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    board      TEXT NOT NULL,
    PRIMARY KEY (server, dashboard)
);
