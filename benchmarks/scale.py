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
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from benchmarks._common import machine_info, parse_assignment, status_mb
from benchmarks._data import write_blobs, write_corpus
from benchmarks.tables import scale_markdown, write_results

WHICH = ("memmap", "sparse", "table", "table2")
MEMMAP_TARGET_MB = 384
SPARSE_TARGET_MB = 1536
# The small network of the memmap and table measurements.
SMALL_NET = dict(
    hidden_dims=(32,),
    latent_dim=5,
    pretrain_epochs=1,
    batch_size=1024,
    max_iter=300,
    n_init=3,
    random_state=0,
)
# The network of the sparse measurement: small enough for minutes on 1 core.
SPARSE_NET = dict(
    hidden_dims=(256,),
    latent_dim=10,
    pretrain_epochs=2,
    batch_size=256,
    max_iter=60,
    update_interval=30,
    n_init=3,
    random_state=0,
)
TABLE_SIZES = (10_000, 70_000, 1_000_000)


# ---------------------------------------------------------------------------
# Peak anonymous memory of this process


def rss_anon_mb():
    """Anonymous resident memory of this process in MB (None off Linux)."""
    return status_mb("RssAnon")


class AnonSampler:
    """Sample ``RssAnon`` every ``interval`` seconds in a background thread.

    Keeps the maximum, when it was reached (seconds since start), the phase
    set by the main thread (``sampler.phase = "fit"``) and the main thread's
    innermost skdec/benchmarks frames at that moment.
    """

    def __init__(self, interval=0.02):
        self.interval = interval
        self.phase = None
        self.peak_mb = 0.0
        self.peak = {}
        self._main = threading.main_thread().ident
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _where(self):
        frame = sys._current_frames().get(self._main)
        if frame is None:
            return []
        stack = traceback.extract_stack(frame)
        ours = [
            f"{Path(f.filename).name}:{f.lineno} {f.name}"
            for f in stack
            if "skdec" in f.filename or "sklearn" in f.filename
        ]
        innermost = f"{Path(stack[-1].filename).name}:{stack[-1].lineno}"
        return [*ours[-6:], f"(innermost {innermost} {stack[-1].name})"]

    def _sample(self):
        value = rss_anon_mb()
        if value is not None and value > self.peak_mb:
            self.peak_mb = value
            self.peak = {
                "seconds": time.perf_counter() - self._start,
                "phase": self.phase,
                "where": self._where(),
            }

    def _run(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self):
        self._start = time.perf_counter()
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


# ---------------------------------------------------------------------------
# One measurement, in a fresh process


def _summarise_history(history):
    """Per-unit seconds from ``history_``: epochs, the k-means start, refreshes."""
    pretrain = [r["seconds"] for r in history if r["stage"].startswith("pretrain")]
    init = [r["seconds"] for r in history if r["stage"] == "init"]
    clustering = [r for r in history if r["stage"] == "clustering"]
    summary = {
        "pretrain_epoch_seconds": float(np.mean(pretrain)) if pretrain else None,
        "kmeans_seconds": float(sum(init)) if init else None,
        "n_refreshes": len(clustering),
        # The first clustering record is the refresh at step 0 alone.
        "refresh_seconds": clustering[0]["seconds"] if clustering else None,
        "step_seconds": None,
    }
    later = clustering[1:]
    if later:
        pairs = zip(clustering[:-1], later, strict=True)
        steps = [b["iteration"] - a["iteration"] for a, b in pairs]
        step_time = (
            sum(r["seconds"] for r in later) - len(later) * clustering[0]["seconds"]
        )
        # None when the steps are lost in the refreshes' own variation.
        if step_time > 0:
            summary["step_seconds"] = step_time / max(sum(steps), 1)
    return summary


