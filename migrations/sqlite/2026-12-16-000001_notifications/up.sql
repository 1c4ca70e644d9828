-- In-app notifications: one row per person told of an event, written in the transaction
-- that records the event. `params` is JSON the pages render in zh or en from the
-- catalogs (so a notification reads in the visitor's language, not the sender's);
-- `link` is the page it points at; unread while `read_at` is NULL.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_user ON notifications (user_id, id);
