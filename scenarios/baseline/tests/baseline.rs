//! The baseline end to end on a small synthetic package: training recovers a known model,
//! the server speaks the protocol and refuses bad requests clearly, batch mode writes every
//! prediction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;

use jiebang_baseline::model::{Answer, Kind, TrainOptions};
use jiebang_baseline::server::{ServeOptions, serve};
use jiebang_baseline::{batch, score, train};
use serde_json::{Value, json};

/// A package in `dir` built on the validator's fixture, with rows where the label is a
/// known function of the features.
fn package(dir: &Path, metric: &str, output_type: &str, label: impl Fn(&[f64]) -> Value) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/valid-package");
    let manifest = std::fs::read_to_string(fixture.join("scenario.toml"))
        .unwrap()
        .replace("name = \"accuracy\"", &format!("name = \"{metric}\""))
        .replace(
            "datatype = \"INT64\"",
            &format!("datatype = \"{output_type}\""),
        );
    std::fs::write(dir.join("scenario.toml"), manifest).unwrap();
    for folder in ["public", "baseline"] {
        std::fs::create_dir_all(dir.join(folder)).unwrap();
        std::fs::copy(
            fixture.join(folder).join("README.md"),
            dir.join(folder).join("README.md"),
        )
        .unwrap();
    }
    let mut state = 12345_u64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 * 4.0 - 2.0
    };
    for (set, prefix, rows) in [
        ("public/train", "tr", 400),
        ("public/samples", "s", 40),
        ("hidden", "h", 60),
    ] {
        std::fs::create_dir_all(dir.join(set)).unwrap();
        let (mut inputs, mut labels) = (String::new(), String::new());
        for i in 0..rows {
            let x = [uniform(), uniform(), uniform()];
            inputs.push_str(&format!(
                "{}\n",
                json!({"id": format!("{prefix}-{i}"), "inputs": {"features": [x]}})
            ));
            labels.push_str(&format!(
                "{}\n",
                json!({"id": format!("{prefix}-{i}"), "label": label(&x)})
            ));
        }
        std::fs::write(dir.join(set).join("inputs.jsonl"), inputs).unwrap();
        std::fs::write(dir.join(set).join("labels.jsonl"), labels).unwrap();
    }
}

/// Next to no penalty: the fit should recover an exactly linear target.
const EXACT: TrainOptions = TrainOptions {
    features: None,
    l2: 1e-9,
};

#[test]
fn ridge_recovers_a_linear_target() {
    let dir = tempfile::tempdir().unwrap();
    package(dir.path(), "rmse", "FP32", |x| {
        json!(5.0 + 2.0 * x[0] - 3.0 * x[1])
    });
    let model = train(dir.path(), EXACT).unwrap();
    assert_eq!((model.kind, model.answer), (Kind::Ridge, Answer::Value));
    let predicted = model.predict(&[1.0, 1.0, 0.5]).unwrap().as_f64().unwrap();
    assert!((predicted - 4.0).abs() < 1e-6, "{predicted}");
    let (metric, rmse, items) =
        score(&model, dir.path(), &dir.path().join("public/samples")).unwrap();
    assert_eq!((metric, items), ("rmse", 40));
    assert!(rmse < 1e-6, "{rmse}");
}

#[test]
fn logistic_separates_two_classes_and_fewer_features_do_worse() {
    let dir = tempfile::tempdir().unwrap();
    package(dir.path(), "accuracy", "INT64", |x| {
        json!(i64::from(x[2] - 0.5 * x[0] > 0.2))
    });
    let full = train(dir.path(), TrainOptions::default()).unwrap();
    assert_eq!((full.kind, full.answer), (Kind::Logistic, Answer::Class));
    let samples = dir.path().join("public/samples");
    let (_, accuracy, _) = score(&full, dir.path(), &samples).unwrap();
    assert!(accuracy >= 0.9, "{accuracy}");
    // The label depends mostly on the third feature; without it the model guesses.
    let weak = train(
        dir.path(),
        TrainOptions {
            features: Some(2),
            l2: 1.0,
        },
    )
    .unwrap();
    let (_, weak_accuracy, _) = score(&weak, dir.path(), &samples).unwrap();
    assert!(
        weak_accuracy < accuracy - 0.1,
        "{weak_accuracy} vs {accuracy}"
    );
}

