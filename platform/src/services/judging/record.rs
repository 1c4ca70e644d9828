//! Everything judging a scenario reads, loaded once per request: the rubric, the finalists,
//! the panel with declarations and sheets, and the conflict-of-interest rule over them.

use std::collections::{HashMap, HashSet};

use super::{Conflict, Finalist, final_phase, finalists, normalised};
use crate::db::DbConnection;
use crate::db::ids::{TeamId, UserId};
use crate::db::models::judging::{
    self, Affiliation, Criterion, CriterionKind, JudgeScore, Judging, PanelRow, ScoreSheet,
};
use crate::db::models::scenarios::Scenario;
use crate::db::now_millis;
use crate::error::AppError;
use crate::services::technical_reports::{self, ReportLink};

/// Everything judging a scenario reads, loaded once.
pub(super) struct Record {
    pub(super) scenario: Scenario,
    pub(super) judging: Option<Judging>,
    pub(super) criteria: Vec<Criterion>,
    pub(super) finalists: Vec<Finalist>,
    pub(super) panel: Vec<PanelRow>,
    pub(super) affiliations: Vec<Affiliation>,
    pub(super) sheets: Vec<ScoreSheet>,
    pub(super) scores: Vec<JudgeScore>,
    pub(super) members: HashMap<TeamId, HashSet<UserId>>,
    /// Other teams that submitted a finalist's image, by finalist: flagged to the judges.
    pub(super) same_image: HashMap<TeamId, Vec<String>>,
    /// Each finalist's latest technical report in the final phase.
    pub(super) reports: HashMap<TeamId, ReportLink>,
    pub(super) closed: bool,
}

impl Record {
    pub(super) fn load(conn: &mut DbConnection, scenario: Scenario) -> Result<Self, AppError> {
        let judging = judging::find_judging(conn, &scenario.id)?;
        let criteria = judging::criteria_of(conn, &scenario.id)?;
        let closed = now_millis() >= final_phase(conn, &scenario)?.closes_at;
        let finalists = finalists(conn, &scenario)?;
        let team_ids: Vec<&TeamId> = finalists.iter().map(|f| &f.team_id).collect();
        let mut members: HashMap<TeamId, HashSet<UserId>> = HashMap::new();
        for (team, user) in judging::members_of_teams(conn, &team_ids)? {
            members.entry(team).or_default().insert(user);
        }
        let digests: Vec<String> = finalists.iter().map(|f| f.image_digest.clone()).collect();
        let sharing = judging::teams_with_images(conn, &scenario.id, &digests)?;
        let mut same_image: HashMap<TeamId, Vec<String>> = HashMap::new();
        for finalist in &finalists {
            let mut others: Vec<String> = sharing
                .iter()
                .filter(|(digest, team, _)| {
                    digest == &finalist.image_digest && team != &finalist.team_id
                })
                .map(|(_, _, name)| name.clone())
                .collect();
            others.sort();
            others.dedup();
            same_image.insert(finalist.team_id.clone(), others);
        }
        let reports = technical_reports::latest_by_team(conn, &scenario)?
            .into_iter()
            .collect();
        Ok(Self {
            panel: judging::panel_of(conn, &scenario.id)?,
            affiliations: judging::affiliations_of(conn, &scenario.id)?,
            sheets: judging::sheets_of(conn, &scenario.id)?,
            scores: judging::scores_of(conn, &scenario.id)?,
            scenario,
            judging,
            criteria,
            finalists,
            members,
            same_image,
            reports,
            closed,
        })
    }

    /// Why the judge may not score the finalist, if they may not.
    pub(super) fn conflict(&self, judge: &UserId, finalist: &Finalist) -> Option<Conflict> {
        let team = Some(finalist.team_name.clone());
        if self
            .members
            .get(&finalist.team_id)
            .is_some_and(|ids| ids.contains(judge))
        {
            return Some(Conflict::Member { team });
        }
        let institution = normalised(&finalist.institution);
        self.affiliations
            .iter()
            .find(|a| &a.judge_id == judge && normalised(&a.institution) == institution)
            .map(|a| Conflict::Affiliation {
                institution: a.institution.clone(),
                team,
            })
    }

    pub(super) fn report_of(&self, team: &TeamId) -> Option<ReportLink> {
        self.reports.get(team).cloned()
    }

    /// Other teams that submitted the finalist's image.
    pub(super) fn same_image_as(&self, team: &TeamId) -> Vec<String> {
        self.same_image.get(team).cloned().unwrap_or_default()
    }

    pub(super) fn judged(&self) -> impl Iterator<Item = &Criterion> {
        self.criteria
            .iter()
            .filter(|c| c.kind == CriterionKind::Judged)
    }

    pub(super) fn on_panel(&self, judge: &UserId) -> bool {
        self.panel.iter().any(|row| &row.member.judge_id == judge)
    }

    pub(super) fn sheet(&self, judge: &UserId, team: &TeamId) -> Option<&ScoreSheet> {
        self.sheets
            .iter()
            .find(|s| &s.judge_id == judge && &s.team_id == team)
    }

    /// Every judge on the panel has declared and scored every finalist they may score.
    pub(super) fn panel_finished(&self) -> bool {
        !self.panel.is_empty()
            && self.panel.iter().all(|row| {
                let judge = &row.member.judge_id;
                row.member.declared_at.is_some()
                    && self.finalists.iter().all(|finalist| {
                        self.conflict(judge, finalist).is_some()
                            || self.sheet(judge, &finalist.team_id).is_some()
                    })
            })
    }

    /// Team names and institutions are hidden from judges.
    pub(super) fn names_hidden(&self) -> bool {
        self.judging.as_ref().is_some_and(|j| j.blind) && !self.panel_finished()
    }
}
