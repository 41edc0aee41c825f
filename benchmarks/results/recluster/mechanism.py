"""What each reset does (see README.md); run as a script.

Usage: mechanism.py STRENGTHS OUT_JSON (seed 0, 12 resets every 5 refreshes)
"""

import json
import os
import sys


def main(strengths, out):
    # The patched tree (README.md), ahead of any installed skdec.
    sys.path.insert(0, os.environ.get("SKDEC_TREE", "/tmp/brb"))
    import torch
    from sklearn.metrics import adjusted_rand_score
    from sklearn.neighbors import NearestNeighbors

    from skdec import DECClusterer
    from skdec.callbacks import Callback
    from skdec.datasets import load_digits_scaled
    from skdec.metrics import cluster_accuracy

    torch.set_num_threads(1)
    X, y = load_digits_scaled()
    X_tensor = torch.tensor(X, dtype=torch.float32)

    def purity(Z, k=10):
        nn = NearestNeighbors(n_neighbors=k + 1).fit(Z)
        idx = nn.kneighbors(Z, return_distance=False)[:, 1:]
        return float((y[idx] == y[:, None]).mean())

    class Watch(Callback):
        """ACC, purity and ARI with the previous refresh, at every refresh."""

        def __init__(self):
            self.rows, self.previous = [], None

        def on_record(self, estimator, record, labels=None, module=None, **state):
            if record["stage"] != "clustering":
                return
            with torch.no_grad():
                Z = module.autoencoder.encode(X_tensor).numpy()
            row = {
                "iteration": record["iteration"],
                "recluster": record.get("recluster"),
                "acc": cluster_accuracy(y, labels),
                "purity": purity(Z),
            }
            if self.previous is not None:
                row["ari_prev"] = adjusted_rand_score(self.previous, labels)
            self.previous = labels
            self.rows.append(row)

    results = {}
    for strength in strengths:
        watch = Watch()
        est = DECClusterer(
            10, random_state=0, memory="brb_cache", max_iter=4000, callbacks=[watch]
        )
        est._recluster_plan = (12, 5, strength)
        est.fit(X)
        results[strength] = watch.rows
        print(strength, json.dumps(watch.rows[-1]), flush=True)
    with open(out, "w") as file:
        json.dump(results, file, indent=0)


if __name__ == "__main__":
    main([float(s) for s in sys.argv[1].split(",")], sys.argv[2])
