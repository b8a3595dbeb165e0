"""Admin and local commands.

python -m ops.cli local               # the local stack: moto server + chalice local + demo data
python -m ops.cli create-superuser    # FIRST_SUPERUSER / FIRST_SUPERUSER_PASSWORD, idempotent
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ops.local.pump import Pump

ROOT = Path(__file__).resolve().parent.parent


def _stage_environment(stage: str) -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env: dict[str, str] = dict(config.get("environment_variables", {}))
    env.update(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))
    return env


def _wait_for_port(port: int, timeout: float = 30.0, alive: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(f"chalice local exited with {alive.returncode} before listening on {port}")
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _ensure_free(port: int) -> None:
    # Else the readiness check would take another server on the port for chalice.
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"127.0.0.1:{port} is in use")


class _Stop(BaseException):
    """Raised in the main thread by SIGINT, SIGTERM or SIGHUP: unwinds to the clean-up.

    A BaseException, as KeyboardInterrupt is, so that no library's `except Exception` eats it.
    """


class _Console:
    """Writes lines to stdout from a bounded queue: a reader that stalls never blocks the stack.

    chalice's request log and the stack's own messages go through it. When stdout is not read
    (a full pipe), the writer thread waits, the queue fills and further lines are dropped
    (counted); nobody else ever waits on stdout.
    """

    def __init__(self, limit: int = 10_000, fd: int | None = None) -> None:
        self.lines: queue.Queue[bytes] = queue.Queue(maxsize=limit)
        self.dropped = 0
        self.fd = sys.stdout.fileno() if fd is None else fd
        threading.Thread(target=self._write_all, name="console", daemon=True).start()

    def put(self, text: str | bytes) -> None:
        data = text.encode() if isinstance(text, str) else text
        try:
            self.lines.put_nowait(data)
        except queue.Full:
            self.dropped += 1

    def drain(self, timeout: float) -> None:
        """Wait (at most `timeout`) for what is queued to be written."""
        deadline = time.monotonic() + timeout
        while self.lines.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def _write_all(self) -> None:
        while True:
            data = self.lines.get()
            try:
                while data:
                    data = data[os.write(self.fd, data) :]
            except OSError:
                pass  # stdout closed: what was for it is lost, the stack goes on
            finally:
                self.lines.task_done()

    def forward(self, stream: IO[bytes]) -> threading.Thread:
        """Read a child's output to its end, whatever happens to stdout."""

        def pump() -> None:
            for line in iter(stream.readline, b""):
                self.put(line)
            stream.close()

        thread = threading.Thread(target=pump, name="chalice-output", daemon=True)
        thread.start()
        return thread


class _ConsoleHandler(logging.Handler):
    def __init__(self, console: _Console) -> None:
        super().__init__(logging.WARNING)
        self.console = console
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.console.put(self.format(record) + "\n")


# Run as `python -c` between us and chalice: on Linux the child asks the kernel to SIGKILL it
# when its parent dies (PR_SET_PDEATHSIG, kept across exec), so even a SIGKILLed stack leaves
# no server behind. A `python -c` stage rather than preexec_fn: that runs Python in a child
# forked from a process with running threads (the moto server's), which may deadlock.
_EXEC_TIED_TO_PARENT = """\
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    os._exit(1)  # the parent died before prctl: nobody would stop us
os.execv(sys.argv[2], sys.argv[2:])
"""


def _child_command(command: list[str]) -> list[str]:
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-c", _EXEC_TIED_TO_PARENT, str(os.getpid()), *command]


