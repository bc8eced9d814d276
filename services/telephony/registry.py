"""The SMS command registry: domain packages register their commands by keyword.

A message is a keyword followed by words separated by spaces, commas or semicolons
(« OUV 1000190 123456 », « t1;1000190;123456;V312… »). The keyword is matched without case
or accents (« aide », « Aïde » and « AIDE » are the same command). A command is either an
exact keyword (« OUV », with aliases) or a family matched by a regular expression on the
folded keyword (« T1 », « T2 »: ``pattern=r"T(?P<round>[0-9]{1,2})"``).

The gateway owns two answers itself: AIDE (also « HELP », « ? »; assembled from the registered
commands' help) and the reply to an unknown keyword (the list of commands). A keyword glued to
what follows (« PART1234566 », « OKAB12 ») is a pattern command: ``pattern=r"PART[0-9]*"``, and
the handler parses ``sms.text`` with its own grammar. See `docs/telephony.md` for how
a package registers a command.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from services.telephony.guard import GENERIC_FAILURE, AfterRollback, RollbackHooks, run_guarded
from services.telephony.phone import mask_phone
from services.telephony.sms_text import DEFAULT_MAX_SEGMENTS, capacity, fit_sms, gsm_length, to_gsm

if TYPE_CHECKING:
    from services.errors import AppError
    from services.telephony.fastpath import FastHandler

WORD_SEPARATORS = re.compile(r"[\s,;]+")
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
HELP_KEYWORD = "AIDE"
HELP_ALIASES = ("HELP", "AIDES", "INFO")
SHOWN_KEYWORD_LENGTH = 12


def fold(text: str) -> str:
    """Upper case, without accents: « Aïde » → « AIDE »."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def fold_keyword(word: str) -> str:
    """A keyword as matched: folded, letters and digits only (« t1. » → « T1 »)."""
    return "".join(c for c in fold(word) if "A" <= c <= "Z" or "0" <= c <= "9")


def split_words(text: str) -> list[str]:
    """The words of a message, as typed (spaces, commas and semicolons separate them)."""
    return [word for word in WORD_SEPARATORS.split((text or "").translate(INVISIBLE)) if word]


# --- What a handler receives ---------------------------------------------------------------------


@dataclass
class SmsContext:
    """One inbound SMS, as a command handler sees it.

    `from_number` is E.164 when it could be normalised (Twilio sends E.164); compare it with
    numbers normalised by `services.telephony.normalise_phone`. `args` are the words after the
    keyword, as typed (case and accents kept); `match` is the keyword's regular-expression
    match for pattern commands (``ctx.match.group("round")``), else None.
    """

    sid: str
    from_number: str
    to_number: str
    text: str
    keyword: str
    args: tuple[str, ...]
    received_at: datetime
    match: re.Match[str] | None = None
    hooks: RollbackHooks = field(default_factory=RollbackHooks, repr=False)

    @property
    def masked_from(self) -> str:
        return mask_phone(self.from_number)

    def after_rollback(self, callback: AfterRollback) -> None:
        """Run `callback(session)` if this handler refuses (AppError): see `services.telephony.guard`."""
        self.hooks.add(callback)


SmsHandler = Callable[[AsyncSession, SmsContext], Awaitable[str]]
# Help texts may depend on the database (the ballot order of the current round, for instance).
HelpText = str | Callable[[AsyncSession, SmsContext], Awaitable[str]]
Redactor = Callable[[str], str]


@dataclass(frozen=True)
class SmsCommand:
    """A registered command.

    - `keyword`: what the sender types (matched folded), or, with `pattern`, the name shown
      in AIDE (« T<tour> »);
    - `summary`: one line for the AIDE listing (« OUV <code> <PIN> : ouvrir le bureau »);
    - `help`: the detailed help sent for « AIDE <keyword> » (defaults to the summary);
    - `pattern`: a regular expression the folded keyword must fully match (families);
    - `redact`: rewrites the text before it is stored (hide the PIN: `redact_words(2)`);
    - `max_segments`: the length budget of this command's replies (see `sms_text`).
    """

    keyword: str
    handler: SmsHandler
    summary: HelpText
    help: HelpText | None = None
    aliases: tuple[str, ...] = ()
    pattern: str | None = None
    redact: Redactor | None = None
    max_segments: int = DEFAULT_MAX_SEGMENTS
    listed: bool = True
    # An optional fast handler for the command's common case (see `services.telephony.fastpath`).
    fast: FastHandler | None = None

    @property
    def key(self) -> str:
        return fold_keyword(self.keyword)

    def compiled_pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.pattern, re.ASCII) if self.pattern else None


