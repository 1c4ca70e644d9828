"""The catalog's accelerator scenario: handwritten digits as 8 x 8 image tensors.

Called by generate.py (inside its virtualenv). The data are scikit-learn's bundled copy of
the UCI handwritten digits (1,797 images of 8 x 8 pixels, 0..16), read straight out of the
pinned scikit-learn wheel, which pip downloads from PyPI without installing it (nothing of
scikit-learn runs). The wheel's SHA-256 is checked, so the files written are the same on
every machine.
"""

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np

from toml_text import toml_block, toml_str

SKLEARN_VERSION = "1.5.2"
WHEEL = "scikit_learn-1.5.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "394397841449853c2290a32050382edaec3da89e35b3e03d6cc966aebc6a8ae6"
MEMBER = "sklearn/datasets/data/digits.csv.gz"
ID = "fengxi-handwritten-digits"
SIDE = 8


def fetch_rows(cache, say):
    """The 1,797 rows of digits.csv.gz: 64 pixels then the digit, all integers."""
    path = os.path.join(cache, WHEEL)
    if not os.path.exists(path):
        say(f"  downloading scikit-learn {SKLEARN_VERSION} (wheel only, no install) into {cache}")
        subprocess.check_call(
            [
                sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                "--no-deps", "--only-binary=:all:", "--platform", "manylinux2014_x86_64",
                "--python-version", "3.12", f"scikit-learn=={SKLEARN_VERSION}", "-d", cache,
            ]
        )
    with open(path, "rb") as wheel:
        digest = hashlib.sha256(wheel.read()).hexdigest()
    assert digest == WHEEL_SHA256, f"{WHEEL} has SHA-256 {digest}, expected {WHEEL_SHA256}"
    with zipfile.ZipFile(path) as wheel:
        text = gzip.decompress(wheel.read(MEMBER)).decode("ascii")
    rows = [[int(v) for v in line.split(",")] for line in text.strip().split("\n")]
    assert len(rows) == 1797 and all(len(r) == SIDE * SIDE + 1 for r in rows), len(rows)
    say(f"  loaded {MEMBER} from scikit-learn {SKLEARN_VERSION}: {len(rows)} images")
    return rows


def image_text(pixels):
    """One 1 x 8 x 8 tensor as nested JSON, pixels as FP32 numbers."""
    lines = []
    for r in range(SIDE):
        lines.append("[" + ", ".join(f"{float(v)!r}" for v in pixels[r * SIDE : (r + 1) * SIDE]) + "]")
    return "[[" + ", ".join(lines) + "]]"


