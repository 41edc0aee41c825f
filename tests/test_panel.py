"""The panel command (benchmarks/panel.py): a smoke run of ``--quick`` with a
baseline commit, its pieces, and the committed panel tables."""

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from benchmarks import _data, panel
from benchmarks.__main__ import main as benchmarks_main

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
HAS_LEIDEN = importlib.util.find_spec("leidenalg") is not None
slow = pytest.mark.skipif(
    not os.environ.get("SKDEC_SLOW_TESTS"), reason="slow: set SKDEC_SLOW_TESTS=1"
)
# The last commit before the built-in networks' settings became module__
# parameters (hidden_dims, latent_dim, image_shape, ... of DECClusterer).
OLD_API = "34e4a46^"


def _worktrees():
    done = subprocess.run(
        ["git", "-C", str(panel.REPO), "worktree", "list"],
        capture_output=True,
        text=True,
    )
    return done.stdout


def test_quick_panel_with_a_baseline(tmp_path):
    before = _worktrees()
    argv = ["panel", "--quick", "--baseline", "HEAD", "--output", str(tmp_path)]
    assert benchmarks_main(argv) == 0
    results = json.loads((tmp_path / "panel.json").read_text())
    assert (tmp_path / "panel.png").stat().st_size > 0
    assert (tmp_path / "panel.md").read_text() == panel.markdown(results)

    assert list(results["datasets"]) == ["digits", "text"]
    assert results["datasets"]["text"]["sparse"]
    assert results["datasets"]["digits"]["n_samples"] == panel.QUICK_ROWS
    runs = {(r["dataset"], r["method"]): r for r in results["runs"]}
    methods = [m for m in panel.QUICK_METHODS if HAS_LEIDEN or m != "leiden"]
    # IIC runs on its data sets only; every other method on every set.
    expected = {(d, m) for d in ("digits", "text") for m in [*methods, "baseline"]}
    assert set(runs) == expected - {("text", "iic")}
    for row in runs.values():
        assert "error" not in row, row
        assert 0 <= row["acc"] <= 1 and row["seconds"] > 0 and row["peak_rss_mb"] > 0
    # The baseline's skdec is the worktree's, the others' this checkout's, and
    # the worktree is gone afterwards.
    baseline = runs["digits", "baseline"]["skdec"]
    assert "baseline" in baseline and not baseline.startswith(str(panel.REPO))
    assert runs["digits", "dec"]["skdec"].startswith(str(panel.REPO))
    assert _worktrees() == before
    # The --set values reach the DEC methods (dec_paper's 200 epochs too).
    assert runs["digits", "dec_paper"]["pretrain_epochs"] == 10
    # IIC's backbone sees the digits as 8x8 images; DEC fits its dense network.
    assert runs["digits", "iic"]["params"]["module__image_shape"] == [8, 8]
    assert "module__image_shape" not in runs["digits", "dec"]["params"]
    assert runs["digits", "kmeans"]["acc"] > 0.6
    report = (tmp_path / "panel.md").read_text()
    assert "## The defaults against the paper's pretraining and the baseline" in report


@slow
@pytest.mark.skipif(panel._commit(OLD_API) is None, reason=f"no commit {OLD_API}")
def test_quick_panel_with_a_baseline_before_the_module_names(tmp_path):
    argv = ["panel", "--quick", "--datasets", "digits", "--methods", "dec"]
    argv += ["--baseline", OLD_API, "--output", str(tmp_path)]
    assert benchmarks_main(argv) == 0
    results = json.loads((tmp_path / "panel.json").read_text())
    runs = {r["method"]: r for r in results["runs"]}
    assert set(runs) == {"dec", "baseline"}
    assert "error" not in runs["baseline"] and runs["baseline"]["pretrain_epochs"] == 10
    # The tiny network reached the old API in its names (which would otherwise
    # keep module__hidden_dims for a user's module and fit the default network).
    network = {
        k: runs["baseline"]["params"].get(k) for k in ("hidden_dims", "latent_dim")
    }
    assert network == {"hidden_dims": [32], "latent_dim": 5}
    assert runs["dec"]["params"]["module__hidden_dims"] == [32]


