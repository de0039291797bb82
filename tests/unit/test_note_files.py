"""What type a timeline note's file is served as."""

from __future__ import annotations

import pytest

from bot.services.note_files import content_type


@pytest.mark.parametrize(
    ("kind", "path", "expected"),
    [
        ("photo", "photos/file_1.jpg", "image/jpeg"),
        ("photo", None, "image/jpeg"),  # Telegram re-encodes every photo as JPEG
        ("voice", "voice/file_2.oga", "audio/ogg"),
        ("voice", None, "audio/ogg"),
        ("voice", "music/file_3.mp3", "audio/mpeg"),  # a music file sent as a voice note
        ("voice", "documents/file_4.pdf", "audio/ogg"),  # never served as anything but audio
        ("document", "documents/file_5.pdf", "application/pdf"),
        ("document", "videos/file_6.mp4", "video/mp4"),
        ("document", "documents/file_7", "application/octet-stream"),
        ("document", None, "application/octet-stream"),
    ],
)
def test_content_type(kind: str, path: str | None, expected: str) -> None:
    assert content_type(kind, path) == expected
