"""Summarize py-spy's collapsed stacks (``-f raw``): top frames by self and inclusive time.

python -m bench.tools.profile bench/out/profile-bets-16-gil.txt [--top 25] [--under FRAME]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    return stacks


def summarize(stacks: list[tuple[list[str], int]], top: int) -> str:
    total = sum(n for _, n in stacks)
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    for frames, n in stacks:
        own[frames[-1]] += n
        modules[_package(frames[-1])] += n
        for frame in set(frames):
            inclusive[frame] += n
    lines = [f"{total} samples"]
    lines += ["", "self time by package:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in modules.most_common(top)]
    lines += ["", "self time by frame:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    lines += ["", "inclusive time by frame:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


def _package(frame: str) -> str:
    """``func (sqlalchemy/engine/base.py:12)`` -> ``sqlalchemy``."""
    where = frame.rpartition("(")[2]
    path = where.split(":")[0]
    parts = path.split("/")
    if parts[0] == "app":
        return "/".join(parts[:2]).removesuffix(".py")
    return parts[0].removesuffix(".py") if parts else frame


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--under", help="keep only stacks containing this frame text")
    args = parser.parse_args()
    stacks = load(args.path)
    if args.under:
        stacks = [(f, n) for f, n in stacks if any(args.under in x for x in f)]
    print(summarize(stacks, args.top))


if __name__ == "__main__":
    main()
