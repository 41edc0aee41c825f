"""Callbacks: how code outside the training loop looks in or steps in.

Every skdec estimator takes ``callbacks``, a list of objects. The training
loops call the methods below on each callback that defines them (all are
optional, so any object with one or more of these methods is a callback;
subclassing :class:`Callback` is a convenience). This is skorch's design,
kept small: the history records are the events.

A fit checks its callbacks before any training and raises (naming the
callback) for one that would never be called: an item that is not an object
with one or more of these methods (None, a string, a function, a class
instead of its instance) and an object with an ``on_*`` attribute that is
not one of them, such as a misspelt ``on_recrod``. Names starting with
``on_`` are kept for these methods.

Returning True from :meth:`Callback.on_record` ends the current stage, from
:meth:`Callback.on_stage_begin` skips the stage; any other return value
(None included) lets training go on.

:class:`ProgressBar` shows progress bars of training.
"""

__all__ = ["Callback", "ProgressBar"]


class Callback:
    """Base class of skdec callbacks; every method is optional.

    Callbacks are estimator parameters like any other: :func:`sklearn.clone`
    deep-copies them, as it does every parameter that is not an estimator,
    so keep a reference to the object you pass to read what it recorded
    after ``fit`` of that same estimator. Data-parallel (under
    ``torchrun``), callbacks run on every rank, and a stage ends when any
    rank's callback asks.

    Examples
    --------
    Record the fraction of changed labels at every refresh of the
    clustering stage and stop at the first refresh:

    >>> from sklearn.datasets import make_blobs
    >>> from skdec import DECClusterer
    >>> from skdec.callbacks import Callback
    >>> class FirstRefresh(Callback):
    ...     def __init__(self):
    ...         self.labels = []
    ...     def on_record(self, estimator, record, labels=None, **state):
    ...         if record["stage"] == "clustering":
    ...             self.labels.append(labels)
    ...             return True  # end the clustering stage here
    >>> X, _ = make_blobs(n_samples=200, centers=3, n_features=5, random_state=0)
    >>> first = FirstRefresh()
    >>> dec = DECClusterer(3, module__hidden_dims=(16,), module__latent_dim=2,
    ...                    pretrain_epochs=5, callbacks=[first],
    ...                    random_state=0).fit(X)
    >>> dec.n_iter_, len(first.labels)
    (0, 1)
    >>> bool((first.labels[0] == dec.labels_).all())
    True
    """

    def on_fit_begin(self, estimator, X, **state):
        """Called once ``X`` is validated, before any training.

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.

        X : array-like of shape (n_samples, n_features)
            The validated training data (this rank's rows), as given: not
            multiplied by ``input_scale``.

        **state
            ``input_scale`` (float): the factor the fit multiplies every row
            of ``X`` by before training, and inference does too; 1.0 for
            data of ordinary scale, larger for data whose entries are tiny on
            average (TF-IDF text), which is scaled to unit mean square. A
            callback that encodes rows itself multiplies them by it first.
        """

    def on_stage_begin(self, estimator, stage, **state):
        """Called before a training stage; returning True skips it.

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.

        stage : {"pretrain", "clustering", "iic"}
            The stage about to run.

        **state
            ``module`` (the torch module the stage trains), ``generator``
            (the training ``torch.Generator``) and ``history`` (the fit's
            list of records so far). A callback that skips pretraining can
            load weights into ``module``, restore the generator's state and
            extend ``history`` with the records it stands for (a cache).
        """

    def on_record(self, estimator, record, **state):
        """Called after each record is appended to the fit's history.

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.

        record : dict
            The record, as it will appear in ``history_``: a pretraining
            epoch (``record["stage"]`` starts with ``"pretrain"``), the
            start (``"init"``), a refresh of the clustering stage
            (``"clustering"``), an ``n_clusters`` candidate
            (``"n_clusters_search"``), an IIC pass (``"overcluster"`` or
            ``"main"``) or IIC's head selection (``"head_selection"``).

        **state
            Pretraining and IIC records carry ``module``. The start carries
            ``embedding`` (the rescaled pretrained embedding of the training
            rows), ``centers`` (its centroids) and ``posterior`` (the
            manifold start's partition, or None). Clustering refreshes carry
            ``labels`` (the current cluster of every training row) and
            ``module``. All arrays are numpy arrays.

        Returns
        -------
        stop : bool or None
            True ends the current stage: pretraining moves on to the start,
            the clustering stage ends as convergence would (with this
            refresh's labels), IIC moves on to its head selection.
        """

    def on_stage_end(self, estimator, stage, **state):
        """Called after a training stage, with the state of ``on_stage_begin``."""

    def on_fit_end(self, estimator):
        """Called when the fitted attributes are set, before ``fit`` returns."""


