"""Connection settings for the command line: flags, then MARKETO_* variables, then a dotenv file.

The client secret is read only from ``MARKETO_CLIENT_SECRET`` (the environment or the dotenv
file): no flag takes it, so it never lands in shell history or ``ps`` output, and it is never
printed (``config show`` masks it).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

import attrs

__all__ = ["MASK", "VARIABLES", "Settings", "read_dotenv", "resolve_settings"]

VARIABLES = {
    "base_url": "MARKETO_BASE_URL",
    "munchkin_id": "MARKETO_MUNCHKIN_ID",
    "client_id": "MARKETO_CLIENT_ID",
    "client_secret": "MARKETO_CLIENT_SECRET",
    "redis_url": "MARKETO_REDIS_URL",
    "redis_key": "MARKETO_REDIS_KEY",
}
MASK = "********"


def read_dotenv(path: str | Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (``export`` and quotes allowed, ``#`` comments skipped)."""
    values: dict[str, str] = {}
    for raw in Path(path).read_text(encoding="utf-8-sig").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value[: value.index(" #")].rstrip()  # an inline comment
        values[name.strip()] = value
    return values


@attrs.frozen
class Settings:
    """Where and as whom to connect; the secret never shows in a repr.

    ``sources`` says where each setting came from: ``flag``, ``env``, a dotenv path, or
    ``emulator`` (the local sandbox's well-known credentials).
    """

    base_url: str | None = None
    munchkin_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = attrs.field(default=None, repr=False)
    # A Redis URL may hold a password: never in a repr.
    redis_url: str | None = attrs.field(default=None, repr=False)
    redis_key: str | None = None
    sources: Mapping[str, str] = attrs.field(factory=dict, repr=False)

    def masked(self) -> dict[str, str]:
        """Every setting for display, the secret masked (nothing of it is shown)."""
        return {
            "base_url": self.base_url or "",
            "munchkin_id": self.munchkin_id or "",
            "client_id": self.client_id or "",
            "client_secret": MASK if self.client_secret else "",
            "redis_url": without_password(self.redis_url) if self.redis_url else "",
            "redis_key": self.redis_key or "",
        }

    def missing(self) -> list[str]:
        gaps = []
        if not (self.base_url or self.munchkin_id):
            gaps.append("MARKETO_BASE_URL (--base-url) or MARKETO_MUNCHKIN_ID (--munchkin-id)")
        if not self.client_id:
            gaps.append("MARKETO_CLIENT_ID (--client-id)")
        if not self.client_secret:
            gaps.append("MARKETO_CLIENT_SECRET (environment or dotenv file only)")
        return gaps

    def with_defaults(self, client_id: str, client_secret: str) -> Settings:
        """Fill missing credentials (used for a loopback sandbox's well-known ones)."""
        sources = dict(self.sources)
        chosen_id, chosen_secret = self.client_id, self.client_secret
        if not chosen_id:
            chosen_id = client_id
            sources["client_id"] = "emulator"
        if not chosen_secret:
            chosen_secret = client_secret
            sources["client_secret"] = "emulator"
        return attrs.evolve(self, client_id=chosen_id, client_secret=chosen_secret, sources=sources)


def resolve_settings(
    flags: Mapping[str, str | None],
    *,
    env_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Flags win over the environment, which wins over the dotenv file.

    Without ``env_file``, ``./.env`` is read when it exists. A ``client_secret`` flag is
    ignored: the secret comes from the environment or the dotenv file only.
    """
    env = os.environ if environ is None else environ
    dotenv: dict[str, str] = {}
    dotenv_name = "dotenv"
    if env_file is not None:
        dotenv = read_dotenv(env_file)
        dotenv_name = str(env_file)
    elif Path(".env").is_file():
        dotenv = read_dotenv(".env")
        dotenv_name = ".env"
    chosen: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    for name, variable in VARIABLES.items():
        flag = flags.get(name) if name != "client_secret" else None
        for value, source in (
            (flag, "flag"),
            (env.get(variable), "env"),
            (dotenv.get(variable), dotenv_name),
        ):
            if value:
                chosen[name] = value
                sources[name] = source
                break
        else:
            chosen[name] = None
    # One target only: the most specific source wins, base_url over munchkin_id at a tie.
    rank = {"flag": 0, "env": 1}
    target_rank = {
        name: rank.get(sources[name], 2) for name in ("base_url", "munchkin_id") if chosen[name]
    }
    if len(target_rank) == 2:
        loser = (
            "munchkin_id" if target_rank["base_url"] <= target_rank["munchkin_id"] else ("base_url")
        )
        chosen[loser] = None
        sources.pop(loser)
    return Settings(
        base_url=chosen["base_url"],
        munchkin_id=chosen["munchkin_id"],
        client_id=chosen["client_id"],
        client_secret=chosen["client_secret"],
        redis_url=chosen["redis_url"],
        redis_key=chosen["redis_key"],
        sources=sources,
    )


def without_password(url: str) -> str:
    """``url`` with any password (user info or ``password=`` query) shown as the mask."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}:{MASK}@{netloc.rpartition('@')[2]}"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if any(name == "password" for name, _ in query):
        query = [(name, MASK if name == "password" else value) for name, value in query]
    text = urllib.parse.urlencode(query, safe="*")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, text, ""))
