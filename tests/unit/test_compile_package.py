"""infra/compile_package.py adds bytecode that Python uses without the sources' timestamps."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> object:
    spec = importlib.util.spec_from_file_location("compile_package", ROOT / "infra" / "compile_package.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(tmp_path: Path, runtime: str) -> Path:
    build = tmp_path / "build"
    build.mkdir()
    (build / "sam.json").write_text(f'{{"Resources": {{"F": {{"Properties": {{"Runtime": "python{runtime}"}}}}}}}}')
    with zipfile.ZipFile(build / "deployment.zip", "w") as archive:
        archive.writestr("app.py", "import pkg.mod\nVALUE = pkg.mod.VALUE\n")
        archive.writestr("pkg/__init__.py", "")
        archive.writestr("pkg/mod.py", "VALUE = 42\n")
    return build


def test_the_package_gets_unchecked_hash_bytecode(tmp_path: Path) -> None:
    build = _build(tmp_path, f"{sys.version_info.major}.{sys.version_info.minor}")
    assert _load().compile_package(build) == 0  # type: ignore[attr-defined]
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(build / "deployment.zip") as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    assert {"app.py", "pkg/mod.py"} <= set(names)
    assert any(n.startswith("pkg/__pycache__/mod.") and n.endswith(".pyc") for n in names)
    pyc = next((unpacked / "pkg" / "__pycache__").glob("mod.*.pyc")).read_bytes()
    # PEP 552 flags: bit 0 hash-based, bit 1 check_source; unchecked-hash is 0b01.
    assert int.from_bytes(pyc[4:8], "little") == 0b01
    # The interpreter takes the bytecode without checking the source: a changed source is not
    # even looked at (a Lambda package never changes in place).
    (unpacked / "pkg" / "mod.py").write_text("VALUE = 0\n")
    out = subprocess.run(
        [sys.executable, "-c", "import app; print(app.VALUE)"], cwd=unpacked, capture_output=True, text=True
    )
    assert out.stdout.strip() == "42", out.stderr


def test_another_runtime_is_refused(tmp_path: Path) -> None:
    build = _build(tmp_path, "3.9" if sys.version_info[:2] != (3, 9) else "3.12")
    with pytest.raises(SystemExit, match="compile it with that version"):
        _load().compile_package(build)  # type: ignore[attr-defined]


def test_powertools_swagger_ui_assets_are_pruned_and_its_modules_kept(tmp_path: Path) -> None:
    build = _build(tmp_path, f"{sys.version_info.major}.{sys.version_info.minor}")
    swagger = "aws_lambda_powertools/event_handler/openapi/swagger_ui"
    with zipfile.ZipFile(build / "deployment.zip", "a") as archive:
        archive.writestr(f"{swagger}/__init__.py", "from .html import PAGE\n")
        archive.writestr(f"{swagger}/html.py", "PAGE = '<html></html>'\n")
        archive.writestr(f"{swagger}/swagger-ui-bundle.min.js", "x" * 1000)
        archive.writestr(f"{swagger}/swagger-ui.min.css", "y" * 100)
        # Someone else's Swagger UI, the one the docs page serves, stays.
        archive.writestr("openapi_ui_bundles/swagger_ui/vendor/swagger-ui-bundle.js", "z")
    assert _load().compile_package(build) == 0  # type: ignore[attr-defined]
    with zipfile.ZipFile(build / "deployment.zip") as archive:
        names = set(archive.namelist())
    assert not {f"{swagger}/swagger-ui-bundle.min.js", f"{swagger}/swagger-ui.min.css"} & names
    assert {f"{swagger}/__init__.py", f"{swagger}/html.py", "app.py"} <= names
    assert any(n.startswith(f"{swagger}/__pycache__/html.") for n in names)
    assert "openapi_ui_bundles/swagger_ui/vendor/swagger-ui-bundle.js" in names
