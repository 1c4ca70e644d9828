-- Core records: organisations, people, teams, scenarios, enrolments, submissions, audit.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'judge', 'operator')),
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE department_members (
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);

CREATE TABLE identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'worker')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE teams (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('university', 'company')),
    institution TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL
);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE team_invitations (
    id TEXT PRIMARY KEY NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    invitee_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    invited_by TEXT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'revoked')),
    created_at BIGINT NOT NULL,
    responded_at BIGINT
);
CREATE INDEX team_invitations_invitee ON team_invitations (invitee_id, status);

CREATE TABLE scenarios (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    title_zh TEXT NOT NULL,
    title_en TEXT NOT NULL,
    domain TEXT NOT NULL,
    summary_zh TEXT NOT NULL,
    summary_en TEXT NOT NULL,
    description TEXT NOT NULL,
    bounty_cny BIGINT NOT NULL CHECK (bounty_cny >= 0),
    mode TEXT NOT NULL CHECK (mode IN ('serve', 'batch')),
    metric TEXT NOT NULL,
    latency_budget_ms DOUBLE PRECISION,
    daily_quota INTEGER NOT NULL CHECK (daily_quota > 0),
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    source TEXT NOT NULL CHECK (source IN ('api', 'catalog')),
    spec TEXT NOT NULL,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    published_at BIGINT
);
CREATE INDEX scenarios_organization ON scenarios (organization_id);

CREATE TABLE phases (
    id TEXT PRIMARY KEY NOT NULL,
    scenario_id TEXT NOT NULL REFERENCES scenarios(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    opens_at BIGINT NOT NULL,
    closes_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CHECK (closes_at > opens_at)
);
CREATE INDEX phases_scenario ON phases (scenario_id, opens_at);

CREATE TABLE enrolments (
    id TEXT PRIMARY KEY NOT NULL,
    scenario_id TEXT NOT NULL REFERENCES scenarios(id),
    team_id TEXT NOT NULL REFERENCES teams(id),
    phase_id TEXT NOT NULL REFERENCES phases(id),
    enrolled_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    UNIQUE (scenario_id, team_id)
);
CREATE INDEX enrolments_team ON enrolments (team_id);

CREATE TABLE submissions (
    id TEXT PRIMARY KEY NOT NULL,
    scenario_id TEXT NOT NULL REFERENCES scenarios(id),
    phase_id TEXT NOT NULL REFERENCES phases(id),
    team_id TEXT NOT NULL REFERENCES teams(id),
    submitted_by TEXT NOT NULL REFERENCES users(id),
    image_digest TEXT NOT NULL,
    image_size BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX submissions_team ON submissions (team_id, created_at);
CREATE INDEX submissions_scenario ON submissions (scenario_id, phase_id);
INSERT INTO organizations (id, name_zh, name_en, created_at) VALUES ('konggang', '空港新城', 'Konggang New City', 0);
INSERT INTO organizations (id, name_zh, name_en, created_at) VALUES ('fengdong', '沣东新城', 'Fengdong New City', 0);
INSERT INTO organizations (id, name_zh, name_en, created_at) VALUES ('qinhan', '秦汉新城', 'Qinhan New City', 0);
INSERT INTO organizations (id, name_zh, name_en, created_at) VALUES ('fengxi', '沣西新城', 'Fengxi New City', 0);
INSERT INTO organizations (id, name_zh, name_en, created_at) VALUES ('jinghe', '泾河新城', 'Jinghe New City', 0);
INSERT INTO organizations (id, name_zh, name_en, created_at) VALUES ('energy-finance', '能源金贸区', 'Energy & Finance District', 0);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject_kind, subject_id);

-- The audit log is append-only: history cannot be rewritten through the database either.
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
