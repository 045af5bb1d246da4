"""``python -m ops.emulator [--port N] [--fleet FILE]``: the same as ``python -m ops emulator``."""

from __future__ import annotations

import argparse

from ops.emulator import server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.emulator", description="Local ARM emulator over HTTPS.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--fleet", default=None, help="fleet JSON file (default: the sample fleet)")
    args = parser.parse_args(argv)
    server.serve(args.port, args.fleet)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
