"""Issue 16 through the real bot: what a sales team met running the playbooks in its first week."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from bot.console.driver import Driver
from bot.storage.models import Customer, Note, Outcome, Task
from tests.e2e.world import LEAD, REP, add_customer, build_world, texts

ZH = {
    "play": "▶️ 剧本",
    "next": "下一步",
    "done": "✅",
    "skip": "跳过",
    "objection": "处理异议",
    "complaint": "处理投诉",
    "closing": "促成交易",
    "approach": "准备与接近",
    "product": "产品：",
    "quality": "产品质量",
    "resolved": "化解了",
    "lost_deal": "没谈拢",
    "on_the_spot": "当场已解决",
    "contest": "竞赛成交法",
    "not_yet": "还要再考虑",
    "retry": "换个方法再试",
    "guarantee": "保证成交法",
    "no": "不买了",
    "keep": "不了，记下结果",
    "price": "价格：",
    "quality_buyer": "看重品质",
    "phone": "电话",
    "visit_day": "周三",
}
EN = {
    "play": "▶️ Play",
    "next": "Next",
    "done": "✅",
    "skip": "Skip",
    "objection": "Handle an objection",
    "complaint": "Handle a complaint",
    "closing": "Close the deal",
    "approach": "Prepare and approach",
    "product": "Product:",
    "quality": "Product quality",
    "resolved": "Resolved",
    "lost_deal": "Lost the deal",
    "on_the_spot": "Resolved on the spot",
    "contest": "Limited offer",
    "not_yet": "Not yet",
    "retry": "Try another method",
    "guarantee": "Give a guarantee",
    "no": "No, it's lost",
    "keep": "No, record the outcome",
    "price": "Price:",
    "quality_buyer": "Quality and reliability",
    "phone": "Phone call",
    "visit_day": "Wednesday",
}
LANGS = {"zh": ZH, "en": EN}


async def _customer(bot: Driver, cid: int) -> Customer:
    async def load(session):  # type: ignore[no-untyped-def]
        return (await session.exec(select(Customer).where(col(Customer.id) == cid))).one()

    return await bot.services.db(load)


async def _rows(bot: Driver, model: type, *where: object) -> list[Any]:
    async def load(session):  # type: ignore[no-untyped-def]
        return list((await session.exec(select(model).where(*where))).all())

    return await bot.services.db(load)


async def _set(bot: Driver, cid: int, **values: Any) -> None:
    async def change(session):  # type: ignore[no-untyped-def]
        customer = await session.get(Customer, cid)
        for key, value in values.items():
            if key == "extra":
                customer.extra = {**customer.extra, **value}
            else:
                setattr(customer, key, value)
        session.add(customer)

    await bot.services.db(change)


async def _team_of(bot: Driver, lang: str, name: str) -> tuple[int, dict[str, str]]:
    """The demo world, a customer of the rep's, and the rep speaking `lang`."""
    await build_world(bot)
    cid = await add_customer(bot, REP, name)
    if lang == "en":
        await bot.send(REP, "/language")
        await bot.press(REP, "English")
    return cid, LANGS[lang]


async def _play(bot: Driver, name: str, title: str) -> list[Any]:
    """Find the customer by name, tap ▶️ on the card, start a playbook."""
    await bot.send(REP, name)
    await bot.press(REP, "▶️")
    return await bot.press(REP, title)


# ---------------------------------------------------------------- 2: add to the card, never overwrite


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_objection_and_complaint_add_to_card_fields_and_keep_what_the_rep_wrote(
    bot: Driver, lang: str
) -> None:
    cid, t = await _team_of(bot, lang, "刘洋")
    rep_products, rep_taboos = "用Excel表格加微信群派单", "不喝酒，别约晚饭"
    await _set(bot, cid, extra={"products_used": rep_products, "taboos": rep_taboos})

    await _play(bot, "刘洋", t["objection"])
    await bot.press(REP, t["next"])
    await bot.press(REP, t["next"])
    await bot.send(REP, "担心放在云上数据不安全")
    await bot.press(REP, t["product"])
    await bot.press(REP, t["next"])
    await bot.press(REP, 1)
    await bot.press(REP, t["next"])
    replies = await bot.press(REP, t["resolved"])
    assert "✅" in texts(replies)
    products = (await _customer(bot, cid)).extra["products_used"]
    assert products == f"{rep_products}\n2026-11-23 担心放在云上数据不安全"

    await _play(bot, "刘洋", t["complaint"])
    await bot.press(REP, t["next"])
    await bot.press(REP, t["next"])
    await bot.send(REP, "上周的货晚了三天")
    await bot.press(REP, t["quality"])
    await bot.press(REP, 1)
    await bot.press(REP, t["done"])
    for _ in range(3):
        await bot.press(REP, t["next"])
    await bot.send(REP, "换新，周五前送到")
    await bot.press(REP, t["next"])
    await bot.press(REP, t["on_the_spot"])
    await bot.press(REP, t["next"])
    replies = await bot.send(REP, "交货日期要提前一天确认")
    assert "✅" in texts(replies)
    customer = await _customer(bot, cid)
    assert customer.extra["taboos"] == f"{rep_taboos}\n2026-11-23 交货日期要提前一天确认"
    assert customer.extra["products_used"] == products, "the complaint left other fields alone"


