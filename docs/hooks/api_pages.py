"""MkDocs hook: one API reference page per module listed in mkdocs.yml under ``extra.api_modules``.

Adding a module to the docs is one line in that list (``- rnnkit.wrappers``). Each page is generated (not a file
in ``docs/``): a level-1 heading rendered by mkdocstrings from the module's docstring, then its public members.
An entry may carry mkdocstrings options, e.g. ``- rnnkit.fused: {members: [fused_rnn]}``.
The nav section titled ``API reference`` is filled with the pages, in the list's order.
"""

from __future__ import annotations

from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

NAV_SECTION = "API reference"


def _modules(config: MkDocsConfig) -> list[tuple[str, dict[str, Any]]]:
    modules = []
    for entry in config.extra.get("api_modules", []):
        if isinstance(entry, str):
            modules.append((entry, {}))
        elif isinstance(entry, dict) and len(entry) == 1:
            ((name, options),) = entry.items()
            modules.append((name, dict(options or {})))
        else:
            raise ValueError(
                f"api_pages: expected a module name or {{name: options}}, got {entry!r}"
            )
    return modules


def _page(name: str, options: dict[str, Any]) -> str:
    lines = [
        f"::: {name}",
        "    options:",
        "      heading_level: 1",
        "      show_root_heading: true",
    ]
    lines += [f"      {key}: {value!r}".replace("'", '"') for key, value in options.items()]
    return "\n".join(lines) + "\n"


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    pages = [{name: f"api/{name}.md"} for name, _ in _modules(config)]
    for entry in config.nav or []:
        if isinstance(entry, dict) and NAV_SECTION in entry:
            entry[NAV_SECTION] = pages
            break
    else:
        raise ValueError(f"api_pages: mkdocs.yml's nav has no section {NAV_SECTION!r}")
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for name, options in _modules(config):
        files.append(File.generated(config, f"api/{name}.md", content=_page(name, options)))
    return files
