"""The repository is an application: its generic package names must be its own."""
from __future__ import annotations

from pathlib import Path

import daemon
import integrations
import parsers
from tests.support import REPO


def test_packages_are_imported_from_this_repository():
    for package in (daemon, parsers, integrations):
        assert Path(package.__file__).resolve().parent.parent == REPO, package.__file__


def test_templates_folder_is_data_not_a_package():
    assert not (REPO / "templates" / "__init__.py").exists()


def test_every_module_says_its_role():
    missing = []
    for folder in ("daemon", "parsers", "integrations"):
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8").lstrip()
            if not text.startswith(('"""', "'''")):
                missing.append(str(path.relative_to(REPO)))
    assert not missing, f"modules without a docstring: {missing}"
