"""Customer cards on the phone: add, find, read by section, edit, notes, purchases, stage, grade."""

from bot.telegram.cards import edit, find, notes, purchases, view
from bot.telegram.cards.find import search_and_show
from bot.telegram.cards.view import show_card

__all__ = ["edit", "find", "notes", "purchases", "search_and_show", "show_card", "view"]
