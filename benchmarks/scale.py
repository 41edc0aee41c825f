"""Scale: memory and cost of a fit on data larger than memory (issue 15).

Every fit (plus ``predict``) runs in a fresh process; ``<which>.json`` and
``<which>.md`` go to ``--output``. ``memmap``: a 2,000,000 x 64 float32
memory map of 10 blobs (target: at most 384 MB of anonymous memory added).
``sparse``: a 100,000 x 20,000 TF-IDF corpus of 6 topics, as CSR and through
``make_pipeline(TfidfTransformer(), ...)`` (target: 1.5 GB). ``table``: cost
as the rows grow (10,000, 70,000, 1,000,000); ``table2``: the same fits as two
data-parallel ranks (gloo on loopback). Memory is ``RssAnon`` (a memory
map's file-backed pages do not count), sampled every 20 ms; the peak is
reported over the process after imports and opening the data, with the skdec
function the main thread was in.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import make_pipeline

from benchmarks._common import (
    RESULTS_DIR,
    PeakMemory,
    add_set_argument,
    comma_list,
    history_seconds,
    machine_info,
    status_mb,
    warm_up,
)
from benchmarks._data import write_blobs, write_corpus
from benchmarks.tables import MARKDOWN, write_results
from skdec import DECClusterer

WHICH = ("memmap", "sparse", "table", "table2")
MEMMAP_TARGET_MB = 384
SPARSE_TARGET_MB = 1536
# The small network of the memmap and table measurements.
SMALL_NET = {"hidden_dims": (32,), "latent_dim": 5, "pretrain_epochs": 1}
SMALL_NET.update(batch_size=1024, max_iter=300, n_init=3, random_state=0)
# The network of the sparse measurement: small enough for minutes on 1 core.
SPARSE_NET = {**SMALL_NET, "hidden_dims": (256,), "latent_dim": 10}
SPARSE_NET.update(pretrain_epochs=2, batch_size=256, max_iter=60, update_interval=30)
TABLE_SIZES = (10_000, 70_000, 1_000_000)


def measure(spec):
    """Fit (and predict) as ``spec`` says in this process; a dict of results.

    ``spec``: ``X`` (a ``.npy`` opened as a memory map, or an ``.npz`` sparse
    matrix), ``y`` (a ``.npy`` of labels), ``params`` of ``DECClusterer``,
    ``pipeline`` (``"tfidf"`` or None), ``warm_up`` (a tiny fit first).
    """
    after_imports = status_mb("RssAnon")
    if spec["X"].endswith(".npz"):
        X = sp.load_npz(spec["X"]).tocsr()
    else:
        X = np.load(spec["X"], mmap_mode="r")
    rows = slice(None)
    world = spec.get("world", 1)
    if world > 1:
        # One rank of a data-parallel fit: a contiguous block of the memory
        # map (still a memory map), and a gloo process group on loopback.
        import torch.distributed as dist

        dist.init_process_group("gloo")
        rank = dist.get_rank()
        bounds = np.linspace(0, X.shape[0], world + 1).astype(int)
        rows = slice(bounds[rank], bounds[rank + 1])
        X = X[rows]
    after_data = status_mb("RssAnon")
    if spec.get("warm_up", True):
        warm_up("cpu")

    estimator = DECClusterer(spec["params"].pop("n_clusters"), **spec["params"])
    tfidf = spec.get("pipeline") == "tfidf"
    model = make_pipeline(TfidfTransformer(), estimator) if tfidf else estimator
    seconds = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with PeakMemory("RssAnon") as memory:
            for phase in ("fit", "predict"):  # labels: predict's
                memory.phase = phase
                start = time.perf_counter()
                labels = getattr(model, phase)(X)
                seconds[phase] = time.perf_counter() - start
    y = np.load(spec["y"])[rows]
    return {
        "world": world,
        "n_samples": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "input": "sparse CSR" if sp.issparse(X) else "memmap",
        "pipeline": spec.get("pipeline"),
        "params": estimator.get_params(),
        "torch_threads": torch.get_num_threads(),
        "rss_anon_after_imports_mb": after_imports,
        "rss_anon_after_data_mb": after_data,
        "rss_anon_baseline_mb": memory.before_mb,
        "rss_anon_peak_mb": memory.peak_mb,
        # Over the process after imports and opening the data (the warm-up
        # fit's leftovers, if any, count as added).
        "peak_anon_added_mb": memory.peak_mb - after_data,
        "peak": memory.peak,
        "fit_seconds": seconds["fit"],
        "predict_seconds": seconds["predict"],
        **history_seconds(estimator),
        "n_iter": int(estimator.n_iter_),
        "ari_predict": float(adjusted_rand_score(y, labels)),
        "ari_labels_": float(adjusted_rand_score(y, estimator.labels_)),
        "predict_equals_labels_": bool(np.array_equal(labels, estimator.labels_)),
        "warnings": sorted({str(w.message)[:200] for w in caught}),
    }


def launch(spec, folder, world=1):
    """:func:`measure` in ``world`` fresh processes (ranks of a gloo group on
    loopback when more than one); their results, or error dicts."""
    spec_path = Path(folder) / "spec.json"
    spec_path.write_text(json.dumps({**spec, "world": world}))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    procs = []
    for rank in range(world):
        out = Path(folder) / f"result{rank}.json"
        out.unlink(missing_ok=True)
        env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port}
        env.update(RANK=str(rank), WORLD_SIZE=str(world))
        command = [sys.executable, "-m", "benchmarks", "scale", "_child"]
        command += [str(spec_path), str(out)]
        root = Path(__file__).resolve().parent.parent
        procs.append((out, subprocess.Popen(command, cwd=root, env=env, stderr=-1)))
    results = []
    for rank, (out, proc) in enumerate(procs):
        error = proc.communicate()[1].decode()[-3000:]
        result = json.loads(out.read_text()) if out.exists() else {"error": error}
        results.append({**result, "rank": rank} if world > 1 else result)
    return results


def run(which, args):
    """The results of one measurement (see the module's docstring)."""
    sparse = which == "sparse"
    params = {**(SPARSE_NET if sparse else SMALL_NET), **dict(args.set)}
    sizes = args.sizes or TABLE_SIZES
    if which in ("memmap", "sparse"):
        sizes = [args.n_samples or (100_000 if sparse else 2_000_000)]
    kinds = (None, "tfidf") if sparse and not args.no_pipeline else (None,)
    results = []
    for n in sizes:
        with tempfile.TemporaryDirectory(dir=args.workdir) as folder:
            if sparse:
                X_path, y_path = write_corpus(folder, n, n_features=args.n_features)
            else:
                X_path, y_path = write_blobs(folder, n)
            spec = {"X": str(X_path), "y": str(y_path)}
            spec["params"] = {"n_clusters": 6 if sparse else 10, **params}
            if which == "table2":
                results += launch(spec, folder, world=2)
            for repeat in range(args.repeats if which == "table" else 0):
                results += [{**launch(spec, folder)[0], "repeat": repeat}]
            for kind in kinds if which in ("memmap", "sparse") else ():
                (result,) = launch({**spec, "pipeline": kind}, folder)
                target = SPARSE_TARGET_MB if sparse else MEMMAP_TARGET_MB
                results.append({**result, "target_mb": target})
        print(f"  {which}: n={n} done", flush=True)
    return results


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["_child"]:
        spec = json.loads(Path(argv[1]).read_text())
        Path(argv[2]).write_text(json.dumps(measure(spec), default=repr))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks scale")
    parser.add_argument("which", choices=(*WHICH, "all"))
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "scale")
    parser.add_argument("--n-samples", type=int, help="rows of memmap or sparse")
    parser.add_argument(
        "--sizes", type=comma_list(item=int), help="rows of the table, e.g. 10000,70000"
    )
    parser.add_argument("--repeats", type=int, default=1, help="table: per size")
    parser.add_argument("--n-features", type=int, default=20000, help="sparse")
    parser.add_argument("--no-pipeline", action="store_true", help="sparse")
    parser.add_argument("--workdir", help="where the data is written")
    add_set_argument(parser, help_extra="; of DECClusterer")
    args = parser.parse_args(argv)
    info = machine_info()
    command = "python -m benchmarks scale " + " ".join(argv)
    for which in WHICH if args.which == "all" else (args.which,):
        print(f"scale: {which} ...", flush=True)
        results = {"machine": info, "command": command, "results": run(which, args)}
        write_results(args.output / f"{which}.json", results, MARKDOWN[which])
    return 0