def _stop_group(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM to the child's process group, SIGKILL after 10 s; waits until it has exited."""
    for sig, timeout in ((signal.SIGTERM, 10.0), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def _serve_moto(port: int) -> Any:
    """The moto server on 127.0.0.1, its request threads running the patched moto."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    # Built here, not by moto's ThreadedMotoServer: that builds it in its thread and waits
    # forever for it when the port is taken.
    server = make_server(
        "127.0.0.1",
        port,
        DomainDispatcherApplication(create_backend_app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    threading.Thread(target=server.serve_forever, name="moto-server", daemon=True).start()
    return server


def create_superuser() -> int:
    from chalicelib.services.users import UserService

    user = UserService().ensure_first_superuser()
    print(f"superuser {user.email} ({user.id})")
    return 0


def local(port: int, moto_port: int, demo: bool, stage: str) -> int:
    """The local stack until SIGINT (Ctrl-C), SIGTERM or SIGHUP; every process it starts stops with it.

    Set the handlers first: a shell that starts us in the background without job control
    makes us inherit SIGINT ignored, and Python then never raises KeyboardInterrupt.
    """
    stopping = {"now": False}

    def _on_signal(signum: int, frame: Any) -> None:
        if not stopping["now"]:
            stopping["now"] = True
            raise _Stop(signal.Signals(signum).name)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)

    console = _Console()
    logging.basicConfig(level=logging.WARNING, handlers=[_ConsoleHandler(console)], force=True)
    # The moto server logs every request through werkzeug: too loud for a dev console.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    endpoint = f"http://127.0.0.1:{moto_port}"
    os.environ.update(_stage_environment(stage))
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "ENVIRONMENT": "local",
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)

    from ops.local import moto_transactions

    # Before the first request: DynamoDB's item-level transactions, atomic item operations and
    # ClientRequestToken idempotency (parallel clients would otherwise meet moto's races).
    moto_transactions.install()
    moto: Any = None
    pump: Pump | None = None
    chalice: subprocess.Popen[bytes] | None = None
    status = 0
    try:
        _ensure_free(port)
        moto = _serve_moto(moto_port)
        from chalicelib.config import get_settings
        from chalicelib.queues import SWEEP_MINUTES
        from chalicelib.services.security import create_access_token
        from chalicelib.services.users import UserService
        from ops.local.pump import Pump
        from ops.local.resources import create_resources

        # The stage's browser origins may also POST uploads straight to the images bucket.
        create_resources(public_images=True, cors_origins=get_settings().cors_origins)
        admin = UserService().ensure_first_superuser()
        seeded = {"products": 0, "organizations": 0, "looks": 0}
        if demo:
            from ops.local.demo import seed

            seeded = seed(admin)
        # What Lambda's event source mappings do: the workers run here, on the local queues.
        pump = Pump(stage=stage)
        pump.start()
        # chalice local's server, answering what API Gateway answers itself as the deployed
        # stage does (ops/local/gateway.py). One process, as `chalice local --no-autoreload`:
        # no reloader forking a server child (out of our reach) on every change in the tree.
        chalice = subprocess.Popen(
            _child_command(
                [
                    sys.executable,
                    "-m",
                    "ops.local.gateway",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--stage",
                    stage,
                ]
            ),
            cwd=ROOT,
            env=os.environ.copy(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own process group: a terminal's Ctrl-C reaches only us, and we stop it.
            start_new_session=True,
        )
        assert chalice.stdout is not None
        console.forward(chalice.stdout)
        _wait_for_port(port, alive=chalice)
        token = create_access_token(admin.id)
        console.put(
            "\n".join(
                [
                    "",
                    f"Sartiq Products API (local): http://127.0.0.1:{port}/api/v1/",
                    f"  AWS endpoint (moto server): {endpoint}",
                    f"  demo data: {seeded['products']} products, {seeded['organizations']} organization,"
                    f" {seeded['looks']} shooting looks",
                    f"  superuser: {admin.email}",
                    "  workers: media ingest, captioning and exports (event pump on the local queues),"
                    f" dead letters swept every {SWEEP_MINUTES} minutes",
                    "  Authorization header:",
                    f"Authorization: Bearer {token}",
                    "",
                    "READY (Ctrl-C stops everything)",
                    "",
                ]
            )
        )
        while chalice.poll() is None:
            time.sleep(0.2)
        console.put(f"chalice local exited with {chalice.returncode}\n")
        status = 1
    except _Stop:
        pass
    except Exception:
        console.put(f"local stack failed:\n{traceback.format_exc()}")
        status = 1
    finally:
        stopping["now"] = True  # a second signal no longer interrupts the clean-up
        if pump is not None:
            pump.request_stop()  # its threads end their long poll while chalice stops
        if chalice is not None:
            _stop_group(chalice)
        if pump is not None and not pump.stop(timeout=5.0):
            console.put("the event pump was still running a handler when the stack stopped\n")
        if moto is not None:
            moto.shutdown()
            moto.server_close()
        moto_transactions.uninstall()
        if console.dropped:
            console.put(f"{console.dropped} lines of output were dropped: nobody read stdout\n")
        console.put("local stack stopped\n")
        console.drain(timeout=2.0)
    return status


def infra_files() -> dict[Path, str]:
    """What write-infra writes: each stage's merge template and its functions' policies."""
    from ops import policies
    from ops.template import resources, stages

    files: dict[Path, str] = {}
    for stage in stages():
        files[ROOT / "infra" / f"resources-{stage}.json"] = json.dumps(resources(stage), indent=2) + "\n"
        for function in policies.FUNCTIONS:
            files[policies.path(function, stage)] = policies.render(function, stage)
    return files


def write_infra() -> int:
    for target, text in infra_files().items():
        target.write_text(text)
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("local", help="start the local stack with demo data")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    run.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    run.add_argument("--stage", default="dev")
    run.add_argument("--no-demo", action="store_true", help="start without the demo catalog")
    commands.add_parser("create-superuser", help="create the first superuser from the settings")
    commands.add_parser("write-infra", help="write each stage's merge template and policies")
    args = parser.parse_args(argv)
    if args.command == "local":
        return local(args.port, args.moto_port, not args.no_demo, args.stage)
    if args.command == "write-infra":
        return write_infra()
    return create_superuser()


if __name__ == "__main__":
    raise SystemExit(main())
