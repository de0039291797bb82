"""`salesbot run` and `salesbot dispatch` need neither the Bot API stand-in nor aiohttp.

The stand-in (`botapi_standin`, which serves with aiohttp) is for the console and the
tests; aiohttp is installed only with the `console` and `dev` extras.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Import every module under bot/ but the console (which runs the stand-in) and the
# migration scripts (which Alembic runs), then list what of the stand-in got loaded.
PROBE = """
import importlib, pathlib, sys
root = pathlib.Path("bot")
skip = ("bot.console", "bot.storage.migrations")
names = [".".join(p.with_suffix("").parts).removesuffix(".__init__") for p in sorted(root.rglob("*.py"))]
names = [n for n in names if not n.startswith(skip)]
for name in names:
    importlib.import_module(name)
assert "bot.cli" in names and "bot.app" in names, names
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("aiohttp", "botapi_standin"))
print(len(names), loaded)
"""


def test_the_bot_imports_neither_the_standin_nor_aiohttp() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    count, loaded = result.stdout.split(" ", 1)
    assert int(count) > 40
    assert loaded.strip() == "[]"
