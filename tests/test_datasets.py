"""Tests for skdec.datasets: IDX / npz loading, generated and subsampled data."""

import gzip
import re
import struct

import numpy as np
import pytest
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

import skdec.datasets._loaders
from skdec.datasets import (
    load_digits_scaled,
    load_fashion_mnist,
    load_mnist,
    make_nonlinear_blobs,
    read_idx,
    subsample_imbalanced,
)

TYPE_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}
NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


def idx_bytes(array, *, magic=None, shape=None):
    """The bytes of an IDX file holding ``array`` (header may be overridden)."""
    array = np.asarray(array)
    shape = array.shape if shape is None else shape
    if magic is None:
        magic = (TYPE_CODES[array.dtype] << 8) | len(shape)
    header = struct.pack(f">I{len(shape)}I", magic, *shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, *, gz=False, **kwargs):
    data = idx_bytes(array, **kwargs)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.fixture
def mnist_arrays():
    rng = np.random.RandomState(0)
    return {
        "train": (
            rng.randint(0, 256, size=(5, 28, 28)).astype(np.uint8),
            np.array([5, 0, 4, 1, 9], dtype=np.uint8),
        ),
        "test": (
            rng.randint(0, 256, size=(3, 28, 28)).astype(np.uint8),
            np.array([7, 2, 1], dtype=np.uint8),
        ),
    }


def write_mnist_dir(directory, arrays, *, gz=False, dot=False):
    for split, (images, labels) in arrays.items():
        for kind, array in (("images", images), ("labels", labels)):
            name = NAMES[split, kind]
            if dot:
                name = name.replace("-idx", ".idx")
            if gz:
                name += ".gz"
            write_idx(directory / name, array, gz=gz)
    return directory


def expected(arrays, splits):
    X = np.concatenate([arrays[s][0].reshape(-1, 784) for s in splits])
    y = np.concatenate([arrays[s][1] for s in splits]).astype(np.int64)
    return X, y


# ---------------------------------------------------------------------------
# read_idx


@pytest.mark.parametrize("dtype", list(TYPE_CODES))
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, gz):
    array = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    if np.dtype(dtype).kind == "u":
        array = np.arange(24, dtype=dtype).reshape(2, 3, 4) * 10
    path = write_idx(tmp_path / "data-idx3", array, gz=gz)
    result = read_idx(path)
    assert result.dtype == np.dtype(dtype)
    assert result.dtype.isnative
    np.testing.assert_array_equal(result, array)
    result[0, 0, 0] = 1  # writable


def test_read_idx_detects_gzip_by_content(tmp_path):
    labels = np.array([3, 1, 4], dtype=np.uint8)
    # gzip data without .gz suffix, plain data with a .gz suffix
    gz_no_suffix = tmp_path / "labels-idx1-ubyte"
    gz_no_suffix.write_bytes(gzip.compress(idx_bytes(labels)))
    plain_with_suffix = write_idx(tmp_path / "other-idx1-ubyte.gz", labels)
    np.testing.assert_array_equal(read_idx(gz_no_suffix), labels)
    np.testing.assert_array_equal(read_idx(plain_with_suffix), labels)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_truncated(tmp_path, gz):
    data = idx_bytes(np.zeros((4, 28, 28), dtype=np.uint8))
    path = tmp_path / "truncated-idx3-ubyte"
    truncated = data[:-10]
    path.write_bytes(gzip.compress(truncated) if gz else truncated)
    with pytest.raises(ValueError, match="truncated-idx3-ubyte.*truncated"):
        read_idx(path)


def test_read_idx_truncated_gzip_stream(tmp_path):
    data = gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8)))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.gz.*gzip"):
        read_idx(path)


def test_read_idx_trailing_bytes(tmp_path):
    path = tmp_path / "long-idx1-ubyte"
    path.write_bytes(idx_bytes(np.arange(5, dtype=np.uint8)) + b"\x00\x00")
    with pytest.raises(ValueError, match="long-idx1-ubyte"):
        read_idx(path)


