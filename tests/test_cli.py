"""The skdec command line: round trip, options, errors and delegation."""

import inspect
import io
import subprocess
import sys
import types

import numpy as np
import pytest

from skdec import DECClusterer
from skdec._cli import build_parser, main, read_data, run_demo

from .conftest import TINY

TINY_OPTIONS = [
    "--hidden-dims=16",
    "--latent-dim=2",
    "--pretrain-epochs=3",
    "--max-iter=30",
    "--update-interval=5",
    "--n-init=2",
    "--random-state=0",
]


@pytest.fixture
def data_files(tmp_path, blobs):
    X, y = blobs
    np.savetxt(tmp_path / "X.csv", X, delimiter=",")
    np.save(tmp_path / "X.npy", X)
    np.savez(tmp_path / "X.npz", X=X, y=y)
    return tmp_path


def run(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


# ---------------------------------------------------------------------------
# Round trip


def test_fit_then_predict_reproduces_the_labels(data_files, blobs, capsys):
    model = data_files / "model.npz"
    fit_labels = data_files / "fit.csv"
    status, _, err = run(
        ["fit", data_files / "X.csv", "--n-clusters", 3, "--model", model,
         "--output", fit_labels, *TINY_OPTIONS],
        capsys,
    )  # fmt: skip
    assert status == 0, err
    assert "model saved to" in err
    labels = np.loadtxt(fit_labels, dtype=int)
    assert labels.shape == (len(blobs[0]),)

    # The same model on the same data in another format: the same labels.
    for name in ("X.npz", "X.npy"):
        status, out, err = run(["predict", model, data_files / name], capsys)
        assert status == 0, err
        np.testing.assert_array_equal(np.loadtxt(io.StringIO(out), dtype=int), labels)

    # They are what the estimator itself predicts.
    loaded = DECClusterer.load(model)
    np.testing.assert_array_equal(loaded.predict(blobs[0]), labels)
    assert loaded.get_params()["hidden_dims"] == (16,)

    status, out, _ = run(["predict", model, data_files / "X.npy", "--proba"], capsys)
    proba = np.loadtxt(io.StringIO(out), delimiter=",")
    assert proba.shape == (len(labels), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(proba.argmax(axis=1), labels)


def test_fit_writes_labels_to_stdout_and_quiet_silences_messages(data_files, capsys):
    status, out, err = run(
        ["fit", data_files / "X.npy", "--n-clusters=3", "--model",
         data_files / "m.npz", "--quiet", *TINY_OPTIONS],
        capsys,
    )  # fmt: skip
    assert status == 0
    assert len(out.split()) == 150
    assert err == ""


def test_csv_header_is_skipped_only_when_asked(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    np.testing.assert_array_equal(read_data(path, header=True), [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="line 1, column 1: 'a' is not a number"):
        read_data(path)


def test_images_are_flattened(tmp_path):
    np.save(tmp_path / "img.npy", np.zeros((5, 4, 3)))
    assert read_data(tmp_path / "img.npy").shape == (5, 12)


# ---------------------------------------------------------------------------
# Options generated from the estimator


def test_every_estimator_parameter_is_an_option():
    parser = build_parser()
    names = [
        n for n in inspect.signature(DECClusterer.__init__).parameters if n != "self"
    ]
    argv = ["fit", "X.csv", "-m", "m.npz", "--n-clusters", "4"]
    args = parser.parse_args(argv)
    assert {k: v for k, v in vars(args).items() if k.startswith("param_")} == {
        "param_n_clusters": 4
    }
    help_text = parser._subparsers._group_actions[0].choices["fit"].format_help()
    for name in names:
        assert "--" + name.replace("_", "-") in help_text


@pytest.mark.parametrize(
    "option, expected",
    [
        (["--hidden-dims", "500,500,2000"], {"hidden_dims": (500, 500, 2000)}),
        (["--hidden-dims", ""], {"hidden_dims": ()}),
        (["--pretrain", "none"], {"pretrain": None}),
        (["--pretrain", "end_to_end"], {"pretrain": "end_to_end"}),
        (["--random-state", "0"], {"random_state": 0}),
        (["--random-state", "None"], {"random_state": None}),
        (["--alpha", "0.5"], {"alpha": 0.5}),
        (["--tol", "1e-4"], {"tol": 1e-4}),
        (["--device", "cpu"], {"device": "cpu"}),
        (["--verbose", "0"], {"verbose": 0}),
    ],
)
def test_option_values_are_parsed(option, expected):
    args = build_parser().parse_args(
        ["fit", "X.csv", "-m", "m", "--n-clusters=2", *option]
    )
    params = {k[6:]: v for k, v in vars(args).items() if k.startswith("param_")}
    assert params == {"n_clusters": 2, **expected}


@pytest.mark.parametrize(
    "option, message",
    [
        (["--latent-dim", "two"], "argument --latent-dim: expected INT, got 'two'"),
        (["--pretrain", "greedy"], "expected end_to_end|layerwise|none"),
        (["--hidden-dims", "5,x"], "argument --hidden-dims"),
    ],
)
def test_malformed_options_give_one_line_usage_errors(option, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "X.csv", "-m", "m", "--n-clusters=2", *option])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_out_of_range_parameters_are_reported_by_name(data_files, capsys):
    status, _, err = run(
        ["fit", data_files / "X.npy", "--n-clusters=3", "-m", data_files / "m.npz",
         "--latent-dim=0"],
        capsys,
    )  # fmt: skip
    assert status == 2
    assert err.startswith("skdec: error: The 'latent_dim' parameter")
    assert not (data_files / "m.npz").exists()


# ---------------------------------------------------------------------------
# One-line errors with exit status 2


BAD_FILES = {
    "letters.csv": ("1,2\n3,x\n", "line 2, column 2: 'x' is not a number"),
    "empty_cell.csv": ("1,2\n3,\n", "line 2, column 2: '' is not a number"),
    "ragged.csv": ("1,2,3\n4,5\n", "line 2: 2 columns where the rows above have 3"),
    "empty.csv": ("", "holds no data rows"),
    "text.npy": ("not numpy", "is not a NumPy .npy file"),
    "text.npz": ("not numpy", "is not a NumPy .npz file"),
    "data.txt": ("1,2\n", "unsupported file type '.txt'"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_data_files_give_one_line_errors(name, tmp_path, capsys):
    content, message = BAD_FILES[name]
    (tmp_path / name).write_text(content)
    status, out, err = run(
        ["fit", tmp_path / name, "--n-clusters=2", "-m", tmp_path / "m.npz"], capsys
    )
    assert status == 2
    assert message in err
    assert err.startswith("skdec: error: ") and err.count("\n") == 1
    assert out == ""


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"a": np.ones((3, 2)), "b": np.ones((3, 2))}, "single array or one named 'X'"),
        ({"X": np.ones(3)}, "expected one row per sample"),
        ({"X": np.array([["a"]])}, "expected numbers"),
    ],
)
def test_unusable_arrays_are_rejected(arrays, message, tmp_path):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        read_data(tmp_path / "d.npz")


def test_missing_files_and_folders(data_files, capsys):
    status, _, err = run(["predict", data_files / "nope.npz", "X.csv"], capsys)
    assert (status, err.strip()) == (
        2,
        f"skdec: error: {data_files}/nope.npz: no such file.",
    )
    status, _, err = run(
        ["fit", data_files / "X.npy", "--n-clusters=2", "-m",
         data_files / "missing" / "m.npz"],
        capsys,
    )  # fmt: skip
    assert status == 2
    assert "folder" in err and "does not exist" in err


def test_predict_reports_shape_mismatch_and_bad_models(data_files, blobs, capsys):
    dec = DECClusterer(n_clusters=3, **TINY, random_state=0).fit(blobs[0])
    dec.save(data_files / "m.npz")
    np.save(data_files / "narrow.npy", blobs[0][:, :5])
    status, _, err = run(
        ["predict", data_files / "m.npz", data_files / "narrow.npy"], capsys
    )
    assert status == 2
    assert "X has 5 features, but DECClusterer is expecting 6" in err
    status, _, err = run(
        ["predict", data_files / "X.npz", data_files / "X.npy"], capsys
    )
    assert status == 2
    assert err.startswith("skdec: error: ") and err.count("\n") == 1


def test_python_dash_m_entry_point_exits_2_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "skdec", "predict", "m.npz", "X.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == "skdec: error: m.npz: no such file.\n"


# ---------------------------------------------------------------------------
# Progress, warnings, demo and benchmark


@pytest.mark.parametrize(
    "tty, extra, expected",
    [
        (True, [], 1),
        (True, ["--quiet"], 0),
        (False, [], 0),
        (False, ["--verbose=2"], 2),
    ],
)
def test_progress_bars_only_in_a_terminal(
    tty, extra, expected, tmp_path, monkeypatch, capsys
):
    seen = {}

    def fake_fit_predict(self, X, y=None):
        seen["verbose"] = self.verbose
        raise ValueError("stop here")

    monkeypatch.setattr(DECClusterer, "fit_predict", fake_fit_predict)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty, raising=False)
    np.save(tmp_path / "x.npy", np.ones((4, 2)))
    status, _, err = run(
        ["fit", tmp_path / "x.npy", "--n-clusters=2", "-m", tmp_path / "m", *extra],
        capsys,
    )
    assert (status, err) == (2, "skdec: error: stop here\n")
    assert seen["verbose"] == expected


