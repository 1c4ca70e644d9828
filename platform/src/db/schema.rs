//! The table definitions shared by both backends (kept in step with both migration trees).

diesel::table! {
    organizations (id) {
        id -> Text,
        name_zh -> Text,
        name_en -> Text,
        created_at -> BigInt,
        kind -> Text,
        monthly_credit_fen -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        login -> Text,
        display_name -> Text,
        email -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    user_roles (user_id, role) {
        user_id -> Text,
        role -> Text,
        granted_at -> BigInt,
    }
}

diesel::table! {
    department_members (organization_id, user_id) {
        organization_id -> Text,
        user_id -> Text,
        added_at -> BigInt,
    }
}

diesel::table! {
    identities (provider, subject) {
        provider -> Text,
        subject -> Text,
        user_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    oidc_logins (state_hash) {
        state_hash -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        return_to -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        kind -> Text,
        token_hash -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    teams (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        institution -> Text,
        created_by -> Text,
        created_at -> BigInt,
        organization_id -> Nullable<Text>,
    }
}

diesel::table! {
    team_members (team_id, user_id) {
        team_id -> Text,
        user_id -> Text,
        role -> Text,
        joined_at -> BigInt,
    }
}

diesel::table! {
    team_invitations (id) {
        id -> Text,
        team_id -> Text,
        invitee_id -> Text,
        invited_by -> Text,
        status -> Text,
        created_at -> BigInt,
        responded_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    scenarios (id) {
        id -> Text,
        organization_id -> Text,
        title_zh -> Text,
        title_en -> Text,
        domain -> Text,
        summary_zh -> Text,
        summary_en -> Text,
        description -> Text,
        bounty_cny -> BigInt,
        mode -> Text,
        metric -> Text,
        latency_budget_ms -> Nullable<Double>,
        daily_quota -> Integer,
        status -> Text,
        source -> Text,
        spec -> Text,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        published_at -> Nullable<BigInt>,
        package_version -> Integer,
    }
}

diesel::table! {
    package_versions (scenario_id, version) {
        scenario_id -> Text,
        version -> Integer,
        spec -> Text,
        archive_digest -> Nullable<Text>,
        uploaded_by -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    phases (id) {
        id -> Text,
        scenario_id -> Text,
        name -> Text,
        opens_at -> BigInt,
        closes_at -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    enrolments (id) {
        id -> Text,
        scenario_id -> Text,
        team_id -> Text,
        phase_id -> Text,
        enrolled_by -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    submissions (id) {
        id -> Text,
        scenario_id -> Text,
        phase_id -> Text,
        team_id -> Text,
        submitted_by -> Text,
        image_digest -> Text,
        image_size -> BigInt,
        status -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        counts_toward_quota -> Bool,
        failure -> Nullable<Text>,
    }
}

diesel::table! {
    submission_events (id) {
        id -> BigInt,
        submission_id -> Text,
        stage -> Text,
        at -> BigInt,
        detail -> Text,
    }
}

diesel::table! {
    workers (id) {
        id -> Text,
        name -> Text,
        user_id -> Text,
        cpus -> Integer,
        memory_mb -> BigInt,
        accelerators -> Text,
        registered_at -> BigInt,
        last_seen_at -> BigInt,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        submission_id -> Text,
        status -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<BigInt>,
        heartbeat_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        package_version -> Integer,
        rescore -> Bool,
        quiet_waits -> Integer,
        not_before -> Nullable<BigInt>,
        disturbance -> Nullable<Text>,
    }
}

diesel::table! {
    /// One-shot workers submitted to Slurm, each for a queued job that needed accelerators.
    slurm_submissions (slurm_job_id) {
        slurm_job_id -> Text,
        job_id -> Text,
        gres -> Text,
        state -> Text,
        submitted_at -> BigInt,
        started_at -> Nullable<BigInt>,
        ended_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    results (submission_id, package_version) {
        submission_id -> Text,
        package_version -> Integer,
        metric -> Text,
        public_score -> Nullable<Double>,
        public_low -> Nullable<Double>,
        public_high -> Nullable<Double>,
        private_score -> Nullable<Double>,
        private_low -> Nullable<Double>,
        private_high -> Nullable<Double>,
        sample_score -> Nullable<Double>,
        within_budget -> Nullable<Bool>,
        latency_ms -> Nullable<Double>,
        failure -> Nullable<Text>,
        report_digest -> Text,
        sample_logs_digest -> Nullable<Text>,
        hidden_logs_digest -> Nullable<Text>,
        worker_id -> Nullable<Text>,
        finished_at -> BigInt,
        device_seconds -> Nullable<Double>,
        devices -> Nullable<Text>,
        public_items -> Nullable<BigInt>,
        public_items_in_set -> Nullable<BigInt>,
        private_items -> Nullable<BigInt>,
        private_items_in_set -> Nullable<BigInt>,
        items_digest -> Nullable<Text>,
        budget_uncertain -> Nullable<Bool>,
    }
}

diesel::table! {
    board_entries (team_id, scenario_id, phase_id, board, direction, package_version) {
        scenario_id -> Text,
        phase_id -> Text,
        board -> Text,
        direction -> Text,
        package_version -> Integer,
        team_id -> Text,
        submission_id -> Text,
        score -> Double,
        score_key -> Double,
        over_budget -> Bool,
        latency_ms -> Double,
        submitted_at -> BigInt,
    }
}

diesel::table! {
    reviews (id) {
        id -> Text,
        submission_id -> Text,
        judge_id -> Text,
        score -> Integer,
        recommendation -> Text,
        body -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> BigInt,
        actor_id -> Nullable<Text>,
        action -> Text,
        subject_kind -> Text,
        subject_id -> Text,
        detail -> Text,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        csrf_token -> Text,
        token_id -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    judgings (scenario_id) {
        scenario_id -> Text,
        blind -> Bool,
        updated_by -> Nullable<Text>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    rubric_criteria (scenario_id, criterion) {
        scenario_id -> Text,
        criterion -> Text,
        position -> Integer,
        label -> Text,
        kind -> Text,
        measure -> Nullable<Text>,
        weight -> Integer,
        guidance -> Text,
    }
}

diesel::table! {
    panel_members (scenario_id, judge_id) {
        scenario_id -> Text,
        judge_id -> Text,
        assigned_by -> Nullable<Text>,
        assigned_at -> BigInt,
        declared_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    judge_affiliations (scenario_id, judge_id, institution) {
        scenario_id -> Text,
        judge_id -> Text,
        institution -> Text,
        declared_at -> BigInt,
    }
}

diesel::table! {
    score_sheets (scenario_id, judge_id, team_id) {
        scenario_id -> Text,
        judge_id -> Text,
        team_id -> Text,
        comment -> Text,
        submitted_at -> BigInt,
    }
}

diesel::table! {
    judge_scores (scenario_id, judge_id, team_id, criterion) {
        scenario_id -> Text,
        judge_id -> Text,
        team_id -> Text,
        criterion -> Text,
        score -> Integer,
    }
}

diesel::table! {
    awards (scenario_id) {
        scenario_id -> Text,
        reasons -> Text,
        objection_days -> Integer,
        decided_by -> Nullable<Text>,
        decided_at -> BigInt,
        announced_at -> Nullable<BigInt>,
        objections_close_at -> Nullable<BigInt>,
        final_notified_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    award_winners (scenario_id, team_id) {
        scenario_id -> Text,
        team_id -> Text,
        position -> Integer,
        amount_fen -> BigInt,
        reason -> Text,
    }
}

diesel::table! {
    objections (id) {
        id -> Text,
        scenario_id -> Text,
        filed_by -> Text,
        body -> Text,
        filed_at -> BigInt,
        answer -> Nullable<Text>,
        answered_by -> Nullable<Text>,
        answered_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    prices (id) {
        id -> Text,
        kind -> Text,
        model -> Text,
        fen_per_hour -> BigInt,
        valid_from -> BigInt,
        valid_until -> Nullable<BigInt>,
        set_by -> Nullable<Text>,
        set_at -> BigInt,
    }
}

diesel::table! {
    vouchers (id) {
        id -> Text,
        organization_id -> Text,
        face_value_fen -> BigInt,
        balance_fen -> BigInt,
        subsidy_bp -> Integer,
        valid_from -> BigInt,
        valid_until -> BigInt,
        yearly_cap_fen -> BigInt,
        scope -> Text,
        scope_id -> Nullable<Text>,
        issued_by -> Nullable<Text>,
        issued_at -> BigInt,
    }
}

diesel::table! {
    sponsorships (scenario_id) {
        scenario_id -> Text,
        daily_fen_per_team -> BigInt,
        set_by -> Nullable<Text>,
        set_at -> BigInt,
    }
}

diesel::table! {
    charges (submission_id, package_version) {
        submission_id -> Text,
        package_version -> Integer,
        organization_id -> Text,
        team_id -> Text,
        scenario_id -> Text,
        town_id -> Text,
        kind -> Text,
        model -> Text,
        usage_millis -> BigInt,
        price_id -> Nullable<Text>,
        fen_per_hour -> BigInt,
        cost_fen -> BigInt,
        sponsored_fen -> BigInt,
        subsidy_fen -> BigInt,
        own_fen -> BigInt,
        finished_at -> BigInt,
        month -> Text,
        refunded_at -> Nullable<BigInt>,
        refunded_by -> Nullable<Text>,
    }
}

diesel::table! {
    charge_debits (submission_id, package_version, voucher_id) {
        submission_id -> Text,
        package_version -> Integer,
        voucher_id -> Text,
        amount_fen -> BigInt,
    }
}

diesel::table! {
    usage_samples (worker_id, device_id, period_start, scenario_id, job_id) {
        worker_id -> Text,
        node -> Text,
        device_id -> Text,
        model -> Text,
        scenario_id -> Text,
        town -> Text,
        job_id -> Text,
        period_start -> BigInt,
        period_seconds -> Integer,
        leased_seconds -> Double,
        busy_percent -> Nullable<Double>,
        busy_samples -> Integer,
        memory_peak_bytes -> Nullable<BigInt>,
    }
}

diesel::table! {
    technical_reports (submission_id) {
        submission_id -> Text,
        scenario_id -> Text,
        team_id -> Text,
        digest -> Text,
        size -> BigInt,
        uploaded_by -> Nullable<Text>,
        uploaded_at -> BigInt,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        user_id -> Text,
        kind -> Text,
        params -> Text,
        link -> Text,
        created_at -> BigInt,
        read_at -> Nullable<BigInt>,
        mailed_at -> Nullable<BigInt>,
        mail_refused_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(department_members -> organizations (organization_id));
diesel::joinable!(department_members -> users (user_id));
diesel::joinable!(enrolments -> scenarios (scenario_id));
diesel::joinable!(enrolments -> teams (team_id));
diesel::joinable!(phases -> scenarios (scenario_id));
diesel::joinable!(package_versions -> scenarios (scenario_id));
diesel::joinable!(scenarios -> organizations (organization_id));
diesel::joinable!(submissions -> teams (team_id));
diesel::joinable!(technical_reports -> submissions (submission_id));
diesel::joinable!(submission_events -> submissions (submission_id));
diesel::joinable!(jobs -> submissions (submission_id));
diesel::joinable!(results -> submissions (submission_id));
diesel::joinable!(board_entries -> teams (team_id));
diesel::joinable!(reviews -> submissions (submission_id));
diesel::joinable!(reviews -> users (judge_id));
diesel::joinable!(team_invitations -> teams (team_id));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(team_members -> users (user_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(panel_members -> users (judge_id));
diesel::joinable!(score_sheets -> teams (team_id));
diesel::joinable!(charge_debits -> vouchers (voucher_id));

diesel::allow_tables_to_appear_in_same_query!(
    organizations,
    users,
    user_roles,
    department_members,
    identities,
    oidc_logins,
    api_tokens,
    teams,
    team_members,
    team_invitations,
    scenarios,
    package_versions,
    phases,
    enrolments,
    submissions,
    submission_events,
    workers,
    jobs,
    results,
    board_entries,
    reviews,
    audit_log,
    sessions,
    judgings,
    rubric_criteria,
    panel_members,
    judge_affiliations,
    score_sheets,
    judge_scores,
    awards,
    award_winners,
    objections,
    prices,
    vouchers,
    sponsorships,
    charges,
    charge_debits,
    technical_reports,
    notifications,
    usage_samples,
);
