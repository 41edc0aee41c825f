"""Tests of the benchmarks (benchmarks/) other than the panel (test_panel.py):
the runner, the shared options and data, the scale measurement with a tiny
network, the GPU check's exit without CUDA, and the committed tables.

The test that starts fresh processes runs only with SKDEC_SLOW_TESTS set.
"""

import argparse
import ast
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks import _data, scale
from benchmarks.__main__ import COMMANDS
from benchmarks.__main__ import main as benchmarks_main
from benchmarks._common import comma_list, machine_info, parse_assignment

slow = pytest.mark.skipif(
    not os.environ.get("SKDEC_SLOW_TESTS"), reason="slow: set SKDEC_SLOW_TESTS=1"
)
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
RESULTS = BENCHMARKS / "results"


# ---------------------------------------------------------------------------
# The runner


def test_help_lists_every_command(capsys):
    assert benchmarks_main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("panel", "grid_search", "scale", "gpu", "table"):
        assert f"  {command} " in out
    assert set(COMMANDS) == {"panel", "grid_search", "scale", "gpu", "table"}


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], ""),
        (["nosuch"], "unknown command 'nosuch'"),
        (["structure", "--seeds", "0"], "'structure' is retired"),
        (["--datasets", "digits"], "'suite' is retired"),
    ],
)
def test_no_unknown_or_retired_command_is_a_usage_error(capsys, argv, message):
    assert benchmarks_main(argv) == 2
    err = capsys.readouterr().err
    assert "usage: python -m benchmarks COMMAND" in err and message in err
    assert ("Finished studies" in err) == ("retired" in message)


@pytest.mark.parametrize("command", ["panel", "grid_search", "scale", "gpu"])
def test_every_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as exc:
        benchmarks_main([command, "--help"])
    assert exc.value.code == 0
    assert f"python -m benchmarks {command}" in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the exit without CUDA")
def test_gpu_check_exits_2_without_cuda(tmp_path, capsys):
    assert benchmarks_main(["gpu", "--output", str(tmp_path)]) == 2
    assert "no CUDA device" in capsys.readouterr().out
    assert not list(tmp_path.iterdir())


