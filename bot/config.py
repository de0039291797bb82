"""Settings: the only place that reads the environment (or a `.env` file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Language = Literal["zh", "en"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


LOOPBACK = ("127.0.0.1", "localhost")  # where a Mini App may be served over plain http


class Settings(BaseSettings):
    """Everything the bot can be configured with."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = Field(default=None, alias="BOT_TOKEN")
    database_url: str = Field(default="sqlite+aiosqlite:///salesbot.db", alias="DATABASE_URL")
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list, alias="SALESBOT_ADMIN_IDS")
    telegram_api_base_url: str | None = Field(default=None, alias="TELEGRAM_API_BASE_URL")
    telegram_file_base_url: str | None = Field(default=None, alias="TELEGRAM_FILE_BASE_URL")
    default_timezone: str = Field(default="Asia/Shanghai", alias="SALESBOT_TIMEZONE")
    default_language: Language = Field(default="zh", alias="SALESBOT_LANGUAGE")
    invite_ttl_hours: int = Field(default=72, alias="SALESBOT_INVITE_TTL_HOURS")
    webhook_listen: str = Field(default="127.0.0.1", alias="SALESBOT_WEBHOOK_LISTEN")
    webhook_port: int = Field(default=8443, alias="SALESBOT_WEBHOOK_PORT")
    webhook_secret: SecretStr | None = Field(default=None, alias="SALESBOT_WEBHOOK_SECRET")
    log_level: str = Field(default="INFO", alias="SALESBOT_LOG_LEVEL")
    # How many updates of different users are handled at the same time (one user's run in turn).
    concurrent_updates: int = Field(default=16, ge=1, alias="SALESBOT_CONCURRENT_UPDATES")
    # Worker processes for long CPU work (exports, charts); 0 runs it in threads of the bot's process.
    heavy_processes: int = Field(default=2, ge=0, alias="SALESBOT_HEAVY_PROCESSES")
    # The Mini App's HTTP server (bot.web), run by `salesbot run` when web_url is set.
    web_listen: str = Field(default="127.0.0.1", alias="SALESBOT_WEB_LISTEN")
    web_port: int = Field(default=8080, ge=0, le=65535, alias="SALESBOT_WEB_PORT")
    # Its public HTTPS address (behind a proxy that terminates HTTPS); None: no Mini App.
    web_url: str | None = Field(default=None, alias="SALESBOT_WEB_URL")
    # How long, in seconds, the initData Telegram gave the Mini App is accepted.
    web_max_age: int = Field(default=86400, ge=1, alias="SALESBOT_WEB_MAX_AGE")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept `SALESBOT_ADMIN_IDS=1,2 3` as well as a list."""
        if isinstance(value, str):
            return [int(part) for part in value.replace(",", " ").split() if part]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Pick the async driver when a plain URL is given."""
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        return value

    @field_validator("web_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        """Telegram opens Mini Apps only over HTTPS; an empty value means none.

        Plain http is accepted only on this machine's loopback address, where `salesbot
        console --demo` serves the Mini App to a desktop browser. The address is kept as a
        folder (`https://bot.example.com/app` becomes `.../app/`): the page finds its script,
        styles and API beside itself, so a proxy may serve it under any path.
        """
        if not value:
            return None
        parts = urlsplit(value)
        local = parts.scheme == "http" and parts.hostname in LOOPBACK
        if (parts.scheme != "https" and not local) or not parts.hostname or parts.port == 0:
            raise ValueError("SALESBOT_WEB_URL must be an https:// address, e.g. https://bot.example.com/app")
        if not parts.path.endswith("/"):  # the page asks for its files and API relative to itself
            value = urlunsplit(parts._replace(path=parts.path + "/"))
        return value

    @property
    def web_origin(self) -> str | None:
        """The Mini App's origin (scheme, host and any non-default port): what browsers send as Origin."""
        if self.web_url is None:
            return None
        parts = urlsplit(self.web_url)
        assert parts.hostname is not None  # checked by the validator
        default = 443 if parts.scheme == "https" else 80
        port = f":{parts.port}" if parts.port not in (None, default) else ""
        return f"{parts.scheme}://{parts.hostname}{port}"

    @property
    def mini_app_url(self) -> str | None:
        """Where the chat's Mini App buttons lead: the web address if it is https (Telegram opens
        no other), else None (a loopback http address serves the console's browser links only)."""
        if self.web_url is None or urlsplit(self.web_url).scheme != "https":
            return None
        return self.web_url

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is a SQLite file."""
        return self.database_url.startswith("sqlite")
