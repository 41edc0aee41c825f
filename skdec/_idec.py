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
    n_clusters : int, "auto" or array-like of int, default=8
        Number of clusters, or the candidates to choose it from, as in
        :class:`DECClusterer`.

    gamma : float, default=0.1
        Weight of the clustering loss ``KL(P || Q)`` against the
        reconstruction loss (the IDEC paper's 0.1). ``gamma=0`` trains the
        autoencoder alone and keeps the k-means centroids.

    learning_rate : float, default=0.1
        Learning rate of the clustering stage (SGD with momentum 0.9): ten
        times DEC's, as the KL term is weighted by ``gamma=0.1``
        (:ref:`design-idec-rate`).

    n_clusters_search, module, augment, alpha, pretrain_epochs, \
pretrain_batch_size, pretrain_optimizer, pretrain_learning_rate, max_iter, \
update_interval, tol, batch_size, embedding_scale, init, n_init, \
distributed, device, random_state, memory, callbacks, **module__params
        As in :class:`DECClusterer`, with the same defaults. A ``memory``
        entry is shared with DEC, whose pretraining is the same.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample; equal to ``predict(X)``.

    cluster_centers_ : ndarray of shape (n_clusters, latent_dim)
        Centroids in the embedding space.

    n_clusters_ : int
        Number of clusters used: ``n_clusters``, or the one chosen.

    n_clusters_rule_ : str
        The rule that decided ``n_clusters_``, as in :class:`DECClusterer`.

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
    >>> idec = IDECClusterer(n_clusters=3, gamma=0.1, module__hidden_dims=(32,),
    ...                      module__latent_dim=2, pretrain_optimizer="adam",
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
        learning_rate=0.1,
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
        self.gamma = gamma
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

    def _reconstruction_gamma(self):
        return float(self.gamma)
