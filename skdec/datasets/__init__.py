"""Data sets for benchmarks, examples and the command line.

This module holds small, dependency-free (NumPy and scikit-learn only) helpers
to obtain the data sets used to evaluate Deep Embedded Clustering:

- :func:`load_mnist` reads MNIST from files already on disk (the four IDX
  files of the original distribution, or a Keras-style ``.npz`` archive).
  Nothing is ever downloaded.
- :func:`load_fashion_mnist` reads Fashion-MNIST, in the same formats, by
  default from the folder where the Debian package ``dataset-fashion-mnist``
  installs it.
- :func:`read_idx` parses a single IDX file, optionally gzip-compressed.
- :func:`make_nonlinear_blobs` generates Gaussian clusters that are trivially
  separable in a low-dimensional latent space but are seen through a fixed
  random non-linear map, so that k-means on the observed features is clearly
  below perfect.
- :func:`make_topic_corpus` generates a sparse TF-IDF matrix of documents
  drawn from a few topics, DEC's text setting (REUTERS) at any size.
- :func:`make_single_cell_counts` generates single-cell-like RNA counts
  (negative binomial, cell types of unequal size with marker genes), and
  :func:`preprocess_counts` runs the usual preprocessing before clustering
  (normalisation, log1p, highly variable genes, scaling).
- :func:`subsample_imbalanced` reproduces the class-imbalance experiment of the
  DEC paper (Xie et al., 2016).
- :func:`load_digits_scaled` returns scikit-learn's bundled digits scaled to
  ``[0, 1]``.
"""

from ._idx import read_idx
from ._loaders import load_digits_scaled, load_fashion_mnist, load_mnist
from ._samples_generator import (
    make_nonlinear_blobs,
    make_topic_corpus,
    subsample_imbalanced,
)
from ._single_cell import make_single_cell_counts, preprocess_counts

__all__ = [
    "load_digits_scaled",
    "load_fashion_mnist",
    "load_mnist",
    "make_nonlinear_blobs",
    "make_single_cell_counts",
    "make_topic_corpus",
    "preprocess_counts",
    "read_idx",
    "subsample_imbalanced",
]
