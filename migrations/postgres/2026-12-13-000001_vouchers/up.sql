-- Compute vouchers (算力券). Organisations gain a kind: the departments (towns) that post
-- scenarios, and the institutions (universities, companies) teams belong to, each with a
-- unique name; an institution's monthly credit is how much own charge it may run up in a
-- month once its vouchers are spent. Teams point at their institution; the free-text
-- institutions already stored become organisation records.
ALTER TABLE organizations ADD COLUMN kind TEXT NOT NULL DEFAULT 'department'
    CHECK (kind IN ('department', 'institution'));
ALTER TABLE organizations ADD COLUMN monthly_credit_fen BIGINT NOT NULL DEFAULT 0
    CHECK (monthly_credit_fen >= 0);
CREATE UNIQUE INDEX organizations_institution_name ON organizations (name_zh)
    WHERE kind = 'institution';
ALTER TABLE teams ADD COLUMN organization_id TEXT REFERENCES organizations(id);
CREATE INDEX teams_organization ON teams (organization_id);

INSERT INTO organizations (id, name_zh, name_en, created_at, kind)
SELECT 'org_' || substr(md5(random()::text || institution), 1, 16), institution, institution, MIN(created_at),
       'institution'
FROM teams
WHERE trim(institution) <> ''
GROUP BY institution;
UPDATE teams SET organization_id = (
    SELECT o.id FROM organizations o
    WHERE o.kind = 'institution' AND o.name_zh = teams.institution
);

-- Prices per device-hour of an accelerator model, or per CPU-core-hour for runs that hold no
-- accelerator, in integer fen; a charge uses the price in force when its run finished (the
-- newest `valid_from` at or before it, until `valid_until` if set).
CREATE TABLE prices (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('device', 'cpu_core')),
    model TEXT NOT NULL,
    fen_per_hour BIGINT NOT NULL CHECK (fen_per_hour >= 0),
    valid_from BIGINT NOT NULL,
    valid_until BIGINT,
    set_by TEXT REFERENCES users(id),
    set_at BIGINT NOT NULL,
    CHECK (valid_until IS NULL OR valid_until > valid_from),
    CHECK ((kind = 'cpu_core') = (model = ''))
);
CREATE INDEX prices_in_force ON prices (kind, model, valid_from);

-- Compute vouchers issued to an organisation: what is left of the face value, the share of
-- each evaluation's cost they pay (basis points), their validity, the yearly cap on the
-- organisation's subsidy, and what they cover (everything, one town's scenarios, one
-- scenario). The balance can never go below zero, whatever the application does.
CREATE TABLE vouchers (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    face_value_fen BIGINT NOT NULL CHECK (face_value_fen > 0),
    balance_fen BIGINT NOT NULL,
    subsidy_bp INTEGER NOT NULL CHECK (subsidy_bp BETWEEN 1 AND 10000),
    valid_from BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    yearly_cap_fen BIGINT NOT NULL CHECK (yearly_cap_fen >= 0),
    scope TEXT NOT NULL CHECK (scope IN ('all', 'town', 'scenario')),
    scope_id TEXT,
    issued_by TEXT REFERENCES users(id),
    issued_at BIGINT NOT NULL,
    CHECK (balance_fen >= 0 AND balance_fen <= face_value_fen),
    CHECK (valid_until > valid_from),
    CHECK ((scope = 'all') = (scope_id IS NULL))
);
CREATE INDEX vouchers_organization ON vouchers (organization_id, valid_until);

-- A department's sponsorship of its scenario: each team's evaluations of it are free up to
-- this many fen a day (Beijing days, as the quota's).
CREATE TABLE sponsorships (
    scenario_id TEXT PRIMARY KEY NOT NULL REFERENCES scenarios(id) ON DELETE CASCADE,
    daily_fen_per_team BIGINT NOT NULL CHECK (daily_fen_per_team >= 0),
    set_by TEXT REFERENCES users(id),
    set_at BIGINT NOT NULL
);

-- One charge per recorded result (the key makes a result recorded twice charged once): the
-- metered use, the price in force, and who paid what. `month` (Beijing, YYYY-MM) groups the
-- statements and the operator's totals.
CREATE TABLE charges (
    submission_id TEXT NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    package_version INTEGER NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    team_id TEXT NOT NULL REFERENCES teams(id),
    scenario_id TEXT NOT NULL REFERENCES scenarios(id),
    town_id TEXT NOT NULL REFERENCES organizations(id),
    kind TEXT NOT NULL CHECK (kind IN ('device', 'cpu_core')),
    model TEXT NOT NULL,
    usage_millis BIGINT NOT NULL CHECK (usage_millis >= 0),
    price_id TEXT REFERENCES prices(id),
    fen_per_hour BIGINT NOT NULL,
    cost_fen BIGINT NOT NULL,
    sponsored_fen BIGINT NOT NULL CHECK (sponsored_fen >= 0),
    subsidy_fen BIGINT NOT NULL CHECK (subsidy_fen >= 0),
    own_fen BIGINT NOT NULL CHECK (own_fen >= 0),
    finished_at BIGINT NOT NULL,
    month TEXT NOT NULL,
    refunded_at BIGINT,
    refunded_by TEXT REFERENCES users(id),
    PRIMARY KEY (submission_id, package_version),
    CHECK (cost_fen = sponsored_fen + subsidy_fen + own_fen)
);
CREATE INDEX charges_organization ON charges (organization_id, finished_at);
CREATE INDEX charges_team_day ON charges (team_id, scenario_id, finished_at);

-- Which vouchers paid a charge's subsidy, and how much each.
CREATE TABLE charge_debits (
    submission_id TEXT NOT NULL,
    package_version INTEGER NOT NULL,
    voucher_id TEXT NOT NULL REFERENCES vouchers(id),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    PRIMARY KEY (submission_id, package_version, voucher_id),
    FOREIGN KEY (submission_id, package_version)
        REFERENCES charges (submission_id, package_version) ON DELETE CASCADE
);
CREATE INDEX charge_debits_voucher ON charge_debits (voucher_id);
