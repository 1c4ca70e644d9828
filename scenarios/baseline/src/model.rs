//! The baseline's models: logistic regression for two-class tasks, ridge regression for
//! numeric targets, both on standardised features and fitted by Newton's method; nearest
//! centroid for tasks with more than two classes (the digits).

use jiebang_scenarios::metrics::{Pairs, class_of};
use jiebang_scenarios::package::{Manifest, MetricName, TensorSpec};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::data::DataSet;
use crate::error::BaselineError;
use crate::linalg::solve_spd;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Logistic,
    Ridge,
    /// The nearest class mean on the raw features, for more than two classes.
    Centroid,
}

/// What the server answers with, chosen by the scenario's metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// The probability of class 1 (ROC AUC ranks by it).
    Probability,
    /// Class 0 or 1 (accuracy and macro-F1 compare classes).
    Class,
    /// The predicted number (the regression metrics).
    Value,
}

/// A trained model with everything the server needs to speak for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub scenario: String,
    /// The name in `/v2/models/{model}`.
    pub model_name: String,
    pub input: TensorSpec,
    pub output: TensorSpec,
    pub kind: Kind,
    pub answer: Answer,
    pub means: Vec<f64>,
    pub scales: Vec<f64>,
    /// One per feature; features past `used_features` have weight 0.
    pub weights: Vec<f64>,
    pub bias: f64,
    pub used_features: usize,
    pub trained_on: usize,
    /// [`Kind::Centroid`]: each class (as the labels write it) and its mean row.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub centroids: Vec<(Value, Vec<f64>)>,
}

#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    /// Use only the first N features: a deliberately weaker model.
    pub features: Option<usize>,
    /// The L2 penalty on the standardised weights.
    pub l2: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            features: None,
            l2: 1.0,
        }
    }
}

const NEWTON_STEPS: usize = 50;

impl Model {
    /// Fits the model for `manifest`'s task on `set` (which must carry labels).
    pub fn train(
        manifest: &Manifest,
        set: &DataSet,
        options: TrainOptions,
    ) -> Result<Self, BaselineError> {
        let [input] = manifest.task.inputs.as_slice() else {
            return Err(BaselineError::Model(
                "the baseline handles tasks with exactly one input tensor".into(),
            ));
        };
        let Some(output) = manifest.task.outputs.first() else {
            return Err(BaselineError::Model("the task has no output tensor".into()));
        };
        let labels = set
            .labels
            .as_ref()
            .ok_or_else(|| BaselineError::Model("the training set has no labels".into()))?;
        let Some(width) = set.rows.first().map(Vec::len) else {
            return Err(BaselineError::Model("the training set is empty".into()));
        };
        let metric = manifest.metric.name;
        let (kind, answer) = match metric {
            MetricName::RocAuc => (Kind::Logistic, Answer::Probability),
            MetricName::Accuracy | MetricName::MacroF1 if more_than_two_classes(labels) => {
                (Kind::Centroid, Answer::Class)
            }
            MetricName::Accuracy | MetricName::MacroF1 => (Kind::Logistic, Answer::Class),
            MetricName::Rmse | MetricName::Mae | MetricName::Mape => (Kind::Ridge, Answer::Value),
        };
        if kind == Kind::Centroid {
            let used = options.features.unwrap_or(width).min(width);
            return Ok(Self {
                scenario: manifest.id.clone(),
                model_name: manifest.task.model.clone(),
                input: input.clone(),
                output: output.clone(),
                kind,
                answer,
                means: vec![0.0; width],
                scales: vec![1.0; width],
                weights: vec![0.0; width],
                bias: 0.0,
                used_features: used,
                trained_on: set.rows.len(),
                centroids: centroids(&set.rows, labels, used),
            });
        }
        let targets = labels
            .iter()
            .map(|label| target_of(kind, label))
            .collect::<Result<Vec<_>, _>>()?;
        let used = options.features.unwrap_or(width).min(width);
        let (means, scales) = standardisation(&set.rows);
        let design: Vec<Vec<f64>> = set
            .rows
            .iter()
            .map(|row| {
                let mut x = Vec::with_capacity(used + 1);
                x.push(1.0);
                x.extend((0..used).map(|i| (row[i] - means[i]) / scales[i]));
                x
            })
            .collect();
        let coefficients = fit(kind, &design, &targets, options.l2)?;
        let mut weights = coefficients[1..].to_vec();
        weights.resize(width, 0.0);
        Ok(Self {
            scenario: manifest.id.clone(),
            model_name: manifest.task.model.clone(),
            input: input.clone(),
            output: output.clone(),
            kind,
            answer,
            means,
            scales,
            weights,
            bias: coefficients[0],
            used_features: used,
            trained_on: set.rows.len(),
            centroids: Vec::new(),
        })
    }

