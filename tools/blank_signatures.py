"""Copy a Python tree with every multi-line ``def`` signature collapsed to ``def name(*args):``.

    rm -rf /tmp/blanked && python tools/blank_signatures.py src /tmp/blanked && (cd /tmp/blanked && duplicates --most 200)

Why: issue 13 bounds what ``duplicates`` lists in ``src/``. Most of what it still lists are TF1's public
signatures (``dynamic_rnn`` / ``bidirectional_dynamic_rnn`` / ``static_rnn``, the attention mechanisms, the
LSTM-family constructors), which repeat the same parameters in the same order by design: a ported program calls
them positionally and a type checker reads them. Running ``duplicates`` on this copy shows what repeats once the
signatures are set aside, i.e. the repetition that could still be written once. Only signatures change; bodies,
docstrings and everything else are kept line for line.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def _collapsed(source: str) -> str:
    lines = source.splitlines()
    spans: dict[int, tuple[int, str]] = {}  # def line -> (first body line, replacement)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first, body = node.lineno - 1, node.body[0].lineno - 1
            if body - first > 1:  # a signature over several lines
                indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
                spans[first] = (body, f"{indent}def {node.name}(*args):")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if i in spans:
            i, replacement = spans[i]
            out.append(replacement)
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python tools/blank_signatures.py SRC_DIR OUT_DIR", file=sys.stderr)
        return 2
    src, dst = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    if (
        dst.exists()
    ):  # never delete or overwrite what is there (a wrong argument would be a lost tree)
        print(f"blank_signatures: expected OUT_DIR not to exist yet, got {dst}", file=sys.stderr)
        return 2
    for path in sorted(src.rglob("*.py")):
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_collapsed(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
