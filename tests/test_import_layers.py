"""The layers point one way (ui -> viz -> engine): what each part of convcore, the pages and app.py may import.

Read from the source with ast (nothing is imported), so a forbidden import anywhere in a file fails, even one inside a
function. The third-party packages each layer may use are listed; the standard library is always allowed.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "convcore"

ENGINE_PACKAGES = {"numpy", "scipy", "PIL"}
# Each layer: the convcore subpackages it may import, the third-party packages it may import.
LAYERS = {
    "engine": (set(), ENGINE_PACKAGES),
    "viz": ({"viz"}, ENGINE_PACKAGES | {"plotly", "_plotly_utils"}),
    "export": ({"viz", "export"}, ENGINE_PACKAGES | {"plotly", "av"}),  # reads viz's figures
    "ui": ({"viz", "export", "ui"}, ENGINE_PACKAGES | {"plotly", "_plotly_utils", "streamlit", "pandas", "segno"}),
}
PAGES_ALLOWED = LAYERS["ui"][1] | {"convcore"}
NEVER = {"torch"}  # a test-only dependency


def layer_of(path: Path) -> str:
    """Which layer a file of convcore belongs to: its first folder if that is a layer with a name, else the engine."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 and parts[0] in LAYERS else "engine"


def imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Absolute names of everything the file imports (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    package = list(path.relative_to(ROOT).parts[:-1])
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            names.add(module)
            if node.module is None or node.level:  # `from . import viz`: the names may be subpackages
                names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def convcore_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def violations(path: Path, own_packages: set[str], third_party: set[str], source: str | None = None) -> list[str]:
    bad = []
    for name in sorted(imported_modules(path, source)):
        top = name.split(".")[0]
        if top in NEVER:
            bad.append(f"{name} (test-only)")
        elif top == "convcore":
            sub = name.split(".")[1] if "." in name else None
            if sub in LAYERS and sub not in own_packages and (PACKAGE / sub).is_dir():
                bad.append(f"{name} (a layer above)")
        elif top not in sys.stdlib_module_names and top not in third_party:
            bad.append(f"{name} (not a dependency of this layer)")
    return bad


@pytest.mark.parametrize("path", convcore_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_convcore_imports_only_its_own_layer_and_below(path):
    own, third_party = LAYERS[layer_of(path)]
    assert violations(path, own, third_party) == [], f"{path.relative_to(ROOT)} ({layer_of(path)} layer)"


@pytest.mark.parametrize("path", [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_never_import_torch(path):
    assert violations(path, set(LAYERS), PAGES_ALLOWED) == []


def test_the_check_sees_a_forbidden_import():
    """The rule itself: an engine file importing streamlit, or convcore.viz, is caught; a viz file, streamlit too."""
    source = "import streamlit\nfrom .viz import grids\n"
    assert violations(PACKAGE / "probe.py", *LAYERS["engine"], source=source) == ["convcore.viz (a layer above)", "convcore.viz.grids (a layer above)",
                                                   "streamlit (not a dependency of this layer)"]
    assert violations(PACKAGE / "viz" / "probe.py", *LAYERS["viz"], source="from ..ui import lesson\nimport torch\n") \
        == ["convcore.ui (a layer above)", "convcore.ui.lesson (a layer above)", "torch (test-only)"]
