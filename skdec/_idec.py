"""IDEC: DEC that keeps reconstructing its input while it clusters."""

from numbers import Real

from sklearn.utils._param_validation import Interval

from ._dec import DECClusterer
from ._dec_base import _BaseDEC


class IDECClusterer(_BaseDEC):
    """Improved Deep Embedded Clustering with local structure preservation.

    IDEC (Guo et al., 2017) is DEC whose decoder stays in the clustering
    stage: the encoder, decoder and centroids minimise
    ``MSE(x, decode(encode(x))) + gamma * KL(P || Q)``. The reconstruction
    term keeps the embedding faithful to the data, so the clustering loss
    cannot distort it freely. Everything else (pretraining, k-means
    initialisation, target refreshes, stopping rule, fitted attributes and
    methods) is :class:`DECClusterer`'s own code.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    n_clusters : int or "auto", default=8
        Number of clusters; "auto" chooses it from ``n_clusters_range`` as
        :class:`DECClusterer` does.

    gamma : float, default=0.1
        Weight of the clustering loss ``KL(P || Q)`` against the
        reconstruction loss (the IDEC paper's 0.1). ``gamma=0`` trains the
        autoencoder alone and keeps the k-means centroids.

    learning_rate : float, default=0.1
        Learning rate of the clustering stage (SGD with momentum 0.9), ten
        times DEC's, since the KL term is weighted by ``gamma=0.1``
        (IDEC-keras uses SGD at 0.1; see the
        :ref:`design notes <design-idec-rate>`).

    n_clusters_range, n_clusters_criterion, n_clusters_search, hidden_dims, \
image_shape, conv_channels, augment, latent_dim, alpha, pretrain, \
pretrain_epochs, dropout, max_iter, update_interval, tol, batch_size, \
pretrain_batch_size, pretrain_optimizer, pretrain_learning_rate, \
embedding_scale, init, n_init, distributed, device, random_state, verbose, \
memory, module, callbacks
        As in :class:`DECClusterer`, with the same defaults. A ``memory``
        entry is shared with DEC, whose pretraining is the same.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample; equal to ``predict(X)``.

    cluster_centers_ : ndarray of shape (n_clusters, latent_dim)
        Centroids in the embedding space.

    n_clusters_ : int
        Number of clusters used (chosen when ``n_clusters="auto"``).

    n_clusters_candidates_, n_clusters_scores_ : ndarray of shape (n_candidates,)
        Numbers of clusters tried and their selection criterion, as in
        :class:`DECClusterer`.

    n_clusters_restart_scores_, n_clusters_votes_ : ndarray
        Every restart's criterion and each candidate's votes, as in
        :class:`DECClusterer`.

    n_iter_ : int
        Optimisation steps run in the clustering stage.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    history_ : list of dict
        As in :class:`DECClusterer`; the clustering records' ``loss`` is
        IDEC's objective ``MSE + gamma * KL(P || Q)``, with the two terms
        in ``reconstruction`` and ``kl``.

    module_ : torch.nn.Module
        The trained network (autoencoder and centroids).

    See Also
    --------
    DECClusterer : The same method without the reconstruction term.

    References
    ----------
    X. Guo, L. Gao, X. Liu and J. Yin. "Improved Deep Embedded Clustering
    with Local Structure Preservation". IJCAI 2017.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdec import IDECClusterer
    >>> X, _ = make_blobs(n_samples=200, centers=3, n_features=5, random_state=0)
    >>> idec = IDECClusterer(n_clusters=3, gamma=0.1, hidden_dims=(32,),
    ...                      latent_dim=2, pretrain_optimizer="adam",
    ...                      pretrain_epochs=20, max_iter=100, random_state=0)
    >>> idec.fit_predict(X).shape
    (200,)
    """

    _parameter_constraints: dict = {
        **DECClusterer._parameter_constraints,
        "gamma": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        gamma=0.1,
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
        learning_rate=0.1,
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
        self.gamma = gamma
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

    def _reconstruction_gamma(self):
        return float(self.gamma)