#[test]
fn roc_auc_scenarios_get_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    package(dir.path(), "roc_auc", "FP32", |x| {
        json!(i64::from(x[1] > 0.0))
    });
    let model = train(dir.path(), TrainOptions::default()).unwrap();
    let p = model.predict(&[0.0, 1.5, 0.0]).unwrap().as_f64().unwrap();
    assert!(p > 0.5 && p < 1.0, "{p}");
}

#[test]
fn labels_the_model_cannot_learn_are_named() {
    let dir = tempfile::tempdir().unwrap();
    package(dir.path(), "accuracy", "INT64", |x| {
        json!(if x[0] > 0.0 { "cat" } else { "dog" })
    });
    let error = train(dir.path(), TrainOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("two classes labelled 0 and 1")
            && error.contains("`cat`") | error.contains("`dog`"),
        "{error}"
    );
}

/// Sends raw requests on one keep-alive connection; returns (status, body) per request.
fn exchange(stream: &mut TcpStream, request: &str) -> (u16, Value) {
    stream.write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn server_speaks_the_protocol_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    package(dir.path(), "rmse", "FP32", |x| json!(1.0 + x[0]));
    let model = train(dir.path(), EXACT).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || serve(listener, model, ServeOptions::default()));
    let mut stream = TcpStream::connect(address).unwrap();

    let (status, _) = exchange(
        &mut stream,
        "GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(status, 200);
    let (status, metadata) = exchange(
        &mut stream,
        "GET /v2/models/delay HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(status, 200);
    assert_eq!(
        metadata["inputs"][0],
        json!({"name": "features", "datatype": "FP32", "shape": [1, 3]})
    );
    assert_eq!(metadata["outputs"][0]["name"], "delayed");

    let request = json!({"id": "q1", "inputs": [{"name": "features", "shape": [1, 3], "datatype": "FP32", "data": [[2.0, 0.0, 0.0]]}]});
    let (status, answer) = exchange(
        &mut stream,
        &post("/v2/models/delay/infer", &request.to_string()),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["id"], "q1");
    let value = answer["outputs"][0]["data"][0].as_f64().unwrap();
    assert!((value - 3.0).abs() < 1e-6, "{answer}");

    let narrow = json!({"inputs": [{"name": "features", "shape": [1, 2], "datatype": "FP32", "data": [1.0, 2.0]}]});
    let (status, answer) = exchange(
        &mut stream,
        &post("/v2/models/delay/infer", &narrow.to_string()),
    );
    assert_eq!(status, 400);
    assert_eq!(
        answer["error"],
        "`features` has 2 values; the model takes 3"
    );
    let (status, answer) = exchange(&mut stream, &post("/v2/models/delay/infer", "{not json"));
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("the body is not JSON")
    );
    let (status, answer) = exchange(&mut stream, &post("/v2/models/other/infer", "{}"));
    assert_eq!(status, 404);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("this server has `delay`")
    );
    // The connection is still usable after the refusals.
    let (status, _) = exchange(
        &mut stream,
        "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(status, 200);
}

#[test]
fn batch_answers_every_record() {
    let dir = tempfile::tempdir().unwrap();
    package(dir.path(), "mae", "FP32", |x| json!(x[0] * 10.0));
    let model = train(dir.path(), TrainOptions::default()).unwrap();
    let output = tempfile::tempdir().unwrap();
    let written = batch::run(&model, &dir.path().join("hidden"), output.path()).unwrap();
    assert_eq!(written, 60);
    let lines = std::fs::read_to_string(output.path().join("predictions.jsonl")).unwrap();
    let first: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], "h-0");
    assert!(first["prediction"].is_number());
    assert_eq!(lines.lines().count(), 60);
}
