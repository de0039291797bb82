"""Every card flow, as a rep on a phone does it."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from bot.console.driver import Driver
from tests.e2e.world import LEAD, REP, REP2, add_customer, build_world, customer_id_of, payload, texts

VCF = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:陈静\r\nTEL:13722223333\r\nORG:静雅花艺\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna Müller\r\nTEL:+49 170 1234567\r\nEMAIL:anna@example.de\r\n"
    "END:VCARD\r\n"
).encode()


async def test_guided_form_with_back_and_skip(bot: Driver) -> None:
    await build_world(bot)
    assert "客户怎么称呼" in texts(await bot.send(REP, "/new"))
    assert "电话" in texts(await bot.send(REP, "张伟"))
    assert "客户怎么称呼" in texts(await bot.press(REP, "返回"))
    await bot.send(REP, "张伟")
    await bot.send(REP, "138 0013 8001")
    await bot.send(REP, "华东建材")
    replies = await bot.press(REP, "客户转介绍")
    card = texts(replies)
    assert "客户已添加" in card and "张伟" in card and "华东建材" in card and "+86 138 0013 8001" in card
    assert "客户转介绍" in card


async def test_shared_contact_and_vcf_import(bot: Driver) -> None:
    await build_world(bot)
    replies = await bot.share_contact(REP, "+8613900001111", "刘", "洋")
    assert "客户已添加" in texts(replies) and "刘 洋" in texts(replies)
    replies = await bot.share_contact(REP, "+8613900001111", "刘", "洋")
    assert "已有" in texts(replies)
    replies = await bot.send_file(REP, "contacts.vcf", VCF, "text/vcard")
    assert "已添加 2 位客户" in texts(replies)
    assert "Anna Müller" in texts(await bot.send(REP, "anna"))


async def test_find_by_name_pinyin_company_phone_and_tag(bot: Driver) -> None:
    await build_world(bot)
    cid = await add_customer(bot, REP, "张伟", "13800138001")
    await add_customer(bot, REP, "张敏", "13911112222")
    await bot.send(REP, "张伟")
    await bot.press(REP, "编辑")
    await bot.press(REP, "标签")
    await bot.send(REP, "VIP 建材")
    for query in ("张伟", "zhangwei", "zw", "38001", "#vip"):
        replies = await bot.send(REP, query)
        assert customer_id_of(replies[-1]) == cid, query
    replies = await bot.send(REP, "张")
    assert "共 2 位客户" in texts(replies)
    assert "没有找到" in texts(await bot.send(REP, "nobody-like-this"))


async def test_card_sections_edit_and_lunar_birthday(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "刘洋")
    await bot.send(REP, "刘洋")
    replies = await bot.press(REP, "个人")
    assert "个人资料" in texts(replies)
    await bot.press(REP, "编辑")
    await bot.press(REP, "生日")
    replies = await bot.send(REP, "农历八月十五")
    assert "生日：农历八月十五" in texts(replies)
    await bot.press(REP, "编辑")
    await bot.press(REP, "爱好")
    replies = await bot.send(REP, "钓鱼、普洱茶")
    assert "爱好：钓鱼、普洱茶" in texts(replies)
    await bot.press(REP, "业务")
    await bot.press(REP, "编辑")
    await bot.press(REP, "需求度")
    replies = await bot.press(REP, "4")
    assert "需求度：4/5" in texts(replies) and "资格评估合计：4/25" in texts(replies)


async def test_notes_text_photo_voice_and_timeline(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "陈静")
    await bot.send(REP, "陈静")
    await bot.press(REP, "记录")
    replies = await bot.send(REP, "拜访了，想加订小包装。")
    assert "已记录到" in texts(replies)
    replies = await bot.press(REP, "拜访")
    assert "拜访" in texts(replies)
    await bot.press(REP, "再记一条")
    await bot.send_photo(REP, b"\x89PNG fake", caption="样品照片")
    await bot.press(REP, "再记一条")
    await bot.send_voice(REP, b"OggS voice")
    await bot.press(REP, "打开资料卡")
    replies = await bot.press(REP, "时间线")
    timeline = texts(replies)
    assert (
        "想加订小包装" in timeline
        and "样品照片" in timeline
        and "[语音]" in timeline
        and "voice" not in timeline
    )
    replies = await bot.press(REP, "照片")
    assert replies[-1].kind == "photo"


async def test_purchase_stage_and_grade(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "郑浩")
    await bot.send(REP, "郑浩")
    await bot.press(REP, "成交")
    await bot.send(REP, "1.5万")
    await bot.send(REP, "中央厨房设备")
    replies = await bot.send(REP, "昨天")
    card = texts(replies)
    assert "成交已登记" in card and "15,000.00" in card and "中央厨房设备" in card and "已成交" in card
    await bot.press(REP, "阶段")
    replies = await bot.press(REP, "售后服务")
    assert "售后服务" in texts(replies)
    assert "⭐ A" in card  # the only paying customer is in the top 20%
    await bot.press(REP, "等级")
    replies = await bot.press(REP, "C")
    assert "⭐ C" in texts(replies)
    await bot.press(REP, "等级")
    replies = await bot.press(REP, "自动")
    assert "⭐ A" in texts(replies)


async def test_lead_reassigns_a_departing_reps_customers_and_exports(bot: Driver) -> None:
    await build_world(bot)
    first = await add_customer(bot, REP, "张伟")
    await add_customer(bot, REP, "刘洋")
    await bot.send(REP, "张伟")
    await bot.press(REP, "记录")
    await bot.send(REP, "老客户，重要")
    await bot.send(LEAD, "/team")
    await bot.press(LEAD, "王芳")
    await bot.press(LEAD, "移交全部客户")
    await bot.press(LEAD, "Tom")
    replies = await bot.press(LEAD, "确认")
    assert "已将 2 位客户" in texts(replies)
    replies = await bot.send(REP2, "张伟")
    assert customer_id_of(replies[-1]) == first
    assert "没有找到" in texts(await bot.send(REP, "张伟"))
    replies = await bot.press(REP2, "时间线")
    assert "老客户，重要" in texts(replies) and "由 王芳 移交给 Tom" in texts(replies)
    replies = await bot.send(LEAD, "/export")
    document = replies[-1]
    assert document.kind == "document" and document.file_bytes
    workbook = load_workbook(io.BytesIO(document.file_bytes))
    assert {"customers", "notes"} <= set(workbook.sheetnames)
    names = [row[5] for row in workbook["customers"].iter_rows(values_only=True)]
    assert "张伟" in names and "刘洋" in names
    await bot.send(LEAD, "/team")
    await bot.press(LEAD, "CSV")
    files = [m for m in bot.standin.messages(LEAD) if m.kind == "document"]
    rows = list(csv.reader(io.StringIO(files[-2].file_bytes.decode("utf-8-sig"))))
    assert rows[0][0] == "编号" and len(rows) == 3


async def test_filters_by_stage_grade_and_idle(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "张伟")
    await add_customer(bot, REP, "刘洋")
    await bot.press(REP, "阶段")
    await bot.press(REP, "促成交易")
    await bot.send(REP, "/menu")
    replies = await bot.press(REP, "我的客户")
    assert "共 2 位客户" in texts(replies)
    await bot.press(REP, "按阶段")
    replies = await bot.press(REP, "促成交易")
    assert "🎯 促成交易：共 1 位客户" in texts(replies) and "刘洋" in str(replies[-1].reply_markup)
    await bot.press(REP, "多久未联系")
    replies = await bot.press(REP, "30 天")
    assert "30 天未联系：共 2 位客户" in texts(replies)


async def test_removing_a_member_asks_first_and_tells_them(bot: Driver) -> None:
    await build_world(bot)
    await bot.send(LEAD, "/team")
    await bot.press(LEAD, "Tom")
    replies = await bot.press(LEAD, "移出团队")
    assert "把 <b>Tom</b> 移出团队？" in texts(replies)
    await bot.press(LEAD, "确认")
    assert "已被移出团队" in texts(bot.new_messages(REP2))
    assert "邀请链接" in texts(await bot.send(REP2, "/new"))


async def test_purchase_dates_read_backwards(bot: Driver) -> None:
    await build_world(bot)
    await add_customer(bot, REP, "郑浩")
    for typed, shown in (("周五", "2026-11-20"), ("25.12", "2025-12-25")):
        await bot.press(REP, "成交")
        await bot.send(REP, "100")
        await bot.press(REP, "跳过")
        replies = await bot.send(REP, typed)
        assert f"• {shown} — 100.00" in texts(replies), typed


async def test_a_big_team_pages_its_members(bot: Driver) -> None:
    await build_world(bot)
    for uid in range(100, 125):
        bot.user(uid, f"Rep {uid}")
        await bot.send(LEAD, "/team")
        code = payload(await bot.press(LEAD, "邀请销售"))
        await bot.send(uid, f"/start {code}")
    first = (await bot.send(LEAD, "/team"))[-1]
    first_page, first_size = str(first.reply_markup), len(first.buttons())
    second = (await bot.press(LEAD, "下一页"))[-1]  # the same message, edited
    names = first_page + str(second.reply_markup)
    assert all(f"Rep {uid}" in names for uid in range(100, 125))
    assert first_size < 30
