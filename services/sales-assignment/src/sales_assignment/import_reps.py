"""Import reps from a CSV file into a running sales-assignment service.

    python -m sales_assignment.import_reps reps.csv \\
        --url http://127.0.0.1:8003 --token "$LEADFLOW_ADMIN_TOKEN"

The file is checked here first (see `sales_assignment.rep_csv` for the columns); any bad
row is printed as `row 7: email: not an email address` and nothing is sent. A valid file is
posted to `POST /v1/reps/import`, which adds every rep or none (the server also refuses
emails that already belong to a rep). Exit status: 0 imported, 1 rejected rows, 2 the
file or the service could not be reached. `--dry-run` only checks the file.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from sales_assignment.rep_csv import parse_reps_csv


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sales_assignment.import_reps",
        description="Import reps from a CSV file (all or nothing).",
    )
    parser.add_argument("file", type=Path, help="CSV file, UTF-8, header row first")
    parser.add_argument("--url", default="http://127.0.0.1:8003", help="the service's base URL")
    parser.add_argument(
        "--token",
        default=os.environ.get("LEADFLOW_ADMIN_TOKEN", ""),
        help="admin token (default: $LEADFLOW_ADMIN_TOKEN)",
    )
    parser.add_argument("--dry-run", action="store_true", help="check the file, send nothing")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    return parser.parse_args(argv)


def _server_errors(response: httpx.Response) -> list[str]:
    """`row 7: email: …` lines from a 422 problem (fields are `row 7.email`)."""
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        errors = []
    lines = []
    for err in errors:
        row, _, column = str(err.get("field", "")).partition(".")
        lines.append(f"{row}: {column}: {err.get('message')}" if column else f"{row}: {err}")
    return lines or [f"HTTP {response.status_code}: {response.text[:500]}"]


def main(argv: Sequence[str] | None = None) -> int:
    args = _args(argv)
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{args.file}: cannot read: {exc}", file=sys.stderr)
        return 2
    parsed = parse_reps_csv(text)
    for error in parsed.errors:
        print(error, file=sys.stderr)
    if not parsed.ok:
        print(f"{len(parsed.errors)} error(s); nothing imported", file=sys.stderr)
        return 1
    if args.dry_run:
        print(f"{len(parsed.reps)} rep(s) valid; nothing sent (--dry-run)")
        return 0
    if not args.token:
        print("no admin token: pass --token or set LEADFLOW_ADMIN_TOKEN", file=sys.stderr)
        return 2
    try:
        response = httpx.post(
            f"{args.url.rstrip('/')}/v1/reps/import",
            content=text.encode(),
            headers={
                "Authorization": f"Bearer {args.token}",
                "Content-Type": "text/csv; charset=utf-8",
            },
            timeout=args.timeout,
        )
    except httpx.HTTPError as exc:
        print(f"{args.url}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if response.status_code == 201:
        doc = response.json()
        for rep in doc["reps"]:
            print(f"{rep['rep_id']}  {rep['email']}")
        print(f"{doc['created']} rep(s) imported")
        return 0
    if response.status_code == 422:
        lines = _server_errors(response)
        for line in lines:
            print(line, file=sys.stderr)
        print(f"{len(lines)} error(s); nothing imported", file=sys.stderr)
        return 1
    print(f"HTTP {response.status_code}: {response.text[:500]}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
