"""A webhook receiver in a process of its own, for the benches.

A receiver inside the load generator's process shares its interpreter lock with the load
and with whatever else the bench does, and its answers slow down when the bench is busy: it
measured itself as much as the sender. This one runs as a child process (uvicorn, uvloop and
httptools on a bare ASGI app), checks every signature with the reference `standardwebhooks`
package once it is told the secret (`PUT /secret`), and reports each webhook as one line on
its standard output: arrival time, lead id, whether the signature verified, `webhook-id`.

    receiver = await ReceiverProcess.start()
    ... register receiver.url, then: await receiver.set_secret(secret)
    receiver.arrivals  # lead id -> first arrival time (time.time())
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve()


@dataclass
class ReceiverProcess:
    """The parent's side: starts the child, reads its reports."""

    port: int
    proc: asyncio.subprocess.Process
    arrivals: dict[str, float] = field(default_factory=dict)
    received: int = 0
    bad_signatures: int = 0
    ids: set[str] = field(default_factory=set)
    _reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    @classmethod
    async def start(cls) -> ReceiverProcess:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE),
            str(port),
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                if proc.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError("webhook receiver did not start") from None
                await asyncio.sleep(0.1)
                continue
            writer.close()
            break
        receiver = cls(port, proc)
        receiver._reader = asyncio.create_task(receiver._read())
        return receiver

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            at, lead_id, ok, webhook_id = line.decode().split()
            self.received += 1
            self.ids.add(webhook_id)
            if ok != "1":
                self.bad_signatures += 1
                continue
            self.arrivals.setdefault(lead_id, float(at))

    async def set_secret(self, secret: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        body = secret.encode()
        writer.write(
            b"PUT /secret HTTP/1.1\r\nHost: receiver\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await reader.read()
        writer.close()

    async def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.terminate()
        await self.proc.wait()
        if self._reader is not None:
            await self._reader


def _serve(port: int) -> None:
    """The child: answer 204 to every webhook, report it, verify it with the secret."""
    state: dict[str, Any] = {"verifier": None}
    out = sys.stdout

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        at = time.time()
        if scope["path"] == "/secret":
            state["verifier"] = Webhook(body.decode())
        else:
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            ok = "0"
            verifier = state["verifier"]
            if verifier is not None:
                with contextlib.suppress(WebhookVerificationError):
                    verifier.verify(body, headers)
                    ok = "1"
            lead_id = json.loads(body)["data"]["lead"]["lead_id"]
            out.write(f"{at:.6f} {lead_id} {ok} {headers.get('webhook-id', '-')}\n")
            out.flush()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
        lifespan="off",
    )


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
