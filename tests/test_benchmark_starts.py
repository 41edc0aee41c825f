"""Smoke tests of ``python -m benchmarks starts`` with a tiny network on digits."""

import importlib.util
import json

import pytest

from benchmarks import starts
from benchmarks.__main__ import main as benchmarks_main
from skdec import DECClusterer

N_DIGITS = 1797
TINY = [
    *("--set", "hidden_dims=(16,)"),
    *("--set", "latent_dim=4"),
    *("--set", "pretrain_epochs=2"),
    *("--set", 'pretrain_optimizer="adam"'),
    *("--steps", "60"),
    "--datasets=digits",
    "--seeds=0",
]


def _run(tmp_path, name, starts_, *extra):
    output = tmp_path / name
    argv = [*TINY, "--starts", starts_, "--cache", str(tmp_path / "cache")]
    status = benchmarks_main(["starts", *argv, "--output", str(output), *extra])
    assert status == 0
    assert (output / "results.md").exists()
    return json.loads((output / "results.json").read_text()), output


def _hide_umap(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "umap" else find_spec(name, *args),
    )


def test_starts_reports_partitions_stages_and_restarts(tmp_path, monkeypatch):
    # Without umap, so the test stays fast; the manifold rows are skipped.
    _hide_umap(monkeypatch)
    results, output = _run(
        tmp_path, "first", "kmeans,lloyd_from_class_means", "--restarts", "3"
    )
    assert results["complete"] and results["steps"] == 60
    assert set(results["skipped"]) == {"umap_gmm", "mixture_means_voronoi"}
    (run,) = results["runs"]
    assert (run["dataset"], run["seed"]) == ("digits", 0)
    assert not run["model"]["loaded"]
    assert run["model"]["cache_file"].endswith(".skdec")
    partitions = run["partitions"]
    assert set(partitions) == {
        "ae_kmeans",
        "kmeans_optimum",
        "lloyd_from_class_means",
        "nearest_class_mean",
    }
    assert partitions["nearest_class_mean"]["oracle"]
    assert not partitions["ae_kmeans"]["oracle"]
    stages = run["stages"]
    assert list(stages) == ["kmeans", "lloyd_from_class_means"]
    accuracies = [part["acc"] for part in partitions.values()]
    for stage in stages.values():
        # Refreshes every 30 steps: trajectory at step 0 and the last step.
        assert [point["step"] for point in stage["trajectory"]] == [0, 60]
        assert stage["final"] == stage["trajectory"][-1]
        accuracies += [point["acc"] for point in stage["trajectory"]]
        assert stage["tol_stop"] is None or stage["tol_stop"]["step"] in (30, 60)
    restarts = run["restarts"]
    assert len(restarts["runs"]) == 3
    accuracies += [row["acc"] for row in restarts["runs"]]
    assert all(0 <= acc <= 1 for acc in accuracies)
    assert restarts["acc_min"] <= restarts["acc_of_min_inertia"] <= restarts["acc_max"]
    # The k-means stage starts from DEC's k-means partition (one row's
    # rounding apart at most: est.labels_ and the refresh batch differently).
    start = stages["kmeans"]["trajectory"][0]["acc"]
    assert abs(start - partitions["ae_kmeans"]["acc"]) <= 1 / N_DIGITS
    report = (output / "results.md").read_text()
    assert "Lloyd from the class means (oracle)" in report
    assert "umap_gmm skipped: umap is not installed" in report

    # A second run loads the cached model instead of fitting again.
    def no_fit(self, X, y=None):
        raise AssertionError("the cached model should have been loaded")

    monkeypatch.setattr(DECClusterer, "fit", no_fit)
    again, _ = _run(tmp_path, "second", "kmeans", "--restarts", "0")
    (run_again,) = again["runs"]
    assert run_again["model"]["loaded"]
    assert run_again["model"]["cache_file"] == run["model"]["cache_file"]
    assert run_again["partitions"]["ae_kmeans"] == partitions["ae_kmeans"]
    assert run_again["stages"]["kmeans"]["trajectory"] == stages["kmeans"]["trajectory"]
    assert run_again["restarts"] is None


def test_starts_from_the_manifold(tmp_path):
    pytest.importorskip("umap")
    results, _ = _run(tmp_path, "out", "manifold,manifold_target", "--restarts", "0")
    (run,) = results["runs"]
    partitions, stages = run["partitions"], run["stages"]
    assert {"umap_gmm", "mixture_means_voronoi"} <= set(partitions)
    assert list(stages) == ["manifold", "manifold_target"]
    voronoi = partitions["mixture_means_voronoi"]["acc"]
    for stage in stages.values():
        # Both start from the Voronoi cells of the mixture's means.
        assert abs(stage["start"]["acc"] - voronoi) <= 2 / N_DIGITS
        assert all(0 <= point["acc"] <= 1 for point in stage["trajectory"])
    # The posterior is the target for 300 steps: DEC's rule cannot stop there.
    assert stages["manifold_target"]["tol_stop"] is None


def test_cache_name_includes_the_overrides():
    assert starts.cache_name("digits", 3, {}) == "digits-seed3.skdec"
    small = starts.cache_name("digits", 3, {"latent_dim": 4})
    assert small.startswith("digits-seed3-set-") and small.endswith(".skdec")
    assert small != starts.cache_name("digits", 3, {"latent_dim": 5})


@pytest.mark.parametrize("key", ["max_iter", "init"])
def test_fixed_parameters_cannot_be_set(tmp_path, key, capsys):
    with pytest.raises(SystemExit):
        starts.main(["--set", f"{key}=5", "--output", str(tmp_path / "out")])
    assert f"--set {key}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
