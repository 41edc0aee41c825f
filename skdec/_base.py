"""What every skdec estimator built on a torch ``module_`` shares.

Fitting that never leaves an estimator half-fitted, validation before
inference, pickle-free persistence and pickling from the CPU.
"""

import copy

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data


def _seed(rng):
    """A torch/sklearn seed drawn from a numpy ``RandomState``."""
    return int(rng.randint(np.iinfo(np.int32).max))


def _module_device(module):
    return next(module.parameters()).device


class TorchClusterMixin:
    """Shared plumbing; goes before ``BaseEstimator`` in the bases.

    Subclasses implement ``_fit(X)`` and the persistence protocol of
    :mod:`skdec._persist` (``_saved_arrays``, ``_saved_values``,
    ``_module_config`` and ``_build_module``).
    """

    def _fit_or_restore(self, X):
        """Run ``_fit``; on any exception restore the estimator as it was.

        ``validate_data`` sets ``n_features_in_`` before training starts, so
        an interrupted (Ctrl-C) or failed fit would otherwise leave the
        estimator half-fitted.
        """
        previous_state = self.__dict__.copy()
        try:
            return self._fit(X)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(previous_state)
            raise

    def _validate_for_inference(self, X):
        check_is_fitted(self)
        return validate_data(self, X, dtype=[np.float32, np.float64], reset=False)

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
    def load(cls, path):
        """Load an estimator written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
            File written by :meth:`save` from an estimator of this class.

        Returns
        -------
        estimator : object
            The fitted estimator, on the CPU; it predicts exactly what the
            saved one predicted.
        """
        from ._persist import load_estimator

        return load_estimator(path, cls)

    def __getstate__(self):
        # Pickle the module from the CPU so GPU-trained models load anywhere.
        # A copy: on Python >= 3.11 the base class returns __dict__ itself.
        state = dict(super().__getstate__())
        if "module_" in state and _module_device(state["module_"]).type != "cpu":
            state["module_"] = copy.deepcopy(state["module_"]).cpu()
        return state
