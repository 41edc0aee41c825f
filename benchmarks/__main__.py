"""``python -m benchmarks [speed] ...``: the suite, or the speed benchmark."""

import sys

from benchmarks import run, speed


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["speed"]:
        return speed.main(argv[1:])
    return run.main(argv)


if __name__ == "__main__":
    sys.exit(main())