def test_params_give_iic_the_images_shape_and_dec_its_defaults():
    sets = panel.QUICK_SETS
    dec = {k: v for k, v in sets.items() if not k.startswith("iic_")}
    for method in ("dec", "baseline"):
        assert panel._params(method, sets, (8, 8)) == dec
    assert panel._params("dec_paper", {}, (8, 8)) == panel.METHODS["dec_paper"]
    iic = panel._params("iic", sets, (8, 8))
    assert iic == {
        "module__image_shape": (8, 8),
        **dict(max_epochs=2, module__hidden_dims=(32,), n_heads=1),
    }
    assert "module__image_shape" not in panel._params("iic", sets, None)
    assert panel._params("kmeans", sets, (8, 8)) == {}


def test_fit_names_the_network_as_the_imported_skdec_does(monkeypatch):
    """A baseline's skdec from before the module__ names takes hidden_dims and
    latent_dim (and would quietly keep module__hidden_dims for a user's module)."""
    import skdec
    from benchmarks import _panel_fit

    params = {"module__hidden_dims": [32], "module__latent_dim": 5, "max_iter": 50}
    assert _panel_fit._dec_params(params) == params

    class OldDECClusterer:
        def get_params(self, deep=True):
            names = ("hidden_dims", "latent_dim", "max_iter", "module", "verbose")
            return dict.fromkeys(names)

    monkeypatch.setattr(skdec, "DECClusterer", OldDECClusterer)
    old = {"hidden_dims": [32], "latent_dim": 5, "max_iter": 50}
    assert _panel_fit._dec_params(params) == old
    mine = {"module__width": 3}  # a user's module's parameter stays
    assert _panel_fit._dec_params(mine) == mine


def test_unknown_baseline_fails_before_any_fit(tmp_path, capsys):
    argv = ["panel", "--quick", "--baseline", "no-such-ref", "--output", str(tmp_path)]
    with pytest.raises(SystemExit):
        benchmarks_main(argv)
    assert "--baseline no-such-ref: no such commit" in capsys.readouterr().err
    assert not (tmp_path / "panel.json").exists()


def test_judgement_marks_losses_over_0_01():
    results = {
        "methods": ["dec", "dec_paper"],
        "datasets": {"a": {"real": True}, "b": {"real": False}},
        "aggregates": [
            {"dataset": "a", "method": "dec", "acc": 0.70, "seconds": 10},
            {"dataset": "a", "method": "dec_paper", "acc": 0.72, "seconds": 30},
            {"dataset": "b", "method": "dec", "acc": 0.80, "seconds": 10},
            {"dataset": "b", "method": "dec_paper", "acc": 0.805, "seconds": 30},
        ],
    }
    lines = panel._judgement(results)
    assert "| a | 0.700 | 10 | 0.720 | 30 | **-0.020** |" in lines
    assert "| b (generated) | 0.800 | 10 | 0.805 | 30 | -0.005 |" in lines


def test_tasks_put_deep_fits_first_and_iic_on_its_sets():
    datasets = {
        "digits": {"n_samples": 100, "n_features": 64},
        "wine": {"n_samples": 178, "n_features": 13},
    }
    tasks = panel._tasks(datasets, ["kmeans", "dec", "iic"], [0, 1])
    assert [t["method"] for t in tasks[:6]] == [
        "dec",
        "dec",
        "iic",
        "iic",
        "dec",
        "dec",
    ]
    assert {t["dataset"] for t in tasks if t["method"] == "iic"} == {"digits"}
    assert len(tasks) == 4 + 4 + 2  # kmeans, dec, iic


