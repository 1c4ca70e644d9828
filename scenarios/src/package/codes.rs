//! The codes of package problems: what a page needs to say a problem in its reader's language.

use serde::{Serialize, Serializer};

/// Declares the codes once, so [`ProblemCode::ALL`] cannot miss one a check gives.
macro_rules! problem_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal,)*) => {
        /// What is wrong with a package, as a code; each problem's parameters (named in
        /// each code's description) fill its text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ProblemCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ProblemCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ProblemCode] = &[$(ProblemCode::$variant,)*];

            /// The code as clients and catalogs spell it (`budget_too_small`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ProblemCode::$variant => $code,)*
                }
            }
        }
    };
}

problem_codes! {
    /// A file cannot be read (`error`).
    Unreadable = "unreadable",
    /// `scenario.toml` is not valid TOML or does not fit the schema (`detail`).
    TomlError = "toml_error",
    /// The same, at a place in the file (`line`, `column`, `detail`).
    TomlErrorAt = "toml_error_at",
    /// A line of a JSON-lines file cannot be read (`line`, `error`).
    LineUnreadable = "line_unreadable",
    /// A line of a JSON-lines file is not the record it should be (`line`, `detail`).
    LineMalformed = "line_malformed",
    /// `public/README.md` is missing.
    ReadmeMissing = "readme_missing",
    /// `baseline/` is missing.
    BaselineMissing = "baseline_missing",
    /// A symbolic link under `public/`.
    SymbolicLink = "symbolic_link",
    /// More problems in the file than are listed (`count`).
    MoreNotListed = "more_not_listed",
    /// The scenario id is not a slug (`value`).
    IdNotSlug = "id_not_slug",
    /// The town is not an organisation id (`value`).
    TownNotSlug = "town_not_slug",
    /// The domain is not a slug (`value`).
    DomainNotSlug = "domain_not_slug",
    /// A text lacks its Chinese or its English.
    TextNotBilingual = "text_not_bilingual",
    /// The task's model has no name.
    ModelUnnamed = "model_unnamed",
    /// No phase.
    NoPhases = "no_phases",
    /// A phase's name is empty or another phase's (`name`).
    PhaseNameNotUnique = "phase_name_not_unique",
    /// A phase closes before it opens.
    PhaseClosesTooEarly = "phase_closes_too_early",
    /// A phase opens before the one before it closes (`phase`, `previous`).
    PhasesOverlap = "phases_overlap",
    /// The metric is better when higher, but the direction says otherwise (`metric`).
    DirectionIsHigher = "direction_is_higher",
    /// The metric is better when lower, but the direction says otherwise (`metric`).
    DirectionIsLower = "direction_is_lower",
    /// No tensor in the task's inputs or outputs.
    NoTensors = "no_tensors",
    /// A tensor's name is empty or another tensor's (`name`).
    TensorNameNotUnique = "tensor_name_not_unique",
    /// Not an Open Inference Protocol datatype (`datatype`, `known`).
    UnknownDatatype = "unknown_datatype",
    /// A shape with no dimensions, or one that is 0 or below -1.
    BadShape = "bad_shape",
    /// A serve-mode scenario without a latency budget.
    BudgetMissing = "budget_missing",
    /// A budget below the minimum (`min_ms`).
    BudgetTooSmall = "budget_too_small",
    /// The latency percentile is not in [50, 100).
    PercentileOutOfRange = "percentile_out_of_range",
    /// A run's time limit of 0 seconds.
    LimitZero = "limit_zero",
    /// The public fraction is not between 0 and 1.
    PublicFractionOutOfRange = "public_fraction_out_of_range",
    /// A daily quota of 0.
    QuotaZero = "quota_zero",
    /// CPUs or memory out of range.
    ResourcesOutOfRange = "resources_out_of_range",
    /// An accelerator model that is an empty name.
    AcceleratorModelEmpty = "accelerator_model_empty",
    /// An accelerator model named while no accelerator is asked for (`model`).
    AcceleratorModelWithoutDevices = "accelerator_model_without_devices",
    /// More accelerators than a run may have (`max`).
    TooManyAccelerators = "too_many_accelerators",
    /// An accuracy pass time-out in batch mode.
    ItemTimeoutInBatch = "item_timeout_in_batch",
    /// An accuracy pass time-out stricter than the timed run's (`item_s`, `query_s`).
    ItemTimeoutTooShort = "item_timeout_too_short",
    /// An accuracy pass time-out longer than the hidden run (`item_s`, `run_s`).
    ItemTimeoutTooLong = "item_timeout_too_long",
    /// The accuracy pass and the timed run do not fit in the hidden run (`items`,
    /// `concurrency`, `accuracy_s`, `budget_ms`, `timed_s`, `run_s`).
    AccuracyPassDoesNotFit = "accuracy_pass_does_not_fit",
    /// The hidden run is shorter than the minimum timed run (`run_s`, `min_duration_s`).
    RunShorterThanMinDuration = "run_shorter_than_min_duration",
    /// The server pattern's rate is not a positive number.
    RateNotPositive = "rate_not_positive",
    /// The minimum queries at the server pattern's rate do not fit (`queries`, `rate_qps`,
    /// `run_s`).
    ServerQueriesDoNotFit = "server_queries_do_not_fit",
    /// The minimum queries at the budget, one at a time, do not fit (`queries`,
    /// `budget_ms`, `run_s`).
    SingleStreamQueriesDoNotFit = "single_stream_queries_do_not_fit",
    /// The offline pattern's concurrency is 0.
    ConcurrencyZero = "concurrency_zero",
    /// Too few queries for the early-stopping test (`fewest`, `percentile`, `needed`).
    TooFewQueries = "too_few_queries",
    /// An inputs file without records.
    NoRecords = "no_records",
    /// An id twice in an inputs file.
    DuplicateId = "duplicate_id",
    /// An id labelled twice.
    DuplicateLabel = "duplicate_label",
    /// A label for an id no input has.
    LabelWithoutInput = "label_without_input",
    /// An input without a label.
    MissingLabel = "missing_label",
    /// A label that is not a class (`label`).
    LabelNotClass = "label_not_class",
    /// A label ROC AUC cannot score (`label`).
    LabelNotBinary = "label_not_binary",
    /// A label that is not a number (`label`).
    LabelNotNumber = "label_not_number",
    /// A label that is 0 or not a number, for MAPE (`label`).
    LabelNotNonZeroNumber = "label_not_non_zero_number",
    /// An input lacks a tensor of the task (`tensor`).
    InputMissing = "input_missing",
    /// An input has a tensor the task does not (`tensor`).
    InputUnknown = "input_unknown",
    /// An input's element count does not fit its shape (`tensor`, `count`, `shape`,
    /// `needed`).
    InputElementCount = "input_element_count",
    /// The same, for a shape with a variable dimension (`tensor`, `count`, `shape`,
    /// `multiple`).
    InputElementCountMultiple = "input_element_count_multiple",
    /// An element that is not of the tensor's datatype (`tensor`, `value`, `datatype`).
    InputWrongType = "input_wrong_type",
    /// Hidden ids that are also sample ids (`count`, `example`).
    HiddenIdsInSamples = "hidden_ids_in_samples",
    /// The split leaves a board empty (`public`, `private`).
    SplitLeavesBoardEmpty = "split_leaves_board_empty",
    /// The public board's items have one class only, which ROC AUC cannot score.
    PublicBoardOneClass = "public_board_one_class",
    /// The private board's items have one class only, which ROC AUC cannot score.
    PrivateBoardOneClass = "private_board_one_class",
    /// An uploaded archive has no `scenario.toml` where one is looked for.
    ArchiveWithoutManifest = "archive_without_manifest",
    /// An uploaded package's id is not the scenario's (`id`, `scenario`).
    IdMismatch = "id_mismatch",
    /// An uploaded package's town is not the scenario's organisation (`town`, `scenario`,
    /// `organization`).
    TownMismatch = "town_mismatch",
    /// The platform refused to load a catalog package that passed the checks (`reason`).
    RefusedByPlatform = "refused_by_platform",
}

impl std::fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ProblemCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case_words() {
        let mut seen = std::collections::HashSet::new();
        for code in ProblemCode::ALL {
            let word = code.as_str();
            assert!(seen.insert(word), "{word} twice");
            assert!(
                word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{word}"
            );
        }
    }
}
