"""Run the Upside guide's own worker client (``upsideGameAction``, ``settleWithRetry``) in Node.

The TypeScript comes from the seed document beside the repository when it is there
(``shared/seeds/000_…``), else from the verbatim copy in ``tests/upside_seed_client.ts``.
Node 20 cannot run TypeScript, and the snippets use only a few type constructs, so
they are stripped here with a small bracket-aware pass (no npm install needed):
``export``, generic parameters, ``as T`` casts, parameter and return annotations.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COPY = Path(__file__).resolve().parent / "upside_seed_client.ts"
SNIPPETS = (
    ("async function hmacSha256Base64", "Hono Worker Example"),
    ("async function settleWithRetry", "Production Recommendations"),
)
_OPEN, _CLOSE = "({[<", ")}]>"


def node() -> str | None:
    return shutil.which("node")


def seed_source() -> str:
    for shared in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        for seed in sorted(shared.glob("seeds/000_*.txt")):
            text = seed.read_text(encoding="utf-8")
            return "\n".join(text[text.index(a) : text.index(b)] for a, b in SNIPPETS)
    return COPY.read_text(encoding="utf-8")


def strip_types(source: str) -> str:
    code = re.sub(r"\bexport\s+", "", source)
    code = re.sub(r"(function\s+\w+)<[^>()]*>\(", r"\1(", code)
    code = re.sub(r"\s+as\s+\w+(<[^<>]*>)?", "", code)
    return _strip_signatures(code)


def _strip_signatures(code: str) -> str:
    out, position = [], 0
    for match in re.finditer(r"function\s+\w+\(", code):
        if match.start() < position:
            continue
        start = match.end()
        end = _matching(code, start - 1)
        params = ", ".join(_name_only(p) for p in _split_top(code[start:end]) if p.strip())
        body = code.index("{", end)
        out.append(code[position:start] + params + ") ")
        position = body
    out.append(code[position:])
    return "".join(out)


def _matching(code: str, open_at: int) -> int:
    depth = 0
    for index in range(open_at, len(code)):
        char = code[index]
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
            if depth == 0:
                return index
    raise ValueError("unbalanced brackets in the seed snippet")


def _split_top(params: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in params:
        depth += (char in _OPEN) - (char in _CLOSE)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _name_only(param: str) -> str:
    return param.split(":", 1)[0].strip()


DRIVER = """
const scenario = JSON.parse(process.env.UPSIDE_SCENARIO);
const { env, jwt, game } = scenario;
const results = {};
async function step(name, fn) {
  try { results[name] = { ok: true, value: await fn() }; }
  catch (error) { results[name] = { ok: false, error: String(error.message) }; }
  return results[name];
}
(async () => {
  for (const steps of scenario.steps) {
    await Promise.all(steps.map((s) => step(s.name, () => {
      if (s.settleWithRetry) {
        return settleWithRetry({ env, b3Jwt: jwt, gameType: game, ...s.settleWithRetry });
      }
      const body = { ...s.body };
      for (const [field, from] of Object.entries(s.sessionFrom || {})) {
        body[field] = results[from].value.sessionId;
      }
      return upsideGameAction(env, jwt, body);
    })));
  }
  console.log(JSON.stringify(results));
})();
"""


def run(scenario: dict[str, Any], timeout_s: float = 60) -> dict[str, Any]:
    """Run ``scenario`` (env, jwt, game, steps: list of parallel batches) in Node."""
    program = strip_types(seed_source()) + DRIVER
    node_bin = node()
    assert node_bin, "node is not installed"
    done = subprocess.run(
        [node_bin, "--input-type=module", "-e", program],
        env={**os.environ, "UPSIDE_SCENARIO": json.dumps(scenario)},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