def test_read_idx_header_too_short(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x05")  # 1 of 3 dimensions
    with pytest.raises(ValueError, match="short.*truncated"):
        read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(path)


@pytest.mark.parametrize("magic", [0x12345678, 0x00000703, 0x00000800, 0x01000801])
def test_read_idx_bad_magic(tmp_path, magic):
    path = write_idx(
        tmp_path / "bad-idx1-ubyte", np.arange(3, dtype=np.uint8), magic=magic
    )
    with pytest.raises(ValueError, match=r"bad-idx1-ubyte.*magic number"):
        read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        read_idx(tmp_path / "nothing-here")


# ---------------------------------------------------------------------------
# load_mnist from IDX files


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dot", [False, True])
@pytest.mark.parametrize(
    "subset, splits",
    [("train", ["train"]), ("test", ["test"]), ("all", ["train", "test"])],
)
def test_load_mnist_idx(tmp_path, mnist_arrays, gz, dot, subset, splits):
    write_mnist_dir(tmp_path, mnist_arrays, gz=gz, dot=dot)
    X_exp, y_exp = expected(mnist_arrays, splits)

    X, y = load_mnist(tmp_path, subset=subset, scale=False)
    assert X.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(X, X_exp)
    np.testing.assert_array_equal(y, y_exp)

    X, y = load_mnist(str(tmp_path), subset=subset)
    assert X.dtype == np.float32 and X.shape == (len(y_exp), 784)
    assert X.min() >= 0 and X.max() <= 1
    np.testing.assert_array_equal(X, X_exp.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(y, y_exp)


def test_load_mnist_default_is_all(tmp_path, mnist_arrays):
    write_mnist_dir(tmp_path, mnist_arrays)
    X, y = load_mnist(tmp_path)
    assert X.shape == (8, 784)
    np.testing.assert_array_equal(y, [5, 0, 4, 1, 9, 7, 2, 1])


def test_load_mnist_only_needs_requested_split(tmp_path, mnist_arrays):
    write_mnist_dir(tmp_path, {"test": mnist_arrays["test"]})
    X, y = load_mnist(tmp_path, subset="test")
    assert X.shape == (3, 784)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path, subset="train")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path, subset="all")


def test_load_mnist_missing_labels(tmp_path, mnist_arrays):
    write_mnist_dir(tmp_path, mnist_arrays)
    (tmp_path / NAMES["train", "labels"]).unlink()
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte"):
        load_mnist(tmp_path, subset="train")


def test_load_mnist_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such-dir"):
        load_mnist(tmp_path / "no-such-dir")


def test_load_mnist_count_mismatch(tmp_path, mnist_arrays):
    images, labels = mnist_arrays["train"]
    write_mnist_dir(tmp_path, {"train": (images, labels[:4])})
    with pytest.raises(ValueError, match=r"5 images.*4 labels"):
        load_mnist(tmp_path, subset="train")


def test_load_mnist_truncated_file(tmp_path, mnist_arrays):
    write_mnist_dir(tmp_path, mnist_arrays, gz=True)
    path = tmp_path / (NAMES["test", "images"] + ".gz")
    data = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(data[:-100]))
    with pytest.raises(ValueError, match=re.escape(path.name)):
        load_mnist(tmp_path, subset="test")


def test_load_mnist_wrong_magic(tmp_path, mnist_arrays):
    write_mnist_dir(tmp_path, mnist_arrays)
    # labels stored where images are expected: a valid IDX file, wrong magic
    images_path = tmp_path / NAMES["train", "images"]
    write_idx(images_path, mnist_arrays["train"][1])
    with pytest.raises(ValueError, match=r"0x00000801, expected 0x00000803"):
        load_mnist(tmp_path, subset="train")


