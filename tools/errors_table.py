"""Regenerate the bad-input tables in docs/errors.md from the test tables (the tests check they stay in sync).

Usage (from the repository root): ``PYTHONPATH=src python tools/errors_table.py``. Each table sits between
``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers; only those regions are rewritten.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.cli.test_cli_errors import cli_table  # noqa: E402  (needs the path set above)
from tests.cli.test_core_install import core_install_table  # noqa: E402
from tests.cli.test_settings_errors import settings_table  # noqa: E402
from tests.errors.test_errors_block import block_table  # noqa: E402
from tests.errors.test_errors_cells import cells_table  # noqa: E402
from tests.errors.test_errors_contrib import contrib_table  # noqa: E402
from tests.errors.test_errors_core import core_table  # noqa: E402
from tests.errors.test_errors_dates import dates_table  # noqa: E402
from tests.errors.test_errors_layers import layers_table  # noqa: E402
from tests.errors.test_errors_seq2seq import seq2seq_table  # noqa: E402
from tests.errors.test_errors_surface import surface_table  # noqa: E402
from tests.errors.test_errors_tf_models import tf_models_table  # noqa: E402

TABLES = {
    "core-table": core_table,
    "cells-table": cells_table,
    "surface-table": surface_table,
    "tf-models-table": tf_models_table,
    "block-table": block_table,
    "contrib-table": contrib_table,
    "seq2seq-table": seq2seq_table,
    "cli-table": cli_table,
    "settings-table": settings_table,
    "core-install-table": core_install_table,
    "layers-table": layers_table,
    "dates-table": dates_table,
}


def main() -> None:
    path = ROOT / "docs" / "errors.md"
    text = path.read_text()
    for name, make in TABLES.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(
                f"errors_table: expected <!-- {name}:start/end --> markers in {path}, got none"
            )
        text = pattern.sub(lambda m, make=make: m.group(1) + make() + m.group(2), text)
    path.write_text(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
