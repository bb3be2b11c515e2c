"""Start-up and first-reply time of the real console process.

Run: .venv/bin/python bench/startup.py [--runs N] [--smoke]
Times `printf 'hi\n' | python -m bot chat` end to end (process start, config,
store open and migration, KB load, classifier build, first answer) over N runs
and prints min / median / max, plus the import time of the bot's modules.
The bot reads a fresh copy of the shipped KB without its vector cache: the first
start encodes every article (timed on its own), the N runs after it read the cache.
"""

from __future__ import annotations

import shutil
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
        kb = Path(data) / "kb"
        shutil.copytree(ROOT / "kb", kb, ignore=shutil.ignore_patterns(".vectors.npz"))
        config = Path(data) / "helpdesk.toml"
        config.write_text(f'[kb]\npath = "{kb.as_posix()}"\n', "utf-8")
        env = {"HELPDESK_DATA_DIR": data, "HELPDESK_CONFIG": str(config), "PATH": "/usr/bin:/bin"}
        for run in range(runs + 1):
            t0 = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "bot", "chat"],
                input=b"hi\n",
                capture_output=True,
                cwd=ROOT,
                env=env,
                check=True,
            )
            elapsed = (time.perf_counter() - t0) * 1000
            assert b"IT helpdesk bot" in done.stdout
            if run == 0:
                assert (kb / ".vectors.npz").is_file(), "the first start caches the vectors"
                print(f"first start, encoding the articles: {elapsed:.0f} ms")
            else:
                times.append(elapsed)
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
