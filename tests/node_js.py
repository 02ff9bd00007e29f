"""Run Hypetech's own signing function and JavaScript's ``JSON.stringify`` in Node.

The signing function is taken at test time from the provider's document
(``/work/shared/seeds/004_…``) when it exists, else from the copy kept in
``tests/node/createHmacSha256.ts``. Its TypeScript annotations are stripped so
Node runs it as plain JavaScript.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE = shutil.which("node")
requires_node = pytest.mark.skipif(
    NODE is None, reason="node is not installed: Hypetech's signing function needs Node.js"
)

_ROOT = Path(__file__).resolve().parents[1]
_SEED_NAME = "004_642aab8717b32d7c.txt"
SEEDS = [folder / "shared" / "seeds" / _SEED_NAME for folder in (_ROOT.parent, _ROOT.parent.parent)]
COPY = Path(__file__).parent / "node" / "createHmacSha256.ts"


def seed_function_source() -> str:
    """The document's ``createHmacSha256`` as it is printed there (TypeScript)."""
    for path in SEEDS:
        if path.exists():
            text = path.read_text(encoding="utf-8")
            start = text.index("export function createHmacSha256")
            return text[start : text.index("\n}\n", start) + 2]
    copy = COPY.read_text(encoding="utf-8")
    return copy[copy.index("export function createHmacSha256") :]


def _as_javascript(typescript: str) -> str:
    without_export = typescript.replace("export function", "function", 1)
    return re.sub(
        r"\)\s*:\s*string\s*\{", ") {", re.sub(r"(\w+)\s*:\s*(string|any)", r"\1", without_export)
    )


_SIGN_SCRIPT = """
const crypto = require('crypto');
%s
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', chunk => { input += chunk; });
process.stdin.on('end', () => {
  const { secret, url, body } = JSON.parse(input);
  process.stdout.write(createHmacSha256(secret, url, JSON.parse(body)));
});
"""


def node_sign(secret: str, url: str, body: str | bytes) -> str:
    """``createHmacSha256(secret, url, JSON.parse(body))`` computed by Node itself."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    script = _SIGN_SCRIPT % _as_javascript(seed_function_source())
    payload = json.dumps({"secret": secret, "url": url, "body": text})
    done = subprocess.run(
        [str(NODE), "-e", script], input=payload, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


_STRINGIFY_SCRIPT = """
const readline = require('readline');
const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', line => {
  let out;
  try { out = JSON.stringify(JSON.parse(JSON.parse(line))); }
  catch (e) { out = 'ERROR ' + e.message; }
  process.stdout.write(JSON.stringify(out) + '\\n');
});
"""


class NodeStringify:
    """One Node process answering ``JSON.stringify(JSON.parse(text))`` line by line."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [str(NODE), "-e", _STRINGIFY_SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def __call__(self, json_text: str) -> Any:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(json_text) + "\n")
        self._process.stdin.flush()
        return json.loads(self._process.stdout.readline())

    def close(self) -> None:
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None:
                pipe.close()
        self._process.wait(timeout=10)