def measure(spec):
    """Fit (and predict) as ``spec`` says in this process; a dict of results.

    ``spec``: ``X`` (a ``.npy`` opened as a memory map, or an ``.npz`` sparse
    matrix), ``y`` (a ``.npy`` of labels), ``params`` of ``DECClusterer``,
    ``pipeline`` (``"tfidf"`` or None), ``warm_up`` (a tiny fit first).
    """
    import warnings

    import scipy.sparse as sp
    import torch
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.metrics import adjusted_rand_score
    from sklearn.pipeline import make_pipeline

    from benchmarks._common import stage_seconds, warm_up
    from skdec import DECClusterer

    after_imports = rss_anon_mb()
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
    after_data = rss_anon_mb()
    if spec.get("warm_up", True):
        warm_up("cpu")
    baseline = rss_anon_mb()

    estimator = DECClusterer(spec["params"].pop("n_clusters"), **spec["params"])
    model = estimator
    if spec.get("pipeline") == "tfidf":
        model = make_pipeline(TfidfTransformer(), estimator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sampler = AnonSampler()
        sampler.phase = "fit"
        with sampler:
            start = time.perf_counter()
            model.fit(X)
            fit_seconds = time.perf_counter() - start
            sampler.phase = "predict"
            start = time.perf_counter()
            labels = model.predict(X)
            predict_seconds = time.perf_counter() - start
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
        "rss_anon_baseline_mb": baseline,
        "rss_anon_peak_mb": sampler.peak_mb,
        # Over the process after imports and opening the data (the warm-up
        # fit's leftovers, if any, count as added).
        "peak_anon_added_mb": sampler.peak_mb - after_data,
        "peak": sampler.peak,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "stage_seconds": stage_seconds(estimator),
        **_summarise_history(estimator.history_),
        "n_iter": int(estimator.n_iter_),
        "ari_predict": float(adjusted_rand_score(y, labels)),
        "ari_labels_": float(adjusted_rand_score(y, estimator.labels_)),
        "predict_equals_labels_": bool(np.array_equal(labels, estimator.labels_)),
        "warnings": sorted({str(w.message)[:200] for w in caught}),
    }


def run_in_subprocess(spec, folder):
    """:func:`measure` in a fresh Python process; its result, or an error dict."""
    spec_path = Path(folder) / "spec.json"
    out_path = Path(folder) / "result.json"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "benchmarks", "scale", "_child", str(spec_path)]
    command += [str(out_path)]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if done.returncode != 0 or not out_path.exists():
        return {"error": done.stderr[-3000:] or f"exit status {done.returncode}"}
    return json.loads(out_path.read_text())


# ---------------------------------------------------------------------------
# The three measurements


def _spec(X_path, y_path, n_clusters, params, **extra):
    return {
        "X": str(X_path),
        "y": str(y_path),
        "params": {"n_clusters": n_clusters, **params},
        **extra,
    }


def run_memmap(n_samples=2_000_000, params=None, workdir=None):
    """Fit plus predict on an ``n_samples`` x 64 memory map of 10 blobs."""
    params = {**SMALL_NET, **(params or {})}
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        X_path, y_path = write_blobs(folder, n_samples)
        result = run_in_subprocess(_spec(X_path, y_path, 10, params), folder)
    result["target_mb"] = MEMMAP_TARGET_MB
    return [result]


def run_sparse(
    n_samples=100_000, n_features=20000, params=None, pipeline=True, workdir=None
):
    """Fit plus predict on a TF-IDF corpus, directly and through a pipeline."""
    params = {**SPARSE_NET, **(params or {})}
    results = []
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        X_path, y_path = write_corpus(folder, n_samples, n_features=n_features)
        for kind in (None, "tfidf") if pipeline else (None,):
            spec = _spec(X_path, y_path, 6, params, pipeline=kind)
            result = run_in_subprocess(spec, folder)
            result["target_mb"] = SPARSE_TARGET_MB
            results.append(result)
    return results


def run_table(sizes=TABLE_SIZES, params=None, workdir=None, repeats=1):
    """The memmap measurement at every size of ``sizes``, ``repeats`` times each.

    Each repeat is a fresh process on the same file; ``repeat`` numbers them.
    """
    params = {**SMALL_NET, **(params or {})}
    results = []
    for n_samples in sizes:
        with tempfile.TemporaryDirectory(dir=workdir) as folder:
            X_path, y_path = write_blobs(folder, n_samples)
            for repeat in range(repeats):
                spec = _spec(X_path, y_path, 10, params)
                result = run_in_subprocess(spec, folder)
                results.append({**result, "repeat": repeat})
        print(f"  table: n={n_samples} done", flush=True)
    return results