# ---------------------------------------------------------------- 3: a suggested grade, then revenue


async def test_qualify_suggests_a_grade_and_a_big_purchase_then_decides_it(bot: Driver) -> None:
    await build_world(bot)
    cid = await add_customer(bot, REP, "郑浩")
    await bot.press(REP, "▶️ 剧本")
    await bot.press(REP, "评估新客户")
    await bot.press(REP, 1)
    await bot.press(REP, "下一步")
    for _ in range(5):
        await bot.press(REP, "1")
    await bot.press(REP, "完成")
    replies = await bot.press(REP, "跳过")
    assert "（C）" in texts(replies)
    customer = await _customer(bot, cid)
    assert (customer.grade, customer.grade_manual) == ("C", False), "a playbook's grade is a suggestion"

    replies = await bot.press(REP, "打开资料卡")
    assert "⭐ C" in texts(replies)
    await bot.press(REP, "成交")
    await bot.send(REP, "100万")
    await bot.send(REP, "中央厨房设备")
    replies = await bot.send(REP, "今天")
    assert "⭐ A" in texts(replies), "revenue decides once the customer buys"
    assert (await _customer(bot, cid)).grade == "A"


# ---------------------------------------------------------------- 4: every closing attempt counts


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_retried_close_records_each_attempt_and_stats_count_them(bot: Driver, lang: str) -> None:
    cid, t = await _team_of(bot, lang, "孙磊")
    await _play(bot, "孙磊", t["closing"])
    await bot.press(REP, t["next"])
    await bot.press(REP, 1)
    await bot.press(REP, t["done"])
    await bot.press(REP, t["next"])
    await bot.press(REP, t["next"])
    await bot.press(REP, t["contest"])
    await bot.press(REP, t["next"])
    await bot.press(REP, t["not_yet"])
    await bot.press(REP, t["next"])
    await bot.press(REP, t["retry"])
    await bot.press(REP, t["guarantee"])
    await bot.press(REP, t["next"])
    await bot.press(REP, t["no"])
    await bot.press(REP, t["next"])
    await bot.press(REP, t["keep"])
    replies = await bot.send(REP, "预算被砍了")
    assert "✅" in texts(replies)
    outcomes = await _rows(bot, Outcome, col(Outcome.customer_id) == cid)
    assert sorted((o.kind, o.method, o.result) for o in outcomes) == [
        ("closing", "contest", "pending"),
        ("closing", "guarantee", "lost"),
    ]
    notes = await _rows(bot, Note, col(Note.customer_id) == cid, col(Note.kind) == "playbook")
    tried = {"zh": "竞赛成交法（限时限量） → 保证成交法", "en": "Limited offer → Give a guarantee"}[lang]
    assert tried in notes[0].text, notes[0].text
    stats = texts(await bot.send(LEAD, "/stats"))
    assert "竞赛成交法（限时限量）：1 次中成功 0 次" in stats and "保证成交法：1 次中成功 0 次" in stats