def test_pbmc_from_a_local_file(tmp_path):
    anndata = pytest.importorskip("anndata")
    import pandas as pd

    labels = pd.Categorical(["B", "T", "B", "NK"])
    adata = anndata.AnnData(
        np.arange(12, dtype=np.float64).reshape(4, 3),
        obs=pd.DataFrame({"bulk_labels": labels}, index=list("abcd")),
    )
    adata.write_h5ad(tmp_path / "pbmc.h5ad")
    X, y = _data.load_pbmc68k(tmp_path / "pbmc.h5ad")
    assert X.dtype == np.float32 and X.shape == (4, 3)
    assert y.tolist() == [0, 2, 0, 1]  # category codes, categories sorted


def test_missing_fashion_mnist_skips_its_sets(tmp_path):
    import argparse

    args = argparse.Namespace(fashion=tmp_path / "none", pbmc=None, quick=True)
    for name in ("fashion_test", "fashion_train5k"):
        why = panel._load(name, args)
        assert isinstance(why, str) and "apt-get install dataset-fashion-mnist" in why
    X, y = panel._load("digits", args)
    assert X.shape == (panel.QUICK_ROWS, 64) and X.dtype == np.float32


@pytest.mark.skipif(not HAS_LEIDEN, reason="needs igraph and leidenalg")
def test_leiden_finds_blobs_dense_and_sparse():
    import scipy.sparse as sp
    from sklearn.datasets import make_blobs
    from sklearn.metrics import adjusted_rand_score

    from benchmarks._peers import Leiden

    X, y = make_blobs(300, centers=3, n_features=8, random_state=0)
    X = X - X.min()  # non-negative, as TF-IDF is
    for data in (X, sp.csr_matrix(X)):
        labels = Leiden(random_state=0).fit(data).labels_
        assert adjusted_rand_score(y, labels) > 0.9


@pytest.mark.parametrize("path", sorted(RESULTS.glob("panel*/panel.json")))
def test_committed_panel_tables_are_made_from_their_json(path):
    markdown = panel.markdown(json.loads(path.read_text()))
    assert markdown == path.with_suffix(".md").read_text()


def test_dec_paper_reuses_dec_only_where_no_stage_plateaued():
    row = {"dataset": "digits", "method": "dec", "seed": 0, "acc": 0.8}
    derived = panel._derived_paper_row({**row, "plateau_stops": 0})
    assert derived["method"] == "dec_paper" and derived["derived_from"] == "dec"
    assert derived["acc"] == 0.8
    assert panel._derived_paper_row({**row, "plateau_stops": 1}) is None
    assert panel._derived_paper_row({**row, "error": "boom"}) is None


def test_rewrite_makes_the_report_from_the_json(tmp_path):
    results = {
        "machine": {
            **dict(cpu="cpu", n_cores=2, n_cores_usable=2, torch_threads=1),
            **dict(gpu=None, platform="p", python="3", torch="2", sklearn="1"),
            **dict(numpy="2", commit="abc", uncommitted_changes=False, date="d"),
        },
        "command": "python -m benchmarks panel",
        "seeds": [0],
        "methods": ["kmeans"],
        "overrides": {},
        "jobs": 2,
        "datasets": {"wine": {"real": True}},
        "runs": [
            {"dataset": "wine", "method": "kmeans", "seed": 0, "acc": 0.9}
            | dict(nmi=0.8, ari=0.7, n_clusters_found=3, seconds=0.1, peak_rss_mb=99)
        ],
    }
    (tmp_path / "panel.json").write_text(json.dumps(results))
    assert benchmarks_main(["panel", "--rewrite", str(tmp_path)]) == 0
    markdown = (tmp_path / "panel.md").read_text()
    assert "| wine | kmeans | 0.900 ± 0.000 |" in markdown
    assert (tmp_path / "panel.png").stat().st_size > 0


def test_generated_cells_are_preprocessed_counts(monkeypatch):
    monkeypatch.setattr(_data, "CELLS", 300)
    ((X, y),) = _data.load("cells").values()
    assert X.shape == (300, 1000) and X.dtype == np.float32
    assert len(np.unique(y)) == 8
