"""What the Mini App's API answers (bot.web.views), over data made through the real bot, and
that a change made there shows in the bot at once: the same services, the same rules."""

from __future__ import annotations

import pytest

from bot.console.driver import Driver
from bot.domain.access import Actor, Role
from bot.domain.errors import FieldErrors, NotAllowed, NotFound
from bot.runtime import Runtime
from bot.web import views
from tests.conftest import FakeClock
from tests.e2e.world import LEAD, OTHER_LEAD, REP, REP2, add_customer, build_world, texts


def services_of(bot: Driver) -> Runtime:
    services = bot.app.bot_data.services
    assert services is not None
    return services


async def test_a_reps_board_and_moving_a_card_shows_in_the_bot(bot: Driver) -> None:
    world = await build_world(bot)
    zhang = await add_customer(bot, REP, "张伟")
    await add_customer(bot, REP2, "刘洋")
    services = services_of(bot)
    rep = Actor(REP, Role.REP, world.team, language="zh")
    board = await views.board(services, rep, {})
    assert board["columns"][0]["stage"] == "find" and board["columns"][0]["title"] == "寻找客户"
    names = [card["name"] for column in board["columns"] for card in column["cards"]]
    assert names == ["张伟"] and board["total"] == 1 and board["reps"] == []

    moved = await views.move_stage(services, rep, zhang, {"stage": "closing"})
    assert moved["stage"] == "closing" and moved["title"] == "促成交易"
    replies = await bot.send(REP, "张伟")
    assert "促成交易" in texts(replies)  # the bot's card shows the new stage at once

    lead = await views.board(services, Actor(LEAD, Role.LEAD, world.team), {"owner": str(REP2)})
    assert [c["name"] for col in lead["columns"] for c in col["cards"]] == ["刘洋"]
    assert {rep["id"] for rep in lead["reps"]} == {REP, REP2}
    with pytest.raises(NotAllowed):  # a rep may not open a colleague's customer, nor move it
        await views.move_stage(services, Actor(REP2, Role.REP, world.team), zhang, {"stage": "won"})
    with pytest.raises(NotAllowed):
        await views.board(services, Actor(OTHER_LEAD, Role.LEAD, world.other_team), {"owner": str(REP)})


async def test_the_card_form_saves_with_the_bots_parsing_and_the_bot_shows_it(
    bot: Driver, clock: FakeClock
) -> None:
    world = await build_world(bot)
    zhang = await add_customer(bot, REP, "张伟")
    services = services_of(bot)
    rep = Actor(REP, Role.REP, world.team, language="zh")
    form = await views.card_form(services, rep, zhang)
    assert [section["key"] for section in form["sections"]] == ["basic", "business", "personal", "logistics"]
    fields = {f["key"]: f for section in form["sections"] for f in section["fields"]}
    assert fields["birthday"]["label"] == "生日" and fields["name"]["value"] == "张伟"
    assert {c["value"] for c in fields["gender"]["choices"]} and fields["gender"]["value"] == ""

    clock.advance(minutes=5)
    saved = await views.save_card(
        services, rep, zhang, {"changes": {"birthday": "农历八月十五"}, "version": form["version"]}
    )
    assert saved["version"] != form["version"]
    await bot.send(REP, "张伟")
    replies = await bot.press(REP, "个人")
    assert "八月十五" in texts(replies)  # the bot's card shows the birthday typed in the form

    again = await views.card_form(services, rep, zhang)
    birthday = next(f for s in again["sections"] for f in s["fields"] if f["key"] == "birthday")
    assert "八月十五" in birthday["value"]
    with pytest.raises(FieldErrors) as raised:
        await views.save_card(services, rep, zhang, {"changes": {"email": "nope", "birthday": "明天"}})
    assert set(raised.value.errors) == {"email", "birthday"}
    with pytest.raises(NotAllowed):
        await views.card_form(services, Actor(REP2, Role.REP, world.team), zhang)
    with pytest.raises(NotFound):
        await views.card_form(services, rep, zhang + 1000)


async def test_the_leads_dashboard_and_what_is_behind_a_bar(bot: Driver) -> None:
    world = await build_world(bot)
    zhang = await add_customer(bot, REP, "张伟")
    await bot.send(REP, "张伟")
    await bot.press(REP, "记录")
    await bot.send(REP, "见面聊了新品")
    services = services_of(bot)
    lead = Actor(LEAD, Role.LEAD, world.team, language="zh")
    board = await views.dashboard(services, lead, {"days": "7"})
    assert len(board["days"]) == 7 and board["days"][-1]["day"] == services.today().isoformat()
    assert board["days"][-1]["notes"] == 1
    assert [(r["id"], r["notes"]) for r in board["per_rep"]] == [(REP, 1), (REP2, 0)]
    day = await views.dashboard_day(services, lead, {"day": services.today().isoformat()})
    assert [(c["id"], c["notes"]) for c in day["customers"]] == [(zhang, 1)]
    with pytest.raises(NotAllowed):
        await views.dashboard(services, Actor(REP, Role.REP, world.team), {})


def test_the_pages_texts_come_in_the_users_language(bot: Driver) -> None:
    services = services_of(bot)
    zh = views.texts(services, Actor(REP, Role.REP, 1, language="zh"))
    en = views.texts(services, Actor(REP, Role.REP, 1, language="en"))
    assert zh.keys() == en.keys() and "web.save" in zh
    assert (zh["web.save"], en["web.save"]) == ("保存", "Save")
    assert en["web.days_ago"] == "{days} d ago"  # the page fills in its own marks