def run_table_parallel(sizes=TABLE_SIZES, params=None, workdir=None, world=2):
    """The table's fits data-parallel on ``world`` processes (gloo, loopback).

    Each rank is a fresh process fitting a contiguous block of the memory
    map; the results are per rank.
    """
    params = {**SMALL_NET, **(params or {})}
    results = []
    root = Path(__file__).resolve().parent.parent
    for n_samples in sizes:
        with tempfile.TemporaryDirectory(dir=workdir) as folder:
            X_path, y_path = write_blobs(folder, n_samples)
            spec_path = Path(folder) / "spec.json"
            spec_path.write_text(
                json.dumps(_spec(X_path, y_path, 10, params, world=world))
            )
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            procs, outs = [], []
            for rank in range(world):
                out_path = Path(folder) / f"result{rank}.json"
                outs.append(out_path)
                env = {
                    **os.environ,
                    "MASTER_ADDR": "127.0.0.1",
                    "MASTER_PORT": str(port),
                    "RANK": str(rank),
                    "WORLD_SIZE": str(world),
                }
                command = [sys.executable, "-m", "benchmarks", "scale", "_child"]
                command += [str(spec_path), str(out_path)]
                procs.append(
                    subprocess.Popen(command, cwd=root, env=env, stderr=subprocess.PIPE)
                )
            errors = [proc.communicate()[1] for proc in procs]
            for rank, out_path in enumerate(outs):
                if out_path.exists():
                    results.append({**json.loads(out_path.read_text()), "rank": rank})
                else:
                    results.append(
                        {"error": errors[rank][-3000:].decode(), "rank": rank}
                    )
        print(f"  table2: n={n_samples} done", flush=True)
    return results


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks scale",
        description="Memory and cost of DECClusterer on large data (issue 15).",
    )
    parser.add_argument("which", choices=(*WHICH, "all"))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/scale"))
    parser.add_argument(
        "--n-samples",
        type=int,
        default=None,
        help="rows of the memmap or sparse data (default 2,000,000 / 100,000)",
    )
    parser.add_argument(
        "--sizes",
        default=None,
        help="comma-separated rows of the table (default 10000,70000,1000000)",
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="table: processes per size"
    )
    parser.add_argument(
        "--n-features", type=int, default=20000, help="vocabulary of the sparse corpus"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a DECClusterer parameter (repeatable)",
    )
    parser.add_argument(
        "--no-pipeline",
        action="store_true",
        help="sparse: skip the TfidfTransformer pipeline run",
    )
    parser.add_argument(
        "--workdir", default=None, help="where the temporary data is written"
    )
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["_child"]:
        spec = json.loads(Path(argv[1]).read_text())
        Path(argv[2]).write_text(json.dumps(measure(spec), default=repr))
        return 0
    args = _parser().parse_args(argv)
    overrides = dict(parse_assignment(text) for text in args.set)
    info = machine_info()
    command = "python -m benchmarks scale " + " ".join(argv)
    sizes = TABLE_SIZES
    if args.sizes is not None:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    for which in WHICH if args.which == "all" else (args.which,):
        print(f"scale: {which} ...", flush=True)
        if which == "memmap":
            results = run_memmap(args.n_samples or 2_000_000, overrides, args.workdir)
        elif which == "sparse":
            pipeline = not args.no_pipeline
            n_samples = args.n_samples or 100_000
            results = run_sparse(
                n_samples, args.n_features, overrides, pipeline, args.workdir
            )
        elif which == "table2":
            results = run_table_parallel(sizes, overrides, args.workdir)
        else:
            results = run_table(sizes, overrides, args.workdir, args.repeats)
        write_results(
            args.output / f"{which}.json",
            {"machine": info, "command": command, "results": results},
            lambda results, which=which: scale_markdown(which, results),
        )
    return 0
