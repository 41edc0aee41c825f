"""The skdec command line: round trip, file formats, options and errors."""

import ast
import inspect
import io
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

import skdec
import skdec._cli
from skdec import DECClusterer, IDECClusterer, IICClusterer
from skdec._cli import build_parser, main, run_demo
from skdec._io import read_data
from skdec.callbacks import ProgressBar
from skdec.networks import ConvAutoencoder

from .conftest import TINY, TINY_FIT, TINY_IIC

TINY_OPTIONS = [
    "--module-hidden-dims=16",
    "--module-latent-dim=2",
    "--pretrain-epochs=3",
    "--max-iter=30",
    "--update-interval=5",
    "--n-init=2",
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
    model = data_files / "model.skdec"
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

    # They are what the estimator itself predicts; the command line seeds it.
    loaded = DECClusterer.load(model)
    np.testing.assert_array_equal(loaded.predict(blobs[0]), labels)
    assert loaded.get_params()["module__hidden_dims"] == (16,)
    assert loaded.random_state == 0

    status, out, _ = run(["predict", model, data_files / "X.npy", "--proba"], capsys)
    proba = np.loadtxt(io.StringIO(out), delimiter=",")
    assert proba.shape == (len(labels), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(proba.argmax(axis=1), labels)


def test_fit_writes_labels_to_stdout_and_quiet_silences_messages(data_files, capsys):
    status, out, err = run(
        ["fit", data_files / "X.npy", "--n-clusters=3", "--model",
         data_files / "m.skdec", "--quiet", *TINY_OPTIONS],
        capsys,
    )  # fmt: skip
    assert status == 0
    assert len(out.split()) == 150
    assert err == ""


def test_the_same_command_gives_the_same_labels(data_files, capsys):
    model = data_files / "m.skdec"
    argv = ["fit", data_files / "X.npy", "--n-clusters=3", "-m", model, "--quiet"]
    argv += [*TINY_OPTIONS, "--pretrain-epochs=0"]
    outputs = [run(argv, capsys)[1] for _ in range(2)]
    assert outputs[0] == outputs[1] != ""


# ---------------------------------------------------------------------------
# Text files in the forms people produce

DATA = [[1.5, 2.0], [3.0, 4.0], [5.0, 6.0]]

CSV_FORMS = {
    # name: (file content, suffix); every one holds DATA.
    "plain": ("1.5,2\n3,4\n5,6\n", ".csv"),
    "header": ("a,b\n1.5,2\n3,4\n5,6\n", ".csv"),
    "excel-bom": ("\ufeffa,b\r\n1.5,2\r\n3,4\r\n5,6\r\n", ".csv"),
    "excel-bom-no-header": ("\ufeff1.5,2\r\n3,4\r\n5,6\r\n", ".csv"),
    "quoted": ('"a","b"\n"1.5","2"\n"3","4"\n"5","6"\n', ".csv"),
    "semicolon": ("a;b\n1.5;2\n3;4\n5;6\n", ".csv"),
    "tab-in-csv": ("a\tb\n1.5\t2\n3\t4\n5\t6\n", ".csv"),
    "tsv": ("1.5\t2\n3\t4\n5\t6\n", ".tsv"),
    "spaces": ("a, b\n 1.5, 2\n 3, 4\n 5, 6\n", ".csv"),
    "blank-lines": ("a,b\n\n1.5,2\n3,4\n\n5,6\n\n", ".csv"),
    "names-with-digits": ("x1,y2\n1.5,2\n3,4\n5,6\n", ".csv"),
    "pandas-index": (",a,b\n0,1.5,2\n1,3,4\n2,5,6\n", ".csv"),
    "r-row-names": ('"","a","b"\n"1",1.5,2\n"2",3,4\n"3",5,6\n', ".csv"),
}


@pytest.mark.parametrize("form", sorted(CSV_FORMS))
def test_text_files_in_common_forms(form, tmp_path):
    content, suffix = CSV_FORMS[form]
    path = tmp_path / f"data{suffix}"
    path.write_bytes(content.encode("utf-8"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X = read_data(path)
    # Exactly the data: no row lost, no header or index kept.
    np.testing.assert_array_equal(X, DATA)


def test_pandas_to_csv_round_trips(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(DATA, columns=["width", "height"])
    for index in (True, False):
        frame.to_csv(tmp_path / "X.csv", index=index)
        np.testing.assert_array_equal(read_data(tmp_path / "X.csv"), DATA)


def test_header_option_overrides_the_detection(tmp_path):
    numeric_header = tmp_path / "n.csv"
    numeric_header.write_text("1990,2000\n1.5,2\n3,4\n5,6\n")
    assert read_data(numeric_header).shape == (4, 2)  # numbers: read as data
    np.testing.assert_array_equal(read_data(numeric_header, header=True), DATA)

    names = tmp_path / "h.csv"
    names.write_text("a,b\n1.5,2\n3,4\n5,6\n")
    with pytest.raises(ValueError, match="line 1, column 1: 'a' is not a number"):
        read_data(names, header=False)


def test_header_options_on_the_command_line(tmp_path):
    args = build_parser().parse_args(["predict", "m", "X.csv"])
    assert args.header is None
    assert build_parser().parse_args(["predict", "m", "X.csv", "--header"]).header
    args = build_parser().parse_args(["predict", "m", "X.csv", "--no-header"])
    assert args.header is False
    with pytest.raises(SystemExit):
        build_parser().parse_args(["predict", "m", "X.csv", "--header", "--no-header"])


def test_pandas_column_numbers_are_data_with_a_warning(tmp_path):
    path = tmp_path / "X.csv"
    path.write_text("0,1\n1.5,2\n3,4\n5,6\n")
    with pytest.warns(UserWarning, match="pandas' default column names"):
        X = read_data(path)
    assert X.shape == (4, 2)
    np.testing.assert_array_equal(read_data(path, header=True), DATA)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_data(path, header=False).shape == (4, 2)


def test_npy_files_are_memory_mapped(tmp_path):
    np.save(tmp_path / "X.npy", np.ones((4, 3), dtype=np.float32))
    X = read_data(tmp_path / "X.npy")
    assert isinstance(X, np.memmap)
    assert X.shape == (4, 3) and X.dtype == np.float32


def test_parquet_files_are_read(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(DATA, columns=["a", "b"], dtype=np.float32)
    frame.to_parquet(tmp_path / "X.parquet")
    X = read_data(tmp_path / "X.parquet")
    np.testing.assert_array_equal(X, DATA)
    assert X.dtype == np.float32


@pytest.mark.parametrize(
    "missing, message",
    [
        (
            ["pandas"],
            'needs pandas and pyarrow: pip install "skdec[parquet]" '
            "(or pip install pandas pyarrow)",
        ),
        (
            ["pyarrow", "fastparquet"],
            'needs pyarrow: pip install "skdec[parquet]" (or pip install pyarrow)',
        ),
    ],
)
def test_parquet_without_its_packages_is_a_clear_error(
    missing, message, tmp_path, monkeypatch, capsys
):
    pytest.importorskip("pandas")
    path = tmp_path / "X.parquet"
    path.write_bytes(b"PAR1 not really parquet PAR1")
    for name in missing:
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    status, out, err = run(
        ["fit", path, "--n-clusters=2", "-m", tmp_path / "m.skdec"], capsys
    )
    assert status == 2
    assert err == f"skdec: error: reading {path} {message}\n"


def test_images_are_flattened(tmp_path):
    np.save(tmp_path / "img.npy", np.zeros((5, 4, 3)))
    assert read_data(tmp_path / "img.npy").shape == (5, 12)


# ---------------------------------------------------------------------------
# Options generated from the estimator


def test_every_estimator_parameter_is_an_option():
    parser = build_parser()
    # All but the code parameters, which test_code_parameters_are_not_options
    # covers.
    parameters = inspect.signature(DECClusterer.__init__).parameters.values()
    names = [
        p.name
        for p in parameters
        if p.name not in ("self", "callbacks") and p.kind is not p.VAR_KEYWORD
    ]
    # And every parameter of the built-in networks, as --module-<name>.
    names += [
        "module_" + name
        for cls in (skdec.networks.StackedAutoencoder, ConvAutoencoder)
        for name in inspect.signature(cls).parameters
        if name not in ("n_features", "generator")
    ]
    argv = ["fit", "X.csv", "-m", "m.skdec", "--n-clusters", "4"]
    args = parser.parse_args(argv)
    # Only what was given, and the command line's fixed seed.
    assert {k: v for k, v in vars(args).items() if k.startswith("param_")} == {
        "param_n_clusters": 4,
        "param_random_state": 0,
    }
    help_text = parser._subparsers._group_actions[0].choices["fit"].format_help()
    for name in names:
        assert "--" + name.replace("_", "-") in help_text


def _help_texts():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    return [parser.format_help()] + [c.format_help() for c in commands.values()]


def test_help_says_the_seed_is_fixed_and_names_model_files_alike():
    fit_help = " ".join(_help_texts()[2].split())
    assert "[0, not the estimator's None: a command gives the same labels" in fit_help
    assert "--n-clusters INT|auto|LOW-HIGH|K,K,..." in fit_help
    for text in _help_texts():
        assert "model.npz" not in text
        assert "benchmark" not in text


@pytest.mark.parametrize(
    "option, expected",
    [
        (
            ["--module-hidden-dims", "500,500,2000"],
            {"module__hidden_dims": (500, 500, 2000)},
        ),
        (["--module-hidden-dims", ""], {"module__hidden_dims": ()}),
        (["--module-layerwise-dropout", "0.2"], {"module__layerwise_dropout": 0.2}),
        (["--module-layerwise-dropout", "none"], {"module__layerwise_dropout": None}),
        (["--module", "ConvAutoencoder"], {"module": ConvAutoencoder}),
        (["--module-image-shape", "28,28"], {"module__image_shape": (28, 28)}),
        (["--augment", "8,8"], {"augment": (8, 8)}),
        (["--pretrain-epochs", "0"], {"pretrain_epochs": 0}),
        (["--random-state", "7"], {"random_state": 7}),
        (["--random-state", "None"], {"random_state": None}),
        (["--n-clusters-search", "silhouette"], {"n_clusters_search": "silhouette"}),
        (["--alpha", "0.5"], {"alpha": 0.5}),
        (["--tol", "1e-4"], {"tol": 1e-4}),
        (["--device", "cpu"], {"device": "cpu"}),
    ],
)
def test_option_values_are_parsed(option, expected):
    args = build_parser().parse_args(
        ["fit", "X.csv", "-m", "m", "--n-clusters=2", *option]
    )
    params = {k[6:]: v for k, v in vars(args).items() if k.startswith("param_")}
    assert params == {"n_clusters": 2, "random_state": 0, **expected}


@pytest.mark.parametrize(
    "option, message",
    [
        (
            ["--module-latent-dim", "two"],
            "argument --module-latent-dim: expected INT, got 'two'",
        ),
        (
            ["--module", "TinyAutoencoder"],
            "expected StackedAutoencoder|ConvAutoencoder",
        ),
        (["--module-hidden-dims", "5,x"], "argument --module-hidden-dims"),
        (["--n-clusters-search", "kmeans"], "expected calinski_harabasz|clustering"),
        (["--n-clusters", "2-"], "expected INT|auto|LOW-HIGH|K,K,..., got '2-'"),
        (["--n-clusters", "3,4.5"], "expected INT|auto|LOW-HIGH|K,K,..., got '3,4.5'"),
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
        ["fit", data_files / "X.npy", "--n-clusters=3", "-m",
         data_files / "m.skdec", "--module-latent-dim=0"],
        capsys,
    )  # fmt: skip
    assert status == 2
    assert err.startswith("skdec: error: module=StackedAutoencoder could not be built")
    assert "latent_dim must be a positive integer, got 0." in err
    assert not (data_files / "m.skdec").exists()
    status, _, err = run(
        ["fit", data_files / "X.npy", "--n-clusters=3", "-m",
         data_files / "m.skdec", "--n-clusters-search=silhouette"],
        capsys,
    )  # fmt: skip
    assert status == 2
    assert "n_clusters_search='silhouette' chooses among candidates" in err


@pytest.mark.parametrize(
    "text, expected",
    [
        ("7", 7),
        ("auto", "auto"),
        ("2-20", range(2, 21)),
        ("5,10,15", (5, 10, 15)),
    ],
)
def test_n_clusters_takes_an_int_auto_a_range_or_candidates(text, expected):
    args = build_parser().parse_args(["fit", "X.csv", "-m", "m", "--n-clusters", text])
    assert args.param_n_clusters == expected


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_convolutional_network_from_the_command_line(data_files, blobs, capsys):
    model = data_files / "conv.skdec"
    status, out, err = run(
        ["fit", data_files / "X.npy", "--n-clusters=3", "-m", model, "--quiet",
         *TINY_OPTIONS[2:], "--module=ConvAutoencoder", "--module-image-shape=2,3",
         "--module-conv-channels=4", "--module-latent-dim=2", "--augment=2,3"],
        capsys,
    )  # fmt: skip
    assert status == 0, err
    loaded = DECClusterer.load(model)
    assert loaded.module is ConvAutoencoder and loaded.augment == (2, 3)
    status, predicted, err = run(["predict", model, data_files / "X.npy"], capsys)
    assert status == 0, err
    assert predicted == out


# ---------------------------------------------------------------------------
# One-line errors with exit status 2


BAD_FILES = {
    "letters.csv": ("1,2\n3,x\n", "line 2, column 2: 'x' is not a number"),
    "empty_cell.csv": ("a,b\n1,2\n3,\n", "line 3, column 2 is empty"),
    "empty_first.csv": ("1,,3\n4,5,6\n", "line 1, column 2 is empty"),
    "nan.csv": ("a,b\n1,2\n\n3,nan\n", "line 4, column 2: nan is not a finite"),
    "inf.tsv": ("1\t2\n-inf\t3\n", "line 2, column 1: -inf is not a finite"),
    "ragged.csv": ("1,2,3\n4,5\n", "line 2: 2 columns where the rows above have 3"),
    "decimal_comma.csv": ("1;2,5\n3;4,5\n", "line 1, column 2: '2,5' is not a number"
                          " (write numbers with a decimal point"),
    "empty.csv": ("", "holds no data rows"),
    "header_only.csv": ("a,b\n", "holds no data rows"),
    "text.npy": ("not numpy", "is not a NumPy .npy file"),
    "text.npz": ("not numpy", "is not a NumPy .npz file"),
    "text.parquet": ("not parquet", "is not a Parquet file"),
    "data.txt": ("1,2\n", "unsupported file type '.txt'"),
}  # fmt: skip


def _assert_one_line_error(status, out, err, message, folder):
    assert status == 2
    assert message in err
    assert err.startswith("skdec: error: ") and err.count("\n") == 1
    assert out == ""
    # Neither scikit-learn's paragraph on imputation nor unpickling advice.
    err = err.replace(str(folder), "")
    assert "imput" not in err and "pickle" not in err.lower()


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_data_files_give_one_line_errors(name, tmp_path, capsys):
    content, message = BAD_FILES[name]
    (tmp_path / name).write_text(content)
    status, out, err = run(
        ["fit", tmp_path / name, "--n-clusters=2", "-m", tmp_path / "m.skdec"], capsys
    )
    _assert_one_line_error(status, out, err, f"{tmp_path / name}", tmp_path)
    assert message in err


def test_nan_in_arrays_names_the_file_and_row(tmp_path, capsys):
    X = np.ones((5, 3))
    X[3, 1] = np.nan
    np.save(tmp_path / "X.npy", X)
    np.savez(tmp_path / "X.npz", X=X)
    for name in ("X.npy", "X.npz"):
        status, out, err = run(
            ["fit", tmp_path / name, "--n-clusters=2", "-m", tmp_path / "m"], capsys
        )
        message = f"{tmp_path / name}, row 4, column 2: nan is not a finite number"
        _assert_one_line_error(status, out, err, message, tmp_path)


def test_object_arrays_are_refused_without_pickle_advice(tmp_path, capsys):
    objects = np.empty((2, 2), dtype=object)
    np.save(tmp_path / "X.npy", objects, allow_pickle=True)
    np.savez(tmp_path / "X.npz", X=objects)
    for name in ("X.npy", "X.npz"):
        status, out, err = run(
            ["fit", tmp_path / name, "--n-clusters=2", "-m", tmp_path / "m"], capsys
        )
        _assert_one_line_error(status, out, err, "holds Python objects", tmp_path)


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
         data_files / "missing" / "m.skdec"],
        capsys,
    )  # fmt: skip
    assert status == 2
    assert "folder" in err and "does not exist" in err


def test_predict_reports_shape_mismatch_and_bad_models(data_files, blobs, capsys):
    dec = DECClusterer(n_clusters=3, **TINY, random_state=0).fit(blobs[0])
    dec.save(data_files / "m.skdec")
    np.save(data_files / "narrow.npy", blobs[0][:, :5])
    status, _, err = run(
        ["predict", data_files / "m.skdec", data_files / "narrow.npy"], capsys
    )
    assert status == 2
    assert err == (
        f"skdec: error: {data_files / 'narrow.npy'}: 5 features (columns) per "
        f"sample, but the model {data_files / 'm.skdec'} was fitted on 6.\n"
    )
    status, _, err = run(
        ["predict", data_files / "X.npz", data_files / "X.npy"], capsys
    )
    assert status == 2
    assert err.startswith("skdec: error: ") and err.count("\n") == 1


@pytest.mark.parametrize("name", ["wide.csv", "narrow.csv", "wide.npy"])
def test_data_of_the_wrong_width_names_the_file(name, data_files, blobs, capsys):
    dec = DECClusterer(n_clusters=3, **TINY, random_state=0).fit(blobs[0])
    dec.save(data_files / "m.skdec")
    width = 4 if name.startswith("narrow") else 9
    X = np.ones((7, width))
    path = data_files / name
    if path.suffix == ".csv":
        np.savetxt(path, X, delimiter=",", header=",".join("abcdefghi"[:width]))
    else:
        np.save(path, X)
    for extra in ([], ["--proba"]):
        status, out, err = run(
            ["predict", data_files / "m.skdec", path, *extra], capsys
        )
        assert (status, out) == (2, "")
        assert err.startswith(f"skdec: error: {path}: {width} features")
        assert "m.skdec was fitted on 6." in err and err.count("\n") == 1


def test_python_dash_m_entry_point_exits_2_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "skdec", "predict", "m.skdec", "X.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == "skdec: error: m.skdec: no such file.\n"


# ---------------------------------------------------------------------------
# Models of every estimator; files that are not models


# One of each estimator; IIC for two epochs only: the test needs a model, not
# a good one.
MODELS = [
    DECClusterer(3, **TINY, random_state=0),
    IDECClusterer(3, **TINY, random_state=0),
    IICClusterer(3, **{**TINY_IIC, "max_epochs": 2}, random_state=0),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator", MODELS, ids=lambda est: type(est).__name__)
def test_predict_loads_any_skdec_model(estimator, data_files, blobs, capsys):
    estimator = clone(estimator)
    estimator.fit(blobs[0]).save(data_files / "m.skdec")
    status, out, err = run(
        ["predict", data_files / "m.skdec", data_files / "X.csv"], capsys
    )
    assert status == 0, err
    labels = np.loadtxt(io.StringIO(out), dtype=int)
    np.testing.assert_array_equal(labels, estimator.predict(blobs[0]))
    status, out, err = run(
        ["predict", data_files / "m.skdec", data_files / "X.npy", "--proba"], capsys
    )
    assert status == 0, err
    np.testing.assert_allclose(
        np.loadtxt(io.StringIO(out), delimiter=","),
        estimator.predict_proba(blobs[0]),
        atol=1e-6,
    )


def _npy_bytes():
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((3, 2)))
    return buffer.getvalue()


def _zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a model")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content",
    [b"hello\n", _npy_bytes(), _zip_bytes()],
    ids=["text", "npy", "zip"],
)
def test_predict_with_a_file_that_is_not_a_model(content, data_files, capsys):
    path = data_files / "model.skdec"
    path.write_bytes(content)
    status, out, err = run(["predict", path, data_files / "X.npy"], capsys)
    message = f"'{path}' is not an skdec model file"
    _assert_one_line_error(status, out, err, message, data_files)


def test_predict_into_a_closed_pipe_exits_quietly(tmp_path, blobs):
    # More output than a pipe holds, so skdec is still writing when the reader
    # leaves, as with `skdec predict ... | head -1`.
    dec = DECClusterer(n_clusters=3, **TINY, random_state=0).fit(blobs[0])
    dec.save(tmp_path / "m.skdec")
    np.save(tmp_path / "X.npy", np.tile(blobs[0], (200, 1)))
    process = subprocess.Popen(
        [sys.executable, "-m", "skdec", "predict", tmp_path / "m.skdec",
         tmp_path / "X.npy", "--proba"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=120) == 1
    assert err == ""


# ---------------------------------------------------------------------------
# Progress, warnings and demo


@pytest.mark.parametrize(
    "tty, extra, expected",
    [
        (True, [], True),
        (True, ["--quiet"], False),
        (False, [], False),
    ],
)
def test_progress_bars_only_in_a_terminal(
    tty, extra, expected, tmp_path, monkeypatch, capsys
):
    seen = {}

    def fake_fit_predict(self, X, y=None):
        callbacks = self.callbacks or []
        seen["progress"] = any(isinstance(cb, ProgressBar) for cb in callbacks)
        seen["random_state"] = self.random_state
        raise ValueError("stop here")

    monkeypatch.setattr(DECClusterer, "fit_predict", fake_fit_predict)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty, raising=False)
    np.save(tmp_path / "x.npy", np.ones((4, 2)))
    status, _, err = run(
        ["fit", tmp_path / "x.npy", "--n-clusters=2", "-m", tmp_path / "m", *extra],
        capsys,
    )
    assert (status, err) == (2, "skdec: error: stop here\n")
    assert seen["progress"] == expected
    assert seen["random_state"] == 0


def test_warnings_are_one_line(data_files, capsys):
    status, _, err = run(
        ["fit", data_files / "X.npy", "--n-clusters=3", "-m", data_files / "m.skdec",
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


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_demo_quick_trains_the_small_network(monkeypatch, capsys):
    # Fewer epochs and steps than --quick's own: its path, not its scores.
    shorter = {**skdec._cli.QUICK_DEMO_PARAMS, "pretrain_epochs": 2, "max_iter": 30}
    monkeypatch.setattr(skdec._cli, "QUICK_DEMO_PARAMS", shorter)
    status, out, err = run(["demo", "--quick"], capsys)
    assert status == 0, err
    assert "module__hidden_dims=(256, 64)" in out
    assert "pretrain_epochs=2" in out
    assert out.splitlines()[-1].startswith("DEC ")
    assert "(seconds on a CPU)" in err


# ---------------------------------------------------------------------------
# The installed package stands alone


def test_benchmark_is_not_a_command(tmp_path, monkeypatch, capsys):
    # A folder holding some other benchmarks/run.py: nothing in it may run.
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "__init__.py").write_text("")
    (tmp_path / "benchmarks" / "run.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_name('ran').touch()\n"
        "def main(argv):\n    return 0\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        main(["benchmark"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'benchmark'" in capsys.readouterr().err
    assert not (tmp_path / "benchmarks" / "ran").exists()


def _imported_packages(path):
    """Top-level names of the absolute imports in a Python file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


# The dependencies of pyproject.toml, its optional ones, and packages that
# scikit-learn's set_output and pandas' Parquet reader may import.
# numba comes with umap-learn (init="manifold" restores its thread count).
ALLOWED_IMPORTS = {
    "numpy", "scipy", "sklearn", "torch", "joblib", "tqdm",
    "matplotlib", "pandas", "pyarrow", "polars", "umap", "numba", "anndata",
    "skdec",
}  # fmt: skip


def test_the_package_imports_only_its_dependencies():
    package = Path(skdec.__file__).parent
    imported = set().union(*map(_imported_packages, package.glob("**/*.py")))
    outside = imported - ALLOWED_IMPORTS - set(sys.stdlib_module_names)
    assert not outside, f"skdec imports {sorted(outside)}"


def test_a_model_with_a_users_network_is_refused_clearly(data_files, blobs, capsys):
    from .conftest import TinyAutoencoder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dec = DECClusterer(3, **TINY_FIT, module=TinyAutoencoder, random_state=0)
        dec.fit(blobs[0]).save(data_files / "user.skdec")
    status, _, err = run(
        ["predict", data_files / "user.skdec", data_files / "X.npy"], capsys
    )
    assert status == 2
    assert "user's network" in err and "command line cannot load" in err


def test_code_parameters_are_not_options():
    # callbacks and a user's module are Python objects: no command line
    # option can give them. --module names a built-in network only.
    fit = build_parser()._subparsers._group_actions[0].choices["fit"]
    options = {option for action in fit._actions for option in action.option_strings}
    assert "--callbacks" not in options
    assert "--module" in options and "--n-clusters" in options
    (module,) = [a for a in fit._actions if "--module" in a.option_strings]
    assert module.metavar == "StackedAutoencoder|ConvAutoencoder"
