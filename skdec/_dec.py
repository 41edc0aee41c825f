"""The DEC estimator: its parameters and their documentation.

Everything it does is :class:`skdec._dec_base._BaseDEC`'s, shared with IDEC.
"""

from numbers import Integral, Real

from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._base import _BaseDeepClusterer
from ._dec_base import _BaseDEC
from ._select_k import SEARCHES

# ---------------------------------------------------------------------------
# Estimator


class DECClusterer(_BaseDEC):
    """Deep Embedded Clustering (DEC).

    DEC learns a non-linear embedding and a clustering jointly (Xie et al.,
    2016). A stacked autoencoder is pretrained to reconstruct the data; k-means
    on its embedding places the centroids; then the encoder and the centroids
    are trained together to minimise ``KL(P || Q)``, where ``Q`` is a Student's
    t soft assignment of the embedded points to the centroids and ``P`` a
    sharpened version of ``Q`` that is refreshed every ``update_interval``
    steps. Training stops when fewer than a fraction ``tol`` of the labels
    change between two refreshes.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    n_clusters : int, "auto" or array-like of int, default=8
        Number of clusters, or the candidates to choose it from: an
        array-like such as ``range(2, 11)``, or "auto" for every ``k`` from
        2 to 20. A search pretrains one autoencoder and chooses ``k`` on it
        as ``n_clusters_search`` says; ``n_clusters_rule_`` records the
        rule that decided (:ref:`choosing_k`).

    n_clusters_search : {"density", "silhouette", "davies_bouldin", \
"calinski_harabasz", "stability", "prediction_strength", \
"generalisability", "clustering"}, default="density"
        How a search over ``n_clusters`` chooses ``k``; an int
        ``n_clusters`` refuses any other value than the default. "clustering"
        runs the clustering stage for every candidate and keeps the best
        :meth:`score`; every other value names a criterion that scores a
        k-means fit per candidate on the pretrained embedding, in 5 restarts
        on random 80% subsamples that vote. "density" takes HDBSCAN's count
        of density clusters where they hold most rows, else the silhouette.
        See :ref:`design-choosing-k-criterion` and
        :ref:`design-choosing-k-search`.

    module : torch.nn.Module class or instance, default=None
        The network: any ``torch.nn.Module`` with ``encode(x)`` returning the
        embedding and, where the input is reconstructed (pretraining, IDEC),
        ``decode(z)``. None is :class:`skdec.networks.StackedAutoencoder`,
        the paper's ``d-500-500-2000-10`` autoencoder;
        :class:`skdec.networks.ConvAutoencoder` is DCEC's for images. A
        class is built in every fit as ``module(n_features=...,
        **module__params)``, its ``module__<name>`` parameters being
        estimator parameters (``module__hidden_dims``,
        ``module__latent_dim``, ...) and its initial weights following
        ``random_state``; an instance is copied, never changed, and takes no
        ``module__`` parameters. See :ref:`user_module`.

    augment : tuple of int or None, default=None
        DEC-DA's data augmentation (Guo et al., 2018) of rows that are
        images of this shape, ``(H, W)`` or ``(C, H, W)`` flattened
        row-major: pretraining reconstructs randomly shifted (up to 10% of
        the size) and rotated (up to 10 degrees) copies, and the clustering
        stage takes its target P from the clean images and Q from such
        copies. ``transform`` and ``predict`` always see the rows as given.
        None trains on the rows as given.

    alpha : float, default=1.0
        Degrees of freedom of the Student's t kernel of the soft assignment.
        The paper uses 1.

    pretrain_epochs : int or "auto", default="auto"
        Epochs of each pretraining stage; 0 skips pretraining (to cluster a
        pretrained ``module`` as it is). "auto" is DEC-keras' 200, ended once
        the reconstruction loss levels off, which the history marks with
        ``"plateau": True`` (:ref:`design-pretraining-plateau`).

    pretrain_batch_size : int or "auto", default="auto"
        Mini-batch size of pretraining. "auto" is the paper's 256.

    pretrain_optimizer : {"auto", "sgd", "adam"}, default="auto"
        Optimiser of pretraining: SGD with momentum 0.9 and its gradient
        norm clipped at 1, or Adam. "auto" is Adam for data whose entries
        are tiny on average (mean square below 1e-3, such as TF-IDF text)
        and SGD otherwise (:ref:`design-pretraining-sgd`,
        :ref:`design-text`).

    pretrain_learning_rate : float or "auto", default="auto"
        Learning rate of pretraining. "auto" is 1e-3 for Adam and, for SGD,
        ``min(1.0, 0.25 / mean(X ** 2))`` (:ref:`design-pretrain-rate`).

    max_iter : int, default=2000
        Maximum number of optimisation steps (mini-batches) of the clustering
        stage. ``max_iter=0`` stops after the start, which gives
        "autoencoder + k-means".

    update_interval : int, default=30
        Steps between two refreshes of the target distribution ``P`` on the
        whole data set.

    tol : float, default=1e-3
        Stop when the fraction of labels that changed between two refreshes
        is below ``tol`` (the paper's 0.1%).

    batch_size : int, default=256
        Mini-batch size of the clustering stage (the paper's 256).

    learning_rate : float, default=0.01
        Learning rate of the clustering stage (SGD with momentum 0.9, as in
        the paper).

    embedding_scale : float or None, default=5.0
        After pretraining, the embedding is rescaled so that its points lie
        at a root mean squared distance ``embedding_scale`` from their mean,
        since the Student's t kernel is not scale-invariant; the decoder
        absorbs the factor. None keeps the learned scale
        (:ref:`design-embedding-scale`).

    init : {"kmeans", "manifold", "spectral"} or array-like of shape \
(n_clusters, latent_dim), default="kmeans"
        Where the clustering stage starts on the pretrained embedding:
        "kmeans" is the paper's k-means with ``n_init`` restarts;
        "manifold" is N2D's UMAP and Gaussian mixture (needs
        ``umap-learn``); "spectral" is spectral clustering of the
        embedding's 15-nearest-neighbour graph; an array gives the
        centroids (after the ``embedding_scale`` rescaling). The graph and
        manifold starts' partitions are learned first (:ref:`design-starts`).
        A search over ``n_clusters`` starts from k-means.

    n_init : int, default=20
        Number of k-means restarts on the embedding (the paper's 20).

    distributed : bool or "auto", default="auto"
        "auto" trains data-parallel when the script has initialised a
        default ``torch.distributed`` process group with more than one
        process (for example under ``torchrun``): each rank passes its own
        rows, and every rank ends with the same model (``labels_`` holds
        the rank's own rows). False always trains on this process's rows
        alone. See the :ref:`Scaling <scaling>` page.

    device : str, default="auto"
        Torch device: "auto" uses CUDA when available and the CPU otherwise;
        "cpu", "cuda" or "cuda:N" pick one.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, corruption and k-means. The
        same value gives the same labels on the same machine. Torch's and
        numpy's global random states are neither used nor changed.

    memory : str, joblib.Memory or None, default=None
        Folder that keeps the pretrained autoencoder: a path, or a
        ``joblib.Memory`` (its ``location``); None keeps nothing. Fits that
        differ only in the clustering stage's parameters (``n_clusters``,
        ``init``, ``max_iter``, ...) then pretrain once per training set
        and give the results they would without it. Nothing is kept or read
        with ``random_state=None``. See :ref:`pretraining_memory`.

    callbacks : list or None, default=None
        Objects whose methods the training loops call after each record of
        ``history_`` (and when fit or a stage begins or ends), to watch
        training or end a stage early: see :class:`skdec.callbacks.Callback`.
        :class:`skdec.callbacks.ProgressBar` shows progress bars. None calls
        nothing.

    **module__params
        Parameters of the ``module`` class, as ``module__<name>``.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample; equal to ``predict(X)``.

    cluster_centers_ : ndarray of shape (n_clusters, latent_dim)
        Centroids in the embedding space.

    n_clusters_ : int
        Number of clusters used: ``n_clusters``, or the one chosen.

    n_clusters_rule_ : str
        The rule that decided ``n_clusters_``: "n_clusters" when it was given
        as an int; "density" when HDBSCAN's count decided; otherwise the
        criterion whose pick won the vote ("silhouette" also where
        "density" found no density clusters holding most rows) or
        "clustering". :func:`skdec.plotting.plot_n_clusters` names it.

    n_clusters_candidates_ : ndarray of shape (n_candidates,)
        Numbers of clusters tried (only ``n_clusters`` when it is an int).

    n_clusters_scores_ : ndarray of shape (n_candidates,)
        The search's score of each candidate, averaged over the restarts, to
        plot against ``n_clusters_candidates_``
        (:func:`skdec.plotting.plot_n_clusters`); NaN when ``n_clusters`` is
        an int. With ``n_clusters_search="clustering"``, the silhouette of
        each candidate's clustering; with "density", the silhouette of
        k-means.

    n_clusters_restart_scores_ : ndarray of shape (n_restarts, n_candidates)
        The score of every candidate in every restart of the search (one
        row with ``n_clusters_search="clustering"`` or an int
        ``n_clusters``): its spread says how sure the choice is.

    n_clusters_votes_ : ndarray of shape (n_candidates,)
        How many restarts picked each candidate; ``n_clusters_`` has the
        most.

    n_iter_ : int
        Optimisation steps run in the clustering stage.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    history_ : list of dict
        One record per pretraining epoch (``stage="pretrain_..."``,
        ``epoch``), one for the k-means start (``stage="init"``, ``loss`` the
        mean squared distance to the nearest centroid, ``n_clusters``) and
        one per target refresh of the clustering stage
        (``stage="clustering"``, ``iteration``, ``kl``, ``delta_label``).
        Every record has ``stage``, ``loss`` (that stage's objective: the
        reconstruction MSE, the k-means objective, ``KL(P || Q)``) and
        ``seconds`` (wall time of the epoch, the start or the refresh
        interval), so ``pandas.DataFrame(history_)`` is one table.

    module_ : torch.nn.Module
        The trained network (autoencoder and centroids). Provided for
        inspection; the public methods take and return numpy arrays.

    See Also
    --------
    sklearn.cluster.KMeans : Clustering in the input space.

    Notes
    -----
    If ``fit`` is interrupted (``KeyboardInterrupt``) or fails, the estimator
    is left exactly as it was before the call: unfitted, or holding the
    previous fit.

    Inputs are cast to float32 for the network; outputs of ``transform`` and
    ``predict_proba`` have the dtype of the input. Scale features to a
    comparable range (for example with ``MinMaxScaler``) before fitting.

    References
    ----------
    J. Xie, R. Girshick and A. Farhadi. "Unsupervised Deep Embedding for
    Clustering Analysis". ICML 2016.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdec import DECClusterer
    >>> X, _ = make_blobs(n_samples=200, centers=3, n_features=5, random_state=0)
    >>> dec = DECClusterer(n_clusters=3, module__hidden_dims=(32,),
    ...                    module__latent_dim=2, pretrain_epochs=20,
    ...                    max_iter=100, random_state=0)
    >>> labels = dec.fit_predict(X)
    >>> labels.shape
    (200,)
    >>> dec.transform(X).shape
    (200, 2)
    >>> bool((dec.predict(X) == labels).all())
    True
    """

    _parameter_constraints: dict = {
        "n_clusters": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
            "array-like",
        ],
        "n_clusters_search": [StrOptions(set(SEARCHES))],
        # Checked in fit, with the data: a class or an instance of nn.Module.
        "module": "no_validation",
        "augment": ["array-like", None],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "pretrain_epochs": [
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "pretrain_batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "pretrain_optimizer": [StrOptions({"auto", "sgd", "adam"})],
        "pretrain_learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "update_interval": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, 1, closed="both")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "embedding_scale": [Interval(Real, 0, None, closed="neither"), None],
        "init": [StrOptions({"kmeans", "manifold", "spectral"}), "array-like"],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "memory": [str, HasMethods("cache"), None],
        **_BaseDeepClusterer._parameter_constraints,
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        n_clusters_search="density",
        module=None,
        augment=None,
        alpha=1.0,
        pretrain_epochs="auto",
        pretrain_batch_size="auto",
        pretrain_optimizer="auto",
        pretrain_learning_rate="auto",
        max_iter=2000,
        update_interval=30,
        tol=1e-3,
        batch_size=256,
        learning_rate=0.01,
        embedding_scale=5.0,
        init="kmeans",
        n_init=20,
        distributed="auto",
        device="auto",
        random_state=None,
        memory=None,
        callbacks=None,
        **module__params,
    ):
        self.n_clusters = n_clusters
        self.n_clusters_search = n_clusters_search
        self.module = module
        self.augment = augment
        self.alpha = alpha
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_batch_size = pretrain_batch_size
        self.pretrain_optimizer = pretrain_optimizer
        self.pretrain_learning_rate = pretrain_learning_rate
        self.max_iter = max_iter
        self.update_interval = update_interval
        self.tol = tol
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.embedding_scale = embedding_scale
        self.init = init
        self.n_init = n_init
        self.distributed = distributed
        self.device = device
        self.random_state = random_state
        self.memory = memory
        self.callbacks = callbacks
        self._set_module_params(module__params)
