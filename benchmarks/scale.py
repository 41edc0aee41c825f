"""Scale: memory and cost of a fit on data larger than memory.

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
import functools
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
    machine_summary,
    status_mb,
    table,
    warm_up,
    write_results,
)
from benchmarks._data import write_blobs, write_corpus
from skdec import DECClusterer

WHICH = ("memmap", "sparse", "table", "table2")
MEMMAP_TARGET_MB = 384
SPARSE_TARGET_MB = 1536
# The small network of the memmap and table measurements.
SMALL_NET = {"module__hidden_dims": (32,), "module__latent_dim": 5}
SMALL_NET.update(pretrain_epochs=1)
SMALL_NET.update(batch_size=1024, max_iter=300, n_init=3, random_state=0)
# The network of the sparse measurement: small enough for minutes on 1 core.
SPARSE_NET = {**SMALL_NET, "module__hidden_dims": (256,), "module__latent_dim": 10}
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


# ---------------------------------------------------------------------------
# Tables


def _f(value, digits=3):
    return "n/a" if value is None else f"{value:.{digits}f}"


# hidden_dims and latent_dim: the names of the committed results, measured
# before the network's settings became module__ parameters.
_SHOWN_PARAMS = (
    *("batch_size", "hidden_dims", "latent_dim", "max_iter"),
    *("module__hidden_dims", "module__latent_dim", "n_init"),
    *("pretrain_epochs", "pretrain_optimizer", "random_state", "tol"),
    "update_interval",
)
# Figures of the table that are medians over repeats (memory: the largest).
_MEDIANS = (
    *("pretrain_epoch_seconds", "kmeans_seconds", "refresh_seconds"),
    *("step_seconds", "fit_seconds", "predict_seconds", "ari_predict"),
)


def combine_repeats(results):
    """One result per size: median times over repeats, largest memory."""
    groups = {}
    for result in results:
        if "error" not in result:
            groups.setdefault(result["n_samples"], []).append(result)
    combined = [result for result in results if "error" in result]
    for group in groups.values():
        row = dict(max(group, key=lambda r: r["rss_anon_peak_mb"]))
        for name in _MEDIANS:
            values = [r[name] for r in group if r.get(name) is not None]
            row[name] = float(np.median(values)) if values else None
        row["n_repeats"] = len(group)
        combined.append(row)
    return combined


def _num(key, digits, scale=1.0):
    """A column: ``r[key] * scale`` (``scale`` may be a function of ``r``)."""

    def cell(r):
        factor = scale(r) if callable(scale) else scale
        return _f(None if r.get(key) is None else factor * r[key], digits)

    return cell


def _with_derived(r):
    """A scale result with the figures its columns show but do not hold."""
    stages = r["stage_seconds"]
    return {
        **r,
        "over_mb": r["rss_anon_peak_mb"] - r["rss_anon_baseline_mb"],
        "pretraining_seconds": stages.get("pretraining"),
        "clustering_seconds": stages.get("clustering"),
        "kind": r["input"] + (" + TfidfTransformer" if r.get("pipeline") else ""),
    }


def _per_row(r):
    return 1e6 / r["n_samples"]


_N = ("n", lambda r: f"{r['n_samples']:,}")
_ADDED = ("peak anon. added (MB)", _num("peak_anon_added_mb", 0))
_OVER = ("over post-warm-up baseline (MB)", _num("over_mb", 0))
_KMEANS = ("k-means start (s)", _num("kmeans_seconds", 2))
_REFRESH = ("s / P refresh", _num("refresh_seconds", 2))
_STEP = ("ms / clustering step", _num("step_seconds", 2, 1000))
_FIT, _PREDICT = _num("fit_seconds", 1), ("predict (s)", _num("predict_seconds", 1))
_ARI = ("ARI", _num("ari_predict", 3))
# The columns of each scale report: (header, cell of a result).
COLUMNS = {
    "table2": [
        ("n", lambda r: f"{r['n_samples'] * r['world']:,}"),
        ("rank", lambda r: r["rank"]),
        ("rows", _N[1]),
        *(_ADDED, ("s / epoch", _num("pretrain_epoch_seconds", 2))),
        *(_KMEANS, _REFRESH, _STEP, ("fit (s)", _FIT)),
        ("ARI (own rows)", _ARI[1]),
    ],
    "table": [
        *(_N, _ADDED, _OVER),
        ("bytes / row", _num("over_mb", 0, lambda r: 2**20 / r["n_samples"])),
        ("s / pretraining epoch", _num("pretrain_epoch_seconds", 2)),
        ("µs / row / epoch", _num("pretrain_epoch_seconds", 2, _per_row)),
        *(_KMEANS, _REFRESH),
        ("µs / row / refresh", _num("refresh_seconds", 2, _per_row)),
        *(_STEP, ("fit total (s)", _FIT), _PREDICT, _ARI),
    ],
    "memmap": [
        *(_N, ("input", lambda r: r["kind"]), _ADDED, _OVER),
        *(("target (MB)", lambda r: r["target_mb"]), ("fit (s)", _FIT), _PREDICT),
        ("pretraining (s)", _num("pretraining_seconds", 1)),
        _KMEANS,
        ("clustering stage (s)", _num("clustering_seconds", 1)),
        *(_REFRESH, _ARI, ("peak during", lambda r: str(r["peak"].get("phase")))),
    ],
}
COLUMNS["sparse"] = COLUMNS["memmap"]
_TITLES = {"table2": "table, 2 processes (data-parallel, gloo on loopback)"}


def markdown(which, results):
    """The report of one scale measurement."""
    runs = results["results"]
    lines = [f"# Scale: {_TITLES.get(which, which)}", ""]
    lines += [machine_summary(results["machine"]), "", f"    {results['command']}", ""]
    if which != "table2":
        params = next((r["params"] for r in runs if "params" in r), {})
        shown = ", ".join(f"{k}={params[k]!r}" for k in _SHOWN_PARAMS if k in params)
        lines += [f"DECClusterer({shown})", ""]
    if which == "table":
        runs = combine_repeats(runs)
        n = max((r["n_repeats"] for r in runs if "n_repeats" in r), default=1)
        text = f"Median over {n} fresh processes per size (peak memory: the largest)."
        lines += [text, ""]
    runs = [r if "error" in r else _with_derived(r) for r in runs]
    header, cells = zip(*COLUMNS[which], strict=True)
    rows = [
        [f"failed: {r['error'][-200:]!r}"]
        if "error" in r
        else [cell(r) for cell in cells]
        for r in runs
    ]
    lines += table(header, rows)
    if which == "table2":
        return "\n".join(lines) + "\n"
    lines.append("")
    lines += [
        f"- n={r['n_samples']:,} ({r['kind']}): peak {r['rss_anon_peak_mb']:.0f} MB "
        f"anonymous (after imports and data {r['rss_anon_after_data_mb']:.0f} "
        f"MB) at {r['peak']['seconds']:.1f} s, in "
        f"{' > '.join(r['peak']['where'][-3:])}"
        for r in runs
        if "error" not in r and r["peak"]
    ]
    if results.get("note"):
        lines += ["", results["note"]]
    return "\n".join(lines) + "\n"


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
        write_results(
            args.output / f"{which}.json", results, functools.partial(markdown, which)
        )
    return 0