# ---------------------------------------------------------------- 5: a lost deal is not a lost customer


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_lost_deal_keeps_a_paying_customer_a_customer_and_sets_a_follow_up(
    bot: Driver, lang: str
) -> None:
    cid, t = await _team_of(bot, lang, "周婷")
    await bot.send(REP, "周婷")
    await bot.press(REP, "💰")
    await bot.send(REP, "5万")
    await bot.press(REP, t["skip"])
    await bot.send(REP, "today" if lang == "en" else "今天")
    assert (await _customer(bot, cid)).grade == "A"
    await _set(bot, cid, stage="closing")  # a new opportunity with an existing customer

    await _play(bot, "周婷", t["closing"])
    await bot.press(REP, t["next"])
    await bot.press(REP, 1)
    await bot.press(REP, t["done"])
    await bot.press(REP, t["next"])
    await bot.press(REP, t["next"])
    await bot.press(REP, t["contest"])
    await bot.press(REP, t["next"])
    await bot.press(REP, t["no"])
    await bot.press(REP, t["next"])
    await bot.press(REP, t["keep"])
    replies = await bot.send(REP, "这次预算给了别的项目")
    assert "✅" in texts(replies)
    customer = await _customer(bot, cid)
    assert customer.stage == "after_sales", "a customer who has bought stays a customer"
    tasks = await _rows(bot, Task, col(Task.customer_id) == cid)
    assert [t_.due_on.isoformat() for t_ in tasks] == ["2026-12-23"]

    await _set(bot, cid, stage="objections")
    await _play(bot, "周婷", t["objection"])
    await bot.press(REP, t["next"])
    await bot.press(REP, t["next"])
    await bot.send(REP, "太贵了")
    await bot.press(REP, t["price"])
    await bot.press(REP, t["next"])
    await bot.press(REP, 1)
    await bot.press(REP, t["next"])
    replies = await bot.press(REP, t["lost_deal"])
    assert "✅" in texts(replies)
    assert (await _customer(bot, cid)).stage == "after_sales"
    tasks = await _rows(bot, Task, col(Task.customer_id) == cid)
    assert sorted(t_.due_on.isoformat() for t_ in tasks) == ["2026-12-23", "2026-12-23"]


async def test_a_lost_deal_with_a_new_prospect_still_marks_it_lost(bot: Driver) -> None:
    await build_world(bot)
    cid = await add_customer(bot, REP, "吴敏")
    await _play(bot, "吴敏", ZH["objection"])
    await bot.press(REP, "下一步")
    await bot.press(REP, "下一步")
    await bot.send(REP, "太贵了")
    await bot.press(REP, ZH["price"])
    await bot.press(REP, "下一步")
    await bot.press(REP, 1)
    await bot.press(REP, "下一步")
    replies = await bot.press(REP, ZH["lost_deal"])
    assert "未成交" in texts(replies) and "2026-12-23" in texts(replies)
    assert (await _customer(bot, cid)).stage == "lost"


# ---------------------------------------------------------------- 6: typed answers at a choice


@pytest.mark.parametrize(
    ("lang", "typed", "next_text", "ambiguous", "shown"),
    [
        ("zh", "时机", "时机异议", "力", ["财力：钱紧、没预算", "权力：自己做不了主"]),
        ("en", "timing", "Timing:", "p", ["Price: too high", "Product: doubts about it"]),
    ],
)
async def test_a_typed_answer_picks_the_option_or_asks_which(
    bot: Driver, lang: str, typed: str, next_text: str, ambiguous: str, shown: list[str]
) -> None:
    _, t = await _team_of(bot, lang, "何静")
    await _play(bot, "何静", t["objection"])
    await bot.press(REP, t["next"])
    await bot.press(REP, t["next"])
    await bot.send(REP, "明年再说吧")
    replies = await bot.send(REP, ambiguous)
    asked = texts(replies)
    assert all(label in asked for label in shown), asked
    replies = await bot.send(REP, typed)
    await bot.press(REP, t["next"])
    assert next_text in texts(bot.standin.messages(REP)[-1:])


# ---------------------------------------------------------------- 9: the opening uses the day given


@pytest.mark.parametrize(
    ("lang", "typed", "day"),
    [("zh", "周三", "11月25日（周三）"), ("en", "Wednesday", "Wednesday 25 November")],
)
async def test_the_opening_line_proposes_the_visit_day_the_rep_gave(
    bot: Driver, lang: str, typed: str, day: str
) -> None:
    _, t = await _team_of(bot, lang, "林峰")
    await _play(bot, "林峰", t["approach"])
    await bot.press(REP, t["next"])
    for number in range(1, 5):
        await bot.press(REP, number)
    await bot.press(REP, t["done"])
    await bot.send(REP, "我们给工厂做节能空压机")
    await bot.press(REP, t["quality_buyer"])
    await bot.press(REP, t["phone"])
    await bot.send(REP, typed)
    await bot.press(REP, t["skip"])
    replies = await bot.press(REP, t["next"])
    script = texts(replies)
    assert day in script, script
    for wrong in ("周四", "周五", "Thursday", "Friday"):
        assert wrong not in script
