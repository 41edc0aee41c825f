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

Without labels, a heuristic is needed. The second part uses
``n_clusters="auto"``: the autoencoder is pretrained once, k-means clusters
its embedding for every candidate, and a label-free criterion (the
Davies-Bouldin index by default) picks the number of clusters.
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

X, y = load_digits_scaled()

# A tiny network and a short clustering stage keep the documentation build
# fast: the search fits the pipeline once per candidate and fold.
network = dict(
    hidden_dims=(128,),
    latent_dim=10,
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
# Without labels: ``n_clusters="auto"``
# -------------------------------------
# The estimator pretrains once, runs k-means for every candidate in
# ``n_clusters_range`` on the embedding and keeps the candidate with the
# best ``n_clusters_criterion`` (Davies-Bouldin: lower is better), from
# whose k-means solution DEC starts (``max_iter=0`` stops there, to keep the
# build fast). The criterion's value for every candidate is kept, to plot.
# It is only a heuristic: it favours compact, well-separated groups, which
# need not be the classes.
auto = DECClusterer(
    n_clusters="auto", n_clusters_range=(4, 16), max_iter=0, **network
).fit(X)
print(f"n_clusters chosen without labels: {auto.n_clusters_}")
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(auto.n_clusters_candidates_, auto.n_clusters_scores_, marker="o")
ax.axvline(auto.n_clusters_, color="C1", label=f"chosen: {auto.n_clusters_}")
ax.axvline(10, color="grey", linestyle=":", label="10 digits")
ax.set(
    xlabel="n_clusters",
    ylabel="Davies-Bouldin index",
    title="Without labels (pretrained embedding)",
)
ax.legend()
plt.show()