    pub fn width(&self) -> usize {
        self.means.len()
    }

    /// The answer for one row of features, as a JSON number of the output's datatype.
    pub fn predict(&self, row: &[f64]) -> Result<Value, String> {
        if row.len() != self.width() {
            return Err(format!(
                "`{}` has {} values; the model takes {}",
                self.input.name,
                row.len(),
                self.width()
            ));
        }
        if let Some(position) = row.iter().position(|x| !x.is_finite()) {
            return Err(format!(
                "`{}`[{position}] is not a finite number",
                self.input.name
            ));
        }
        if self.kind == Kind::Centroid {
            return Ok(self.nearest(row));
        }
        let z = self.bias
            + row
                .iter()
                .zip(&self.means)
                .zip(&self.scales)
                .zip(&self.weights)
                .map(|(((x, mean), scale), weight)| weight * (x - mean) / scale)
                .sum::<f64>();
        Ok(match (self.kind, self.answer) {
            (Kind::Logistic, Answer::Class) => Value::from(i64::from(z >= 0.0)),
            (Kind::Logistic, _) => number(sigmoid(z)),
            (Kind::Ridge, _) => number(z),
            (Kind::Centroid, _) => Value::Null,
        })
    }

    /// The class whose mean row is nearest (squared Euclidean distance over the used
    /// features); ties go to the class listed first.
    fn nearest(&self, row: &[f64]) -> Value {
        let distance = |centre: &[f64]| -> f64 {
            row.iter()
                .zip(centre)
                .take(self.used_features)
                .map(|(x, c)| (x - c).powi(2))
                .sum()
        };
        self.centroids
            .iter()
            .map(|(class, centre)| (class, distance(centre)))
            .fold(None::<(&Value, f64)>, |best, (class, d)| match best {
                Some((_, best_d)) if best_d <= d => best,
                _ => Some((class, d)),
            })
            .map_or(Value::Null, |(class, _)| class.clone())
    }
}

fn more_than_two_classes(labels: &[Value]) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    labels.iter().any(|label| {
        seen.insert(class_of(label));
        seen.len() > 2
    })
}

/// Each class's mean row, classes in their label order (numerically where they are
/// numbers, so digit 0 comes before digit 10).
fn centroids(rows: &[Vec<f64>], labels: &[Value], used: usize) -> Vec<(Value, Vec<f64>)> {
    let mut sums: Vec<(Value, Vec<f64>, f64)> = Vec::new();
    for (row, label) in rows.iter().zip(labels) {
        let at = match sums
            .iter()
            .position(|(class, _, _)| class_of(class) == class_of(label))
        {
            Some(at) => at,
            None => {
                sums.push((label.clone(), vec![0.0; used], 0.0));
                sums.len() - 1
            }
        };
        let (_, sum, count) = &mut sums[at];
        for (total, x) in sum.iter_mut().zip(row) {
            *total += x;
        }
        *count += 1.0;
    }
    sums.sort_by(|(a, _, _), (b, _, _)| match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        _ => class_of(a).cmp(&class_of(b)),
    });
    sums.into_iter()
        .map(|(class, sum, count)| (class, sum.into_iter().map(|t| t / count).collect()))
        .collect()
}

fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn target_of(kind: Kind, label: &Value) -> Result<f64, BaselineError> {
    match kind {
        Kind::Centroid => Ok(0.0),
        Kind::Logistic => match class_of(label).as_str() {
            "0" => Ok(0.0),
            "1" => Ok(1.0),
            other => Err(BaselineError::Model(format!(
                "the baseline handles two classes labelled 0 and 1; found the label `{other}`"
            ))),
        },
        Kind::Ridge => label
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| BaselineError::Model(format!("the label {label} is not a number"))),
    }
}

/// Column means and standard deviations (1 where a column is constant).
fn standardisation(rows: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let n = rows.len() as f64;
    let width = rows.first().map_or(0, Vec::len);
    let means: Vec<f64> = (0..width)
        .map(|i| rows.iter().map(|r| r[i]).sum::<f64>() / n)
        .collect();
    let scales = (0..width)
        .map(|i| {
            let variance = rows.iter().map(|r| (r[i] - means[i]).powi(2)).sum::<f64>() / n;
            if variance > 1e-12 {
                variance.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    (means, scales)
}

/// Newton's method on the penalised log-likelihood; for ridge the first step is exact.
/// The first column of `design` is the intercept and is not penalised.
fn fit(
    kind: Kind,
    design: &[Vec<f64>],
    targets: &[f64],
    l2: f64,
) -> Result<Vec<f64>, BaselineError> {
    let width = design.first().map_or(0, Vec::len);
    let mut w = vec![0.0; width];
    if kind == Kind::Ridge {
        // Starting from the mean keeps the system well scaled for large targets.
        w[0] = targets.iter().sum::<f64>() / targets.len() as f64;
    }
    let steps = if kind == Kind::Ridge { 1 } else { NEWTON_STEPS };
    for _ in 0..steps {
        let mut hessian = vec![0.0; width * width];
        let mut gradient = vec![0.0; width];
        for (x, &y) in design.iter().zip(targets) {
            let z: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
            let (residual, curvature) = match kind {
                Kind::Logistic => {
                    let p = sigmoid(z);
                    (p - y, (p * (1.0 - p)).max(1e-10))
                }
                // Never fitted here (it returns from `train` first); counted as ridge so the
                // match stays total.
                Kind::Ridge | Kind::Centroid => (z - y, 1.0),
            };
            for i in 0..width {
                gradient[i] += residual * x[i];
                for j in 0..=i {
                    hessian[i * width + j] += curvature * x[i] * x[j];
                }
            }
        }
        for i in 0..width {
            for j in 0..i {
                hessian[j * width + i] = hessian[i * width + j];
            }
            if i > 0 {
                hessian[i * width + i] += l2;
                gradient[i] += l2 * w[i];
            }
        }
        let step = solve_spd(&hessian, &gradient).ok_or_else(|| {
            BaselineError::Model(
                "the training data do not determine the model (singular system)".into(),
            )
        })?;
        let mut largest = 0.0_f64;
        for (weight, delta) in w.iter_mut().zip(&step) {
            *weight -= delta;
            largest = largest.max(delta.abs());
        }
        if largest < 1e-9 {
            break;
        }
    }
    Ok(w)
}

/// What the scenario's metric compares, for `predictions` against `labels`.
pub fn pairs(metric: MetricName, labels: &[Value], predictions: &[Value]) -> Pairs {
    let zipped = labels.iter().zip(predictions);
    match metric {
        MetricName::Accuracy | MetricName::MacroF1 => {
            Pairs::Labels(zipped.map(|(t, p)| (class_of(t), class_of(p))).collect())
        }
        MetricName::RocAuc => Pairs::Scores(
            zipped
                .map(|(t, p)| (class_of(t) == "1", p.as_f64().unwrap_or(0.0)))
                .collect(),
        ),
        MetricName::Rmse | MetricName::Mae | MetricName::Mape => Pairs::Values(
            zipped
                .map(|(t, p)| (t.as_f64().unwrap_or(0.0), p.as_f64().unwrap_or(0.0)))
                .collect(),
        ),
    }
}
