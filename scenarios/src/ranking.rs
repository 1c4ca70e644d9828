//! Leaderboard order: each team's best submission, by the primary metric in its direction,
//! runs over budget below runs within it (or off the board), ties broken by latency and
//! then by who submitted first.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::package::{Direction, OverBudget};

/// One scored submission.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub team: String,
    pub submission: String,
    pub score: f64,
    pub within_budget: bool,
    /// The latency the budget applies to (p90 or p99), in milliseconds.
    pub latency_ms: f64,
    /// Milliseconds since the epoch.
    pub submitted_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub rank: usize,
    #[serde(flatten)]
    pub entry: Entry,
}

/// How two entries compare: `Less` means `a` ranks higher. Entries equal on every rule are
/// ordered by team and submission id, so the same entries always give the same board.
pub fn compare(a: &Entry, b: &Entry, direction: Direction) -> Ordering {
    let by_budget = b.within_budget.cmp(&a.within_budget);
    let by_score = match direction {
        Direction::Higher => b.score.total_cmp(&a.score),
        Direction::Lower => a.score.total_cmp(&b.score),
    };
    by_budget
        .then(by_score)
        .then(a.latency_ms.total_cmp(&b.latency_ms))
        .then(a.submitted_at.cmp(&b.submitted_at))
        .then_with(|| a.team.cmp(&b.team))
        .then_with(|| a.submission.cmp(&b.submission))
}

/// The board: one row per team (its best entry by the same rules), ranked from 1. Entries
/// without a finite score have nothing to rank and are left out.
pub fn rank(entries: &[Entry], direction: Direction, over_budget: OverBudget) -> Vec<Ranked> {
    let mut best: BTreeMap<&str, &Entry> = BTreeMap::new();
    for entry in entries {
        if over_budget == OverBudget::Disqualify && !entry.within_budget {
            continue;
        }
        if !entry.score.is_finite() {
            continue;
        }
        best.entry(entry.team.as_str())
            .and_modify(|current| {
                if compare(entry, current, direction) == Ordering::Less {
                    *current = entry;
                }
            })
            .or_insert(entry);
    }
    let mut board: Vec<&Entry> = best.into_values().collect();
    board.sort_by(|a, b| compare(a, b, direction));
    board
        .into_iter()
        .enumerate()
        .map(|(index, entry)| Ranked {
            rank: index + 1,
            entry: entry.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        team: &str,
        score: f64,
        within_budget: bool,
        latency_ms: f64,
        submitted_at: i64,
    ) -> Entry {
        Entry {
            team: team.into(),
            submission: format!("{team}-{score}-{submitted_at}"),
            score,
            within_budget,
            latency_ms,
            submitted_at,
        }
    }

    fn teams(board: &[Ranked]) -> Vec<&str> {
        board.iter().map(|r| r.entry.team.as_str()).collect()
    }

    #[test]
    fn each_team_keeps_its_best_and_direction_matters() {
        let entries = [
            entry("a", 0.8, true, 10.0, 1),
            entry("a", 0.9, true, 10.0, 2),
            entry("b", 0.85, true, 10.0, 1),
        ];
        let higher = rank(&entries, Direction::Higher, OverBudget::RankBelow);
        assert_eq!(teams(&higher), ["a", "b"]);
        assert_eq!(higher[0].entry.score, 0.9);
        let lower = rank(&entries, Direction::Lower, OverBudget::RankBelow);
        assert_eq!(teams(&lower), ["a", "b"]);
        assert_eq!(lower[0].entry.score, 0.8);
    }

    #[test]
    fn over_budget_ranks_below_or_leaves() {
        let entries = [
            entry("fast", 0.7, true, 5.0, 1),
            entry("slow", 0.99, false, 80.0, 1),
        ];
        assert_eq!(
            teams(&rank(&entries, Direction::Higher, OverBudget::RankBelow)),
            ["fast", "slow"]
        );
        assert_eq!(
            teams(&rank(&entries, Direction::Higher, OverBudget::Disqualify)),
            ["fast"]
        );
    }

    #[test]
    fn ties_go_to_the_faster_then_the_earlier() {
        let entries = [
            entry("late", 0.9, true, 5.0, 9),
            entry("slow", 0.9, true, 7.0, 1),
            entry("early", 0.9, true, 5.0, 2),
        ];
        let board = rank(&entries, Direction::Higher, OverBudget::RankBelow);
        assert_eq!(teams(&board), ["early", "late", "slow"]);
        assert_eq!(board.iter().map(|r| r.rank).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn a_team_s_best_is_its_best_within_budget() {
        let entries = [
            entry("a", 0.99, false, 90.0, 1),
            entry("a", 0.80, true, 9.0, 2),
            entry("b", 0.85, true, 9.0, 3),
        ];
        let board = rank(&entries, Direction::Higher, OverBudget::RankBelow);
        assert_eq!(teams(&board), ["b", "a"]);
        assert_eq!(board[1].entry.score, 0.80);
        assert!(board[1].entry.within_budget);
    }

    #[test]
    fn lower_is_better_for_errors_and_over_budget_still_ranks_below() {
        let entries = [
            entry("close", 1.5, true, 9.0, 1),
            entry("closer", 0.5, false, 90.0, 1),
            entry("far", 3.0, true, 2.0, 1),
        ];
        let board = rank(&entries, Direction::Lower, OverBudget::RankBelow);
        assert_eq!(teams(&board), ["close", "far", "closer"]);
    }

    #[test]
    fn unscored_entries_are_left_out() {
        let entries = [
            entry("nan", f64::NAN, true, 1.0, 1),
            entry("inf", f64::INFINITY, true, 1.0, 1),
            entry("ok", 0.5, true, 1.0, 1),
        ];
        assert_eq!(
            teams(&rank(&entries, Direction::Higher, OverBudget::RankBelow)),
            ["ok"]
        );
    }

    #[test]
    fn complete_ties_give_the_same_board_whatever_the_input_order() {
        let mut entries = vec![
            entry("c", 0.9, true, 5.0, 1),
            entry("a", 0.9, true, 5.0, 1),
            entry("b", 0.9, true, 5.0, 1),
        ];
        let first = rank(&entries, Direction::Higher, OverBudget::RankBelow);
        entries.reverse();
        let second = rank(&entries, Direction::Higher, OverBudget::RankBelow);
        assert_eq!(teams(&first), ["a", "b", "c"]);
        assert_eq!(first, second);
    }
}
