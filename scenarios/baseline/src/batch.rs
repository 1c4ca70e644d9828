//! Batch mode: every record of `/input/inputs.jsonl` answered in `/output/predictions.jsonl`.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::data::read_set;
use crate::error::BaselineError;
use crate::model::Model;

/// Predicts every record of `input/inputs.jsonl` into `output/predictions.jsonl`; returns
/// how many were written. A record the model cannot take is named in the error.
pub fn run(model: &Model, input: &Path, output: &Path) -> Result<usize, BaselineError> {
    let set = read_set(input, &model.input.name)?;
    let target = output.join("predictions.jsonl");
    let file = std::fs::File::create(&target).map_err(|e| BaselineError::io(&target, e))?;
    let mut out = std::io::BufWriter::new(file);
    for (id, row) in set.ids.iter().zip(&set.rows) {
        let prediction = model
            .predict(row)
            .map_err(|message| BaselineError::Model(format!("record `{id}`: {message}")))?;
        writeln!(out, "{}", json!({ "id": id, "prediction": prediction }))
            .map_err(|e| BaselineError::io(&target, e))?;
    }
    out.flush().map_err(|e| BaselineError::io(&target, e))?;
    Ok(set.ids.len())
}
