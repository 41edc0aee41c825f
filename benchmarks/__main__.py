"""``python -m benchmarks [COMMAND] ...``: the one runner of the benchmarks.

Commands: ``suite`` (the default: :mod:`benchmarks.run`), ``panel``, ``speed``,
``scale``, ``gpu``, ``starts``, ``structure``, ``single_cell``,
``time_to_quality``, ``choosing_k`` and ``table`` (markdown from results JSON).
``python -m benchmarks COMMAND --help`` lists each one's options.
"""

import importlib
import sys

# Command -> its module in benchmarks/ (whose main(argv) runs it).
COMMANDS = {"suite": "run", "table": "tables", "single_cell": "single_cell"}
COMMANDS["time_to_quality"] = "time_to_quality"
COMMANDS["choosing_k"] = "choosing_k"
COMMANDS.update(
    {name: name for name in ("speed", "scale", "gpu", "starts", "structure", "panel")}
)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv[:1] and argv[0] in COMMANDS else "suite"
    rest = argv[1:] if argv[:1] == [command] else argv
    return importlib.import_module("benchmarks." + COMMANDS[command]).main(rest)


if __name__ == "__main__":
    sys.exit(main())
