"""``python -m benchmarks [speed|gpu|starts] ...``: the suite, or a benchmark."""

import sys

from benchmarks import gpu, run, speed, starts


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["speed"]:
        return speed.main(argv[1:])
    if argv[:1] == ["gpu"]:
        return gpu.main(argv[1:])
    if argv[:1] == ["starts"]:
        return starts.main(argv[1:])
    return run.main(argv)


if __name__ == "__main__":
    sys.exit(main())