class ProgressBar(Callback):
    """Progress bars of training: one per stage, drawn with tqdm on stderr.

    Pretraining counts epochs (each layer-wise pair and the fine-tuning
    have their own bar), the clustering stage counts steps up to
    ``max_iter`` (with the fraction of labels that changed at the last
    refresh), IIC counts epochs. The bars advance at each record of
    ``history_`` and are removed when their stage ends. Under ``torchrun``
    only rank 0 draws them.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdec import DECClusterer
    >>> from skdec.callbacks import ProgressBar
    >>> X, _ = make_blobs(n_samples=200, centers=3, n_features=5, random_state=0)
    >>> dec = DECClusterer(3, module__hidden_dims=(16,), module__latent_dim=2,
    ...                    pretrain_epochs=5, callbacks=[ProgressBar()],
    ...                    random_state=0).fit(X)
    """

    def __init__(self):
        self._bar = None
        self._kind = None

    @staticmethod
    def _drawn():
        import torch.distributed as dist

        return not (dist.is_available() and dist.is_initialized()) or (
            dist.get_rank() == 0
        )

    @staticmethod
    def _where(estimator, record):
        """``(kind, position, total, postfix)`` of a record, or None."""
        stage = record["stage"]
        if stage.startswith("pretrain"):
            from ._train import PAPER_PRETRAINING

            epochs = getattr(estimator, "pretrain_epochs", "auto")
            total = PAPER_PRETRAINING[1] if epochs == "auto" else epochs
            return stage, record["epoch"] + 1, total, {"loss": f"{record['loss']:.4g}"}
        if stage == "clustering":
            delta = record["delta_label"]
            postfix = {} if delta is None else {"delta_label": f"{delta:.4f}"}
            return stage, record["iteration"], estimator.max_iter, postfix
        if stage in ("overcluster", "main"):
            total = getattr(estimator, "max_epochs", None)
            return "IIC", record["epoch"] + 1, total, {"loss": f"{record['loss']:.4g}"}
        return None

    def _close(self):
        if self._bar is not None:
            self._bar.close()
        self._bar = self._kind = None

    def on_record(self, estimator, record, **state):
        """Advance the bar of the record's stage (a new bar for a new stage)."""
        where = self._where(estimator, record) if self._drawn() else None
        if where is None:
            return
        kind, position, total, postfix = where
        if self._bar is None or kind != self._kind or position < self._bar.n:
            from tqdm.auto import tqdm

            self._close()
            self._bar = tqdm(desc=kind, total=total, leave=False)
            self._kind = kind
        self._bar.update(position - self._bar.n)
        if postfix:
            self._bar.set_postfix(postfix)

    def on_stage_end(self, estimator, stage, **state):
        """Remove the stage's bar."""
        self._close()

    def on_fit_end(self, estimator):
        """Remove any bar left (a fit that loaded its pretraining, say)."""
        self._close()

    def __getstate__(self):
        # A bar is drawing state, not a setting: clone and pickle leave it.
        return {}

    def __setstate__(self, state):
        self.__init__()
