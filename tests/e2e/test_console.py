"""`salesbot console --script` plays a newcomer's first minute and prints the transcript."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from bot.practice.check import load_all

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


CARE_SCRIPT = """\
:time 07:59
:care
:time 10:00
:care
:as customer
谢谢王芳！
:as rep
/today
"""


def test_the_demo_birthday_is_greeted_at_the_send_hour_and_the_rep_sees_the_agenda(tmp_path: Path) -> None:
    script = tmp_path / "care.txt"
    script.write_text(CARE_SCRIPT, encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'console.db'}"
    result = CliRunner().invoke(main, ["console", "--demo", "--database", database, "--script", str(script)])
    assert result.exit_code == 0, result.output
    out = result.output
    before, after = out.split(":time 10:00", 1)
    assert "生日快乐" not in before, "not before the send hour"
    assert "(bot → 张伟: 张伟，生日快乐" in after
    assert "(bot → 王芳 Wang Fang: 📋 今天" in after, "the morning agenda went out"
    assert "💬 张伟 来消息" in after, "the customer's reply reached the rep"
    assert "🎂 今天生日：张伟" in after and "该联系了" in after and "带老板版报价单" in after


DIGEST_SCRIPT = """\
:as lead
/digest
#3
"""


def test_the_lead_reads_the_demo_digest_with_its_chart(tmp_path: Path) -> None:
    script = tmp_path / "digest.txt"
    script.write_text(DIGEST_SCRIPT, encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'console.db'}"
    result = CliRunner().invoke(main, ["console", "--demo", "--database", database, "--script", str(script)])
    assert result.exit_code == 0, result.output
    out = result.output
    saved = re.search(r"\[photo saved to (\S+\.png)\]", out)
    assert saved, out
    assert Path(saved[1]).read_bytes().startswith(b"\x89PNG")
    for section in (
        "全队",
        "每位成员",
        "当前漏斗",
        "客户异议",
        "客户关怀",
        "逾期跟进",
        "投诉",
        "可能流失",
        "A 类客户",
    ):
        assert section in out, section
    assert "王芳 Wang Fang：📝 4" in out and "黄磊" in out and "最管用的是以优补劣" in out
    assert "⚠️ 可能流失的客户（1）" in out, "the at-risk button opened its list"


def test_every_command_is_registered_by_the_application_itself() -> None:
    """Handlers register when the app imports them, not because a test happened to import them."""
    import subprocess
    import sys

    code = "import bot.app\nfrom bot.telegram.routes import router\nprint(' '.join(sorted(router.commands)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert {"today", "remind", "play", "stats", "note", "find", "team", "stop", "digest", "report"} <= set(
        out
    )


def test_the_demo_prints_mini_app_links_for_its_rep_and_lead(tmp_path: Path) -> None:
    script = tmp_path / "nothing.txt"
    script.write_text("", encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'console.db'}"
    result = CliRunner().invoke(main, ["console", "--demo", "--database", database, "--script", str(script)])
    assert result.exit_code == 0, result.output
    links = re.findall(
        r"Mini App as (.+?) \((rep|lead)\), in a desktop browser: (http://127\.0\.0\.1:\d+/#tgWebAppData=\S+)",
        result.output,
    )
    assert [(name, role) for name, role, _ in links] == [("王芳 Wang Fang", "rep"), ("李娜 Li Na", "lead")]


async def test_a_demo_link_opens_the_mini_app_as_that_person(tmp_path: Path) -> None:
    from urllib.parse import parse_qs, unquote, urlsplit

    import aiohttp

    from bot.console.demo import load_demo
    from bot.console.driver import running_bot
    from bot.console.terminal import PEOPLE, _with_mini_app, mini_app_link
    from bot.storage.db import transaction

    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    async with running_bot(database_url=url, settings=_with_mini_app(url)) as driver:
        async with transaction(driver.services.sessions) as session:
            await load_demo(session, now=driver.services.now())
        link = mini_app_link(driver, *PEOPLE["rep"], language="zh-hans")
        assert link is not None
        parts = urlsplit(link)
        signed = unquote(parse_qs(parts.fragment)["tgWebAppData"][0])
        base = f"{parts.scheme}://{parts.netloc}"
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/") as page:
                assert page.status == 200 and "app.js" in await page.text()
            headers = {"Authorization": f"tma {signed}"}
            async with http.get(base + "/api/board", headers=headers) as answer:
                assert answer.status == 200
                board = await answer.json()
            names = {card["name"] for column in board["columns"] for card in column["cards"]}
            assert "张伟" in names
            customer = next(c for col in board["columns"] for c in col["cards"] if c["name"] == "张伟")
            # A write from the page (its own origin, a fresh nonce) goes through, as in Telegram.
            write = {**headers, "Origin": base, "X-Salesbot-Nonce": "console-demo-nonce-0001"}
            async with http.post(
                f"{base}/api/customers/{customer['id']}/stage", json={"stage": "closing"}, headers=write
            ) as moved:
                assert moved.status == 200, await moved.text()


PRACTICE_SCRIPT = """\
:as rep
/practice
#1
:as lead
/practice
"""


def test_the_demo_rep_practises_what_she_missed_and_the_lead_sees_a_floor_drill(tmp_path: Path) -> None:
    script = tmp_path / "practice.txt"
    script.write_text(PRACTICE_SCRIPT, encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'console.db'}"
    result = CliRunner().invoke(main, ["console", "--demo", "--database", database, "--script", str(script)])
    assert result.exit_code == 0, result.output
    rep, lead = result.output.split(":as lead", 1)
    # Yesterday evening she missed three price objections: they are due again, first.
    assert "现在该复习：3" in rep
    assert "第 1/5 题 · 处理异议" in rep and "这是哪一类异议？" in rep
    session = rep.split("第 1/5 题", 1)[1]
    missed = (
        "obj_price_tiles_not_same_grade",
        "obj_price_freight_rate_higher",
        "obj_price_pharmacy_system_fee",
    )
    first = session.split("这是哪一类异议？", 1)[0]
    assert any(load_all().by_id[drill].prompt.zh[:20] in first for drill in missed), first
    # Her won price objection, recorded in a playbook run, waits for the lead's approval.
    assert "团队里的练习题（1）" in lead
