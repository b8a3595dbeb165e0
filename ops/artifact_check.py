"""The deployable Lambda zip, checked as the runtime will see it (`make artifact-check`).

Run: `python -m ops.artifact_check build/` (after `make package`). Reads `deployment.zip` and
`sam.json` in that directory, prints every problem found and exits 1, or prints a short report:

1. native code: every ELF file in the zip is built for the functions' architecture, needs only
   the runtime's system libraries or libraries shipped in the zip (found on its RPATH/RUNPATH or
   Lambda's LD_LIBRARY_PATH), and no symbol version newer than the runtime's glibc, libstdc++,
   libgcc_s and zlib have;
2. wheel tags: every `*.dist-info/WHEEL` has a tag the runtime's interpreter and platform accept
   (`linux_x86_64`, the tag of a wheel built on this machine, is none of them);
3. contents: no tests, dev-only packages or local-stack code;
4. an isolated import: the runtime's Python version, with only the unpacked zip and the standard
   library on sys.path, imports every handler the template names, decodes JPEG, PNG and WebP with
   the packaged Pillow, hashes a password with argon2, signs a JWT and builds the OpenAPI document;
5. sizes: zipped, unzipped (against Lambda's 250 MB limit) and the five largest packages.

The runtime comes from the template: the functions' `Runtime` picks the Amazon Linux release (and
so the glibc), their `Architectures` the machine. What this machine's loader would accept says
nothing about Lambda's (Debian's glibc is newer), hence the static reading of the ELF files; the
import then proves the Python side on the same version of the interpreter.
"""

from __future__ import annotations

import base64
import io
import json
import os
import platform
import posixpath
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection
from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag

ROOT = Path(__file__).resolve().parents[1]
FIND_PYTHON = ROOT / "scripts" / "find-python.sh"

Version = tuple[int, ...]


@dataclass(frozen=True)
class Platform:
    """An Amazon Linux release as a Lambda runtime ships it: the newest symbol version of each
    system library, by the prefix of its version names (GLIBC_2.34, GLIBCXX_3.4.29...). libgcc_s
    names its versions after the GCC release that added them, zlib after its own releases."""

    name: str
    newest: dict[str, Version]

    @property
    def glibc(self) -> Version:
        return self.newest["GLIBC"]


# AL2023: glibc 2.34, GCC 11 (libstdc++ GLIBCXX_3.4.29, CXXABI_1.3.13), zlib 1.2.11.
AMAZON_LINUX_2023 = Platform(
    "Amazon Linux 2023",
    {
        "GLIBC": (2, 34),
        "GLIBCXX": (3, 4, 29),
        "CXXABI": (1, 3, 13),
        "CXXABI_TM": (1,),
        "GCC": (11, 4),
        "ZLIB": (1, 2, 11),
    },
)
# AL2: glibc 2.26, GCC 7 (GLIBCXX_3.4.24, CXXABI_1.3.11), zlib 1.2.7.
AMAZON_LINUX_2 = Platform(
    "Amazon Linux 2",
    {
        "GLIBC": (2, 26),
        "GLIBCXX": (3, 4, 24),
        "CXXABI": (1, 3, 11),
        "CXXABI_TM": (1,),
        "GCC": (7, 3),
        "ZLIB": (1, 2, 7),
    },
)


def platform_of(python: tuple[int, int]) -> Platform:
    # Lambda's python3.12 and later run on AL2023; python3.8 to 3.11 on AL2.
    if python >= (3, 12):
        return AMAZON_LINUX_2023
    if python >= (3, 8):
        return AMAZON_LINUX_2
    raise ValueError(f"no supported Lambda runtime for Python {python[0]}.{python[1]}")


# What each Lambda architecture means to an ELF header, a wheel tag and the dynamic loader.
ARCHITECTURES: dict[str, tuple[str, str, str]] = {
    "x86_64": ("EM_X86_64", "x86_64", "ld-linux-x86-64.so.2"),
    "arm64": ("EM_AARCH64", "aarch64", "ld-linux-aarch64.so.1"),
}