def _skdec_names(path):
    """Every dotted skdec name a file imports or reads: ``skdec.x.y``."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            names.append(f"{node.value.id}.{node.attr}")
    return [name for name in names if name.split(".")[0] == "skdec"]


def test_benchmarks_use_only_skdecs_public_api():
    private = {
        f"{path.name}: {name}"
        for path in BENCHMARKS.glob("*.py")
        for name in _skdec_names(path)
        if any(part.startswith("_") for part in name.split(".")[1:])
    }
    assert not private
    assert "skdec.DECClusterer" in _skdec_names(BENCHMARKS / "scale.py")


# ---------------------------------------------------------------------------
# Options and data


@pytest.mark.parametrize(
    "text, expected",
    [
        ("max_iter=500", ("max_iter", 500)),
        ("tol = 1e-4", ("tol", 1e-4)),
        ("module__hidden_dims=(16,)", ("module__hidden_dims", (16,))),
        ("augment=None", ("augment", None)),
        ("augment=(28, 28)", ("augment", (28, 28))),
        ("pretrain_optimizer=adam", ("pretrain_optimizer", "adam")),
        ("n_clusters_search='clustering'", ("n_clusters_search", "clustering")),
        ("device=cuda:0", ("device", "cuda:0")),
    ],
)
def test_parse_assignment(text, expected):
    assert parse_assignment(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("max_iter", "KEY=VALUE"),
        ("=3", "KEY=VALUE"),
        ("1x=2", "KEY=VALUE"),
        ("module__hidden_dims=(16,", "cannot parse"),
        ("tol=1e-3 2", "cannot parse"),
        ("n_clusters=3", "number of classes"),
        ("random_state=0", "--seeds"),
    ],
)
def test_parse_assignment_rejects(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_assignment(text)


def test_comma_list_keeps_the_order_and_drops_repeats():
    assert comma_list(item=int)("2, 0,2,1") == [2, 0, 1]
    assert comma_list(["a", "b"])("b,a") == ["b", "a"]
    for text in ("a,c", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="choose from a, b"):
            comma_list(["a", "b"])(text)
    with pytest.raises(argparse.ArgumentTypeError, match="invalid list"):
        comma_list(item=int)("0,x")


@pytest.mark.parametrize(
    "name, shape, n_classes",
    [("wine", (178, 13), 3), ("breast_cancer", (569, 30), 2)],
)
def test_tabular_datasets_are_standardised(name, shape, n_classes):
    (loaded,) = _data.load(name).items()
    assert loaded[0] == name
    X, y = loaded[1]
    assert X.shape == shape and X.dtype == np.float32 and len(y) == shape[0]
    assert len(np.unique(y)) == n_classes
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(X.std(axis=0), 1, atol=1e-4)
    assert _data.image_shape(name, shape[1]) is None


def test_image_shape_only_for_square_images():
    assert _data.image_shape("digits", 64) == (8, 8)
    # The names load gives: Fashion-MNIST's split is in them.
    assert _data.image_shape("fashion_test", 784) == (28, 28)
    assert _data.image_shape("fashion_train5k", 784) == (28, 28)
    assert _data.image_shape("breast_cancer", 36) is None
    assert _data.image_shape("digits", 50) is None
    # A square width alone does not make rows images (synthetic784).
    assert _data.image_shape("synthetic784", 784) is None


def test_fashion_mnist_missing_says_how_to_install_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        _data.load("fashion5k", fashion=tmp_path / "none")


@pytest.mark.filterwarnings("ignore:n_jobs value:UserWarning")
def test_peer_umap_gmm_finds_blobs(blobs):
    pytest.importorskip("umap")
    from sklearn.metrics import adjusted_rand_score

    from benchmarks._peers import UmapGmm

    X, y = blobs
    peer = UmapGmm(3, n_components=2, random_state=0).fit(X)
    assert adjusted_rand_score(y, peer.labels_) > 0.9


# ---------------------------------------------------------------------------
# Scale


def _memmap_spec(folder, n_samples=3000):
    X_path, y_path = _data.write_blobs(folder, n_samples)
    params = {**scale.SMALL_NET, "n_clusters": 10, "max_iter": 10, "n_init": 1}
    return {"X": str(X_path), "y": str(y_path), "params": params}


def test_scale_measures_a_fit_on_a_memory_map(tmp_path):
    spec = _memmap_spec(tmp_path)
    X = np.load(spec["X"], mmap_mode="r")
    assert X.shape == (3000, 64) and X.dtype == np.float32
    result = scale.measure(spec)
    assert (result["n_samples"], result["n_features"]) == (3000, 64)
    assert result["input"] == "memmap" and result["params"]["max_iter"] == 10
    assert result["fit_seconds"] > 0 and result["refresh_seconds"] > 0
    assert result["pretrain_epoch_seconds"] > 0 and result["n_refreshes"] >= 1
    assert result["peak_anon_added_mb"] >= 0
    assert result["peak"]["phase"] in ("fit", "predict")
    assert result["ari_predict"] > 0.9 and result["predict_equals_labels_"]
    results = {"machine": machine_info(), "command": "python -m benchmarks scale"}
    rows = [{**result, "target_mb": 384}]
    assert "| 3,000 | memmap |" in scale.markdown(
        "memmap", {**results, "results": rows}
    )
    table = scale.markdown("table", {**results, "results": [result, result]})
    assert "Median over 2 fresh processes per size" in table
    assert "max_iter=10, module__hidden_dims=(32,), module__latent_dim=5," in table


@slow
def test_scale_memmap_in_a_fresh_process(tmp_path):
    status = benchmarks_main(
        [
            *("scale", "memmap", "--n-samples", "3000"),
            *("--set", "max_iter=10", "--set", "n_init=1"),
            *("--output", str(tmp_path), "--workdir", str(tmp_path)),
        ]
    )
    assert status == 0
    (result,) = json.loads((tmp_path / "memmap.json").read_text())["results"]
    assert "error" not in result, result.get("error")
    assert result["ari_predict"] > 0.9 and result["target_mb"] == 384
    assert "| 3,000 | memmap |" in (tmp_path / "memmap.md").read_text()


# ---------------------------------------------------------------------------
# Committed tables


def test_table_command_remakes_the_committed_tables(tmp_path):
    """The panel's and scale's committed markdown is what their code makes of
    the JSON beside it: no table is edited by hand."""
    for folder in ("scale", "panel", "panel-generated"):
        shutil.copytree(RESULTS / folder, tmp_path / folder)
    for path in tmp_path.rglob("*.md"):
        path.write_text("")
    assert benchmarks_main(["table", str(tmp_path)]) == 0
    remade = sorted(tmp_path.rglob("*.md"))
    assert len(remade) == 11
    for path in remade:
        original = RESULTS / path.relative_to(tmp_path)
        assert path.read_text() == original.read_text(), original
