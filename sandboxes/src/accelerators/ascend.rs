//! Huawei Ascend NPU (昇腾): `/dev/davinci[N]` with `/dev/davinci_manager`, `/dev/devmm_svm`
//! and `/dev/hisi_hdc`, `npu-smi info` for model names and use, assignment by mounting the
//! nodes and setting `ASCEND_VISIBLE_DEVICES`.

use super::nodes::NodeVendor;
use super::tool::cells;
use super::{Reading, Vendor};

pub static ASCEND: NodeVendor = NodeVendor {
    vendor: Vendor::Ascend,
    prefix: "davinci",
    shared: &["davinci_manager", "devmm_svm", "hisi_hdc"],
    tool: "npu-smi",
    tool_args: &["info"],
    // Where the Ascend driver installs it when it is not on `PATH`.
    places: &["/usr/local/bin", "/usr/local/Ascend/driver/tools"],
    parse: parse_npu_smi,
    unknown_model: "Ascend",
    variable: "ASCEND_VISIBLE_DEVICES",
};

/// Parses `npu-smi info`: per chip a line `| 4  910B3 | OK | 93.6  40  0 / 0 |` then
/// `| 0  | 0000:01:00.0 | 0  0 / 0  3161 / 65536 |`. Where the second header reads
/// `Chip  Phy-ID` (or `Chip  Device`) the chip line names the device; otherwise the NPU id
/// is the device (one chip per card). The process table after it is ignored.
pub fn parse_npu_smi(text: &str) -> Vec<Reading> {
    let mut chips = Vec::new();
    let mut names_device = false;
    let mut card: Option<(u32, String)> = None;
    for line in text.lines() {
        let cells = cells(line);
        if cells.len() < 3 {
            continue;
        }
        let words: Vec<&str> = cells[0].split_whitespace().collect();
        match words.as_slice() {
            ["Chip", second, ..] => names_device = matches!(*second, "Phy-ID" | "Device"),
            ["NPU", "Chip", ..] => break,
            [npu, name] if !cells[1].is_empty() && !cells[1].contains(':') => {
                card = npu.parse::<u32>().ok().map(|n| (n, (*name).to_owned()));
            }
            [chip, rest @ ..] if cells[1].contains(':') => {
                let Some((npu, name)) = card.take() else {
                    continue;
                };
                let device = if names_device {
                    rest.first().and_then(|d| d.parse().ok())
                } else {
                    chip.parse::<u32>().ok().map(|_| npu)
                };
                let Some(device) = device else { continue };
                let (busy, memory) = figures(cells[2]);
                chips.push(Reading {
                    index: device,
                    name,
                    busy_percent: busy,
                    memory_used_bytes: memory.map(|(used, _)| used),
                    memory_total_bytes: memory.map(|(_, total)| total),
                });
            }
            _ => {}
        }
    }
    chips
}

/// `0  0 / 0  3161 / 65536`: the AI Core share, then the last `used / total` pair in MB
/// (HBM when listed, else the chip's memory).
fn figures(cell: &str) -> (Option<f64>, Option<(u64, u64)>) {
    let busy = cell.split_whitespace().next().and_then(|w| w.parse().ok());
    let numbers: Vec<u64> = cell
        .replace('/', " / ")
        .split_whitespace()
        .skip(1)
        .filter(|w| *w != "/")
        .filter_map(|w| w.parse().ok())
        .collect();
    let memory = match numbers.as_slice() {
        [.., used, total] if *total > 0 => Some((used << 20, total << 20)),
        _ => None,
    };
    (busy, memory)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Recorded `npu-smi info` (23.0.1, one 910B3 as NPU 4) from GPUStack's Ascend tutorial
    /// (gpustack/gpustack, docs/tutorials/running-inference-with-ascend-device.md).
    const ONE_CARD: &str = include_str!("testdata/npu-smi-23.0.1.txt");
    /// Recorded `npu-smi info` (25.3.rc1, an Atlas A3 node: 8 cards of 2 chips, the `Chip
    /// Phy-ID` layout) from the environment section of a public vllm-ascend bug report;
    /// its process table is shortened.
    const A3: &str = include_str!("testdata/npu-smi-25.3.rc1-a3.txt");

    #[test]
    fn one_chip_per_card_is_named_by_its_npu_id() {
        assert_eq!(
            parse_npu_smi(ONE_CARD),
            [Reading {
                index: 4,
                name: "910B3".into(),
                busy_percent: Some(0.0),
                memory_used_bytes: Some(3161 << 20),
                memory_total_bytes: Some(65536 << 20),
            }]
        );
    }

    #[test]
    fn two_chips_per_card_are_named_by_their_physical_id() {
        let chips = parse_npu_smi(A3);
        assert_eq!(chips.len(), 16);
        let devices: Vec<u32> = chips.iter().map(|c| c.index).collect();
        assert_eq!(devices, (0..16).collect::<Vec<_>>());
        assert!(chips.iter().all(|c| c.name == "Ascend910"));
        // `62308/ 65536`: no space before the slash.
        assert_eq!(chips[4].memory_used_bytes, Some(62308 << 20));
        assert_eq!(chips[15].memory_used_bytes, Some(2885 << 20));
    }

    #[test]
    fn other_text_yields_no_chips() {
        assert!(parse_npu_smi("").is_empty());
        assert!(parse_npu_smi("npu-smi: error while loading shared libraries\n").is_empty());
    }
}