def test_warnings_are_one_line(data_files, capsys):
    status, _, err = run(
        ["fit", data_files / "X.npy", "--n-clusters=3", "-m", data_files / "m.npz",
         "--quiet", *TINY_OPTIONS, "--max-iter=1", "--tol=0"],
        capsys,
    )  # fmt: skip
    assert status == 0
    assert err.startswith("skdec: warning: ")
    assert "stopped after max_iter=1 steps" in err
    assert err.count("\n") == 1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_demo_prints_an_aligned_table():
    file = io.StringIO()
    results = run_demo(fast=True, file=file)
    assert [r["method"] for r in results] == ["KMeans (n_init=20)", "DEC"]
    lines = file.getvalue().splitlines()
    assert lines[0].startswith("Digits")
    header, *rows = lines[-3:]
    assert header.split() == ["method", "ACC", "NMI", "ARI", "seconds"]
    assert len({len(line) for line in lines[-3:]}) == 1  # aligned
    for row, result in zip(rows, results, strict=True):
        assert row.startswith(result["method"])
        assert float(row.split()[-4]) == pytest.approx(result["ACC"], abs=5e-4)
    assert results[0]["ACC"] > 0.6  # k-means on digits; a broken pipeline is ~0.1


def test_benchmark_is_delegated(monkeypatch):
    calls = []
    runner = types.ModuleType("benchmarks.run")
    runner.main = lambda argv: calls.append(argv) or 3
    monkeypatch.setitem(sys.modules, "benchmarks.run", runner)
    assert main(["benchmark", "--datasets", "digits", "--help"]) == 3
    assert calls == [["--datasets", "digits", "--help"]]


def test_benchmark_without_a_checkout_is_a_clear_error(monkeypatch, capsys):
    def missing(name):
        raise ModuleNotFoundError(f"No module named {name!r}", name="benchmarks")

    monkeypatch.setattr("skdec._cli.importlib.import_module", missing)
    assert main(["benchmark"]) == 2
    assert "needs the benchmarks/ folder of a skdec source checkout" in (
        capsys.readouterr().err
    )
