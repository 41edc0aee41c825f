"""
==========================================
Choosing n_clusters with GridSearchCV
==========================================

When some labelled samples exist, the number of clusters can be chosen like
any hyper-parameter: :class:`~sklearn.model_selection.GridSearchCV` fits a
:class:`~sklearn.pipeline.Pipeline` for each candidate on the training folds,
clusters the held-out fold with ``predict`` and scores it against the labels
with the scorers of :mod:`skdec.metrics`, which ignore how clusters are
numbered.

Without labels, a heuristic is needed. The second part uses the
label-free :meth:`~skdec.DECClusterer.score` (the silhouette of the clusters
in the model's own embedding), which ``GridSearchCV`` uses when no
``scoring`` is given, and then a search over candidates (``n_clusters`` as
a range), which pretrains the autoencoder once and chooses on it, as
``n_clusters_search`` says; :func:`skdec.plotting.plot_n_clusters` draws
what it scored and names the rule that decided.
"""

# %%
# Grid search with labels
# -----------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdec import DECClusterer
from skdec.datasets import load_digits_scaled
from skdec.metrics import accuracy_scorer, ari_scorer, nmi_scorer
from skdec.plotting import plot_n_clusters

X, y = load_digits_scaled()

# A tiny network and a short clustering stage keep the documentation build
# fast: the search fits the pipeline once per candidate and fold.
network = dict(
    module__hidden_dims=(128,),
    module__latent_dim=10,
    pretrain_optimizer="adam",
    pretrain_epochs=20,
    random_state=0,
)
dec = DECClusterer(max_iter=300, tol=0.01, n_init=5, **network)
pipe = make_pipeline(MinMaxScaler(), dec)
candidates = [6, 8, 10, 12, 14]
search = GridSearchCV(
    pipe,
    {"decclusterer__n_clusters": candidates},
    scoring={"ACC": accuracy_scorer, "NMI": nmi_scorer, "ARI": ari_scorer},
    refit=False,
    cv=2,
)
with warnings.catch_warnings():
    # max_iter=300 is deliberately short; some fits stop before converging.
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X, y)

fig, ax = plt.subplots(figsize=(6, 4))
for metric in ["ACC", "NMI", "ARI"]:
    mean = search.cv_results_[f"mean_test_{metric}"]
    std = search.cv_results_[f"std_test_{metric}"]
    ax.errorbar(candidates, mean, yerr=std, marker="o", capsize=3, label=metric)
    print(f"best n_clusters by {metric}: {candidates[int(np.argmax(mean))]}")
ax.axvline(10, color="grey", linestyle=":", label="10 digits")
ax.set(xlabel="n_clusters", ylabel="held-out score", title="With labels (2-fold CV)")
ax.legend()
plt.show()

# %%
# Without labels: ``GridSearchCV`` with the default scoring
# ----------------------------------------------------------
# Without ``scoring``, ``GridSearchCV`` ranks the candidates by the
# estimator's ``score``: the silhouette of ``predict(X)`` in the space of
# ``transform(X)``, computed on the held-out fold. It needs no labels, lies
# in [-1, 1] and is comparable across ``n_clusters``. Each candidate is
# still fitted once per fold.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    unlabelled = GridSearchCV(dec, {"n_clusters": candidates}, cv=2).fit(X)
silhouette = unlabelled.cv_results_["mean_test_score"]
print(f"best n_clusters by the silhouette: {unlabelled.best_params_['n_clusters']}")

# %%
# Without labels: a search over ``n_clusters``
# ---------------------------------------------
# ``n_clusters=range(6, 15)`` (or ``"auto"``, 2 to 20) pretrains once and
# compares the candidates on that one autoencoder, as ``n_clusters_search``
# says:
#
# - ``"density"`` (the default), like every criterion but one, fits k-means
#   on the pretrained embedding for every candidate in 5 restarts on random
#   80% subsamples, and each restart votes: HDBSCAN's number of dense
#   clusters where they hold most rows, else the highest silhouette.
#   Seconds on top of one fit; the plot shades the restarts' range.
# - ``"clustering"`` runs DEC's clustering stage for every candidate, from a
#   copy of the pretrained autoencoder, and keeps the best silhouette after
#   DEC: one clustering stage per candidate.
#
# ``plot_n_clusters`` draws the score of every candidate and the choice, and
# its title names the rule that decided (``n_clusters_rule_``): HDBSCAN's
# count, or the silhouette. Both are heuristics: they favour compact,
# well-separated groups, which need not be the classes.
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
axes[0].plot(candidates, silhouette, marker="o")
axes[0].set(
    title="GridSearchCV, default scoring",
    xlabel="number of clusters k",
    ylabel="held-out silhouette",
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for ax, search in zip(axes[1:], ["density", "clustering"], strict=True):
        auto = DECClusterer(
            n_clusters=range(6, 15),
            n_clusters_search=search,
            max_iter=300,
            tol=0.01,
            n_init=5,
            **network,
        ).fit(X)
        print(
            f"n_clusters_search={search!r} chose {auto.n_clusters_} "
            f"by the rule {auto.n_clusters_rule_!r}"
        )
        plot_n_clusters(auto, ax=ax)
for ax in axes:
    ax.axvline(10, color="grey", linestyle=":", label="10 digits")
    ax.legend(fontsize="small")
plt.show()
