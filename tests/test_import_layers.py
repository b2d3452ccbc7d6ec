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
VIZ_PACKAGES = ENGINE_PACKAGES | {"plotly", "_plotly_utils"}
# Each part of convcore: the parts of convcore it may import, the third-party packages it may import. "api" is the
# torch-facing modules at the top (functional, modules, shapes, padding, params); the algorithms sit under functional
# and see only params' argument types. Everything but viz, export and ui is the engine: numpy, scipy, Pillow.
LAYERS = {
    "algorithms": ({"algorithms", "params"}, ENGINE_PACKAGES),
    "api": ({"api", "params", "algorithms"}, ENGINE_PACKAGES),
    "images": ({"images", "api", "params"}, ENGINE_PACKAGES),
    "teaching": ({"teaching", "images", "api", "params"}, ENGINE_PACKAGES),
    "viz": ({"viz", "teaching", "images", "api", "params"}, VIZ_PACKAGES),
    "export": ({"export", "viz", "teaching", "images", "api", "params"}, VIZ_PACKAGES | {"av"}),  # draws viz's figures
    "ui": ({"ui", "export", "viz", "teaching", "images", "api", "params"},
           VIZ_PACKAGES | {"streamlit", "pandas", "segno"}),
}
PAGES_ALLOWED = LAYERS["ui"][1] | {"convcore"}
NEVER = {"torch"}  # a test-only dependency


def layer_of(path: Path) -> str:
    """Which part of convcore a file belongs to: its first folder, or "api" for the modules at the top."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else "api"


def part_of_import(name: str) -> str:
    """The part of convcore an imported name lies in (`convcore.teaching.trace` -> teaching, `convcore` -> api)."""
    sub = name.split(".")[1] if "." in name else None
    if sub is None or not (PACKAGE / sub).is_dir():
        return "params" if sub == "params" else "api"
    return sub


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
            if part_of_import(name) not in own_packages:
                bad.append(f"{name} (not below this layer)")
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
    assert violations(path, LAYERS["ui"][0], PAGES_ALLOWED) == []


def test_the_check_sees_a_forbidden_import():
    """The rule itself: an engine file importing streamlit or viz is caught, a viz file importing ui or torch, an
    algorithm importing the functional API above it (a cycle), the teaching model importing viz."""
    source = "import streamlit\nfrom .viz import grids\n"
    assert violations(PACKAGE / "probe.py", *LAYERS["api"], source=source) == [
        "convcore.viz (not below this layer)", "convcore.viz.grids (not below this layer)",
        "streamlit (not a dependency of this layer)"]
    assert violations(PACKAGE / "viz" / "probe.py", *LAYERS["viz"], source="from ..ui import lesson\nimport torch\n") \
        == ["convcore.ui (not below this layer)", "convcore.ui.lesson (not below this layer)", "torch (test-only)"]
    assert violations(PACKAGE / "algorithms" / "probe.py", *LAYERS["algorithms"],
                      source="from ..params import Pair\nfrom ..functional import conv2d\n") \
        == ["convcore.functional (not below this layer)", "convcore.functional.conv2d (not below this layer)"]
    assert violations(PACKAGE / "teaching" / "probe.py", *LAYERS["teaching"],
                      source="from ..viz import palette\nfrom ..images import kernels\n") \
        == ["convcore.viz (not below this layer)", "convcore.viz.palette (not below this layer)"]


def test_every_folder_of_convcore_is_a_layer():
    """A new package must be placed in the table above (else its files would have no rule)."""
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(LAYERS) - {"api"}
