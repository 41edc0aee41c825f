"""Smoke tests of the benchmarks (benchmarks/) with a tiny network.

Tests that take more than a few seconds run only with SKDEC_SLOW_TESTS set.
"""

import argparse
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, ClusterMixin

from benchmarks import _data, run, scale, single_cell, speed, tables
from benchmarks.__main__ import main as benchmarks_main
from benchmarks._callbacks import PretrainCache, StartPartition
from benchmarks._common import parse_assignment
from skdec import DECClusterer, IICClusterer
from skdec._nn import StackedAutoencoder
from tests.test_datasets import write_mnist_dir

slow = pytest.mark.skipif(
    not os.environ.get("SKDEC_SLOW_TESTS"), reason="slow: set SKDEC_SLOW_TESTS=1"
)
RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
TINY = [
    *("--set", "hidden_dims=(16,)"),
    *("--set", "latent_dim=2"),
    *("--set", "pretrain_epochs=1"),
    *("--set", "max_iter=5"),
    *("--set", "n_init=1"),
]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("max_iter=500", ("max_iter", 500)),
        ("tol = 1e-4", ("tol", 1e-4)),
        ("hidden_dims=(16,)", ("hidden_dims", (16,))),
        ("pretrain=None", ("pretrain", None)),
        ("pretrain=end_to_end", ("pretrain", "end_to_end")),
        ("pretrain='layerwise'", ("pretrain", "layerwise")),
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
        ("hidden_dims=(16,", "cannot parse"),
        ("tol=1e-3 2", "cannot parse"),
        ("n_clusters=3", "number of classes"),
        ("random_state=0", "--seeds"),
    ],
)
def test_parse_assignment_rejects(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_assignment(text)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "max_iters=5"], "max_iters"),
        (["--set", "max_iter=-1"], "max_iter"),
        (["--methods", "kmeans,dec", "--set", "gamma=0.5"], "gamma"),
        (["--methods", "kmeans,dbscan"], "dbscan"),
        (["--datasets", "mnist"], "--mnist PATH"),
        (
            ["--datasets", "fashion", "--fashion", "no-such-fashion-dir"],
            "dataset-fashion-mnist",
        ),
        (["--datasets", "fashion", "--fashion-subset", "val"], "--fashion-subset"),
        (["--seeds", "0,x"], "invalid list"),
    ],
)
def test_bad_arguments_fail_before_any_run(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        run.main([*args, "--output", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_dec_family_methods_take_the_overrides_they_have():
    overrides = {"gamma": 0.5, "max_iter": 7, "latent_dim": 3, "n_init": 1}
    idec = run.METHODS["idec"](4, 1, overrides)
    assert (idec.n_clusters, idec.random_state) == (4, 1)
    assert (idec.gamma, idec.max_iter, idec.latent_dim) == (0.5, 7, 3)
    dec = run.METHODS["dec"](4, 1, overrides)
    assert "gamma" not in dec.get_params()
    assert (dec.max_iter, dec.latent_dim) == (7, 3)
    ae_kmeans = run.METHODS["ae_kmeans"](4, 1, overrides)
    assert (ae_kmeans.max_iter, ae_kmeans.latent_dim) == (0, 3)
    kmeans = run.METHODS["kmeans"](4, 1, overrides)
    assert (kmeans.n_init, kmeans.random_state) == (20, 1)
    dec_manifold = run.METHODS["dec_manifold"](4, 1, overrides)
    assert (dec_manifold.init, dec_manifold.max_iter) == ("manifold", 7)
    idec_manifold = run.METHODS["idec_manifold"](4, 1, overrides)
    assert (idec_manifold.init, idec_manifold.gamma) == ("manifold", 0.5)
    assert run.METHODS["dec_spectral"](4, 1, overrides).init == "spectral"
    # The image methods get image_shape per data set, in _run_one.
    conv = run.METHODS["dec_conv"](4, 1, {**overrides, "conv_channels": (4,)})
    assert (conv.conv_channels, conv.augment, conv.latent_dim) == ((4,), False, 3)
    da = run.METHODS["dec_da"](4, 1, {**overrides, "conv_channels": (4,)})
    assert (da.conv_channels, da.augment) == (None, True)
    conv_da = run.METHODS["dec_conv_da"](4, 1, overrides)
    assert (conv_da.conv_channels, conv_da.augment) == ((32, 64, 128), True)


def test_suite_writes_json_and_markdown(tmp_path):
    datasets = ["digits", "synthetic", "synthetic784", *_data.IMBALANCE_R_MIN]
    datasets = [
        d if isinstance(d, str) else f"digits_imbalanced_r{d}" for d in datasets
    ]
    methods = ["kmeans", "ae_kmeans", "dec"]
    status = run.main(
        [
            *("--datasets", "digits,synthetic,synthetic784,imbalanced"),
            *("--methods", ",".join(methods)),
            *("--seeds", "0"),
            *("--max-samples", "120"),
            "--no-subprocess",
            *("--output", str(tmp_path)),
            *TINY,
        ]
    )
    assert status == 0

    results = json.loads((tmp_path / "results.json").read_text())
    assert results["complete"]
    assert results["overrides"] == {
        "hidden_dims": [16],
        "latent_dim": 2,
        "pretrain_epochs": 1,
        "max_iter": 5,
        "n_init": 1,
    }
    assert results["machine"]["torch"] == torch.__version__
    assert list(results["datasets"]) == datasets
    assert all(info["n_samples"] == 120 for info in results["datasets"].values())
    runs = results["runs"]
    assert [(r["dataset"], r["method"]) for r in runs] == [
        (d, m) for d in datasets for m in methods
    ]
    for row in runs:
        assert "error" not in row
        assert 0 < row["acc"] <= 1 and -1 <= row["ari"] <= 1 and 0 <= row["nmi"] <= 1
        assert row["fit_seconds"] > 0 and row["params"]["random_state"] == 0
        # ae_kmeans is read off the dec fit, which alone measures memory.
        if row["method"] == "ae_kmeans":
            assert row["derived_from"] == "dec" and row["peak_rss_mb"] is None
        else:
            assert "derived_from" not in row and row["peak_rss_mb"] > 0
    by_method = {r["method"]: r for r in runs if r["dataset"] == "digits"}
    assert by_method["kmeans"]["params"]["n_init"] == 20
    assert by_method["ae_kmeans"]["params"]["max_iter"] == 0
    assert by_method["ae_kmeans"]["n_iter"] == 0
    assert by_method["ae_kmeans"]["fit_seconds"] < by_method["dec"]["fit_seconds"]
    dec = by_method["dec"]
    assert dec["params"]["hidden_dims"] == [16]
    assert dec["params"]["pretrain_epochs"] == 1
    assert dec["n_iter"] == 5
    assert set(dec["stage_seconds"]) == {"pretraining", "kmeans", "clustering"}
    assert sum(dec["stage_seconds"].values()) <= dec["fit_seconds"]
    assert dec["warnings"] and "ConvergenceWarning" in dec["warnings"][0]
    assert len(results["aggregates"]) == len(datasets) * len(methods)

    table = (tmp_path / "results.md").read_text()
    for d in datasets:
        for m in methods:
            assert f"| {d} | {m} | " in table


@slow
def test_each_run_in_a_fresh_process(tmp_path):
    run.main(
        [
            *("--datasets", "digits"),
            *("--methods", "kmeans"),
            *("--seeds", "3"),
            *("--max-samples", "100"),
            *("--output", str(tmp_path)),
        ]
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["subprocess"]
    (row,) = results["runs"]
    assert row["seed"] == 3 and row["params"]["random_state"] == 3
    assert row["peak_rss_mb"] >= row["rss_before_fit_mb"] > 0


class _Failing(ClusterMixin, BaseEstimator):
    def fit(self, X, y=None):
        raise RuntimeError("boom")


def test_failed_run_is_reported_not_fatal(tmp_path, monkeypatch):
    monkeypatch.setitem(run.METHODS, "broken", lambda k, seed, overrides: _Failing())
    status = run.main(
        [
            *("--methods", "kmeans,broken"),
            *("--datasets", "digits"),
            *("--seeds", "0"),
            *("--max-samples", "60"),
            "--no-subprocess",
            *("--output", str(tmp_path)),
        ]
    )
    assert status == 1
    results = json.loads((tmp_path / "results.json").read_text())
    assert [r.get("error") for r in results["runs"]] == [None, "RuntimeError: boom"]
    table = (tmp_path / "results.md").read_text()
    assert "| digits | broken | failed (1 runs)" in table
    assert "RuntimeError: boom" in table


def test_missing_optional_package_skips_its_method(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(run.OPTIONAL_PACKAGES, "dec_manifold", "no_such_package_xyz")
    run.main(
        [
            *("--methods", "kmeans,dec_manifold"),
            *("--datasets", "digits"),
            *("--seeds", "0"),
            *("--max-samples", "60"),
            "--no-subprocess",
            *("--output", str(tmp_path)),
        ]
    )
    assert "Skipping dec_manifold: no_such_package_xyz is not installed" in (
        capsys.readouterr().err
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["methods"] == ["kmeans"]
    assert list(results["skipped_methods"]) == ["dec_manifold"]
    assert "dec_manifold skipped" in (tmp_path / "results.md").read_text()


def test_reference_loop_network_matches_skdec():
    autoencoder = StackedAutoencoder(
        (7, 5, 4, 2), generator=torch.Generator().manual_seed(0)
    )
    x = torch.rand(9, 7)
    assert torch.equal(speed.as_sequential(autoencoder)(x), autoencoder(x))


def test_speed_writes_json_and_markdown(tmp_path):
    status = benchmarks_main(
        [
            "speed",
            *("--epoch-samples", "256"),
            *("--big-samples", "300"),
            *("--repeats", "1"),
            *("--output", str(tmp_path)),
            *TINY,
        ]
    )
    results = json.loads((tmp_path / "speed.json").read_text())
    epoch = results["epoch"]
    assert epoch["network"] == [784, 16, 2]
    assert epoch["ratio"] == pytest.approx(
        epoch["skdec_median_seconds"] / epoch["reference_median_seconds"]
    )
    assert status == int(not epoch["passed"])
    assert results["refresh"]["n_samples"] == 300
    assert results["refresh"]["median_seconds"] > 0
    report = (tmp_path / "speed.md").read_text()
    assert f"**Ratio {epoch['ratio']:.3f}**" in report
    assert "hidden_dims=(16,)" in report


def test_mnist_from_local_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "mnist.npz"
    np.savez(
        path,
        X=rng.integers(0, 256, size=(40, 784), dtype=np.uint8),
        y=np.repeat(np.arange(4), 10),
    )
    run.main(
        [
            *("--datasets", "mnist"),
            *("--mnist", str(path)),
            *("--methods", "kmeans"),
            *("--seeds", "0"),
            "--no-subprocess",
            *("--output", str(tmp_path / "out")),
        ]
    )
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["datasets"]["mnist"] == {
        "n_samples": 40,
        "n_features": 784,
        "n_clusters": 4,
        "dtype": "float32",
    }
    assert results["runs"][0]["dataset"] == "mnist"


@pytest.mark.parametrize("subset, n_samples", [(None, 40), ("all", 60)])
def test_fashion_from_local_idx_files(tmp_path, subset, n_samples):
    # The layout of the Debian package dataset-fashion-mnist: four gzipped files.
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    labels = np.repeat(np.arange(4, dtype=np.uint8), 10)
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    arrays = {"train": (images[::2], labels[::2]), "test": (images, labels)}
    write_mnist_dir(folder, arrays, gz=True)
    run.main(
        [
            *("--datasets", "fashion"),
            *("--fashion", str(folder)),
            *(() if subset is None else ("--fashion-subset", subset)),
            *("--methods", "kmeans"),
            *("--seeds", "0"),
            "--no-subprocess",
            *("--output", str(tmp_path / "out")),
        ]
    )
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    name = f"fashion_{subset or 'test'}"
    assert results["datasets"] == {
        name: {
            "n_samples": n_samples,
            "n_features": 784,
            "n_clusters": 4,
            "dtype": "float32",
        }
    }
    assert results["runs"][0]["dataset"] == name


def test_iic_takes_only_its_namespaced_overrides():
    overrides = {"iic_max_epochs": 3, "learning_rate": 0.5, "device": "cpu"}
    iic = run.METHODS["iic"](4, 1, overrides)
    assert (iic.n_clusters, iic.random_state) == (4, 1)
    assert (iic.max_epochs, iic.device) == (3, "cpu")
    assert iic.learning_rate == IICClusterer().learning_rate
    dec = run.METHODS["dec"](4, 1, overrides)
    assert dec.learning_rate == 0.5


def test_iic_heads_are_reported(tmp_path):
    status = run.main(
        [
            *("--datasets", "digits"),
            *("--methods", "iic"),
            *("--seeds", "0"),
            *("--max-samples", "100"),
            "--no-subprocess",
            *("--output", str(tmp_path)),
            *("--set", "iic_max_epochs=1"),
            *("--set", "iic_n_heads=2"),
            *("--set", "iic_conv_channels=(4,)"),
            *("--set", "iic_hidden_dims=(8,)"),
        ]
    )
    assert status == 0
    (row,) = json.loads((tmp_path / "results.json").read_text())["runs"]
    assert len(row["head_acc"]) == 2
    # The chosen head is one of them: the same labels, the same accuracy.
    assert any(acc == pytest.approx(row["acc"]) for acc in row["head_acc"])
    assert "## Heads (IIC)" in (tmp_path / "results.md").read_text()


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
    # Plain features: the image methods do not run on them.
    assert _data.image_shape(name, shape[1]) is None


def test_image_shape_only_for_square_images():
    assert _data.image_shape("digits", 64) == (8, 8)
    assert _data.image_shape("fashion", 784) == (28, 28)
    # The names load gives: the split, the imbalance ratio.
    assert _data.image_shape("fashion_test", 784) == (28, 28)
    assert _data.image_shape("digits_imbalanced_r0.1", 64) == (8, 8)
    assert _data.image_shape("breast_cancer", 36) is None
    assert _data.image_shape("digits", 50) is None
    # A square width alone does not make rows images (synthetic784).
    assert _data.image_shape("synthetic784", 784) is None


TINY_IIC = [
    *("--set", "iic_max_epochs=1"),
    *("--set", "iic_n_heads=1"),
    *("--set", "iic_conv_channels=(4,)"),
    *("--set", "iic_hidden_dims=(8,)"),
]


def test_image_methods_run_on_image_data_only(tmp_path):
    image_only = ["dec_conv", "dec_da", "dec_conv_da"]
    status = run.main(
        [
            *("--datasets", "digits,wine,synthetic784"),
            *("--methods", ",".join(["kmeans", *image_only, "iic"])),
            *("--seeds", "0"),
            *("--max-samples", "60"),
            "--no-subprocess",
            *("--output", str(tmp_path)),
            *TINY,
            *("--set", "conv_channels=(4,)"),
            *TINY_IIC,
        ]
    )
    assert status == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["not_applicable"] == {
        method: ["wine", "synthetic784"] for method in image_only
    }
    runs = {(r["dataset"], r["method"]): r for r in results["runs"]}
    assert all("error" not in row for row in runs.values())
    assert sorted(runs) == sorted(
        [("digits", m) for m in ["kmeans", *image_only, "iic"]]
        + [(d, m) for d in ("wine", "synthetic784") for m in ("kmeans", "iic")]
    )
    # Digits' rows are 8x8 images; IIC takes other data as plain features.
    for method in [*image_only, "iic"]:
        assert runs["digits", method]["params"]["image_shape"] == [8, 8]
    assert runs["wine", "iic"]["params"]["image_shape"] is None
    assert runs["synthetic784", "iic"]["params"]["image_shape"] is None
    params = {m: runs["digits", m]["params"] for m in image_only}
    assert params["dec_conv"]["conv_channels"] == [4]
    assert not params["dec_conv"]["augment"]
    assert (params["dec_da"]["conv_channels"], params["dec_da"]["augment"]) == (
        None,
        True,
    )
    assert params["dec_conv_da"]["conv_channels"] == [4]
    assert params["dec_conv_da"]["augment"]
    table = (tmp_path / "results.md").read_text()
    for method in image_only:
        assert (
            f"- {method}: not run on wine, synthetic784 (rows are not square images)"
            in table
        )
        assert f"| wine | {method} |" not in table


def test_image_only_methods_need_an_image_data_set(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        run.main(
            [
                *("--datasets", "wine,breast_cancer"),
                *("--methods", "dec_conv,dec_da"),
                *("--output", str(tmp_path / "out")),
            ]
        )
    assert exc.value.code == 2
    assert "image data only" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_manifold_methods_need_umap_learn(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "umap" else find_spec(name, *args),
    )
    methods, skipped = run._available_methods(
        ["kmeans", "dec_manifold", "idec_manifold"]
    )
    assert methods == ["kmeans"]
    assert skipped == {
        method: "umap is not installed (pip install umap-learn)"
        for method in ("dec_manifold", "idec_manifold")
    }


@pytest.mark.parametrize(
    "methods, overrides, expected",
    [
        (["kmeans", "ae_kmeans", "dec"], {}, True),
        (["dec", "ae_kmeans"], {"max_iter": 3}, True),
        (["ae_kmeans"], {}, False),
        (["ae_kmeans", "idec"], {}, False),
        # Another start than k-means: ae_kmeans is not dec's start.
        (["ae_kmeans", "dec"], {"init": "manifold"}, False),
    ],
)
def test_when_ae_kmeans_is_read_off_dec(methods, overrides, expected):
    assert run._derives_ae_kmeans(methods, overrides) is expected


def test_ae_kmeans_read_off_dec_equals_its_own_fit(tmp_path):
    def runs(methods, output):
        status = run.main(
            [
                *("--datasets", "digits,wine"),
                *("--methods", methods),
                *("--seeds", "0,1"),
                *("--max-samples", "150"),
                "--no-subprocess",
                *("--output", str(output)),
                *TINY,
                *("--set", "pretrain_epochs=3"),
                *("--set", "pretrain_optimizer='adam'"),
            ]
        )
        assert status == 0
        return json.loads((output / "results.json").read_text())

    # dec first: the table still follows the order asked for.
    both = runs("dec,ae_kmeans", tmp_path / "both")
    alone = runs("ae_kmeans", tmp_path / "alone")
    # One dec fit per data set and seed gives both rows, ae_kmeans's first.
    assert [(r["dataset"], r["method"], r["seed"]) for r in both["runs"]] == [
        (d, m, s)
        for d in ("digits", "wine")
        for s in (0, 1)
        for m in ("ae_kmeans", "dec")
    ]
    assert [(a["dataset"], a["method"]) for a in both["aggregates"]] == [
        (d, m) for d in ("digits", "wine") for m in ("dec", "ae_kmeans")
    ]
    derived = [r for r in both["runs"] if r["method"] == "ae_kmeans"]
    decs = [r for r in both["runs"] if r["method"] == "dec"]
    assert len(derived) == len(alone["runs"]) == 4
    for row, own, dec in zip(derived, alone["runs"], decs, strict=True):
        assert (row["dataset"], row["seed"]) == (own["dataset"], own["seed"])
        assert row["derived_from"] == "dec" and "derived_from" not in own
        assert set(row) == set(own) | {"derived_from"}
        for key in ("acc", "nmi", "ari", "n_clusters_found", "n_iter", "params"):
            assert row[key] == own[key], key
        assert row["params"] == {**dec["params"], "max_iter": 0}
        assert 0 < row["fit_seconds"] < dec["fit_seconds"]
        assert set(row["stage_seconds"]) == {"pretraining", "kmeans"}
        assert row["peak_rss_mb"] is None and row["fit_rss_increase_mb"] is None
    table = (tmp_path / "both" / "results.md").read_text()
    assert "- ae_kmeans: read off the dec fits" in table
    assert table.index("| digits | dec |") < table.index("| digits | ae_kmeans |")


@slow
def test_scale_memmap_reports_memory_time_and_quality(tmp_path):
    # One fit on a tiny memory map, in the subprocess the benchmark uses.
    status = scale.main(
        [
            "memmap",
            *("--n-samples", "3000"),
            *("--set", "max_iter=10"),
            *("--set", "n_init=1"),
            *("--output", str(tmp_path)),
            *("--workdir", str(tmp_path)),
        ]
    )
    assert status == 0
    (result,) = json.loads((tmp_path / "memmap.json").read_text())["results"]
    assert "error" not in result, result.get("error")
    assert (result["n_samples"], result["n_features"]) == (3000, 64)
    assert result["input"] == "memmap" and result["params"]["max_iter"] == 10
    assert result["fit_seconds"] > 0 and result["refresh_seconds"] > 0
    assert result["peak_anon_added_mb"] >= 0 and result["peak"]["phase"] in (
        "fit",
        "predict",
    )
    assert result["ari_predict"] > 0.9
    assert "| 3,000 | memmap |" in (tmp_path / "memmap.md").read_text()


def test_ae_kmeans_row_read_off_the_dec_fit(tmp_path):
    status = run.main(
        [
            *("--datasets", "wine"),
            *("--methods", "ae_kmeans,dec"),
            *("--seeds", "0"),
            "--no-subprocess",
            *("--output", str(tmp_path)),
            *TINY,
        ]
    )
    assert status == 0
    ae_kmeans, dec = json.loads((tmp_path / "results.json").read_text())["runs"]
    assert ae_kmeans["derived_from"] == "dec" and ae_kmeans["n_iter"] == 0
    assert ae_kmeans["params"] == {**dec["params"], "max_iter": 0}
    assert "callbacks" not in dec["params"]


def _tiny_dec(**params):
    defaults = {"hidden_dims": (8,), "latent_dim": 2, "pretrain_epochs": 2}
    defaults.update(max_iter=20, n_init=1, random_state=0)
    return DECClusterer(3, **{**defaults, **params})


def test_pretrain_cache_gives_the_fit_without_it(tmp_path, monkeypatch):
    X, _ = _data.load_one("wine")
    plain = _tiny_dec().fit(X)
    cache = PretrainCache(tmp_path, "wine")
    first = _tiny_dec(callbacks=[cache]).fit(X)
    assert not cache.loaded
    assert {p.suffix for p in tmp_path.iterdir()} == {".npz", ".npy", ".json"}
    second = _tiny_dec(callbacks=[cache], tol=0.0).fit(X)
    assert cache.loaded
    for fitted in (first, second):
        pretraining = [r for r in fitted.history_ if r["stage"].startswith("pretrain")]
        expected = [r for r in plain.history_ if r["stage"].startswith("pretrain")]
        assert [r["loss"] for r in pretraining] == [r["loss"] for r in expected]
    np.testing.assert_array_equal(first.labels_, plain.labels_)
    # Another network is another entry.
    _tiny_dec(callbacks=[cache], latent_dim=3).fit(X)
    assert not cache.loaded
    assert not list(tmp_path.glob("*.pkl")) and len(list(tmp_path.glob("*.npz"))) == 2


def test_start_partition_is_the_max_iter_0_fit():
    X, _ = _data.load_one("wine")
    start = StartPartition()
    _tiny_dec(callbacks=[start]).fit(X)
    np.testing.assert_array_equal(start.labels, _tiny_dec(max_iter=0).fit(X).labels_)


def test_starts_study_smoke(tmp_path, monkeypatch):
    argv = [
        "starts",
        *("--datasets", "digits", "--seeds", "0", "--max-samples", "200"),
        *("--steps", "60", "--no-manifold"),
        *("--set", "hidden_dims=(8,)", "--set", "latent_dim=3"),
        *("--set", "pretrain_epochs=2"),
        *("--cache", str(tmp_path / "cache"), "--output", str(tmp_path / "out")),
    ]
    assert benchmarks_main(argv) == 0
    results = json.loads((tmp_path / "out" / "starts.json").read_text())
    (run_,) = results["runs"]
    assert len(run_["partitions"]) == 4 and len(run_["stages"]) == 2
    for stage in run_["stages"].values():
        assert [p["step"] for p in stage["trajectory"]] == [0, 60]
    assert "| digits | 0 | kmeans |" in (tmp_path / "out" / "starts.md").read_text()
    # The three fits of the study share one pretraining.
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1


def test_structure_study_smoke(tmp_path):
    argv = [
        "structure",
        *("--datasets", "wine", "--seeds", "0", "--no-peer"),
        *("--set", "hidden_dims=(8,)", "--set", "latent_dim=3"),
        *("--set", "pretrain_epochs=2"),
        *("--cache", str(tmp_path / "cache"), "--output", str(tmp_path / "out")),
    ]
    assert benchmarks_main(argv) == 0
    results = json.loads((tmp_path / "out" / "structure.json").read_text())
    (run_,) = results["runs"]
    assert sorted(run_["partitions"]) == ["kmeans", "spectral", "spectral_agreeing"]
    assert 0 < run_["purity"]["embedding"] <= 1 and run_["purity"]["input"] > 0.8
    markdown = (tmp_path / "out" / "structure.md").read_text()
    assert markdown == tables.structure_markdown(results)
    assert "| wine | 0 | spectral_agreeing |" in markdown


def test_structure_pieces():
    from benchmarks.structure import agreeing_graph, describe, neighbour_purity
    from skdec._starts import neighbour_graph

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 50)
    X = rng.normal(size=(100, 2)) + 10 * y[:, None]
    assert neighbour_purity(X, y) == 1.0
    assert neighbour_purity(rng.normal(size=(100, 2)), y) < 0.7
    # Edges both graphs have weigh 1, the embedding's others 1e-3; the
    # input's own edges are not added.
    shuffled = rng.permutation(X)
    graph = agreeing_graph(neighbour_graph(X, 5), shuffled, n_neighbors=5).toarray()
    assert set(np.unique(graph)) <= {0.0, 1e-3, 1.0 + 1e-3}
    assert (graph == 1e-3).sum() > (graph > 1).sum()
    np.testing.assert_array_equal(graph, graph.T)
    # 30 of class 1's 50 rows merged into class 0's cluster: class 1 is lost
    # (0.4 of its rows in its cluster); with 25, half stay, and it is not.
    labels = np.where((y == 1) & (np.arange(100) >= 70), 0, y)
    result = describe(y, labels, peer=labels)
    assert result["acc"] == 0.7 and result["lost"] == {"1": 0.4}
    assert result["ari_peer"] == 1.0 and result["errors_shared"] == 1.0
    assert describe(y, np.where(np.arange(100) >= 75, 0, y))["lost"] == {}
    assert "ari_peer" not in describe(y, labels)


def test_time_to_quality_smoke_and_combine(tmp_path):
    common = [
        *("--datasets", "wine", "--seeds", "0", "--max-samples", "60"),
        *("--every", "10", "--set", "hidden_dims=(8,)", "--set", "latent_dim=2"),
        *("--set", "pretrain_epochs=20", "--set", "max_iter=5", "--set", "n_init=1"),
    ]
    for config in ("default", "pretrain200"):
        argv = ["time_to_quality", *common, "--configs", config]
        assert benchmarks_main([*argv, "--output", str(tmp_path / config)]) == 0
    default = json.loads((tmp_path / "default" / "time_to_quality.json").read_text())
    (run_,) = default["runs"]
    # --set reaches the defaults; pretrain200 keeps its own epochs.
    assert run_["pretrain_epochs"] == 20
    assert [p["epoch"] for p in run_["checkpoints"]] == [10, 20]
    seconds = [p["seconds"] for p in run_["checkpoints"]]
    assert 0 < seconds[0] < seconds[1] <= run_["ae_kmeans"]["seconds"]
    assert run_["ae_kmeans"]["seconds"] <= run_["dec"]["seconds"]
    assert {"acc", "nmi", "ari"} <= set(run_["dec"]) & set(run_["checkpoints"][0])
    assert (tmp_path / "default" / "time_to_quality.png").stat().st_size > 0

    parts = [
        str(tmp_path / c / "time_to_quality.json") for c in ("default", "pretrain200")
    ]
    argv = ["time_to_quality", "--combine", *parts, "--output", str(tmp_path / "both")]
    assert benchmarks_main(argv) == 0
    both = json.loads((tmp_path / "both" / "time_to_quality.json").read_text())
    assert [r["config"] for r in both["runs"]] == ["default", "pretrain200"]
    assert [r["pretrain_epochs"] for r in both["runs"]] == [20, 200]
    assert len(both["commands"]) == 3
    markdown = (tmp_path / "both" / "time_to_quality.md").read_text()
    assert "| wine | pretrain200 | 0 | 200 |" in markdown
    assert (tmp_path / "both" / "time_to_quality.png").exists()


def test_task_data_round_trips_dense_and_sparse(tmp_path):
    import scipy.sparse as sp

    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = np.array([0, 1, 0, 1])
    for name, data in (("dense", X), ("sparse", sp.csr_matrix(X))):
        X_back, y_back = _data.load_task_data(
            _data.save_task_data(tmp_path / name, data, y)
        )
        assert sp.issparse(X_back) == sp.issparse(data)
        np.testing.assert_array_equal(
            X_back.toarray() if sp.issparse(X_back) else X_back, X
        )
        np.testing.assert_array_equal(y_back, y)


@pytest.mark.parametrize(
    "folder",
    sorted(p.parent.name for p in RESULTS.glob("*/results.json"))
    + [
        "speed",
        "speed-adam",
        "scale",
        "time-to-quality-fashion",
        "time-to-quality-levers",
        "choosing-k-shared",
        "structure-small",
        "structure-fashion",
        "structure-fashion-pretrain200",
        "structure-digits-augment",
        "structure-fashion-augment",
        "structure-fashion-augment-adam",
    ],
)
def test_committed_tables_are_made_from_their_json(folder, tmp_path):
    for path in (RESULTS / folder).rglob("*.json"):
        markdown = tables.MARKDOWN[path.stem](json.loads(path.read_text()))
        assert markdown == path.with_suffix(".md").read_text(), path


def test_single_cell_smoke(tmp_path):
    leiden = importlib.util.find_spec("leidenalg") is not None
    argv = ["single_cell", "--cells", "300", "--output", str(tmp_path), *TINY]
    assert benchmarks_main(argv) in (0, None)
    results = json.loads((tmp_path / "single_cell.json").read_text())
    runs = {row["method"]: row for row in results["runs"]}
    assert sorted(runs) == ["dec", "kmeans", "leiden"][: 2 + leiden]
    assert runs["dec"]["n_cells"] == 300 and runs["dec"]["seed"] == 0
    assert results["overrides"]["hidden_dims"] == [16]
    for row in runs.values():
        assert -1 <= row["ari"] <= 1 and 0 <= row["nmi"] <= 1 and row["seconds"] > 0
    assert runs["kmeans"]["n_clusters_found"] == 8 and runs["kmeans"]["ari"] > 0.2
    markdown = (tmp_path / "single_cell.md").read_text()
    assert markdown == single_cell.markdown(results)
    assert "| 300 | kmeans | 0 |" in markdown


@pytest.mark.parametrize("path", sorted(RESULTS.glob("single-cell/*/single_cell.json")))
def test_committed_single_cell_tables_are_made_from_their_json(path):
    markdown = single_cell.markdown(json.loads(path.read_text()))
    assert markdown == path.with_suffix(".md").read_text()


def test_peers_cluster_and_take_decs_parameters(blobs):
    pytest.importorskip("umap")
    from sklearn.metrics import adjusted_rand_score

    from benchmarks._peers import N2D, UmapGmm

    X, y = blobs
    peer = UmapGmm(3, n_components=2, random_state=0).fit(X)
    assert adjusted_rand_score(y, peer.labels_) > 0.9
    n2d = N2D(3, hidden_dims=(16,), latent_dim=3, pretrain_epochs=4, random_state=0)
    n2d.fit(X)
    # The --set overrides reach its pretraining; its labels are the mixture's.
    assert sum(r["stage"].startswith("pretrain") for r in n2d.history_) == 4
    assert n2d.labels_.shape == (len(X),) and n2d.n_iter_ == 0
    assert set(np.unique(n2d.labels_)) <= {0, 1, 2}
    assert run.OPTIONAL_PACKAGES["umap_gmm"] == run.OPTIONAL_PACKAGES["n2d"] == "umap"


def test_pretrain_checkpoints_encode_rows_as_the_fit_sees_them(blobs):
    from sklearn.cluster import KMeans

    from benchmarks._callbacks import PretrainCheckpoints
    from benchmarks._common import scores

    X, y = blobs
    X = X * 1e-3  # tiny entries: the fit rescales the rows
    checkpoints = PretrainCheckpoints(X, y, every=4)
    dec = DECClusterer(
        3,
        hidden_dims=(16,),
        latent_dim=2,
        pretrain_epochs=4,
        max_iter=0,
        embedding_scale=None,
        callbacks=[checkpoints],
        random_state=0,
    ).fit(X)
    labels = KMeans(3, n_init=10, random_state=0).fit_predict(dec.transform(X))
    (point,) = checkpoints.points
    assert point["epoch"] == 4
    assert point["ari"] == scores(y, labels)["ari"]


def test_choosing_k_smoke_and_combine(tmp_path):
    common = [
        *("--datasets", "wine", "--seeds", "0", "--criteria", "silhouette,density"),
        *("--set", "hidden_dims=(8,)", "--set", "latent_dim=2"),
        *("--set", "pretrain_epochs=5", "--set", "n_init=2"),
        *("--cache", str(tmp_path / "cache")),
    ]
    first = tmp_path / "first" / "choosing_k.json"
    argv = ["choosing_k", *common, "--output", str(first.parent)]
    assert benchmarks_main(argv) == 0
    (run_,) = json.loads(first.read_text())["runs"]
    assert run_["true_k"] == 3
    picks = run_["picks"]
    assert list(picks)[:4] == [
        *("estimator", "silhouette", "density", "davies_bouldin_single")
    ]
    assert {"louvain", "hdbscan", "gap"} <= set(picks)
    assert all(2 <= p["k"] <= 20 or p["k"] == 0 for p in picks.values())
    # The estimator's own choice: restarts' votes, most for the chosen k.
    assert picks["estimator"]["pretrain_seconds"] > 0
    votes = picks["estimator"]["votes"]
    assert sum(votes) == 5 and votes.index(max(votes)) == picks["estimator"]["k"] - 2
    assert len(picks["density"]["scores"]) == 5
    # A second run reuses the cached pretraining and adds its runs to another
    # file's.
    (cached,) = (tmp_path / "cache").glob("*.npz")
    stamp = cached.stat().st_mtime_ns
    argv = [*argv[:-1], str(tmp_path / "both"), "--combine", str(first)]
    assert benchmarks_main(argv) == 0
    assert cached.stat().st_mtime_ns == stamp
    both = json.loads((tmp_path / "both" / "choosing_k.json").read_text())
    assert len(both["runs"]) == 2 and len(both["commands"]) == 2
    # The same seed picks the same k with every criterion.
    ks = [{name: p["k"] for name, p in r["picks"].items()} for r in both["runs"]]
    assert ks[0] == ks[1]
    markdown = (tmp_path / "both" / "choosing_k.md").read_text()
    assert "| wine (3), 1 thread(s) |" in markdown
