"""ops/artifact_check.py on small zips made here: native code, wheel tags, contents, the isolated
import and the report. The shared objects are built with gcc against stub libraries that define
exactly the symbol versions a case needs, so nothing depends on this machine's glibc."""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from ops import artifact_check
from ops.artifact_check import (
    ArtifactError,
    Runtime,
    check,
    check_contents,
    check_import,
    check_native,
    check_sizes,
    check_wheels,
    render,
    runtime_of,
)

PY312 = Runtime((3, 12), "x86_64", ("app.app",))
PY311 = Runtime((3, 11), "x86_64", ("app.app",))
ARM64 = Runtime((3, 12), "arm64", ("app.app",))


def _zip(path: Path, files: Mapping[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _gcc(*args: str | Path) -> None:
    done = subprocess.run(["gcc", *map(str, args)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# Stub libraries: each defines one function per symbol version here (none: one unversioned
# function). Linking against them gives a shared object exactly the DT_NEEDED entries and
# symbol versions a case calls for.
STUBS: dict[str, tuple[str, ...]] = {
    "libc.so.6": ("GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_2.35", "GLIBC_PRIVATE"),
    "libm.so.6": ("GLIBC_2.29",),
    "libstdc++.so.6": ("GLIBCXX_3.4.29", "GLIBCXX_3.4.30", "CXXABI_1.3.13"),
    "libfoo.so.1": (),
}


def _function(library: str, version: str = "") -> str:
    return re.sub(r"\W", "_", f"{library}_{version}")


def _stubs(work: Path) -> None:
    for library, versions in STUBS.items():
        names = {version: _function(library, version) for version in versions} or {"": _function(library)}
        source = work / f"{_function(library)}.c"
        source.write_text("".join(f"void {name}(void) {{}}\n" for name in names.values()))
        flags = [f"-Wl,-soname,{library}"]
        if versions:
            script = work / f"{_function(library)}.map"
            script.write_text("".join(f"{v} {{ global: {n}; }};\n" for v, n in names.items()))
            flags.append(f"-Wl,--version-script={script}")
        _gcc("-shared", "-fPIC", "-nostdlib", "-o", work / library, source, *flags)


def _shared_object(work: Path, name: str, needs: Mapping[str, Sequence[str]], rpath: str | None = None) -> bytes:
    """A shared object calling, of each stub library in `needs`, the function of each version
    listed (an empty list: the unversioned one)."""
    calls = [_function(library, version) for library, versions in needs.items() for version in versions or [""]]
    source = work / f"{name}.c"
    source.write_text("".join(f"void {c}(void);\n" for c in calls) + f"void run(void) {{ {'();'.join(calls)}(); }}\n")
    libraries = [f"-l:{library}" for library in needs]
    extra = [f"-Wl,-rpath,{rpath}"] if rpath else []
    _gcc("-shared", "-fPIC", "-nostdlib", "-o", work / f"{name}.so", source, f"-L{work}", *libraries, *extra)
    return (work / f"{name}.so").read_bytes()


@pytest.fixture(scope="module")
def elves(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    work = tmp_path_factory.mktemp("elves")
    _stubs(work)
    cases: dict[str, tuple[dict[str, list[str]], str | None]] = {
        "glibc_2_34": ({"libc.so.6": ["GLIBC_2.2.5", "GLIBC_2.34"], "libm.so.6": ["GLIBC_2.29"]}, None),
        "glibc_2_35": ({"libc.so.6": ["GLIBC_2.2.5", "GLIBC_2.35"]}, None),
        "glibc_private": ({"libc.so.6": ["GLIBC_PRIVATE"]}, None),
        "libstdcxx_gcc12": ({"libstdc++.so.6": ["GLIBCXX_3.4.30", "CXXABI_1.3.13"]}, None),
        "libstdcxx_gcc11": ({"libstdc++.so.6": ["GLIBCXX_3.4.29", "CXXABI_1.3.13"]}, None),
        "needs_libfoo": ({"libfoo.so.1": [], "libc.so.6": ["GLIBC_2.2.5"]}, "$ORIGIN/../foo.libs"),
        "needs_libfoo_no_rpath": ({"libfoo.so.1": []}, None),
    }
    return {name: _shared_object(work, name, needs, rpath) for name, (needs, rpath) in cases.items()}


def _native(tmp_path: Path, files: Mapping[str, str | bytes], runtime: Runtime = PY312) -> list[str]:
    with zipfile.ZipFile(_zip(tmp_path / "native.zip", files)) as archive:
        return check_native(archive, runtime).problems


def test_system_libraries_up_to_the_runtimes_glibc_pass(tmp_path: Path, elves: dict[str, bytes]) -> None:
    files: dict[str, str | bytes] = {
        "pkg/_ext.cpython-312-x86_64-linux-gnu.so": elves["glibc_2_34"],
        "pkg/__init__.py": "",
    }
    assert _native(tmp_path, files) == []
    # The same file on python3.11 (Amazon Linux 2, glibc 2.26): both libraries' versions are too new.
    assert _native(tmp_path, files, PY311) == [
        "pkg/_ext.cpython-312-x86_64-linux-gnu.so: needs GLIBC_2.34 of libc.so.6; Amazon Linux 2 has up to GLIBC_2.26",
        "pkg/_ext.cpython-312-x86_64-linux-gnu.so: needs GLIBC_2.29 of libm.so.6; Amazon Linux 2 has up to GLIBC_2.26",
    ]


def test_a_glibc_symbol_version_newer_than_2_34_fails(tmp_path: Path, elves: dict[str, bytes]) -> None:
    assert _native(tmp_path, {"x.so": elves["glibc_2_35"]}) == [
        "x.so: needs GLIBC_2.35 of libc.so.6; Amazon Linux 2023 has up to GLIBC_2.34"
    ]


def test_a_private_glibc_version_fails(tmp_path: Path, elves: dict[str, bytes]) -> None:
    [problem] = _native(tmp_path, {"x.so": elves["glibc_private"]})
    assert problem.startswith("x.so: needs GLIBC_PRIVATE of libc.so.6, unknown to python3.12")


def test_libstdcxx_versions_are_those_of_gcc_11(tmp_path: Path, elves: dict[str, bytes]) -> None:
    assert _native(tmp_path, {"x.so": elves["libstdcxx_gcc11"]}) == []
    assert _native(tmp_path, {"x.so": elves["libstdcxx_gcc12"]}) == [
        "x.so: needs GLIBCXX_3.4.30 of libstdc++.so.6; Amazon Linux 2023 has up to GLIBCXX_3.4.29"
    ]


def test_a_library_neither_allowed_nor_shipped_fails(tmp_path: Path, elves: dict[str, bytes]) -> None:
    module = "foo/_ext.so"
    assert _native(tmp_path, {module: elves["needs_libfoo"]}) == [
        f"{module}: needs libfoo.so.1, neither a system library of the runtime nor shipped in the zip"
    ]
    # Shipped where its RPATH ($ORIGIN/../foo.libs) points, as auditwheel does.
    assert _native(tmp_path, {module: elves["needs_libfoo"], "foo.libs/libfoo.so.1": elves["glibc_2_34"]}) == []
    # Shipped, but where the loader does not look.
    assert _native(tmp_path, {module: elves["needs_libfoo"], "bar.libs/libfoo.so.1": elves["glibc_2_34"]}) == [
        f"{module}: needs libfoo.so.1, neither a system library of the runtime nor shipped in the zip"
        " (shipped as bar.libs/libfoo.so.1, not on its RPATH/RUNPATH nor Lambda's library path)"
    ]


def test_lambdas_library_path_finds_the_zips_root_and_lib(tmp_path: Path, elves: dict[str, bytes]) -> None:
    module = {"foo/_ext.so": elves["needs_libfoo_no_rpath"]}
    assert _native(tmp_path, {**module, "libfoo.so.1": elves["glibc_2_34"]}) == []
    assert _native(tmp_path, {**module, "lib/libfoo.so.1": elves["glibc_2_34"]}) == []
    assert len(_native(tmp_path, {**module, "foo/libfoo.so.1": elves["glibc_2_34"]})) == 1


def test_an_elf_of_the_other_architecture_fails(tmp_path: Path, elves: dict[str, bytes]) -> None:
    aarch64 = bytearray(elves["glibc_2_34"])
    aarch64[18:20] = (183).to_bytes(2, "little")  # e_machine: EM_AARCH64
    assert _native(tmp_path, {"x.so": bytes(aarch64)}) == ["x.so: built for EM_AARCH64, the functions run on x86_64"]
    assert _native(tmp_path, {"x.so": bytes(aarch64)}, ARM64) == []
    assert _native(tmp_path, {"x.so": elves["glibc_2_34"]}, ARM64) == [
        "x.so: built for EM_X86_64, the functions run on arm64"
    ]


def test_elf_files_are_found_by_content_not_name(tmp_path: Path, elves: dict[str, bytes]) -> None:
    assert len(_native(tmp_path, {"bin/tool": elves["glibc_2_35"], "README.so": b"not an ELF file"})) == 1


def _wheels(tmp_path: Path, wheel: str, runtime: Runtime) -> list[str]:
    files = {"pkg-1.0.dist-info/WHEEL": f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\n{wheel}"}
    with zipfile.ZipFile(_zip(tmp_path / "wheels.zip", files)) as archive:
        return check_wheels(archive, runtime).problems


@pytest.mark.parametrize(
    ("tags", "runtime", "fits"),
    [
        # A wheel built on this machine: chalice takes it, Lambda may not load it.
        ("cp312-cp312-linux_x86_64", PY312, False),
        ("cp312-cp312-manylinux_2_28_x86_64", PY312, True),
        ("cp312-cp312-manylinux_2_34_x86_64", PY312, True),
        ("cp312-cp312-manylinux_2_35_x86_64", PY312, False),
        # The same glibc on Python 3.11, whose runtime (Amazon Linux 2) has glibc 2.26.
        ("cp38-abi3-manylinux_2_28_x86_64", PY312, True),
        ("cp38-abi3-manylinux_2_28_x86_64", PY311, False),
        ("cp311-cp311-manylinux_2_26_x86_64", PY311, True),
        ("cp311-cp311-manylinux2014_x86_64", PY311, True),
        ("cp312-cp312-manylinux2010_x86_64", PY312, True),
        ("cp312-cp312-manylinux1_x86_64", PY312, True),
        ("cp311-cp311-manylinux_2_17_x86_64", PY312, False),
        ("py3-none-any", PY312, True),
        ("py2-none-any\nTag: py3-none-any", PY312, True),
        ("py2-none-any", PY312, False),
        ("cp312-cp312-musllinux_1_2_x86_64", PY312, False),
        ("cp312-cp312-manylinux_2_28_aarch64", PY312, False),
        ("cp312-cp312-manylinux_2_28_aarch64", ARM64, True),
        ("cp312-cp312-manylinux2014_aarch64", ARM64, True),
        ("cp312-cp312-manylinux_2_28_x86_64", ARM64, False),
    ],
)
def test_wheel_tags(tmp_path: Path, tags: str, runtime: Runtime, fits: bool) -> None:
    problems = _wheels(tmp_path, f"Tag: {tags}\n", runtime)
    listed = tags.replace("\nTag: ", ", ")
    assert problems == ([] if fits else [f"pkg-1.0.dist-info/WHEEL: {listed} does not run on {runtime.describe()}"])


def test_a_distribution_without_wheel_metadata_fails(tmp_path: Path) -> None:
    with zipfile.ZipFile(_zip(tmp_path / "w.zip", {"pkg-1.0.dist-info/METADATA": "Name: pkg\n"})) as archive:
        assert check_wheels(archive, PY312).problems == ["pkg-1.0.dist-info: no WHEEL file, so no tag to check"]


SHIPPED: dict[str, str | bytes] = {
    "app.py": "",
    "chalicelib/__init__.py": "",
    "chalicelib/localization.py": "",
    "chalice/__init__.py": "",
    "chalice/app.py": "",
    "chalice/__pycache__/app.cpython-312.pyc": b"",
    "pytest_friendly/__init__.py": "",
    "boto3-1.0.dist-info/WHEEL": "",
}


def _contents(tmp_path: Path, files: Mapping[str, str | bytes]) -> list[str]:
    with zipfile.ZipFile(_zip(tmp_path / "contents.zip", files)) as archive:
        return check_contents(archive).problems


def test_what_the_runtime_needs_passes(tmp_path: Path) -> None:
    assert _contents(tmp_path, SHIPPED) == []


@pytest.mark.parametrize(
    ("name", "reported"),
    [
        ("tests/unit/test_x.py", "tests/"),
        ("moto/__init__.py", "moto/"),
        ("moto-5.2.5.dist-info/METADATA", "moto-5.2.5.dist-info/"),
        ("_pytest/python.py", "_pytest/"),
        ("hypothesis/__init__.py", "hypothesis/"),
        ("schemathesis/__init__.py", "schemathesis/"),
        ("mypy/__init__.py", "mypy/"),
        ("ops/cli.py", "ops/"),
        ("chalicelib/local/stack.py", "chalicelib/local/"),
        ("chalicelib/cli.py", "chalicelib/cli.py"),
        ("chalice/cli/__init__.py", "chalice/ (beyond __init__.py and app.py)"),
        ("chalice/__pycache__/local.cpython-312.pyc", "chalice/ (beyond __init__.py and app.py)"),
        ("chalice-1.34.0.dist-info/RECORD", "chalice-1.34.0.dist-info/"),
    ],
)
def test_tests_dev_tools_and_local_stack_code_fail(tmp_path: Path, name: str, reported: str) -> None:
    assert _contents(tmp_path, {**SHIPPED, name: ""}) == [
        f"{reported}: 1 file(s) of tests, dev tools or local-stack code"
    ]


def _template(*functions: Mapping[str, object], globals_: Mapping[str, object] | None = None) -> dict[str, object]:
    resources = {f"F{i}": {"Type": "AWS::Serverless::Function", "Properties": dict(p)} for i, p in enumerate(functions)}
    resources["Queue"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    return {"Resources": resources, **({"Globals": {"Function": dict(globals_)}} if globals_ else {})}


def test_the_runtime_comes_from_the_template() -> None:
    template = _template(
        {"Runtime": "python3.12", "Handler": "app.app", "Architectures": ["arm64"]},
        {"Runtime": "python3.12", "Handler": "app.media_ingest", "Architectures": ["arm64"]},
    )
    runtime = runtime_of(template)
    assert runtime == Runtime((3, 12), "arm64", ("app.app", "app.media_ingest"))
    assert runtime.platform.glibc == (2, 34)
    old = runtime_of(_template({"Handler": "app.app"}, globals_={"Runtime": "python3.11"}))
    assert (old.architecture, old.platform.glibc, old.describe()) == (
        "x86_64",
        (2, 26),
        "python3.11 x86_64 (Amazon Linux 2, glibc 2.26)",
    )


@pytest.mark.parametrize(
    "functions",
    [
        [{"Runtime": "python3.12", "Handler": "a.b"}, {"Runtime": "python3.11", "Handler": "a.c"}],
        [{"Runtime": "python3.12", "Handler": "a.b", "Architectures": ["arm64"]}, {"Runtime": "python3.12"}],
        [{"Runtime": "nodejs20.x", "Handler": "a.b"}],
        [{"Runtime": "python3.7", "Handler": "a.b"}],
        [],
    ],
)
def test_a_template_without_one_python_runtime_is_refused(functions: list[dict[str, object]]) -> None:
    with pytest.raises(ArtifactError):
        runtime_of(_template(*functions))


def test_the_isolated_import_sees_only_the_zip(tmp_path: Path) -> None:
    # .venv has Pillow, argon2 and PyJWT; a zip without them must not find them.
    package = _zip(tmp_path / "deployment.zip", {"app.py": "app = object()\nworker = print\n"})
    runtime = Runtime(sys.version_info[:2], "x86_64", ("app.app", "app.worker", "app.missing"))
    problems = check_import(package, runtime, python=sys.executable).problems
    assert problems[0] == "import app.app, app.worker, app.missing: AttributeError: app has no missing"
    assert [p.split(":")[0] for p in problems[1:]] == [
        "Pillow JPEG",
        "Pillow PNG",
        "Pillow WEBP",
        "argon2 hash and verify",
        "PyJWT HS256",
        "OpenAPI document",
    ]
    assert all("No module named" in p for p in problems[1:])


def test_a_module_loaded_from_outside_the_zip_is_reported(tmp_path: Path) -> None:
    site = sysconfig.get_paths()["purelib"]
    app = f"import sys\nsys.path.append({site!r})\nimport PIL\napp = object()\n"
    package = _zip(tmp_path / "deployment.zip", {"app.py": app})
    runtime = Runtime(sys.version_info[:2], "x86_64", ("app.app",))
    problems = check_import(package, runtime, python=sys.executable).problems
    outside = [p for p in problems if p.startswith("modules from outside the zip")]
    assert len(outside) == 1 and f"PIL ({site}/PIL/__init__.py)" in outside[0]
    # Pillow itself worked, from .venv: only the origin check tells.
    assert not [p for p in problems if p.startswith("Pillow")]


def test_sizes_and_the_largest_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files: dict[str, str | bytes] = {
        "big/a.bin": b"a" * 5000,
        "big/b.bin": b"b" * 5000,
        "mid/a.bin": b"m" * 3000,
        "one.py": "x" * 10,
    }
    files |= {"big-1.0.dist-info/RECORD": "r" * 20000, **{f"p{i}/x": "x" * (100 + i) for i in range(5)}}
    package = _zip(tmp_path / "deployment.zip", files)
    with zipfile.ZipFile(package) as archive:
        findings = check_sizes(package, archive)
        assert artifact_check.largest_packages(archive) == [
            ("big", 10000),
            ("mid", 3000),
            ("p4", 104),
            ("p3", 103),
            ("p2", 102),
        ]
        assert findings.problems == []
        monkeypatch.setattr(artifact_check, "UNZIPPED_LIMIT", 30000)
        assert check_sizes(package, archive).problems == ["0.0 MiB unzipped, over Lambda's 0.0 MiB"]


def test_every_problem_is_reported_and_fails_the_check(tmp_path: Path, elves: dict[str, bytes]) -> None:
    build = tmp_path / "build"
    build.mkdir()
    (build / "sam.json").write_text(json.dumps(_template({"Runtime": "python3.12", "Handler": "app.app"})))
    _zip(
        build / "deployment.zip",
        {
            "app.py": "app = object()\n",
            "x.so": elves["glibc_2_35"],
            "pkg-1.0.dist-info/WHEEL": "Tag: cp312-cp312-linux_x86_64\n",
            "tests/test_app.py": "",
            "moto/__init__.py": "",
        },
    )
    runtime, results = check(build, python=sys.executable)
    problems = {f.title: len(f.problems) for f in results}
    assert problems == {"native code": 1, "wheel tags": 1, "contents": 2, "isolated import": 6, "size": 0}
    report = render(build, runtime, results)
    assert report.splitlines()[0].endswith("FAILED, 10 problem(s)")
    assert "  - x.so: needs GLIBC_2.35 of libc.so.6; Amazon Linux 2023 has up to GLIBC_2.34" in report


def test_a_build_without_a_package_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert artifact_check.main([str(tmp_path)]) == 2
    assert "run `make package` first" in capsys.readouterr().err


def test_the_isolated_import_of_another_architecture_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    other = "arm64" if platform.machine() == "x86_64" else "x86_64"
    package = _zip(tmp_path / "deployment.zip", {"app.py": "app = object()\n"})
    [problem] = check_import(package, Runtime((3, 12), other, ("app.app",))).problems
    assert problem.startswith(f"the functions run on {other}; this machine ({platform.machine()}) has no")