def redact_words(*positions: int) -> Redactor:
    """A redactor that masks the words at these 0-based positions (the keyword is word 0).

    ``redact_words(2)`` stores « OUV 1000190 ****** » for « OUV 1000190 123456 ».
    """

    def redact(text: str) -> str:
        words = split_words(text)
        return " ".join("*" * len(word) if index in positions else word for index, word in enumerate(words))

    return redact


@dataclass(frozen=True)
class Resolution:
    """What a message asks for: the command (None if unknown), the folded keyword, the words."""

    command: SmsCommand | None
    keyword: str
    args: tuple[str, ...]
    match: re.Match[str] | None = None


@dataclass(frozen=True)
class Reply:
    text: str
    outcome: str  # ok | refused | error | unknown | help | empty


# --- The registry ---------------------------------------------------------------------------------


class SmsCommandRegistry:
    """Commands by keyword. The application uses the module-level `sms_commands`."""

    def __init__(self) -> None:
        self._exact: dict[str, SmsCommand] = {}
        self._patterns: list[tuple[re.Pattern[str], SmsCommand]] = []
        self._ordered: list[SmsCommand] = []

    # Registration -----------------------------------------------------------------------------

    def register(self, command: SmsCommand) -> SmsCommand:
        """Add a command; a keyword (or alias) already taken by another command is refused."""
        if not command.key:
            raise ValueError(f"SMS command keyword {command.keyword!r} has no letter or digit")
        keys = [] if command.pattern else [command.key, *(fold_keyword(alias) for alias in command.aliases)]
        for key in keys:
            if key in (HELP_KEYWORD, *HELP_ALIASES):
                raise ValueError(f"SMS keyword {key!r} is reserved for the gateway's help")
            existing = self._exact.get(key)
            if existing is not None and existing.handler is not command.handler:
                raise ValueError(f"SMS keyword {key!r} is already registered")
        for existing in self._ordered:
            if existing.key == command.key and existing.handler is not command.handler:
                raise ValueError(f"SMS command {command.keyword!r} is already registered")
        # The same handler registered again replaces its previous registration.
        self.unregister(command.keyword)
        for key in keys:
            self._exact[key] = command
        if command.pattern:
            self._patterns.append((command.compiled_pattern(), command))  # type: ignore[arg-type]
        self._ordered.append(command)
        return command

    def command(
        self,
        keyword: str,
        *,
        summary: HelpText,
        help: HelpText | None = None,  # noqa: A002 - the French users' word for it is « aide »
        aliases: tuple[str, ...] = (),
        pattern: str | None = None,
        redact: Redactor | None = None,
        max_segments: int = DEFAULT_MAX_SEGMENTS,
        listed: bool = True,
        fast: FastHandler | None = None,
    ) -> Callable[[SmsHandler], SmsHandler]:
        """Decorator form of `register`: ``@sms_command("OUV", summary=...)``."""

        def decorate(handler: SmsHandler) -> SmsHandler:
            self.register(
                SmsCommand(
                    keyword=keyword,
                    handler=handler,
                    summary=summary,
                    help=help,
                    aliases=aliases,
                    pattern=pattern,
                    redact=redact,
                    max_segments=max_segments,
                    listed=listed,
                    fast=fast,
                )
            )
            return handler

        return decorate

    def unregister(self, keyword: str) -> None:
        key = fold_keyword(keyword)
        removed = [command for command in self._ordered if command.key == key]
        self._ordered = [command for command in self._ordered if command.key != key]
        self._exact = {k: c for k, c in self._exact.items() if c not in removed}
        self._patterns = [(p, c) for p, c in self._patterns if c not in removed]

    def commands(self) -> list[SmsCommand]:
        """The registered commands, in registration order."""
        return list(self._ordered)

    # Resolution -------------------------------------------------------------------------------

    def find(self, keyword: str) -> tuple[SmsCommand | None, re.Match[str] | None]:
        key = fold_keyword(keyword)
        if not key:
            return None, None
        if key in self._exact:
            return self._exact[key], None
        for pattern, command in self._patterns:
            match = pattern.fullmatch(key)
            if match:
                return command, match
        return None, None

    def resolve(self, text: str) -> Resolution:
        words = split_words(text)
        if not words:
            return Resolution(None, "", ())
        command, match = self.find(words[0])
        return Resolution(command, fold_keyword(words[0]), tuple(words[1:]), match)

    def stored_text(self, text: str, resolution: Resolution) -> str:
        """The text as kept in the inbound store (the command's redactor applied)."""
        redact = resolution.command.redact if resolution.command else None
        if redact is None:
            return text
        try:
            return redact(text)
        except Exception:  # noqa: BLE001 - a broken redactor must not leak the text
            return "[masqué]"

    # Dispatch ---------------------------------------------------------------------------------

    def keywords_listing(self) -> str:
        shown = [command.keyword for command in self._ordered if command.listed]
        return ", ".join([*shown, HELP_KEYWORD])

    async def dispatch(self, session: AsyncSession, context: SmsContext, resolution: Resolution) -> Reply:
        """The reply to one message. Never raises: every outcome is a French reply."""
        words = split_words(context.text)
        if words and set(words[0]) <= set("?¿"):  # « ? » alone asks for help too
            return Reply(await self._help(session, replace(context, args=tuple(words[1:]))), "help")
        if not resolution.keyword:
            if split_words(context.text):  # only punctuation or symbols
                return Reply(self._unknown(context.text.strip()), "unknown")
            return Reply(
                fit_sms(f"Message vide. Commandes : {self.keywords_listing()}. Envoyez AIDE pour le détail."),
                "empty",
            )
        if resolution.keyword in (HELP_KEYWORD, *HELP_ALIASES):
            return Reply(await self._help(session, context), "help")
        command = resolution.command
        if command is None:
            return Reply(self._unknown(split_words(context.text)[0]), "unknown")
        guarded = await run_guarded(
            session, lambda: command.handler(session, context), context.hooks, what=f"la commande SMS {command.keyword}"
        )
        if guarded.refusal is not None:
            return Reply(fit_sms(_refusal_text(guarded.refusal), command.max_segments), "refused")
        if guarded.failed or not isinstance(guarded.value, str) or not guarded.value.strip():
            return Reply(fit_sms(GENERIC_FAILURE), "error")
        return Reply(fit_sms(guarded.value, command.max_segments), "ok")

    def _unknown(self, typed: str) -> str:
        shown = to_gsm(typed)[:SHOWN_KEYWORD_LENGTH]
        return fit_sms(
            f'Commande inconnue : "{shown}". Commandes : {self.keywords_listing()}. '
            "Envoyez AIDE pour le détail, ou AIDE suivi d'une commande."
        )

    async def _help(self, session: AsyncSession, context: SmsContext) -> str:
        """AIDE: the summaries of every command; AIDE <keyword>: that command's detailed help."""
        if context.args:
            command, _match = self.find(context.args[0])
            if command is None:
                return self._unknown(context.args[0])
            text = await self._help_text(session, context, command.help or command.summary)
            return fit_sms(text, command.max_segments) if text else fit_sms(GENERIC_FAILURE)
        lines = ["Commandes :"]
        for command in self._ordered:
            if command.listed:
                lines.append(await self._help_text(session, context, command.summary) or command.keyword)
        lines.append("AIDE <commande> : le détail d'une commande.")
        full = "\n".join(lines)
        if gsm_length(to_gsm(full)) <= capacity(DEFAULT_MAX_SEGMENTS):
            return fit_sms(full)
        return fit_sms(f"Commandes : {self.keywords_listing()}. Envoyez AIDE suivi d'une commande pour son détail.")

    async def _help_text(self, session: AsyncSession, context: SmsContext, text: HelpText) -> str:
        if isinstance(text, str):
            return text
        hooks = RollbackHooks()
        guarded = await run_guarded(session, lambda: text(session, context), hooks, what="un texte d'aide SMS")
        if guarded.refusal is not None:
            return _refusal_text(guarded.refusal)
        return guarded.value if isinstance(guarded.value, str) else ""


def _refusal_text(refusal: AppError) -> str:
    return refusal.message or GENERIC_FAILURE


# The application's registry; domain packages register into it (see docs/telephony.md).
sms_commands = SmsCommandRegistry()
sms_command = sms_commands.command