def test_load_mnist_wrong_image_shape(tmp_path):
    images = np.zeros((2, 16, 16), dtype=np.uint8)
    labels = np.zeros(2, dtype=np.uint8)
    write_mnist_dir(tmp_path, {"train": (images, labels)})
    with pytest.raises(ValueError, match=r"\(16, 16\)"):
        load_mnist(tmp_path, subset="train")


@pytest.mark.parametrize("subset", ["val", "Train", None])
def test_load_mnist_bad_subset(tmp_path, mnist_arrays, subset):
    write_mnist_dir(tmp_path, mnist_arrays)
    with pytest.raises(ValueError, match="subset"):
        load_mnist(tmp_path, subset=subset)


def test_load_mnist_not_a_dataset_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(ValueError, match="notes.txt"):
        load_mnist(path)


# ---------------------------------------------------------------------------
# load_mnist from .npz archives


@pytest.mark.parametrize(
    "subset, splits",
    [("train", ["train"]), ("test", ["test"]), ("all", ["train", "test"])],
)
def test_load_mnist_npz_keras_layout(tmp_path, mnist_arrays, subset, splits):
    path = tmp_path / "mnist.npz"
    np.savez_compressed(
        path,
        x_train=mnist_arrays["train"][0],
        y_train=mnist_arrays["train"][1],
        x_test=mnist_arrays["test"][0],
        y_test=mnist_arrays["test"][1],
    )
    X_exp, y_exp = expected(mnist_arrays, splits)
    X, y = load_mnist(path, subset=subset, scale=False)
    np.testing.assert_array_equal(X, X_exp)
    np.testing.assert_array_equal(y, y_exp)
    assert y.dtype == np.int64
    X, _ = load_mnist(path, subset=subset)
    np.testing.assert_array_equal(X, X_exp.astype(np.float32) / np.float32(255))


def test_load_mnist_npz_X_y_layout(tmp_path, mnist_arrays):
    X_exp, y_exp = expected(mnist_arrays, ["train", "test"])
    path = tmp_path / "mnist.npz"
    np.savez(path, X=X_exp, y=y_exp.astype(np.int32))
    X, y = load_mnist(path)
    assert X.shape == (8, 784) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(X, X_exp / np.float32(255))
    np.testing.assert_array_equal(y, y_exp)
    with pytest.raises(ValueError, match="subset='all'"):
        load_mnist(path, subset="train")


def test_load_mnist_npz_float_pixels(tmp_path, mnist_arrays):
    X_exp, y_exp = expected(mnist_arrays, ["train"])
    unit = X_exp.astype(np.float64) / 255
    np.savez(tmp_path / "unit.npz", X=unit, y=y_exp)
    np.savez(tmp_path / "bytes.npz", X=X_exp.astype(np.float32), y=y_exp)
    X_unit, _ = load_mnist(tmp_path / "unit.npz")
    X_bytes, _ = load_mnist(tmp_path / "bytes.npz")
    np.testing.assert_allclose(X_unit, unit, rtol=1e-6)
    np.testing.assert_allclose(X_bytes, unit, rtol=1e-6)
    assert X_unit.dtype == X_bytes.dtype == np.float32


def test_load_mnist_npz_bad_arrays(tmp_path, mnist_arrays):
    images, labels = mnist_arrays["train"]
    path = tmp_path / "keys.npz"
    np.savez(path, images=images, labels=labels)
    with pytest.raises(ValueError, match=r"keys\.npz.*x_train"):
        load_mnist(path)
    np.savez(path, X=images, y=labels[:3])
    with pytest.raises(ValueError, match=r"5 images but 3 labels"):
        load_mnist(path)
    np.savez(path, X=images[:, :10, :10], y=labels)
    with pytest.raises(ValueError, match="784"):
        load_mnist(path)


