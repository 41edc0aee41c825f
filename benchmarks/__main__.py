"""``python -m benchmarks [COMMAND] ...``: the one runner of the benchmarks.

Commands: ``suite`` (the default: :mod:`benchmarks.run`), ``speed``,
``scale``, ``gpu``, ``starts`` and ``table`` (markdown from results JSON).
``python -m benchmarks COMMAND --help`` lists each one's options.
"""

import importlib
import sys

COMMANDS = {
    "suite": "benchmarks.run",
    "speed": "benchmarks.speed",
    "scale": "benchmarks.scale",
    "gpu": "benchmarks.gpu",
    "starts": "benchmarks.starts",
    "table": "benchmarks.tables",
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv[:1] and argv[0] in COMMANDS else "suite"
    rest = argv[1:] if argv[:1] == [command] else argv
    return importlib.import_module(COMMANDS[command]).main(rest)


if __name__ == "__main__":
    sys.exit(main())
