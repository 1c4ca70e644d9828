//! Cambricon MLU (思元): `/dev/cambricon_dev*` and `/dev/cambricon_ctl`, `cnmon` for model
//! names and use, assignment by mounting the nodes and setting `MLU_VISIBLE_DEVICES`.

use super::nodes::NodeVendor;
use super::tool::cells;
use super::{Reading, Vendor};

pub static CAMBRICON: NodeVendor = NodeVendor {
    vendor: Vendor::Cambricon,
    prefix: "cambricon_dev",
    shared: &["cambricon_ctl"],
    tool: "cnmon",
    tool_args: &[],
    // Where Neuware installs it when it is not on `PATH`.
    places: &["/usr/bin", "/usr/local/neuware/bin"],
    parse: parse_cnmon,
    unknown_model: "MLU",
    variable: "MLU_VISIBLE_DEVICES",
};

/// Parses `cnmon`'s table: per card a line `| 0  /  MLU370-X8  v1.1.6 | … | 0%  N/A |`
/// then `|  0%  32C  106 W/ 250 W |  0 MiB/ 23374 MiB | … |`. The processes table after it
/// is ignored; lines that fit neither shape are skipped, so a newer layout yields fewer
/// figures rather than wrong ones.
pub fn parse_cnmon(text: &str) -> Vec<Reading> {
    let mut cards: Vec<Reading> = Vec::new();
    let mut expecting_memory = false;
    for line in text.lines() {
        if line.contains("Processes:") {
            break;
        }
        let cells = cells(line);
        if cells.len() < 3 {
            expecting_memory = false;
            continue;
        }
        let words: Vec<&str> = cells[0].split_whitespace().collect();
        let card = match words.as_slice() {
            // Card, VF (`/` or a number), name, firmware.
            [index, _vf, name, ..] => index.parse::<u32>().ok().map(|index| (index, *name)),
            _ => None,
        };
        if let Some((index, name)) = card {
            cards.push(Reading {
                index,
                name: name.to_owned(),
                busy_percent: cells[2]
                    .split_whitespace()
                    .next()
                    .and_then(|w| w.strip_suffix('%'))
                    .and_then(|w| w.parse().ok()),
                memory_used_bytes: None,
                memory_total_bytes: None,
            });
            expecting_memory = true;
        } else if expecting_memory {
            if let (Some(card), Some((used, total))) = (cards.last_mut(), used_of_total(cells[1])) {
                card.memory_used_bytes = Some(used);
                card.memory_total_bytes = Some(total);
            }
            expecting_memory = false;
        }
    }
    cards
}

/// `0 MiB/ 23374 MiB` → bytes used and total.
fn used_of_total(cell: &str) -> Option<(u64, u64)> {
    let (used, total) = cell.split_once('/')?;
    Some((mib(used)?, mib(total)?))
}

fn mib(text: &str) -> Option<u64> {
    let number = text.trim().trim_end_matches("MiB").trim();
    number.parse::<u64>().ok().map(|n| n << 20)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Recorded `cnmon` output (CNMON v5.10.13, two MLU370-X8), as printed in PaddlePaddle's
    /// Cambricon MLU install guide (PaddlePaddle/docs,
    /// docs/guides/hardware_support/mlu/install_cn.md).
    const CNMON_V5: &str = include_str!("testdata/cnmon-v5.10.13.txt");
    /// Recorded `cnmon` output of the older layout (CNMON v4.20.11, three MLU370-X4, an
    /// `Inited  Driver` column), from the same project's earlier guide
    /// (docs/guides/hardware_support/mlu_docs/paddle_install_cn.md).
    const CNMON_V4: &str = include_str!("testdata/cnmon-v4.20.11.txt");

    #[test]
    fn cnmon_v5_cards_models_and_use() {
        let cards = parse_cnmon(CNMON_V5);
        assert_eq!(cards.len(), 2);
        assert_eq!(
            cards[1],
            Reading {
                index: 1,
                name: "MLU370-X8".into(),
                busy_percent: Some(0.0),
                memory_used_bytes: Some(0),
                memory_total_bytes: Some(23374 << 20),
            }
        );
    }

    #[test]
    fn cnmon_v4_layout_reads_the_same() {
        let cards = parse_cnmon(CNMON_V4);
        let names: Vec<(u32, &str)> = cards.iter().map(|c| (c.index, c.name.as_str())).collect();
        assert_eq!(
            names,
            [(0, "MLU370-X4"), (1, "MLU370-X4"), (2, "MLU370-X4")]
        );
        assert!(
            cards
                .iter()
                .all(|c| c.memory_total_bytes == Some(23308 << 20))
        );
    }

    #[test]
    fn other_text_yields_no_cards() {
        assert!(parse_cnmon("").is_empty());
        assert!(parse_cnmon("cnmon: command not found\n").is_empty());
        assert!(parse_cnmon("| Card  VF  Name  Firmware | Bus-Id | Util |\n").is_empty());
    }
}
