"""The private base that every skdec estimator shares.

:class:`_BaseDeepClusterer` plays the part of scikit-learn's ``_BaseKMeans``:
it owns the mixins, ``fit`` with restore-on-failure, the set-up every fit
needs (validation, device, random generators), batched inference with its
finiteness checks, ``predict``/``predict_proba``/``transform``, the collapse
warning, save/load, pickling and the tags. Each estimator keeps only what is
its own: its parameters, ``_fit`` and the guts of inference.
"""

import copy
import inspect
import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._batching import map_batches_numpy
from ._data import (
    RowSource,
    clearer_input_error,
    is_streamed,
    max_abs,
    mean_square,
    validate_streamed,
)
from ._device import resolve_device, to_training_tensor
from ._distributed import Comm, LocalComm, current_comm
from ._hooks import Hooks
from ._silhouette import capped_silhouette

# Mean square of the entries below which the input is rescaled to unit mean
# square and pretrained with Adam (TF-IDF text, normalised counts): far
# below images in [0, 1] (about 0.1-0.3) and standardised data (1).
_LOW_POWER = 1e-3

# Inputs more than this many times larger in magnitude than any value seen
# during fit are refused at inference: a network trained on one scale returns
# confident nonsense (or overflows) far outside it.
_MAX_INPUT_GROWTH = 1e6

# ---------------------------------------------------------------------------
# Helpers shared by the estimators


def _seed(rng):
    """A torch/sklearn seed drawn from a numpy ``RandomState``."""
    return int(rng.randint(np.iinfo(np.int32).max))


def _module_device(module):
    return next(module.parameters()).device


def _same_value(value, default):
    """Whether a parameter's value is its default (False where unsure)."""
    if value is default:
        return True
    if isinstance(value, bool) or isinstance(default, bool):
        return False
    if isinstance(value, Real) and isinstance(default, Real):
        return value == default
    if isinstance(value, str | tuple) and type(value) is type(default):
        return value == default
    return False


def check_finite_weights(module, stage):
    """Stop with advice when training left non-finite weights.

    The loops check the loss once per epoch or target refresh, so a step taken
    after the last check can diverge unnoticed.
    """
    for name, weight in module.named_parameters():
        if not torch.isfinite(weight).all():
            raise FloatingPointError(
                f"The weight {name!r} became non-finite during {stage}. The "
                "learning rate is probably too high or the input is badly "
                "scaled: lower learning_rate/pretrain_learning_rate or scale X "
                "(e.g. MinMaxScaler)."
            )


def _output_dtype(X):
    """Outputs keep a float input's dtype; other inputs get float64."""
    return X.dtype if X.dtype in (np.float32, np.float64) else np.float64


def _input_scale(X, comm):
    """Factor applied to every row of ``X`` in fit and inference.

    Data whose entries are tiny on average (TF-IDF text: a unit-norm row over
    20,000 words has a mean square of 1/20,000) trains an autoencoder that
    outputs the data's mean; as the DEC paper's REUTERS preprocessing did,
    such data is scaled so that its entries have unit mean square. The
    decision and the factor come from the data's values alone, so a dense
    array and its sparse copy are treated alike; data of ordinary scale
    (images in [0, 1], standardised features) is used as given.
    """
    power = comm.mean(mean_square(X), X.shape[0] * X.shape[1])
    if not 0 < power < _LOW_POWER:
        return 1.0
    # Rounded to float32, the precision the rows are multiplied in, so that
    # the order of the power's sum (dense chunks, sparse values) never shows.
    return float(np.float32(1.0 / np.sqrt(power)))


@dataclass(frozen=True)
class FitSetup:
    """What every fit needs besides the data, drawn in a fixed order.

    ``init_generator`` (CPU) seeds weight initialisation and ``generator``
    (on ``device``) everything random during training; ``rng`` is left for
    the estimator's own draws (k-means seeds). Torch's and numpy's global
    random states are never used. ``hooks`` collects the history and calls
    the callbacks; ``low_power`` says the input was rescaled for its tiny
    entries (see ``_input_scale``); ``candidates`` are the numbers of
    clusters the fit may use, resolved once from ``n_clusters``.
    """

    device: torch.device
    rng: np.random.RandomState
    init_generator: torch.Generator
    generator: torch.Generator
    comm: Comm | LocalComm
    hooks: Hooks
    candidates: tuple
    low_power: bool = False


