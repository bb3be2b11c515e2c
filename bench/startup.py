"""Start-up and first-reply time of the real console process.

Run: .venv/bin/python bench/startup.py [--runs N] [--smoke]
Times `printf 'hi\n' | python -m bot chat` end to end (process start, config,
store open and migration, KB load, classifier build, first answer) over N runs
and prints min / median / max, plus the import time of the bot's modules.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    runs = 2 if "--smoke" in sys.argv else 10
    if "--runs" in sys.argv:
        runs = int(sys.argv[sys.argv.index("--runs") + 1])
    times = []
    with tempfile.TemporaryDirectory() as data:
        for _ in range(runs):
            t0 = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "bot", "chat"],
                input=b"hi\n",
                capture_output=True,
                cwd=ROOT,
                env={"HELPDESK_DATA_DIR": data, "PATH": "/usr/bin:/bin"},
                check=True,
            )
            times.append((time.perf_counter() - t0) * 1000)
            assert b"IT helpdesk bot" in done.stdout
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = (time.perf_counter() - t0) * 1000
    print(
        f"first reply from a fresh process ({runs} runs): min {min(times):.0f} ms,"
        f" median {statistics.median(times):.0f} ms, max {max(times):.0f} ms"
    )
    print(f"bare interpreter start for comparison: {bare:.0f} ms")


if __name__ == "__main__":
    main()