@dataclass(frozen=True)
class Runtime:
    python: tuple[int, int]
    architecture: str
    handlers: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"python{self.python[0]}.{self.python[1]}"

    @property
    def platform(self) -> Platform:
        return platform_of(self.python)

    @property
    def machine(self) -> str:
        return ARCHITECTURES[self.architecture][0]

    @property
    def wheel_arch(self) -> str:
        return ARCHITECTURES[self.architecture][1]

    def describe(self) -> str:
        glibc = ".".join(map(str, self.platform.glibc))
        return f"{self.name} {self.architecture} ({self.platform.name}, glibc {glibc})"


class ArtifactError(Exception):
    """The build directory cannot be checked at all (no zip, a template without one runtime)."""


def runtime_of(template: dict[str, Any]) -> Runtime:
    """The one Python runtime and architecture of the template's functions, and their handlers."""
    defaults = template.get("Globals", {}).get("Function", {})
    runtimes: set[str] = set()
    architectures: set[str] = set()
    handlers: list[str] = []
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") not in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            continue
        properties = {**defaults, **resource.get("Properties", {})}
        runtimes.add(str(properties.get("Runtime")))
        architectures.update(properties.get("Architectures") or ["x86_64"])
        handlers.append(str(properties.get("Handler")))
    if len(runtimes) != 1 or len(architectures) != 1:
        raise ArtifactError(
            f"expected one runtime and one architecture, found runtimes {sorted(runtimes)}, "
            f"architectures {sorted(architectures)}"
        )
    runtime, architecture = runtimes.pop(), architectures.pop()
    major, _, minor = runtime.removeprefix("python").partition(".")
    if not runtime.startswith("python") or not (major.isdigit() and minor.isdigit()):
        raise ArtifactError(f"not a Python runtime: {runtime}")
    if architecture not in ARCHITECTURES:
        raise ArtifactError(f"unknown architecture: {architecture}")
    try:
        platform_of((int(major), int(minor)))
    except ValueError as exc:
        raise ArtifactError(str(exc)) from None
    return Runtime((int(major), int(minor)), architecture, tuple(sorted(set(handlers))))


@dataclass
class Findings:
    """One check's outcome: what is wrong (each a line of the failure report), and what it saw."""

    title: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# 1. Native code

