"""`salesbot console --script` plays a newcomer's first minute and prints the transcript."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli import main

SCRIPT = """\
:join
#1
陈小姐
13912345678
# no company
#2
#6
#8
联系了，下周给报价。
#1
陈
"""


def test_a_new_rep_joins_adds_a_customer_and_a_note_and_finds_them(tmp_path: Path) -> None:
    script = tmp_path / "first-minute.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'console.db'}"
    result = CliRunner().invoke(main, ["console", "--demo", "--database", database, "--script", str(script)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "欢迎加入 示范团队 Demo team" in out
    assert "客户已添加" in out and "+86 139 1234 5678" in out
    assert "已记录到 陈小姐" in out
    # The search at the end opens the card again (one match opens it directly).
    assert "已保存为📞 电话" in out
    assert out.count("📇 陈小姐") == 2
    assert "!" not in out.replace("！", "")