def test_load_mnist_corrupted_npz(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(ValueError, match=r"broken\.npz"):
        load_mnist(path)


# ---------------------------------------------------------------------------
# load_fashion_mnist (same IDX files; default folder of dataset-fashion-mnist)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "subset, splits",
    [("train", ["train"]), ("test", ["test"]), ("all", ["train", "test"])],
)
def test_load_fashion_mnist_idx(tmp_path, mnist_arrays, gz, subset, splits):
    # The Debian package installs the four files gzipped, under MNIST's names.
    write_mnist_dir(tmp_path, mnist_arrays, gz=gz)
    X_exp, y_exp = expected(mnist_arrays, splits)

    X, y = load_fashion_mnist(tmp_path, subset=subset, scale=False)
    assert X.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(X, X_exp)
    np.testing.assert_array_equal(y, y_exp)

    X, y = load_fashion_mnist(str(tmp_path), subset=subset)
    assert X.dtype == np.float32 and X.shape == (len(y_exp), 784)
    assert X.min() >= 0 and X.max() <= 1
    np.testing.assert_array_equal(X, X_exp.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(y, y_exp)


def test_load_fashion_mnist_default_subset_is_all(tmp_path, mnist_arrays):
    write_mnist_dir(tmp_path, mnist_arrays, gz=True)
    X, y = load_fashion_mnist(tmp_path)
    assert X.shape == (8, 784)
    np.testing.assert_array_equal(y, [5, 0, 4, 1, 9, 7, 2, 1])


def test_load_fashion_mnist_default_path(tmp_path, mnist_arrays, monkeypatch):
    write_mnist_dir(tmp_path, {"test": mnist_arrays["test"]}, gz=True)
    monkeypatch.setattr(skdec.datasets._loaders, "_FASHION_MNIST_DIR", tmp_path)
    X, y = load_fashion_mnist(subset="test")
    assert X.shape == (3, 784)
    np.testing.assert_array_equal(y, [7, 2, 1])


def test_load_fashion_mnist_missing_folder_names_the_package(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-dir"
    with pytest.raises(FileNotFoundError) as exc:
        load_fashion_mnist(missing)
    assert "dataset-fashion-mnist" in str(exc.value)
    assert str(missing) in str(exc.value)

    # The default folder, when the package is not installed.
    monkeypatch.setattr(skdec.datasets._loaders, "_FASHION_MNIST_DIR", missing)
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist") as exc:
        load_fashion_mnist(subset="test")
    assert str(missing) in str(exc.value)


def test_load_fashion_mnist_missing_file_names_the_package(tmp_path, mnist_arrays):
    write_mnist_dir(tmp_path, {"test": mnist_arrays["test"]})
    with pytest.raises(
        FileNotFoundError,
        match=r"Fashion-MNIST file 'train-images-idx3-ubyte'.*dataset-fashion-mnist",
    ) as exc:
        load_fashion_mnist(tmp_path, subset="all")
    assert str(tmp_path) in str(exc.value)


@pytest.mark.parametrize("subset", ["validation", None])
def test_load_fashion_mnist_bad_subset(tmp_path, mnist_arrays, subset):
    write_mnist_dir(tmp_path, mnist_arrays)
    with pytest.raises(ValueError, match="subset"):
        load_fashion_mnist(tmp_path, subset=subset)


def test_load_mnist_errors_do_not_mention_the_fashion_package(tmp_path):
    with pytest.raises(FileNotFoundError) as exc:
        load_mnist(tmp_path / "no-such-dir")
    assert "fashion" not in str(exc.value).lower()


# ---------------------------------------------------------------------------
# make_nonlinear_blobs


def test_make_nonlinear_blobs_shape_and_dtype():
    X, y = make_nonlinear_blobs(300, n_clusters=4, n_features=20, random_state=0)
    assert X.shape == (300, 20) and X.dtype == np.float32
    assert y.shape == (300,) and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1, 2, 3}
    assert np.all(np.isfinite(X))
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(X.std(axis=0), 1, atol=1e-4)


def test_make_nonlinear_blobs_determinism():
    X1, y1 = make_nonlinear_blobs(200, random_state=42)
    X2, y2 = make_nonlinear_blobs(200, random_state=42)
    X3, _ = make_nonlinear_blobs(200, random_state=43)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)
    rng = np.random.RandomState(7)
    X4, _ = make_nonlinear_blobs(200, random_state=rng)
    X5, _ = make_nonlinear_blobs(200, random_state=rng)
    assert not np.allclose(X4, X5)


