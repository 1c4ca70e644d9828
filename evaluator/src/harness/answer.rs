//! What the harness keeps of an inference answer: the first scalar of the first output
//! tensor, read while the body is parsed, with everything else skipped unallocated.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A text prediction longer than this is no prediction: class names are short, and a
/// run keeps one prediction per query.
pub const MAX_TEXT_PREDICTION: usize = 1024;

/// The prediction in an Open Inference Protocol answer: the first element of the first
/// output tensor's data, however deeply nested. Objects, `null`, empty data and text over
/// [`MAX_TEXT_PREDICTION`] bytes are no prediction; so is a body that is not JSON.
pub fn first_output(body: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_slice::<Response>(body)
        .ok()?
        .outputs
        .0?
        .data
        .0
}

/// One line of a batch program's `predictions.jsonl`: its id and its prediction, read
/// like a served answer's (the first scalar; text over [`MAX_TEXT_PREDICTION`] is none).
pub fn prediction_line(line: &[u8]) -> Option<(String, Option<serde_json::Value>)> {
    let line = serde_json::from_slice::<Line>(line).ok()?;
    Some((line.id, line.prediction.0))
}

#[derive(Deserialize)]
struct Line {
    id: String,
    #[serde(default)]
    prediction: Scalar,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    outputs: First<Output>,
}

#[derive(Deserialize)]
struct Output {
    #[serde(default)]
    data: Scalar,
}

/// The first element of a sequence; the rest is skipped.
struct First<T>(Option<T>);

impl<T> Default for First<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FirstVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for FirstVisitor<T> {
            type Value = First<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq.next_element::<T>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        deserializer.deserialize_seq(FirstVisitor(std::marker::PhantomData))
    }
}

/// The first scalar found by descending into first elements.
#[derive(Default)]
struct Scalar(Option<serde_json::Value>);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tensor's data")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar(Some(v.into())))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar(Some(v.into())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar(Some(v.into())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar(serde_json::Number::from_f64(v).map(Into::into)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar(
            (v.len() <= MAX_TEXT_PREDICTION).then(|| v.to_owned().into()),
        ))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        let first = seq.next_element::<Scalar>()?.and_then(|s| s.0);
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar(first))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_scalar_of_the_first_output_is_kept() {
        let body = br#"{"id":"x","outputs":[{"name":"y","shape":[1,1],"datatype":"INT64","data":[[1],[2]]},{"data":[9]}]}"#;
        assert_eq!(first_output(body), Some(json!(1)));
        assert_eq!(
            first_output(br#"{"outputs":[{"data":["cat","dog"]}]}"#),
            Some(json!("cat"))
        );
        assert_eq!(
            first_output(br#"{"outputs":[{"data":[0.5]}]}"#),
            Some(json!(0.5))
        );
        assert_eq!(first_output(b"{\"outputs\":[]}"), None);
        assert_eq!(first_output(b"{}"), None);
        assert_eq!(first_output(b"not json"), None);
        assert_eq!(first_output(br#"{"outputs":[{"data":[{"a":1}]}]}"#), None);
        assert_eq!(first_output(br#"{"outputs":[{"data":[null]}]}"#), None);
        let long = format!(r#"{{"outputs":[{{"data":["{}"]}}]}}"#, "x".repeat(2000));
        assert_eq!(first_output(long.as_bytes()), None);
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let deep = format!(
            r#"{{"outputs":[{{"data":{}1{}}}]}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(first_output(deep.as_bytes()), None);
    }
}
