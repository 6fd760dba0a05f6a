"""MkDocs hook: links from a page to repository files outside ``docs/`` (``../tests/test_x.py``).

Pages are also read on the repository, where such links work; on the site they would be broken. Each one whose
target exists in the repository becomes plain text (its label), or a link to ``repo_url`` + ``/blob/main/PATH``
when mkdocs.yml sets ``repo_url``. A link whose target does not exist stays and fails ``mkdocs build --strict``,
so a stale path is still caught. Links inside ``docs/`` are left to MkDocs' own checks.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

# [label](target) outside code spans; the target has no scheme, is not an anchor and is not absolute.
_LINK = re.compile(r"\[(?P<label>[^\]\n]+)\]\((?P<target>(?![a-z][a-z0-9+.-]*:|#|/)[^)\s]+)\)")


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    docs_dir = Path(config.docs_dir).resolve()
    root = Path(config.config_file_path).resolve().parent
    page_dir = (docs_dir / page.file.src_uri).parent
    repo_url = (config.repo_url or "").rstrip("/")

    def rewrite(match: re.Match[str]) -> str:
        target = match["target"].split("#", 1)[0]
        path = (page_dir / target).resolve()
        if path.is_relative_to(docs_dir) or not path.is_relative_to(root) or not path.exists():
            return match[0]
        rel = path.relative_to(root).as_posix()
        return f"[{match['label']}]({repo_url}/blob/main/{rel})" if repo_url else match["label"]

    return _LINK.sub(rewrite, markdown)