def test_make_nonlinear_blobs_kmeans_latent_vs_observed():
    X, y, Z = make_nonlinear_blobs(400, random_state=0, return_latent=True)
    assert Z.shape == (400, 5)
    km = KMeans(n_clusters=6, n_init=5, random_state=0)
    ari_latent = adjusted_rand_score(y, km.fit_predict(Z))
    ari_observed = adjusted_rand_score(y, km.fit_predict(X))
    assert ari_latent > 0.99
    assert ari_observed < 0.95


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_samples": 0},
        {"n_clusters": 0},
        {"n_features": 2.5},
        {"latent_dim": 0},
        {"cluster_std": 0.0},
        {"center_box": (1, 1)},
        {"center_box": "box"},
    ],
)
def test_make_nonlinear_blobs_bad_parameters(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        make_nonlinear_blobs(**kwargs)


# ---------------------------------------------------------------------------
# subsample_imbalanced


def test_subsample_imbalanced_rates():
    y = np.repeat([3, 1, 2, 0], 5000)  # classes sorted: 0, 1, 2, 3
    X = np.arange(len(y), dtype=float).reshape(-1, 1)
    X_sub, y_sub = subsample_imbalanced(X, y, r_min=0.1, random_state=0)
    counts = {c: int(np.sum(y_sub == c)) for c in range(4)}
    assert counts[3] == 5000  # last class kept whole
    for c, rate in zip(range(3), [0.1, 0.4, 0.7], strict=True):
        assert abs(counts[c] / 5000 - rate) < 0.03
    # rows stay aligned with their labels and in their original order
    np.testing.assert_array_equal(y[X_sub[:, 0].astype(int)], y_sub)
    assert np.all(np.diff(X_sub[:, 0]) > 0)


def test_subsample_imbalanced_string_labels_and_sparse():
    y = np.array(["b", "a"] * 500)
    X = sparse.csr_matrix(np.arange(1000, dtype=float).reshape(-1, 1))
    X_sub, y_sub = subsample_imbalanced(X, y, r_min=0.5, random_state=0)
    assert sparse.issparse(X_sub) and X_sub.shape[0] == len(y_sub)
    assert np.sum(y_sub == "b") == 500
    assert 200 < np.sum(y_sub == "a") < 300


def test_subsample_imbalanced_deterministic_and_r_min_one():
    X, y = np.zeros((100, 2)), np.arange(100) % 4
    a = subsample_imbalanced(X, y, r_min=0.3, random_state=1)[1]
    b = subsample_imbalanced(X, y, r_min=0.3, random_state=1)[1]
    np.testing.assert_array_equal(a, b)
    X_all, y_all = subsample_imbalanced(X, y, r_min=1.0, random_state=1)
    np.testing.assert_array_equal(y_all, y)


@pytest.mark.parametrize("r_min", [0, 0.0, -0.5, 1.5, float("nan"), None, "0.5"])
def test_subsample_imbalanced_bad_r_min(r_min):
    with pytest.raises(ValueError, match="r_min"):
        subsample_imbalanced(np.zeros((4, 1)), [0, 0, 1, 1], r_min=r_min)


def test_subsample_imbalanced_inconsistent_lengths():
    with pytest.raises(ValueError):
        subsample_imbalanced(np.zeros((4, 1)), [0, 1, 1], r_min=0.5)


# ---------------------------------------------------------------------------
# load_digits_scaled


def test_load_digits_scaled():
    X, y = load_digits_scaled()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
