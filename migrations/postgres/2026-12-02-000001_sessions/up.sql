-- Browser sessions kept on the server, so that signing out, revoking the token a session
-- was started with, or an administrator's revocation ends it at once. The cookie holds a
-- random secret; only its hash is stored, so a copy of the database opens no session.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    token_id TEXT REFERENCES api_tokens (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_token_id ON sessions (token_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
