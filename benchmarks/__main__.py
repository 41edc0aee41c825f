"""``python -m benchmarks COMMAND ...``: the one runner of the benchmarks.

``python -m benchmarks COMMAND --help`` lists each command's options.
"""

import importlib
import json
import sys
from pathlib import Path

# Command -> (its module in benchmarks/, whose main(argv) runs it; what it does).
COMMANDS = {
    "panel": ("panel", "judge the defaults: every method on the panel's data"),
    "grid_search": ("grid_search", "GridSearchCV over k with and without memory"),
    "scale": ("scale", "memory and cost on data larger than memory"),
    "gpu": ("gpu", "the GPU check (needs CUDA)"),
    "table": (None, "rewrite the markdown of results JSON files from the JSON"),
}
# Finished studies: benchmarks/README.md names the commit that has each.
RETIRED = {"suite", "speed", "starts", "structure", "time_to_quality"}
RETIRED |= {"choosing_k", "single_cell"}


def _usage():
    lines = ["usage: python -m benchmarks COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<12} {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines) + "\n"


def rewrite_tables(paths):
    """``python -m benchmarks table PATH...``: rewrite ``panel.md`` and the
    scale reports from their JSON, for the files given or every one under the
    folders given; a check that no committed table is edited by hand."""
    from benchmarks import panel, scale

    if not paths or paths[0].startswith("-"):
        print("usage: python -m benchmarks table PATH...  (JSON files or folders)")
        return 0 if paths else 2
    for path in map(Path, paths):
        for file in sorted(path.rglob("*.json")) if path.is_dir() else [path]:
            if file.stem == "panel":
                text = panel.markdown(json.loads(file.read_text()))
            elif file.stem in scale.WHICH:
                text = scale.markdown(file.stem, json.loads(file.read_text()))
            else:
                continue
            file.with_suffix(".md").write_text(text)
            print(f"wrote {file.with_suffix('.md')}")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    command, rest = (argv[0], argv[1:]) if argv else (None, [])
    if command in ("-h", "--help"):
        print(_usage(), end="")
        return 0
    if command is None:
        print(_usage(), end="", file=sys.stderr)
        return 2
    if command not in COMMANDS:
        # Options first were the retired suite's (the default command then).
        if command in RETIRED or command.startswith("-"):
            name = "suite" if command.startswith("-") else command
            why = f'{name!r} is retired: benchmarks/README.md ("Finished studies")'
            why += " names the commit that has it and its command"
        else:
            why = f"unknown command {command!r}"
        print(_usage() + "\n" + why, file=sys.stderr)
        return 2
    if command == "table":
        return rewrite_tables(rest)
    module = importlib.import_module("benchmarks." + COMMANDS[command][0])
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())
