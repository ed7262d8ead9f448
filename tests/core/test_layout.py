"""The repository is an application: its generic package names must be its own."""
from __future__ import annotations

import ast
import tomllib
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


# -- imports: the stages lean on what is below them ---------------------------------------


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the nodes under `if TYPE_CHECKING:`: names for annotations, never run."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return hidden


def imported_modules(path: Path, *, with_type_checking: bool = False) -> set[str]:
    """Every module `path` imports, at the top or inside a function, as dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = set() if with_type_checking else _type_checking_only(tree)
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def import_graph(folder: str) -> dict[str, set[str]]:
    """Module -> the modules of the same tree it imports (a package's name stands for its __init__)."""
    paths = {_module_name(path): path for path in (REPO / folder).rglob("*.py")}
    return {name: {m for m in imported_modules(path) if m in paths and m != name} for name, path in paths.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found, key=len, reverse=True)


def test_no_import_cycle_of_more_than_three_modules_in_daemon():
    too_large = [cycle for cycle in import_cycles(import_graph("daemon")) if len(cycle) > 3]
    assert not too_large, f"modules of daemon/ that import each other in a circle: {too_large}"


def test_the_cycle_check_sees_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"d"}, "d": {"a"}, "e": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c", "d"]]


def test_parsers_and_integrations_never_import_the_daemon():
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for folder in ("parsers", "integrations")
        for path in sorted((REPO / folder).rglob("*.py"))
        for name in sorted(imported_modules(path, with_type_checking=True))
        if name == "daemon" or name.startswith("daemon.")
    ]
    assert not offenders, offenders


def test_no_cycle_between_parsers_modules():
    cycles = import_cycles(import_graph("parsers"))
    assert not cycles, f"parsers import each other in a circle: {cycles}"


def test_every_package_is_installed():
    """pyproject.toml lists the packages by hand: a new one missing there would not be installed."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {_module_name(init) for folder in ("daemon", "parsers", "integrations") for init in (REPO / folder).rglob("__init__.py")}
    assert found == listed