# ---------------------------------------------------------------------------
# Base estimator


class _BaseDeepClusterer(
    ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator
):
    """Shared plumbing of DEC, IDEC and IIC; not a public class.

    Subclasses set ``_parameter_constraints`` (merging this class's), define
    ``_network(n_features, setup)`` (the freshly built network of a fit),
    ``_fit(X, network, setup)`` (which trains it, sets the fitted
    attributes, ``module_`` among them, and returns ``self``),
    ``_log_proba(X)`` and ``_embed(X)`` (the guts of inference on a
    validated numpy ``X``), ``_n_features_out`` and the persistence
    protocol of :mod:`skdec._persist` (``_saved_arrays``, ``_saved_values``,
    ``_module_config`` and ``_build_module``).
    """

    _parameter_constraints: dict = {
        "callbacks": [list, None],
        "distributed": ["boolean", StrOptions({"auto"})],
        "device": [str],
        "random_state": ["random_state"],
    }

    # Fitted values every estimator saves (skdec._persist); subclasses add
    # their own. Private ones (leading underscore) may be absent from files
    # written by earlier versions.
    _saved_values = ("n_iter_", "history_", "_max_abs_input_", "_input_scale_")

    # -- fitting ------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the network on ``X`` and cluster it.

        DEC and IDEC pretrain the autoencoder, place the centroids and run
        the clustering stage; IIC trains its heads and chooses one.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        # ``validate_data`` sets ``n_features_in_`` before training starts, so
        # an interrupted (Ctrl-C) or failed fit would otherwise leave the
        # estimator half-fitted: restore it exactly as it was.
        previous_state = self.__dict__.copy()
        try:
            comm = current_comm(self.distributed)
            X, candidates = self._validate_fit_data(X, comm)
            hooks = Hooks(self, self.callbacks, comm)
            scale = _input_scale(X, comm)
            hooks.call("on_fit_begin", X, input_scale=scale)
            setup = self._fit_setup(comm, hooks, candidates, low_power=scale != 1.0)
            # Built, and so checked, before the data moves to the device.
            network = self._network(X.shape[1], setup)
            X_train = to_training_tensor(X, setup.device, scale=scale)
            self._fit(X_train, network, setup)
            check_finite_weights(self.module_, "training")
            self._input_scale_ = scale
            self._max_abs_input_ = comm.max(max_abs(X))
            self.labels_ = self._log_proba(X).argmax(axis=1)
            self._warn_if_collapsed(comm)
            hooks.call("on_fit_end")
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(previous_state)
            raise
        return self

    def _validate_fit_data(self, X, comm):
        """Validated ``X`` and the fit's candidate numbers of clusters;
        data-parallel, an error on any rank fails them all.

        Every rank validates its own rows; the ranks then agree, so a rank
        with bad input (NaN, another width) makes every rank raise the same
        error before training, instead of leaving the others waiting.
        """
        error = None
        try:
            X = self._validate(X, reset=True)
        except (ValueError, TypeError) as exc:
            error = exc
        comm.raise_if_any_failed(error)
        widths = comm.gather(X.shape[1])
        if len(set(widths)) > 1:
            raise ValueError(
                "Every rank must pass rows of the same width; got "
                f"n_features={widths} on ranks 0 to {len(widths) - 1}."
            )
        candidates = self._check_fit_data(X, int(comm.sum(X.shape[0])))
        return X, candidates

    def _check_fit_data(self, X, n_samples):
        """Data-dependent checks of parameters, before any work starts.

        ``n_samples`` counts the rows of every rank in data-parallel
        training. Returns the numbers of clusters the fit may use: here the
        int ``n_clusters``.
        """
        n_clusters = self.n_clusters
        if isinstance(n_clusters, bool):
            raise TypeError(f"n_clusters must be an int, got {n_clusters!r}.")
        if n_samples < n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={n_clusters}."
            )
        if n_samples < 2:
            raise ValueError(f"n_samples={n_samples} should be >= 2.")
        return (int(n_clusters),)

    def _changed_params(self):
        """Names of the parameters set away from their defaults, the
        ``module__`` ones included (they have none here)."""
        defaults = {
            name: parameter.default
            for name, parameter in inspect.signature(type(self)).parameters.items()
        }
        changed = set()
        for name, value in self.get_params(deep=False).items():
            default = defaults.get(name, inspect.Parameter.empty)
            if not _same_value(value, default):
                changed.add(name)
        return changed

    def _warn_unused(self, unused):
        """Warn, once per reason, about parameters a setting leaves unused.

        ``unused`` holds ``(names, why)`` pairs. Warned rather than refused:
        a grid search can set these on purpose, next to the setting that
        ignores them (an ablation with ``max_iter=0``, say).
        """
        for names, why in unused:
            if names:
                warnings.warn(f"{', '.join(names)} not used: {why}.", UserWarning)

    def _fit_setup(self, comm, hooks, candidates, *, low_power=False):
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        # Drawn in this order so that a given random_state keeps its results.
        init_generator = torch.Generator().manual_seed(_seed(rng))
        generator = torch.Generator(device=device).manual_seed(_seed(rng))
        return FitSetup(
            device, rng, init_generator, generator, comm, hooks, candidates, low_power
        )

    def _warn_if_collapsed(self, comm):
        n_asked = self._n_clusters_fitted()
        counts = comm.sum(np.bincount(self.labels_, minlength=n_asked))
        n_found = int(np.count_nonzero(counts))
        if n_found < n_asked and comm.is_main:
            warnings.warn(
                f"{type(self).__name__} collapsed: only {n_found} of the "
                f"{n_asked} clusters hold training samples. The data may hold "
                "fewer clusters, or be badly scaled (scale X, e.g. with "
                "MinMaxScaler); a smaller n_clusters or another random_state "
                "may help.",
                ConvergenceWarning,
            )

    def _n_clusters_fitted(self):
        """Number of clusters the fitted model can predict."""
        return int(getattr(self, "n_clusters_", self.n_clusters))

    # -- inference ----------------------------------------------------------

    def _validate(self, X, *, reset):
        """Validated ``X``: a float array, or a streamed input checked in chunks.

        Memory maps, sparse matrices and array-likes such as h5py datasets
        are never copied whole (see :mod:`skdec._data`).
        """
        if is_streamed(X):
            validate_data(self, X, skip_check_array=True, reset=reset)
            return validate_streamed(X)
        try:
            return validate_data(self, X, dtype=[np.float32, np.float64], reset=reset)
        except (ValueError, TypeError) as exc:
            # Name the bad column and the fix; scikit-learn's advice on NaN
            # speaks of supervised learning.
            clearer = clearer_input_error(X, exc)
            if clearer is None:
                raise
            raise clearer from None

    def _validate_for_inference(self, X):
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        bound = getattr(self, "_max_abs_input_", None)
        if bound is not None:
            largest = max_abs(X)
            if largest > _MAX_INPUT_GROWTH * max(bound, 1.0):
                raise ValueError(
                    f"X holds values of magnitude {largest:.3g}, far outside the "
                    f"range seen during fit (largest magnitude {bound:.3g}). "
                    "Scale X as the training data was scaled."
                )
        return X

    def _map_numpy(self, fn, X, out_dim):
        """``fn`` applied to ``X`` in batches (scaled as in fit), checked finite."""
        scale = getattr(self, "_input_scale_", 1.0)
        scaled = fn if scale == 1.0 else (lambda x: fn(x * scale))
        values = map_batches_numpy(
            scaled, X, device=_module_device(self.module_), out_dim=out_dim
        )
        if not np.isfinite(values).all():
            raise ValueError(
                "The network produced non-finite values: X holds values far "
                "outside the range seen during fit (largest magnitude "
                f"{max_abs(X):.3g}). Scale X as the training data was scaled."
            )
        return values

    def _rows(self, X):
        """Validated ``X`` as float32 rows on the host, scaled as in fit."""
        scale = getattr(self, "_input_scale_", 1.0)
        if is_streamed(X):
            return RowSource(X, scale=scale)
        return torch.tensor(X, dtype=torch.float32) * scale

    def predict(self, X):
        """Assign each sample to its most probable cluster.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to cluster.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster index of each sample.
        """
        X = self._validate_for_inference(X)
        return self._log_proba(X).argmax(axis=1)

    def predict_proba(self, X):
        """Soft assignment of each sample to each cluster.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to cluster.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Probability of each cluster; each row sums to 1.
        """
        X = self._validate_for_inference(X)
        return self._proba(X)

    def _proba(self, X):
        proba = np.exp(self._log_proba(X))
        proba /= proba.sum(axis=1, keepdims=True)
        return proba.astype(_output_dtype(X), copy=False)

    def transform(self, X):
        """Map ``X`` to the space in which the clusters are formed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to transform.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out)
            The transformed data.
        """
        X = self._validate_for_inference(X)
        return self._embed(X).astype(_output_dtype(X), copy=False)

    def score(self, X, y=None):
        """Silhouette of the clusters where they are formed (higher is better).

        The mean silhouette coefficient of ``predict(X)`` in the space of
        ``transform(X)`` (the embedding for DEC and IDEC, the cluster
        probabilities for IIC), on a subsample of at most 5000 rows drawn
        with a fixed seed. It needs no labels, lies in ``[-1, 1]``, does not
        depend on the scale of the embedding, and is comparable across
        ``n_clusters`` and across fits, so ``GridSearchCV`` with its default
        scoring can choose ``n_clusters``. A fit that put every sample in one
        cluster scores -1, the worst value.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            Mean silhouette coefficient.
        """
        X = self._validate_for_inference(X)
        return capped_silhouette(*self._embed_and_labels(X))

    def _embed_and_labels(self, X):
        """``(transform(X), predict(X))`` without validation; subclasses that
        can compute both in one pass over ``X`` override it."""
        return self._embed(X), self._log_proba(X).argmax(axis=1)

    # -- the module__ parameters (skorch's convention) -------------------------

    def _set_module_params(self, kwargs):
        """Keep the ``module__`` keyword arguments of ``__init__`` as parameters."""
        for name, value in kwargs.items():
            if not name.startswith("module__") or name == "module__":
                raise TypeError(
                    f"{type(self).__name__}() got an unexpected keyword "
                    f"argument {name!r}; only module__<name> parameters are "
                    "passed on, to the module."
                )
            setattr(self, name, value)

    def get_params(self, deep=True):
        """Parameters of this estimator, the ``module__`` ones included.

        Parameters
        ----------
        deep : bool, default=True
            Ignored for the ``module__`` parameters; as in scikit-learn
            otherwise.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        params.update(
            (name, value)
            for name, value in vars(self).items()
            if name.startswith("module__")
        )
        return params

    def set_params(self, **params):
        """Set parameters, the ``module__<name>`` ones (for the module) included.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator
            The estimator.
        """
        for name in [name for name in params if name.startswith("module__")]:
            setattr(self, name, params.pop(name))
        return super().set_params(**params)

    # -- persistence and pickling ---------------------------------------------

    def save(self, path):
        """Save the fitted estimator to one file that loading cannot execute.

        The file is a NumPy ``.npz`` archive holding the weights and the
        fitted arrays, plus the parameters and history as JSON; it contains
        no pickle. It is written to a temporary file in the same folder and
        then renamed, so an interrupted save never replaces a good model with
        a broken one. Parameters that are code (a callable) cannot be saved
        this way: pickle such an estimator instead.

        Parameters
        ----------
        path : str or path-like
            Destination file.

        Returns
        -------
        self : object
            The estimator, unchanged.
        """
        from ._persist import save_estimator

        check_is_fitted(self)
        save_estimator(self, path)
        return self

    @classmethod
    def load(cls, path, *, module=None):
        """Load an estimator written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
            File written by :meth:`save` from an estimator of this class.

        module : torch.nn.Module class or instance, default=None
            Needed for a model fitted with a user's network (``module=...``)
            and only then: that network's class, built with the saved
            ``module__`` parameters, or an instance of the same
            architecture. The file holds the weights, never the code.

        Returns
        -------
        estimator : object
            The fitted estimator, on the CPU; it predicts exactly what the
            saved one predicted.
        """
        from ._persist import load_estimator

        return load_estimator(path, cls, module=module)

    def __getstate__(self):
        # Pickle the module from the CPU so GPU-trained models load anywhere.
        # A copy: on Python >= 3.11 the base class returns __dict__ itself.
        state = dict(super().__getstate__())
        if "module_" in state and _module_device(state["module_"]).type != "cpu":
            state["module_"] = copy.deepcopy(state["module_"]).cpu()
        return state

    # -- scikit-learn plumbing ------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags
