"""The DEC estimator: its parameters and their documentation.

Everything it does is :class:`skdec._dec_base._BaseDEC`'s, shared with IDEC.
"""

from numbers import Integral, Real

from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._base import _BaseDeepClusterer
from ._dec_base import _BaseDEC
from ._select_k import CRITERIA

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
    n_clusters : int or "auto", default=8
        Number of clusters. With "auto", every value in ``n_clusters_range``
        is tried on the one pretrained autoencoder, as
        ``n_clusters_search`` says, and the best by a label-free criterion
        is kept.

    n_clusters_range : tuple of int, default=(2, 20)
        Smallest and largest number of clusters tried when
        ``n_clusters="auto"``; ignored otherwise.

    n_clusters_criterion : {"density", "davies_bouldin", "silhouette", \
"calinski_harabasz", "stability", "prediction_strength", \
"generalisability"}, default="density"
        How ``n_clusters="auto"`` scores the candidates; ignored otherwise.
        The criteria are described in the :ref:`User Guide <choosing_k>`;
        the measurements behind the default are in the
        :ref:`design notes <design-choosing-k-criterion>`.

    n_clusters_search : {"kmeans", "clustering"}, default="kmeans"
        How ``n_clusters="auto"`` tries the candidates; ignored otherwise.
        "kmeans" scores a k-means fit per candidate on the pretrained
        embedding with ``n_clusters_criterion``, in 5 restarts on random 80%
        subsamples that vote (the most voted k wins, the smaller on ties):
        it costs little more than one fit. "clustering" runs DEC's
        clustering stage for every candidate, each from a copy of the
        pretrained autoencoder, and keeps the one whose clustering has the
        best :meth:`score` (the silhouette in its embedding;
        ``n_clusters_criterion`` is not used): one pretraining plus one
        clustering stage per candidate. Their costs and
        accuracies are in the :ref:`design notes <design-choosing-k-search>`.

    hidden_dims : tuple of int, default=(500, 500, 2000)
        Widths of the encoder's hidden layers; the decoder mirrors them. The
        default is the paper's ``d-500-500-2000-10`` network. Not used by
        the convolutional autoencoder (``image_shape`` with
        ``conv_channels``).

    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(C, H, W)``: the rows of ``X`` are images flattened
        row-major in that order. It makes the autoencoder convolutional
        (see ``conv_channels``) and allows ``augment``. None treats rows as
        plain feature vectors.

    conv_channels : tuple of int or None, default=(32, 64, 128)
        Used only with ``image_shape``: DCEC's convolutional autoencoder,
        one stride-2 convolution per width (5x5 kernels, 3x3 for the last)
        with ReLU, then a linear layer to the embedding; the decoder mirrors
        it with transposed convolutions. None keeps the fully connected
        autoencoder of ``hidden_dims`` and uses ``image_shape`` for
        ``augment`` only.

    augment : bool, default=False
        DEC-DA's data augmentation (Guo et al., 2018); needs
        ``image_shape``. Pretraining reconstructs randomly shifted (up to
        10% of the size) and rotated (up to 10 degrees) copies of the
        images, and in the clustering stage the target P comes from the
        clean images while Q, in the loss, comes from such copies.
        ``transform`` and ``predict`` always see the clean images.

    latent_dim : int, default=10
        Dimension of the embedding in which the clusters are formed.

    alpha : float, default=1.0
        Degrees of freedom of the Student's t kernel of the soft assignment.
        The paper uses 1.

    pretrain : {"layerwise", "end_to_end"} or None, default="end_to_end"
        How the autoencoder is pretrained. "end_to_end" trains the deep
        autoencoder directly (DEC-keras). "layerwise" trains each
        encoder/decoder pair as a denoising autoencoder (input and code
        corrupted by dropout with rate ``dropout``), then fine-tunes the whole
        stack end to end without dropout, as in the paper. None skips
        pretraining and clusters the embedding of the randomly initialised
        encoder. End to end is the default for its cost (see the
        :ref:`design notes <design-pretraining-end-to-end>`).

    pretrain_epochs : int or "auto", default="auto"
        Epochs of each pretraining stage (each layer-wise pair and the
        fine-tuning). "auto" is DEC-keras' 200, ended early once the
        reconstruction loss levels off: when the best epoch loss of the last
        1,000 steps is less than 1% below the best before them. The history
        marks the epoch that ended a stage with ``"plateau": True``. See
        the :ref:`design notes <design-pretraining-plateau>`. The paper
        counts 50k iterations per layer on MNIST.

    dropout : float, default=0.2
        Corruption rate of the denoising autoencoders in layer-wise
        pretraining (the paper's 0.2). Unused otherwise.

    max_iter : int, default=2000
        Maximum number of optimisation steps (mini-batches) of the clustering
        stage. ``max_iter=0`` stops after the k-means initialisation, which
        gives "autoencoder + k-means".

    update_interval : int, default=30
        Steps between two refreshes of the target distribution ``P`` on the
        whole data set. DEC-keras uses 140 on MNIST and 30 on smaller sets.

    tol : float, default=1e-3
        Stop when the fraction of labels that changed between two refreshes
        is below ``tol`` (the paper's 0.1%).

    batch_size : int, default=256
        Mini-batch size of the clustering stage (the paper's 256).

    pretrain_batch_size : int or "auto", default="auto"
        Mini-batch size of pretraining. "auto" is the paper's 256.

    learning_rate : float, default=0.01
        Learning rate of the clustering stage (SGD with momentum 0.9, as in
        the paper).

    pretrain_optimizer : {"auto", "sgd", "adam"}, default="auto"
        Optimiser of pretraining: SGD with momentum 0.9 (the paper's and
        DEC-keras' choice; its gradient norm is clipped at 1 so unscaled
        data cannot make it diverge) or Adam, which suits small networks.
        "auto" is Adam for data whose entries are tiny on average (mean
        square below 1e-3, such as TF-IDF text, dense or sparse alike),
        where SGD left the embedding collapsed, and SGD otherwise (see the
        :ref:`design notes <design-text>`).

    pretrain_learning_rate : float or "auto", default="auto"
        Learning rate of pretraining. "auto" is 1e-3 for Adam and, for SGD,
        DEC-keras' 1.0 lowered to ``0.25 / mean(X ** 2)`` when that is
        smaller: 1.0 for images scaled to [0, 1], 0.25 for standardised
        data (the squared error's gradient grows with the data's power). A
        lower rate such as 0.5 gives steadier results across seeds (see
        the :ref:`design notes <design-pretrain-rate>`).

    embedding_scale : float or None, default=5.0
        After pretraining, the embedding is rescaled so that its points lie
        at a root mean squared distance ``embedding_scale`` from their mean;
        the autoencoder's reconstruction is unchanged (the decoder absorbs
        the factor). The Student's t kernel is not scale-invariant, so
        without this the clustering stage behaves differently depending on
        the arbitrary scale the autoencoder happened to learn. None keeps
        the learned scale.

    init : {"kmeans", "manifold", "spectral"} or array-like of shape \
(n_clusters, latent_dim), default="kmeans"
        How the clustering stage's centroids are placed on the pretrained
        embedding. "kmeans" is the paper's k-means with ``n_init``
        restarts. "manifold" is N2D's start: UMAP of the embedding to
        ``n_clusters`` dimensions (20 neighbours, ``min_dist=0``), a
        Gaussian mixture there, and the centroids are the mixture's
        clusters' means in the embedding. The clustering stage then first
        learns the mixture's partition (its posterior probabilities are the
        target of the first 10 refresh intervals), because the centroids'
        Voronoi cells in the embedding are not that partition, and then goes
        on as DEC; on data larger than the k-means sample, or data-parallel,
        it starts from the centroids alone. It needs the optional package
        ``umap-learn``. "spectral" is spectral clustering of the embedding's
        symmetric 15-nearest-neighbour graph (Ng, Jordan and Weiss: k-means
        with ``n_init`` restarts on the top eigenvectors of its normalised
        adjacency); like "manifold", its clusters need not be convex, the
        centroids are their means and the stage first learns the partition.
        An array gives the centroids in the embedding space
        (after the ``embedding_scale`` rescaling). ``n_clusters="auto"``
        always starts from k-means.

    n_init : int, default=20
        Number of k-means restarts on the embedding (the paper's 20).

    distributed : bool or "auto", default="auto"
        "auto" trains data-parallel when the script has initialised a
        default ``torch.distributed`` process group with more than one
        process (for example under ``torchrun``): each rank passes its own
        rows, gradients and whole-data statistics are combined across
        ranks, and every rank ends with the same model (``labels_`` holds
        the rank's own rows). False always trains on this process's rows
        alone, for scripts that hold a process group for other reasons. See
        the :ref:`Scaling <scaling>` page.

    device : str, default="auto"
        Torch device: "auto" uses CUDA when available and the CPU otherwise;
        "cpu", "cuda" or "cuda:N" pick one.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, corruption and k-means. The
        same value gives the same labels on the same machine. Torch's and
        numpy's global random states are neither used nor changed.

    verbose : int, default=0
        0 prints nothing; 1 or more shows progress bars.

    memory : str, joblib.Memory or None, default=None
        Folder that keeps the pretrained autoencoder: a path, or a
        ``joblib.Memory`` (its ``location``); None keeps nothing. Fits that
        differ only in the clustering stage's parameters (``n_clusters``,
        ``init``, ``max_iter``, ...), such as a ``GridSearchCV`` over
        ``n_clusters``, then pretrain once per training set and give the
        results they would without it. The key is the training data, the
        parameters that shape pretraining, the seed and the versions of
        skdec and torch. A fit that loads an entry does not pretrain: its
        callbacks see no pretraining and ``history_`` holds the stored
        records. Nothing is kept or read with ``random_state=None``. See
        :ref:`pretraining_memory`.

    module : torch.nn.Module class or instance, default=None
        Your own network instead of the built-in autoencoder: any
        ``torch.nn.Module`` with ``encode(x)`` returning the embedding and,
        where the input is reconstructed (pretraining, IDEC), ``decode(z)``.
        A class is built in every fit as ``module(n_features=...,
        **module__params)``, its ``module__<name>`` parameters being
        estimator parameters (``get_params``, ``set_params``,
        ``GridSearchCV``) and its initial weights following
        ``random_state``; an instance is copied, never changed, so a
        pretrained encoder with ``pretrain_epochs=0`` is clustered as it is
        (no decoder needed). With ``module``, ``hidden_dims``,
        ``latent_dim`` and ``conv_channels`` are not used and
        ``image_shape`` serves ``augment`` only; ``pretrain="layerwise"`` is
        refused. A module may define ``rescale_embedding(factor)`` to fold
        ``embedding_scale`` into its weights; otherwise the embedding is
        multiplied by the factor. See :ref:`user_module`.

    callbacks : list or None, default=None
        Objects whose methods the training loops call after each record of
        ``history_`` (and when fit or a stage begins or ends), to watch
        training or end a stage early: see :class:`skdec.callbacks.Callback`.
        None calls nothing.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample; equal to ``predict(X)``.

    cluster_centers_ : ndarray of shape (n_clusters, latent_dim)
        Centroids in the embedding space.

    n_clusters_ : int
        Number of clusters used: ``n_clusters``, or the one chosen when
        ``n_clusters="auto"``.

    n_clusters_candidates_ : ndarray of shape (n_candidates,)
        Numbers of clusters tried (only ``n_clusters`` when it is an int).

    n_clusters_scores_ : ndarray of shape (n_candidates,)
        The selection criterion for each candidate, averaged over the
        restarts, to plot against ``n_clusters_candidates_``
        (:func:`skdec.plotting.plot_n_clusters`); NaN when ``n_clusters`` is
        an int. With ``n_clusters_search="clustering"``, the silhouette of
        each candidate's clustering.

    n_clusters_restart_scores_ : ndarray of shape (n_restarts, n_candidates)
        The criterion of every candidate in every restart of the search (one
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
    >>> dec = DECClusterer(n_clusters=3, hidden_dims=(32,), latent_dim=2,
    ...                    pretrain_epochs=20, max_iter=100, random_state=0)
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
        ],
        "n_clusters_range": ["array-like"],
        "n_clusters_criterion": [StrOptions(set(CRITERIA))],
        "n_clusters_search": [StrOptions({"kmeans", "clustering"})],
        "hidden_dims": ["array-like"],
        "image_shape": ["array-like", None],
        "conv_channels": ["array-like", None],
        "augment": ["boolean"],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "pretrain": [StrOptions({"layerwise", "end_to_end"}), None],
        "pretrain_epochs": [
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "update_interval": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, 1, closed="both")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "pretrain_batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "pretrain_optimizer": [StrOptions({"auto", "sgd", "adam"})],
        "pretrain_learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "embedding_scale": [Interval(Real, 0, None, closed="neither"), None],
        "init": [StrOptions({"kmeans", "manifold", "spectral"}), "array-like"],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        # Checked in fit, with the data: a class or an instance of nn.Module.
        "module": "no_validation",
        "memory": [str, HasMethods("cache"), None],
        **_BaseDeepClusterer._parameter_constraints,
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        n_clusters_range=(2, 20),
        n_clusters_criterion="density",
        n_clusters_search="kmeans",
        hidden_dims=(500, 500, 2000),
        image_shape=None,
        conv_channels=(32, 64, 128),
        augment=False,
        latent_dim=10,
        alpha=1.0,
        pretrain="end_to_end",
        pretrain_epochs="auto",
        dropout=0.2,
        max_iter=2000,
        update_interval=30,
        tol=1e-3,
        batch_size=256,
        pretrain_batch_size="auto",
        learning_rate=0.01,
        pretrain_optimizer="auto",
        pretrain_learning_rate="auto",
        embedding_scale=5.0,
        init="kmeans",
        n_init=20,
        distributed="auto",
        device="auto",
        random_state=None,
        verbose=0,
        memory=None,
        module=None,
        callbacks=None,
        **kwargs,
    ):
        self.n_clusters = n_clusters
        self.n_clusters_range = n_clusters_range
        self.n_clusters_criterion = n_clusters_criterion
        self.n_clusters_search = n_clusters_search
        self.hidden_dims = hidden_dims
        self.image_shape = image_shape
        self.conv_channels = conv_channels
        self.augment = augment
        self.latent_dim = latent_dim
        self.alpha = alpha
        self.pretrain = pretrain
        self.pretrain_epochs = pretrain_epochs
        self.dropout = dropout
        self.max_iter = max_iter
        self.update_interval = update_interval
        self.tol = tol
        self.batch_size = batch_size
        self.pretrain_batch_size = pretrain_batch_size
        self.learning_rate = learning_rate
        self.pretrain_optimizer = pretrain_optimizer
        self.pretrain_learning_rate = pretrain_learning_rate
        self.embedding_scale = embedding_scale
        self.init = init
        self.n_init = n_init
        self.distributed = distributed
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.memory = memory
        self.module = module
        self.callbacks = callbacks
        self._set_module_params(kwargs)