def nearest_centroid_accuracy(train, hidden):
    """What the shared Rust baseline does for many classes (scenarios/baseline, Kind::Centroid):
    the mean image of each digit, the nearest mean (Euclidean, raw pixels) wins, ties to the
    smaller digit."""
    x = np.array([r[:-1] for r in train], dtype=float)
    y = np.array([r[-1] for r in train])
    classes = sorted(set(y.tolist()))
    centroids = np.array([x[y == c].mean(axis=0) for c in classes])
    hx = np.array([r[:-1] for r in hidden], dtype=float)
    hy = np.array([r[-1] for r in hidden])
    distances = ((hx[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    predicted = np.array(classes)[distances.argmin(axis=1)]
    return float(np.mean(predicted == hy))


TEXTS = {
    "title": ("政务表单手写数字识别", "Handwritten digits on government forms"),
    "summary": (
        "把扫描的政务服务表单中手写数字的 8×8 灰度图识别为 0–9，评测在加速卡节点上进行。",
        "Read a handwritten digit, scanned from a government service form as an 8 × 8 greyscale image, as 0–9; evaluated on an accelerator node.",
    ),
    "description": (
        "沣西新城是西部云谷与大数据中心的所在地，也在推进“一网通办”：大量纸质申请表仍靠人工录入，其中的证件号、金额、日期等手写数字最费时、最容易出错。"
        "本赛题征集可在算力中心加速卡上运行的手写数字识别服务，作为表单自动录入的第一步。\n\n"
        "数据为公开的 UCI 手写数字数据集（scikit-learn 自带的 1797 张图）：每张图是 8×8 的灰度张量，像素值 0–16。模型输出**数字 0–9**。"
        "评测指标为隐藏测试集上的准确率；评测独占 1 块加速卡（型号不限），单请求 p90 延迟须在 10 毫秒以内。",
        "Fengxi New City hosts the Western Cloud Valley data centres and is moving government services online, yet many "
        "applications still arrive on paper and are typed in by hand; handwritten ID numbers, amounts and dates take the "
        "longest and go wrong most often. This challenge asks for a handwritten-digit recognition service that runs on the "
        "compute centre's accelerators, the first step of reading forms automatically.\n\n"
        "The data are the public UCI handwritten digits (the 1,797 images bundled with scikit-learn): each image is an 8 × 8 "
        "greyscale tensor with pixels 0–16, and the model answers the **digit 0–9**. Submissions are judged by accuracy on the "
        "hidden test set; each evaluation gets one accelerator of any model to itself, and the p90 latency of a query must stay "
        "within 10 ms.",
    ),
    "bounty": (
        600000,
        "一等奖 1 名 300,000 元；二等奖 2 名，各 100,000 元；三等奖 4 名，各 25,000 元。按决赛私有榜排名发放，获奖方案须通过代码与技术报告复核。",
    ),
}

LATENCY = {"budget_ms": 10, "min_duration_s": 10, "min_queries": 300}
HIDDEN_RUN_S = 300


def scenario_toml(phases, seed, public_fraction, counts):
    title, summary, description, bounty = (TEXTS[k] for k in ("title", "summary", "description", "bounty"))
    parts = [
        "# Generated by scenarios/catalog/generate.py (catalog_digits.py); edit those scripts, not this file.",
        f'id = "{ID}"',
        'town = "fengxi"',
        'domain = "government-services"',
        'mode = "serve"',
        "",
        "[title]",
        f"zh = {toml_str(title[0])}",
        f"en = {toml_str(title[1])}",
        "",
        "[summary]",
        f"zh = {toml_str(summary[0])}",
        f"en = {toml_str(summary[1])}",
        "",
        "[description]",
        f"zh = {toml_block(description[0])}",
        f"en = {toml_block(description[1])}",
        "",
        "[bounty]",
        f"amount_cny = {bounty[0]}",
        f"notes = {toml_str(bounty[1])}",
    ]
    for name, opens, closes in phases:
        parts += ["", "[[phases]]", f"name = {toml_str(name)}", f"opens_at = {toml_str(opens)}", f"closes_at = {toml_str(closes)}"]
    parts += [
        "",
        "[task]",
        'model = "digits"',
        f'inputs = [{{ name = "image", datatype = "FP32", shape = [1, {SIDE}, {SIDE}] }}]',
        'outputs = [{ name = "digit", datatype = "INT64", shape = [1] }]',
        "",
        "[metric]",
        'name = "accuracy"',
        "",
        "[latency]",
        f"budget_ms = {LATENCY['budget_ms']}",
        'load = { pattern = "single-stream" }',
        f"min_duration_s = {LATENCY['min_duration_s']}",
        f"min_queries = {LATENCY['min_queries']}",
        "",
        "[resources]",
        "cpus = 1",
        "memory_mb = 512",
        "accelerators = 1",
        "",
        "[limits]",
        "startup_s = 30",
        "sample_run_s = 60",
        f"hidden_run_s = {HIDDEN_RUN_S}",
        "",
        "[quota]",
        "submissions_per_day = 5",
        "",
        "[split]",
        f"public_fraction = {public_fraction}",
        f"seed = {seed}",
        "",
        "[data]",
        f'source = "UCI optical recognition of handwritten digits (test part, E. Alpaydin and C. Kaynak), as bundled in scikit-learn {SKLEARN_VERSION} (sklearn/datasets/data/digits.csv.gz), read from its wheel on PyPI"',
        'licence = "scikit-learn is BSD-3-Clause; the UCI data set is CC BY 4.0"',
        f'transformation = "All 1797 images are kept; each row\'s 64 pixels (0..16) become one FP32 tensor of shape [1, 8, 8], row by row; label = the digit 0-9; the rows are shuffled with numpy default_rng({seed}) and the first {counts["hidden"]} form the hidden set, the next {counts["samples"]} the samples and the remaining {counts["train"]} the training set."',
    ]
    return "\n".join(parts) + "\n"


def readme(counts, shares, trivial, seed):
    title, summary, description = TEXTS["title"], TEXTS["summary"], TEXTS["description"]
    example = '{"id": "tr-7", "inputs": {"image": [[[0.0, 0.0, 5.0, …], …, [0.0, …]]]}}'
    return f"""# {title[0]} / {title[1]}

## 中文

{description[0]}

**任务。** {summary[0]}

**提交约定。** 提交物是一个 linux/amd64 的 OCI/Docker 镜像，在 8080 端口提供 Open Inference Protocol（KServe / Triton v2）HTTP 接口：`GET /v2/health/ready`、`GET /v2/models/digits`、`POST /v2/models/digits/infer`。每个请求带一个输入张量 `image`，类型 FP32，形状 [1, 8, 8]（数据可按形状嵌套，也可展平为 64 个数）；响应的第一个输出张量为 `digit`，类型 INT64，形状 [1]。资源：1 个 CPU、512 MB 内存、**1 块加速卡（型号不限）**，在整次评测中独占；启动到就绪不超过 30 秒。容器看到的加速卡由评测节点分配（NVIDIA 通过 `CUDA_VISIBLE_DEVICES`/设备请求，寒武纪 MLU 通过 `MLU_VISIBLE_DEVICES`，昇腾通过 `ASCEND_VISIBLE_DEVICES`）；不使用加速卡的方案同样有效。

**输入。** 每条输入是一张 8×8 灰度图，像素为 0–16 的整数（以 FP32 表示），由 32×32 的二值手写图按 4×4 块计数得到。

**标签。** 数字 0–9。训练集中各数字占比 {shares}。

**评价指标。** 准确率（accuracy），越高越好。隐藏测试集中约 30% 的样本用于比赛期间的公开榜，其余约 70% 决定阶段最终排名（私有榜）。

**时延与负载。** 在线服务，单流负载（single-stream）：上一个请求返回后才发出下一个；p90 延迟预算 {LATENCY['budget_ms']} 毫秒，至少 {LATENCY['min_queries']} 个请求、{LATENCY['min_duration_s']} 秒。超出预算的提交排在所有预算内提交之后。

**数据文件。**

- `samples/inputs.jsonl`、`samples/labels.jsonl`：{counts['samples']} 条样例；每次提交都会先在样例上试运行，结果对队伍可见。
- `train/inputs.jsonl`、`train/labels.jsonl`：{counts['train']} 条训练数据。
- 隐藏测试集共 {counts['hidden']} 条，不对队伍开放；与训练集、样例不共享任何图片。

输入每行形如 `{example}`，标签每行形如 `{{"id": "…", "label": 7}}`，二者按 `id` 对应。

**数据来源与许可。** UCI 手写数字数据集（E. Alpaydin、C. Kaynak，测试部分），取自 PyPI 上 scikit-learn {SKLEARN_VERSION} 的 wheel 中自带的 `digits.csv.gz`；scikit-learn 以 BSD-3-Clause 许可发布，UCI 数据集为 CC BY 4.0。

## English

{description[1]}

**Task.** {summary[1]}

**Submission contract.** A submission is a linux/amd64 OCI/Docker image serving the Open Inference Protocol (KServe / Triton v2) over HTTP on port 8080: `GET /v2/health/ready`, `GET /v2/models/digits`, `POST /v2/models/digits/infer`. Each query carries one input tensor `image`, FP32, shape [1, 8, 8] (nested as the shape, or flat as 64 numbers); the first output tensor of the answer is `digit`, INT64, shape [1]. Resources: 1 CPU, 512 MB of memory and **one accelerator of any model**, the run's alone for the whole evaluation; the server must be ready within 30 s. The node assigns the device the container sees (NVIDIA through `CUDA_VISIBLE_DEVICES`/a device request, Cambricon MLU through `MLU_VISIBLE_DEVICES`, Ascend through `ASCEND_VISIBLE_DEVICES`); a solution that leaves it unused is just as valid.

**Inputs.** Each input is one 8 × 8 greyscale image, integer pixels 0–16 sent as FP32: a 32 × 32 binary handwritten bitmap counted in 4 × 4 blocks.

**Label.** The digit 0–9. Shares in the training set: {shares}.

**Metric.** Accuracy, higher is better. About 30 % of the hidden test set makes the public board during a phase; the other 70 % (the private board) decides the phase.

**Latency and load.** Online serving, single-stream load: the next query leaves when the previous answer arrives; the p90 latency budget is {LATENCY['budget_ms']} ms over at least {LATENCY['min_queries']} queries and {LATENCY['min_duration_s']} s. Runs over budget rank below every run within it.

**Data files.**

- `samples/inputs.jsonl`, `samples/labels.jsonl`: {counts['samples']} sample items; every submission first runs on them, and teams see the result.
- `train/inputs.jsonl`, `train/labels.jsonl`: {counts['train']} training items.
- The hidden test set has {counts['hidden']} items and is never given to teams; it shares no image with the training set or the samples.

Each input line looks like `{example}` and each label line like `{{"id": "…", "label": 7}}`, matched by `id`.

**Source and licence.** The UCI optical recognition of handwritten digits data (E. Alpaydin and C. Kaynak, test part), the `digits.csv.gz` bundled in the scikit-learn {SKLEARN_VERSION} wheel on PyPI; scikit-learn is distributed under BSD-3-Clause and the UCI data set under CC BY 4.0.
"""


def baseline_readme(stated, measured):
    return f"""# Baseline / 基线

**Stated score:** accuracy ≥ {stated} on the hidden set (measured {measured}), trained on `public/train/` only. Check it locally on the samples with `jiebang-baseline score --model model.json --package scenarios/catalog/{ID}`.

**基线成绩：** 隐藏测试集上 accuracy ≥ {stated}（实测 {measured}），仅用 `public/train/` 训练。

The baseline is the shared Rust crate `scenarios/baseline`; build it for this scenario with `scripts/build-baseline scenarios/catalog/{ID}`. Model kind: nearest centroid (the mean image of each digit on the raw pixels; more than two classes, so not logistic regression). It runs on whatever hardware it is given: it logs the accelerators it can see (device nodes under `/dev` and the `*_VISIBLE_DEVICES` variables) when it starts, and computes on the CPU. Like any submission it answers this scenario's contract: model `digits`, input `image` FP32 [1, 8, 8], output `digit` INT64 [1].

基线是共享的 Rust crate `scenarios/baseline`，用 `scripts/build-baseline scenarios/catalog/{ID}` 为本赛题构建。模型类型：最近质心（每个数字在原始像素上的平均图像；类别多于两个，因此不用逻辑回归）。它在任何分配给它的硬件上都能运行：启动时记录它看到的加速卡（`/dev` 下的设备节点与 `*_VISIBLE_DEVICES` 环境变量），计算在 CPU 上完成。与所有提交一样，它遵守本赛题的提交约定：模型 `digits`，输入 `image` FP32 [1, 8, 8]，输出 `digit` INT64 [1]。
"""


# The stated bound scenarios/baseline/tests/catalog.rs checks; the measured figure is printed.
BASELINE_STATED = 0.88


def build(catalog, cache, phases, seed, public_fraction, samples, hidden_fraction, write_lines, write_text, say):
    """Writes the package; returns the facts generate.py's catalog README needs."""
    say(f"{ID}: scikit-learn digits")
    rows = fetch_rows(cache, say)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    hidden_n = int(round(hidden_fraction * len(rows)))
    parts = {
        "hidden": np.sort(order[:hidden_n]),
        "samples": np.sort(order[hidden_n : hidden_n + samples]),
        "train": np.sort(order[hidden_n + samples :]),
    }
    root = os.path.join(catalog, ID)
    if os.path.isdir(root):
        shutil.rmtree(root)
    prefix = {"train": "tr", "samples": "s", "hidden": "h"}
    folder = {"train": "public/train", "samples": "public/samples", "hidden": "hidden"}
    for name, indices in parts.items():
        inputs = [f'{{"id": "{prefix[name]}-{i}", "inputs": {{"image": {image_text(rows[i][:-1])}}}}}' for i in indices.tolist()]
        labels = [f'{{"id": "{prefix[name]}-{i}", "label": {rows[i][-1]}}}' for i in indices.tolist()]
        write_lines(os.path.join(root, folder[name], "inputs.jsonl"), inputs)
        write_lines(os.path.join(root, folder[name], "labels.jsonl"), labels)
    counts = {name: len(indices) for name, indices in parts.items()}
    train = [rows[i] for i in parts["train"].tolist()]
    hidden = [rows[i] for i in parts["hidden"].tolist()]
    train_y = np.array([r[-1] for r in train])
    shares = ", ".join(f"{d}: {np.mean(train_y == d):.1%}" for d in range(10))
    majority = int(np.bincount(train_y).argmax())
    trivial = float(np.mean(np.array([r[-1] for r in hidden]) == majority))
    measured = round(nearest_centroid_accuracy(train, hidden), 4)
    assert measured >= BASELINE_STATED, measured
    write_text(os.path.join(root, "scenario.toml"), scenario_toml(phases, seed, public_fraction, counts))
    write_text(os.path.join(root, "public", "README.md"), readme(counts, shares, trivial, seed))
    write_text(os.path.join(root, "baseline", "README.md"), baseline_readme(BASELINE_STATED, measured))
    say(f"  wrote {root}: train {counts['train']}, samples {counts['samples']}, hidden {counts['hidden']}, D = 8 x 8")
    say(f"  trivial predictor (always {majority}, the training majority) on hidden: accuracy = {trivial:.4f}")
    say(f"  nearest centroid on hidden: accuracy = {measured}")
    return {
        "id": ID,
        "row": f"| [`{ID}`]({ID}/) | fengxi | 智慧政务 / smart government services | serve | accuracy | p90 ≤ {LATENCY['budget_ms']} ms, single-stream; 1 accelerator, any model | scikit-learn {SKLEARN_VERSION} `digits` (BSD-3-Clause; UCI data CC BY 4.0) |",
        "size": f"| `{ID}` | {counts['train']} | {counts['samples']} | {counts['hidden']} | 8 × 8 | accuracy {trivial:.4f} (always {majority}, the training majority); baseline (nearest centroid) {measured} |",
    }
