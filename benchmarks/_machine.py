"""What machine a benchmark ran on, and how much memory a process used."""

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import sklearn
import torch

_REPO = Path(__file__).resolve().parent.parent


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _git(*args):
    try:
        result = subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=_REPO,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def machine_info():
    """Platform, CPU, thread settings, library versions, date and commit."""
    cuda = torch.cuda.is_available()
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(" ", "seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "n_cores": os.cpu_count(),
        "n_cores_usable": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS"),
        "gpu": torch.cuda.get_device_name() if cuda else None,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": None if status is None else bool(status),
    }


def machine_summary(info):
    """One line naming the machine, for the markdown reports."""
    gpu = f", GPU {info['gpu']}" if info["gpu"] else ", no GPU"
    dirty = " + uncommitted changes" if info["uncommitted_changes"] else ""
    return (
        f"{info['cpu']} ({info['n_cores_usable']} of {info['n_cores']} cores usable, "
        f"torch threads {info['torch_threads']}){gpu}; {info['platform']}; "
        f"Python {info['python']}, torch {info['torch']}, scikit-learn "
        f"{info['sklearn']}, numpy {info['numpy']}; commit {info['commit']}{dirty}; "
        f"{info['date']}"
    )


# ---------------------------------------------------------------------------
# Memory of this process


def _status_mb(field):
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status in MB, or None."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # the kernel writes kB
    except OSError:
        pass
    return None


def reset_peak_rss():
    """Restart the peak-RSS count at the current RSS; return whether it worked.

    Linux resets ``VmHWM`` when "5" is written to ``/proc/self/clear_refs``,
    so the peak measured afterwards is that of the fit, not of loading data
    or importing torch.
    """
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def rss_mb():
    """Resident memory of this process now, in MB (None if unknown)."""
    return _status_mb("VmRSS")


def peak_rss_mb():
    """Peak resident memory of this process (since the last reset), in MB."""
    peak = _status_mb("VmHWM")
    if peak is None:
        try:
            import resource
        except ImportError:  # Windows
            return None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # kB on Linux, bytes on macOS.
        peak = peak / 2**20 if sys.platform == "darwin" else peak / 1024
    return peak


def peak_gpu_mb():
    """Peak memory torch allocated on the GPU, in MB (None without CUDA)."""
    if not torch.cuda.is_available():
        return None
    return torch.cuda.max_memory_allocated() / 2**20
