"""Add bytecode to the Lambda package that `chalice package` built.

Run: `python infra/compile_package.py build/` (after `chalice package ... build/`; `make package` does).

Chalice unpacks wheels without compiling them, and Lambda's code directory is read-only, so a
package without .pyc files compiles every module it imports on every cold start (measured with
`python -m bench.import_time --from-source`: about 1.2 s more here). The bytecode is written with
`unchecked-hash` invalidation: a zip does not keep the source timestamps that the default mode
checks. The interpreter must be the runtime's version (bytecode is per Python version).

It also drops what never runs on Lambda (PRUNED).
"""

from __future__ import annotations

import compileall
import json
import re
import sys
import tempfile
import zipfile
from pathlib import Path

# Powertools' own copy of Swagger UI (1.7 MB), read only by its event handler's enable_swagger().
# The API is chalice's, and its docs page serves Swagger UI from openapi-ui-bundles
# (chalicelib/api/docs.py). The assets only: the package's modules stay, so importing them works.
PRUNED = (
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/*.js",
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/*.css",
)


def runtime_version(template: Path) -> str:
    runtimes = set(re.findall(r'"Runtime":\s*"python(\d+\.\d+)"', template.read_text()))
    if len(runtimes) != 1:
        raise SystemExit(f"expected one python runtime in {template}, found {sorted(runtimes)}")
    return runtimes.pop()


def compile_package(build: Path) -> int:
    package, template = build / "deployment.zip", build / "sam.json"
    wanted, running = runtime_version(template), f"{sys.version_info.major}.{sys.version_info.minor}"
    if wanted != running:
        raise SystemExit(f"the package runs on Python {wanted}; compile it with that version, not {running}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(package) as archive:
            infos = archive.infolist()
            archive.extractall(root)
        pruned = 0
        for pattern in PRUNED:
            for path in root.glob(pattern):
                pruned += path.stat().st_size
                path.unlink()
        ok = compileall.compile_dir(
            root,
            quiet=1,
            ddir="/var/task",
            invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        if not ok:
            raise SystemExit("some modules did not compile")
        modes = {info.filename: info.external_attr for info in infos}
        rebuilt = package.with_suffix(".tmp")
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                name = path.relative_to(root).as_posix()
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = modes.get(name, 0o644 << 16)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
        rebuilt.replace(package)
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
    pyc = sum(1 for n in names if n.endswith(".pyc"))
    print(json.dumps({"package": str(package), "files": len(names), "pyc": pyc, "pruned_bytes": pruned}))
    return 0


if __name__ == "__main__":
    sys.exit(compile_package(Path(sys.argv[1] if len(sys.argv) > 1 else "build")))
