"""A user's data-parallel script, run by tests/test_distributed.py on 2 ranks.

Launched as ``python tests/ddp_script.py SCENARIO OUT_DIR`` with RANK,
WORLD_SIZE, MASTER_ADDR=127.0.0.1 and MASTER_PORT set (as torchrun sets
them); each rank writes what it saw to ``OUT_DIR/rank<r>.json``.
Nothing runs at import, so the test collection can import this file.
"""

import datetime
import json
import os
import sys
import traceback


def _blobs():
    import numpy as np
    from sklearn.datasets import make_blobs

    X, y = make_blobs(
        n_samples=400, centers=4, n_features=6, cluster_std=0.5, random_state=0
    )
    X = (X - X.min(0)) / (X.max(0) - X.min(0))
    return X.astype(np.float32), y


def _tiny(**params):
    from skdec import DECClusterer

    if "module" not in params:  # the built-in network, small
        params = {"module__hidden_dims": (16,), "module__latent_dim": 2, **params}
    return DECClusterer(
        4,
        pretrain_optimizer="adam",
        pretrain_epochs=20,
        max_iter=200,
        update_interval=5,
        n_init=5,
        random_state=0,
        **params,
    )


def _error(function):
    try:
        function()
    except Exception as exc:  # the message is what the test checks
        return f"{type(exc).__name__}: {exc}"
    return None


def _shards(rank):
    """Rank 0 sees classes 0 and 1 only, rank 1 classes 2 and 3 (more rows)."""
    import numpy as np

    X, y = _blobs()
    mine = np.isin(y, [0, 1]) if rank == 0 else np.isin(y, [2, 3])
    if rank == 0:
        mine &= np.arange(len(y)) % 4 != 0  # shards of different sizes
    return X[mine], y[mine]


def scenario_train(rank, out):
    import warnings

    import numpy as np

    from skdec import IICClusterer

    X, y = _shards(rank)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dec = _tiny().fit(X)
        alone = _tiny(distributed=False).fit(X)
    out["labels"] = dec.labels_.tolist()
    out["y"] = y.tolist()
    out["predict_equals_labels"] = bool((dec.predict(X) == dec.labels_).all())
    out["weights"] = {
        k: v.double().sum().item() for k, v in dec.module_.state_dict().items()
    }
    out["history"] = [
        {k: v for k, v in r.items() if k != "seconds"} for r in dec.history_
    ]
    out["n_iter"] = dec.n_iter_
    out["alone_weights"] = {
        k: v.double().sum().item() for k, v in alone.module_.state_dict().items()
    }

    class StopAtFirstRefresh:
        def on_record(self, estimator, record, **state):
            return record["stage"] == "clustering"

    # A callback on rank 1 alone ends the stage on both ranks, at one step.
    callbacks = [StopAtFirstRefresh()] if rank == 1 else None
    stopped = _tiny(callbacks=callbacks).fit(X)
    out["stopped_n_iter"] = stopped.n_iter_
    # A user's network trains data-parallel like the built-in one.
    from tests.conftest import TinyAutoencoder

    user = _tiny(module=TinyAutoencoder, module__width=8).fit(X)
    out["user_weights"] = {
        k: v.double().sum().item() for k, v in user.module_.state_dict().items()
    }
    out["stopped_weights"] = {
        k: v.double().sum().item() for k, v in stopped.module_.state_dict().items()
    }

    bad = X.copy()
    if rank == 1:
        bad[3, 2] = np.nan
    out["nan_error"] = _error(lambda: _tiny().fit(bad))
    narrow = X if rank == 0 else X[:, :5]
    out["width_error"] = _error(lambda: _tiny().fit(narrow))
    out["iic_error"] = _error(lambda: IICClusterer(4, max_epochs=1).fit(X))
    # The group still works after the errors: a last fit agrees.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = _tiny().fit(X)
    out["again_equals"] = bool((again.labels_ == dec.labels_).all())


def scenario_dies(rank, out):
    X, _ = _shards(rank)
    estimator = _tiny()
    if rank == 1:

        class Crash:
            """Dies at the second pretraining epoch, after some collectives."""

            def on_record(self, estimator, record, **state):
                if record["stage"].startswith("pretrain") and record["epoch"] >= 1:
                    os._exit(3)  # a crash: no exception, no goodbye

        estimator.set_params(callbacks=[Crash()])
    out["error"] = _error(lambda: estimator.fit(X))


def scenario_memory(rank, out):
    """A fit with ``memory``, then one with another k that loads its entry.

    Each rank names its own folder: rank 0's alone is read and written.
    """
    import warnings

    import numpy as np

    X, _ = _shards(rank)
    folder = os.path.join(sys.argv[2], f"cache{rank}")
    short = dict(pretrain_epochs=3, max_iter=20)  # _tiny's, shorter

    class CountPretraining:
        n = 0

        def on_stage_begin(self, estimator, stage, **state):
            self.n += stage == "pretrain"

    count = CountPretraining()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _tiny(memory=folder).set_params(**short).fit(X)
        hit = _tiny(memory=folder, callbacks=[count])
        hit = hit.set_params(n_clusters=3, **short).fit(X)
        plain = _tiny().set_params(n_clusters=3, **short).fit(X)
    out["pretrained"] = count.n
    out["same_labels"] = bool((hit.labels_ == plain.labels_).all())
    out["same_embedding"] = bool((hit.transform(X) == plain.transform(X)).all())
    out["same_history"] = [
        {k: v for k, v in r.items() if k != "seconds"} for r in hit.history_
    ] == [{k: v for k, v in r.items() if k != "seconds"} for r in plain.history_]
    entries = os.path.join(folder, "skdec", "pretrain")
    out["entries"] = len(os.listdir(entries)) if os.path.isdir(entries) else 0
    out["finite"] = bool(np.isfinite(hit.transform(X)).all())


def main(scenario, out_dir):
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    dist.init_process_group(
        "gloo", timeout=datetime.timedelta(seconds=int(os.environ["DDP_TIMEOUT"]))
    )
    out = {"rank": rank}
    try:
        globals()[f"scenario_{scenario}"](rank, out)
    except Exception:
        out["crash"] = traceback.format_exc()
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as file:
        json.dump(out, file)
    if scenario == "dies":
        # The group lost a member: tearing gloo down at interpreter exit can
        # abort. The survivor has reported its error, which is what counts.
        os._exit(0)
    dist.barrier()
    dist.destroy_process_group()
    # gloo can still abort in the interpreter's own teardown ("terminate
    # called without an active exception", now and then): the results are
    # written, so leave without it, as the "dies" scenario does.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
