"""`salesbot run` and `salesbot dispatch` never need the Bot API stand-in, and only the Mini App aiohttp.

The stand-in (`botapi_standin`) is for the console and the tests. aiohttp is a dependency
for the Mini App's server (`bot.web`), loaded only when it is on (SALESBOT_WEB_URL).
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
    if not name.startswith("bot.web"):
        importlib.import_module(name)
assert "bot.cli" in names and "bot.app" in names and "bot.web.server" in names, names
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("aiohttp", "botapi_standin"))
for name in names:
    importlib.import_module(name)
standin = sorted(m for m in sys.modules if m.split(".")[0] == "botapi_standin")
print(len(names), loaded, standin)
"""


def test_the_bot_imports_no_standin_and_aiohttp_only_for_the_mini_app() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    count, without_web, standin = result.stdout.strip().split(" ", 2)
    assert int(count) > 40
    assert without_web == "[]"  # all of bot/ but bot.web: neither the stand-in nor aiohttp
    assert standin == "[]"  # bot.web too: no stand-in
