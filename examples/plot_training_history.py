"""
================
Training history
================

``history_`` records every epoch of pretraining, the k-means start and every
refresh of the target distribution in the clustering stage; each record has
its ``stage``, its ``loss`` and its wall time in ``seconds``.
:func:`~skdec.plotting.plot_history` draws the reconstruction loss of each
pretraining stage, the KL divergence ``KL(P || Q)`` that DEC minimises, and
the fraction of labels that changed between refreshes, which stops training
once it falls below ``tol``.
"""

# %%
import matplotlib.pyplot as plt
import pandas as pd

from skdec import DECClusterer
from skdec.datasets import load_digits_scaled
from skdec.plotting import plot_history

X, y = load_digits_scaled()

# A small network keeps the documentation build fast (the default is the
# paper's 64-500-500-2000-10 autoencoder with 100 epochs per stage).
dec = DECClusterer(
    n_clusters=10,
    module__hidden_dims=(256, 64),
    module__latent_dim=10,
    pretrain_optimizer="adam",  # few steps on a small network: Adam
    pretrain_epochs=20,
    max_iter=1000,
    tol=0.01,
    random_state=0,
).fit(X)

# %%
# The autoencoder is pretrained end to end (``pretrain_end_to_end``; with
# ``module__layerwise_dropout=0.2``, layer-wise, each encoder/decoder pair
# would get a line of its own). ``init`` is the k-means start, which has no
# curve. In the clustering stage, the KL divergence is measured against a
# target that is refreshed each time from sharper assignments, so it need not
# fall: it can grow while the clustering improves, as the note on the panel
# says. The fraction of changed labels is what decides when to stop.
fig = plot_history(dec)
plt.show()

# %%
# The records are plain dictionaries, easy to tabulate.
history = pd.DataFrame(dec.history_)
print(history[history["stage"] == "clustering"].tail())

# %%
# The same table says where the time went.
print(history.groupby("stage")["seconds"].sum().round(2))
