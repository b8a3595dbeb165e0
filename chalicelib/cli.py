"""Admin and local commands.

python -m chalicelib.cli local               # the local stack: moto server + chalice local + demo data
python -m chalicelib.cli create-superuser    # FIRST_SUPERUSER / FIRST_SUPERUSER_PASSWORD, idempotent
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _stage_environment(stage: str) -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env: dict[str, str] = dict(config.get("environment_variables", {}))
    env.update(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))
    return env


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _stop_group(proc: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def create_superuser() -> int:
    from chalicelib.services.users import UserService

    user = UserService().ensure_first_superuser()
    print(f"superuser {user.email} ({user.id})")
    return 0


def local(port: int, moto_port: int, demo: bool, stage: str) -> int:
    from moto.server import ThreadedMotoServer

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

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    chalice: subprocess.Popen[Any] | None = None
    try:
        from chalicelib.local.resources import create_resources
        from chalicelib.services.security import create_access_token
        from chalicelib.services.users import UserService

        create_resources(public_images=True)
        admin = UserService().ensure_first_superuser()
        seeded = {"products": 0, "organizations": 0}
        if demo:
            from chalicelib.local.demo import seed

            seeded = seed(admin)
        chalice = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "chalice"),
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--stage",
                stage,
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            # Its own process group: chalice's auto-reloader forks a server child, and
            # stopping the group stops both.
            start_new_session=True,
        )
        _wait_for_port(port)
        token = create_access_token(admin.id)
        print(
            "\n".join(
                [
                    "",
                    f"Sartiq Products API (local): http://127.0.0.1:{port}/api/v1/",
                    f"  AWS endpoint (moto server): {endpoint}",
                    f"  demo data: {seeded['products']} products, {seeded['organizations']} organization",
                    f"  superuser: {admin.email}",
                    "  Authorization header:",
                    f"Authorization: Bearer {token}",
                    "",
                    "READY (Ctrl-C stops everything)",
                ]
            ),
            flush=True,
        )
        stop = {"now": False}

        def _stop(signum: int, frame: Any) -> None:
            stop["now"] = True

        signal.signal(signal.SIGTERM, _stop)
        while not stop["now"] and chalice.poll() is None:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        if chalice is not None:
            _stop_group(chalice)
        moto.stop()
        print("local stack stopped", flush=True)
    return 0


def write_infra() -> int:
    from chalicelib.store.template import resources

    target = ROOT / "infra" / "resources.json"
    target.write_text(json.dumps(resources(), indent=2) + "\n")
    print(f"wrote {target.relative_to(ROOT)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("local", help="start the local stack with demo data")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    run.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")))
    run.add_argument("--stage", default="dev")
    run.add_argument("--no-demo", action="store_true", help="start without the demo catalog")
    commands.add_parser("create-superuser", help="create the first superuser from the settings")
    commands.add_parser("write-infra", help="write infra/resources.json from the models")
    args = parser.parse_args(argv)
    if args.command == "local":
        return local(args.port, args.moto_port, not args.no_demo, args.stage)
    if args.command == "write-infra":
        return write_infra()
    return create_superuser()


if __name__ == "__main__":
    raise SystemExit(main())