# The libraries an ELF file may need from the runtime rather than from the zip. glibc's own
# (the loader and the libraries that are part of glibc, all with GLIBC_ symbol versions),
# libgcc_s and libstdc++ (AL2023's minimal image has both: its package manager is C++), and zlib:
# manylinux policies allow it since 2021 (pypa/auditwheel#334), so Pillow's wheels need it
# unbundled, and the runtime's own Python needs it for its zlib module. Other glibc parts
# (libnsl, libcrypt) are separate packages on AL2023, not in the image; X11, GL and GLib, which
# manylinux also allows, are not in Lambda's image either.
GLIBC_LIBRARIES = frozenset(
    {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1", "libresolv.so.2"}
)
OTHER_SYSTEM_LIBRARIES = frozenset({"libgcc_s.so.1", "libstdc++.so.6", "libz.so.1"})

# Lambda's LD_LIBRARY_PATH has /var/task and /var/task/lib (the zip's root and lib/) after the
# runtime's own directories.
TASK_LIBRARY_DIRS = ("", "lib")

ELF_MAGIC = b"\x7fELF"


def system_libraries(runtime: Runtime) -> frozenset[str]:
    return GLIBC_LIBRARIES | OTHER_SYSTEM_LIBRARIES | {ARCHITECTURES[runtime.architecture][2]}


@dataclass(frozen=True)
class ElfInfo:
    machine: str
    needed: tuple[str, ...]
    search: tuple[str, ...]  # RPATH or RUNPATH entries
    version_needs: tuple[tuple[str, str], ...]  # (library, version name)


def read_elf(data: bytes) -> ElfInfo:
    elf = ELFFile(io.BytesIO(data))
    needed: list[str] = []
    search: list[str] = []
    version_needs: list[tuple[str, str]] = []
    for section in elf.iter_sections():
        if isinstance(section, DynamicSection):
            for tag in section.iter_tags():
                kind = tag.entry.d_tag
                if kind not in ("DT_NEEDED", "DT_RPATH", "DT_RUNPATH"):
                    continue
                # pyelftools gives these tags' strings as attributes named after them (.needed...).
                value = str(getattr(tag, kind[3:].lower()))
                if kind == "DT_NEEDED":
                    needed.append(value)
                else:
                    search.extend(value.split(":"))
        elif isinstance(section, GNUVerNeedSection):
            for verneed, auxiliaries in section.iter_versions():
                version_needs.extend((str(verneed.name), aux.name) for aux in auxiliaries)
    return ElfInfo(str(elf["e_machine"]), tuple(needed), tuple(search), tuple(version_needs))


def _search_dirs(path: str, entries: Iterable[str]) -> Iterator[str]:
    """The zip directories an RPATH/RUNPATH names; only `$ORIGIN`-relative entries can point into
    the zip (an absolute one points at the build machine, a relative one at the process's cwd)."""
    origin = posixpath.dirname(path)
    for entry in entries:
        for token in ("$ORIGIN", "${ORIGIN}"):
            if entry == token or entry.startswith(token + "/"):
                resolved = posixpath.normpath(posixpath.join(origin, entry[len(token) :].lstrip("/")))
                if resolved != ".." and not resolved.startswith("../"):
                    yield "" if resolved == "." else resolved


def _parse_version(name: str) -> tuple[str, Version] | None:
    prefix, _, number = name.rpartition("_")
    parts = number.split(".")
    if not prefix or not all(part.isdigit() for part in parts):
        return None
    return prefix, tuple(int(part) for part in parts)


def _dotted(version: Version) -> str:
    return ".".join(map(str, version))


def check_native(archive: zipfile.ZipFile, runtime: Runtime) -> Findings:
    findings = Findings("native code")
    files = {info.filename for info in archive.infolist() if not info.is_dir()}
    elves: dict[str, ElfInfo] = {}
    for name in sorted(files):
        with archive.open(name) as stream:
            if stream.read(4) != ELF_MAGIC:
                continue
        try:
            elves[name] = read_elf(archive.read(name))
        except ELFError as exc:
            findings.problems.append(f"{name}: not a readable ELF file ({exc})")
    system = system_libraries(runtime)
    newest_needed: dict[str, Version] = {}
    too_new: dict[tuple[str, str], dict[str, str]] = {}  # (file, library) -> version name -> prefix
    for name, elf in elves.items():
        if elf.machine != runtime.machine:
            findings.problems.append(f"{name}: built for {elf.machine}, the functions run on {runtime.architecture}")
        # The loader's order: the file's RPATH/RUNPATH, then LD_LIBRARY_PATH. A copy of the library
        # elsewhere in the zip is not found, unless something else happened to load it first.
        dirs = [*_search_dirs(name, elf.search), *TASK_LIBRARY_DIRS]
        for library in elf.needed:
            if library in system:
                continue
            if not any(posixpath.join(d, library) in files for d in dirs):
                shipped = sorted(f for f in files if posixpath.basename(f) == library)
                where = (
                    f" (shipped as {', '.join(shipped)}, not on its RPATH/RUNPATH nor Lambda's library path)"
                    if shipped
                    else ""
                )
                findings.problems.append(
                    f"{name}: needs {library}, neither a system library of the runtime nor shipped in the zip{where}"
                )
        for library, version_name in elf.version_needs:
            if library not in system:
                continue  # a shipped library: it defines its own versions
            parsed = _parse_version(version_name)
            newest = runtime.platform.newest.get(parsed[0]) if parsed else None
            if parsed is None or newest is None:
                findings.problems.append(f"{name}: needs {version_name} of {library}, unknown to {runtime.describe()}")
                continue
            prefix, version = parsed
            newest_needed[prefix] = max(newest_needed.get(prefix, ()), version)
            if version > newest:
                too_new.setdefault((name, library), {})[version_name] = prefix
    for (name, library), versions in sorted(too_new.items()):
        has = ", ".join(f"{p}_{_dotted(runtime.platform.newest[p])}" for p in sorted(set(versions.values())))
        findings.problems.append(
            f"{name}: needs {', '.join(versions)} of {library}; {runtime.platform.name} has up to {has}"
        )
    seen = ", ".join(f"{prefix}_{_dotted(version)}" for prefix, version in sorted(newest_needed.items()))
    findings.notes.append(f"{len(elves)} ELF files; newest symbol versions needed: {seen or 'none'}")
    return findings


# ---------------------------------------------------------------------------------------------
# 2. Wheel tags

# The manylinux aliases of PEP 513, 571 and 599 (manylinux1 and 2010 exist for x86 only).
LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


def platform_tags(runtime: Runtime) -> list[str]:
    """Newest first, as pip orders them: manylinux_2_<glibc> down to the oldest policy."""
    glibc_major, glibc_minor = runtime.platform.glibc[:2]
    oldest = 17 if runtime.wheel_arch == "aarch64" else 5
    tags: list[str] = []
    for minor in range(glibc_minor, oldest - 1, -1):
        tags.append(f"manylinux_{glibc_major}_{minor}_{runtime.wheel_arch}")
        legacy = LEGACY_MANYLINUX.get(minor)
        if legacy and (runtime.wheel_arch == "x86_64" or legacy == "manylinux2014"):
            tags.append(f"{legacy}_{runtime.wheel_arch}")
    return tags


def supported_tags(runtime: Runtime) -> frozenset[Tag]:
    platforms = platform_tags(runtime)
    interpreter = f"cp{runtime.python[0]}{runtime.python[1]}"
    return frozenset(cpython_tags(runtime.python, [interpreter], platforms)) | frozenset(
        compatible_tags(runtime.python, interpreter, platforms)
    )


def wheel_tags(text: str) -> list[str]:
    return [line.partition(":")[2].strip() for line in text.splitlines() if line.startswith("Tag:")]


def check_wheels(archive: zipfile.ZipFile, runtime: Runtime) -> Findings:
    findings = Findings("wheel tags")
    supported = supported_tags(runtime)
    dist_infos = sorted({n.split("/")[0] for n in archive.namelist() if n.split("/")[0].endswith(".dist-info")})
    counts: Counter[str] = Counter()
    for dist_info in dist_infos:
        try:
            tags = wheel_tags(archive.read(f"{dist_info}/WHEEL").decode())
        except KeyError:
            findings.problems.append(f"{dist_info}: no WHEEL file, so no tag to check")
            continue
        # A wheel installs where any one of its tags is supported (pip's rule).
        try:
            fitting = [tag for tag in tags if parse_tag(tag) & supported]
        except ValueError:
            fitting = []
        if not fitting:
            findings.problems.append(
                f"{dist_info}/WHEEL: {', '.join(tags) or 'no Tag'} does not run on {runtime.describe()}"
            )
        else:
            counts[fitting[0].rpartition("-")[2]] += 1
    summary = ", ".join(f"{count} {name}" for name, count in counts.most_common())
    findings.notes.append(f"{len(dist_infos)} distributions: {summary or 'none'}")
    return findings


# ---------------------------------------------------------------------------------------------
# 3. Contents

# Top-level names that are test code, development tools or our own non-shipped tooling. Not
# derived from requirements-dev.txt: a dev requirement may also be a runtime dependency of
# something we ship, and then it belongs in the zip.
DEV_ONLY = frozenset(
    {
        "tests",
        "test",
        "conftest.py",
        "moto",
        "pytest",
        "_pytest",
        "py.py",
        "pluggy",
        "xdist",
        "hypothesis",
        "_hypothesis_pytestplugin.py",
        "schemathesis",
        "mypy",
        "mypyc",
        "ruff",
        "cfnlint",
        "elftools",
        "openapi_python_client",
        "ops",
        "bench",
    }
)
# Their distributions, as dist-info directory names spell them (normalized to underscores).
DEV_DISTRIBUTIONS = frozenset(
    {
        "moto",
        "pytest",
        "pytest_xdist",
        "pluggy",
        "hypothesis",
        "schemathesis",
        "mypy",
        "ruff",
        "cfn_lint",
        "chalice",
        "pyelftools",
        "openapi_python_client",
    }
)
# The local stack and CLI's old home, in case either comes back under chalicelib/.
DEV_PATHS = ("chalicelib/local/", "chalicelib/cli.py")
# `chalice package` adds exactly these two files of chalice (its runtime: the app object and the
# event classes); anything else of chalice is its CLI and deployer.
CHALICE_RUNTIME = frozenset({"chalice/__init__.py", "chalice/app.py"})


def _is_chalice_runtime(name: str) -> bool:
    if name in CHALICE_RUNTIME:
        return True
    directory, _, file = name.rpartition("/")
    return directory == "chalice/__pycache__" and file.split(".")[0] in ("__init__", "app") and file.endswith(".pyc")


def check_contents(archive: zipfile.ZipFile) -> Findings:
    findings = Findings("contents")
    names = [n for n in archive.namelist() if not n.endswith("/")]
    flagged: Counter[str] = Counter()
    for name in names:
        top = name.split("/")[0]
        distribution = top.removesuffix(".dist-info").partition("-")[0].lower().replace(".", "_")
        if top in DEV_ONLY:
            flagged[f"{top}/" if "/" in name else top] += 1
        elif top.endswith(".dist-info") and distribution in DEV_DISTRIBUTIONS:
            flagged[f"{top}/"] += 1
        elif name.startswith(DEV_PATHS):
            flagged[next(p for p in DEV_PATHS if name.startswith(p))] += 1
        elif top == "chalice" and not _is_chalice_runtime(name):
            flagged["chalice/ (beyond __init__.py and app.py)"] += 1
    for entry, count in sorted(flagged.items()):
        findings.problems.append(f"{entry}: {count} file(s) of tests, dev tools or local-stack code")
    if not flagged:
        findings.notes.append(f"{len(names)} files, no tests, dev tools or local-stack code")
    return findings


# ---------------------------------------------------------------------------------------------
# 4. Isolated import

# Runs in the runtime's Python (any version Lambda has, so nothing newer than 3.8's syntax), with
# -I -S: no site-packages, no PYTHON* variables, no user site, cwd not on sys.path. It prints one
# JSON object: every step's failure, not just the first.
CHILD = r"""
import base64, importlib, io, json, os, socket, sys, sysconfig, traceback

spec = json.loads(sys.argv[1])
task = os.path.realpath(spec["task"])
sys.path.insert(0, task)
problems, facts = [], {"python": sys.version.split()[0], "passed": []}

def refuse(*args, **kwargs):
    raise OSError("network access during the artifact check")

# Nothing here may need AWS: a call would fail on the build machine's credentials, or worse, work.
socket.socket.connect = refuse
socket.getaddrinfo = refuse

def attempt(name, function, *args):
    try:
        function(*args)
    except BaseException as exc:
        lines = traceback.format_exception_only(type(exc), exc)
        problems.append("%s: %s" % (name, "".join(lines).strip()))
    else:
        facts["passed"].append(name)

def handlers():
    for handler in spec["handlers"]:
        module, _, attribute = handler.rpartition(".")
        if getattr(importlib.import_module(module), attribute, None) is None:
            raise AttributeError("%s has no %s" % (module, attribute))

def decode(sample):
    from PIL import Image, features
    if not features.check(sample["feature"]):
        raise RuntimeError("this Pillow was built without %s support" % sample["feature"])
    with Image.open(io.BytesIO(base64.b64decode(sample["data"]))) as image:
        image.load()
        got = (image.format, list(image.size), image.mode)
        want = (sample["format"], sample["size"], sample["mode"])
        if got != want:
            raise AssertionError("decoded %r, expected %r" % (got, want))
        if sample["pixel"] and list(image.getpixel((0, 0))) != sample["pixel"]:
            raise AssertionError("first pixel %r, expected %r" % (image.getpixel((0, 0)), sample["pixel"]))

def argon2():
    from argon2 import PasswordHasher
    from argon2.exceptions import VerifyMismatchError
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    digest = hasher.hash("correct horse")
    hasher.verify(digest, "correct horse")
    try:
        hasher.verify(digest, "wrong horse")
    except VerifyMismatchError:
        return
    raise AssertionError("a wrong password verifies")

def jwt_roundtrip():
    import jwt
    key = "k" * 32
    token = jwt.encode({"sub": "artifact-check"}, key, algorithm="HS256")
    if jwt.decode(token, key, algorithms=["HS256"]) != {"sub": "artifact-check"}:
        raise AssertionError("the token does not decode to its claims")
    try:
        jwt.decode(token, "x" * 32, algorithms=["HS256"])
    except jwt.InvalidSignatureError:
        return
    raise AssertionError("a token verifies with another key")

def openapi():
    from app import app
    from chalicelib.api.openapi_document import build_document
    document = json.loads(json.dumps(build_document(app)))
    if not document.get("openapi") or not document.get("paths"):
        raise AssertionError("no openapi version or no paths")
    facts["openapi paths"] = len(document["paths"])

attempt("import " + ", ".join(spec["handlers"]), handlers)
for sample in spec["images"]:
    attempt("Pillow " + sample["format"], decode, sample)
attempt("argon2 hash and verify", argon2)
attempt("PyJWT HS256", jwt_roundtrip)
attempt("OpenAPI document", openapi)

# Where every loaded module came from: the zip, or the standard library but not its site-packages.
paths = sysconfig.get_paths()
stdlib = [os.path.realpath(paths[key]) + os.sep for key in ("stdlib", "platstdlib")]
site = [os.path.realpath(paths[key]) + os.sep for key in ("purelib", "platlib")]
outside = []
for name, module in sorted(sys.modules.items()):
    path = getattr(module, "__file__", None)
    if not path:
        continue
    path = os.path.realpath(path)
    in_stdlib = any(path.startswith(root) for root in stdlib) and not any(path.startswith(s) for s in site)
    if not (path.startswith(task + os.sep) or in_stdlib):
        outside.append("%s (%s)" % (name, path))
if outside:
    problems.append("modules from outside the zip and the standard library: " + ", ".join(outside))
facts["from the zip"] = [
    name for name in spec["packaged"]
    if os.path.realpath(getattr(sys.modules.get(name), "__file__", None) or "/").startswith(task + os.sep)
]
facts["modules"] = len(sys.modules)
print(json.dumps({"problems": problems, "facts": facts}))
"""


# Packages whose origin the report names: the native ones and ours.
PACKAGED = ["PIL", "argon2", "_argon2_cffi_bindings", "jwt", "pydantic_core", "chalice", "chalicelib", "app"]


def sample_images() -> list[dict[str, Any]]:
    """Small images in the three formats the API accepts, made with .venv's Pillow; each with what
    decoding it must give. PNG is lossless, so its first pixel is checked too."""
    from PIL import Image

    samples: list[dict[str, Any]] = []
    for fmt, feature, size, mode, pixel in (
        ("JPEG", "jpg", (64, 48), "RGB", None),
        ("PNG", "zlib", (33, 17), "RGBA", (10, 200, 30, 128)),
        ("WEBP", "webp", (40, 30), "RGB", None),
    ):
        image = Image.new(mode, size, pixel or (120, 60, 200))
        buffer = io.BytesIO()
        image.save(buffer, format=fmt)
        samples.append(
            {
                "format": fmt,
                "feature": feature,
                "size": list(size),
                "mode": mode,
                "pixel": list(pixel) if pixel else None,
                "data": base64.b64encode(buffer.getvalue()).decode(),
            }
        )
    return samples


def child_environment(home: Path) -> dict[str, str]:
    """A test-like environment, and nothing of this shell's: no AWS credentials or profile, no
    endpoint (nothing may call AWS), no virtualenv."""
    # The tests' variables, so the names follow the settings as they change.
    from tests.support.environment import TEST_ENVIRONMENT

    return {
        "PATH": os.defpath,
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "ENVIRONMENT": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
        **TEST_ENVIRONMENT,
    }


def find_python(version: tuple[int, int]) -> str:
    wanted = f"{version[0]}.{version[1]}"
    found = subprocess.run([str(FIND_PYTHON), wanted], capture_output=True, text=True, check=False)
    if found.returncode != 0 or not found.stdout.strip():
        raise ArtifactError(found.stderr.strip() or f"Python {wanted} not found")
    return found.stdout.strip()


def check_import(package: Path, runtime: Runtime, python: str | None = None, timeout: float = 300) -> Findings:
    findings = Findings("isolated import")
    if python is None and platform.machine() != runtime.wheel_arch:
        # The import loads the zip's native code: an interpreter of this machine cannot.
        findings.problems.append(
            f"the functions run on {runtime.architecture}; this machine ({platform.machine()}) has no "
            f"{runtime.wheel_arch} interpreter to load their native code"
        )
        return findings
    try:
        interpreter = python or find_python(runtime.python)
    except ArtifactError as exc:
        findings.problems.append(f"no interpreter for {runtime.name}: {exc}")
        return findings
    with tempfile.TemporaryDirectory(prefix="artifact-check-") as tmp:
        work = Path(tmp)
        task = work / "task"
        with zipfile.ZipFile(package) as archive:
            archive.extractall(task)
        spec = {"task": str(task), "handlers": list(runtime.handlers), "images": sample_images(), "packaged": PACKAGED}
        try:
            done = subprocess.run(
                [interpreter, "-I", "-S", "-B", "-c", CHILD, json.dumps(spec)],
                cwd=task,
                env=child_environment(work),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            findings.problems.append(f"{interpreter} did not finish in {timeout:.0f} s")
            return findings
    try:
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        findings.problems.append(f"{interpreter} exited with {done.returncode} and no report:\n{tail}")
        return findings
    findings.problems.extend(outcome["problems"])
    facts = outcome["facts"]
    findings.notes.append(f"Python {facts['python']} ({interpreter} -I -S), sys.path: the unpacked zip and the stdlib")
    findings.notes.append(f"passed: {', '.join(facts['passed']) or 'nothing'}")
    findings.notes.append(
        f"{facts['modules']} modules; from the zip: {', '.join(facts['from the zip']) or 'none'}; "
        f"OpenAPI document: {facts.get('openapi paths', 0)} paths"
    )
    return findings


# ---------------------------------------------------------------------------------------------
# 5. Sizes

# Lambda's limit on a function's unzipped code (layers included).
UNZIPPED_LIMIT = 250 * 1024 * 1024


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


def largest_packages(archive: zipfile.ZipFile, count: int = 5) -> list[tuple[str, int]]:
    """Top-level packages by unzipped size; a distribution's metadata is not a package."""
    sizes: Counter[str] = Counter()
    for info in archive.infolist():
        top = info.filename.split("/")[0]
        if not top.endswith((".dist-info", ".data")):
            sizes[top] += info.file_size
    return sizes.most_common(count)


def check_sizes(package: Path, archive: zipfile.ZipFile) -> Findings:
    findings = Findings("size")
    unzipped = sum(info.file_size for info in archive.infolist())
    findings.notes.append(
        f"{_mib(package.stat().st_size)} zipped, {_mib(unzipped)} unzipped (Lambda's limit: {_mib(UNZIPPED_LIMIT)})"
    )
    findings.notes.append("largest: " + ", ".join(f"{name} {_mib(size)}" for name, size in largest_packages(archive)))
    if unzipped > UNZIPPED_LIMIT:
        findings.problems.append(f"{_mib(unzipped)} unzipped, over Lambda's {_mib(UNZIPPED_LIMIT)}")
    return findings


# ---------------------------------------------------------------------------------------------


def check(build: Path, python: str | None = None) -> tuple[Runtime, list[Findings]]:
    package, template = build / "deployment.zip", build / "sam.json"
    if not package.is_file() or not template.is_file():
        raise ArtifactError(f"{build} has no deployment.zip and sam.json: run `make package` first")
    runtime = runtime_of(json.loads(template.read_text()))
    with zipfile.ZipFile(package) as archive:
        static = [check_native(archive, runtime), check_wheels(archive, runtime), check_contents(archive)]
        sizes = check_sizes(package, archive)
    return runtime, [*static, check_import(package, runtime, python), sizes]


def render(build: Path, runtime: Runtime, results: Sequence[Findings]) -> str:
    problems = sum(len(f.problems) for f in results)
    head = f"artifact check of {build / 'deployment.zip'} for {runtime.describe()}"
    lines = [f"{head}: {'FAILED, ' + str(problems) + ' problem(s)' if problems else 'OK'}"]
    for findings in results:
        mark = "FAIL" if findings.problems else "ok"
        lines.append(f"[{mark}] {findings.title}")
        lines.extend(f"    {note}" for note in findings.notes)
        lines.extend(f"  - {problem}" for problem in findings.problems)
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    build = Path(argv[0] if argv else "build")
    try:
        runtime, results = check(build)
    except ArtifactError as exc:
        print(f"artifact check of {build}: {exc}", file=sys.stderr)
        return 2
    print(render(build, runtime, results))
    return 1 if any(f.problems for f in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
