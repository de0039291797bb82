"""The catalogue keeps what a text is made of: separators keep their spaces."""

from __future__ import annotations

from bot.i18n import catalogue


def test_the_english_list_joiner_keeps_its_space() -> None:
    names = ["Tom", "王芳", "Ada"]
    assert catalogue().text("en", "plain.list_joiner").join(names) == "Tom, 王芳, Ada"
    assert catalogue().text("zh", "plain.list_joiner").join(names) == "Tom、王芳、Ada"


def test_texts_lose_the_outer_line_breaks_of_their_toml_blocks() -> None:
    for lang in ("zh", "en"):
        for key, text in catalogue().constants[lang].items():
            assert not text.startswith("\n") and not text.endswith("\n"), (lang, key)
            if not key.startswith(("btn.", "cmd.", "plain.")):
                assert text == text.strip(), (lang, key)


def test_the_english_digest_counts_one_thing_in_the_singular() -> None:
    def head(n: int) -> str:
        t = {k: n for k in ("notes", "contacts", "playbooks", "new_customers", "stage_moves", "wins")}
        return catalogue().text("en", "digest.head", team="T", kind="day", period="p", t=t, amount="¥1.00")

    def rep(n: int) -> str:
        r = {"name": "Tom", "role": "rep", "behind": 0, "overdue": n, "contacts": n}
        r |= {k: n for k in ("notes", "playbooks", "new_customers", "stage_moves", "wins")}
        return catalogue().text("en", "digest.rep", r=r, amount="¥1.00")

    assert "1 note (1 contact) · 1 playbook · 1 new customer · 1 stage move · 1 sale," in head(1)
    assert "2 notes (2 contacts) · 2 playbooks · 2 new customers · 2 stage moves · 2 sales," in head(2)
    assert "(1 contact)" in rep(1) and "1 follow-up overdue" in rep(1)
    assert "(2 contacts)" in rep(2) and "2 follow-ups overdue" in rep(2)
