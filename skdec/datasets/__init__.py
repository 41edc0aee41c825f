"""Data sets for benchmarks, examples and the command line."""

from ._loaders import (  # noqa: F401
    _FASHION_MNIST_DIR,
    _FASHION_MNIST_PACKAGE,
    __all__,
    load_digits_scaled,
    load_fashion_mnist,
    load_mnist,
    make_nonlinear_blobs,
    make_topic_corpus,
    read_idx,
    subsample_imbalanced,
)
