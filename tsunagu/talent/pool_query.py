"""What a talent pool search asks (the pool page's query parameters, the API's, a saved search's, a campaign's
audience): PoolQuery, read from and written back to query parameters with every value checked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from tsunagu.talent.fulltext import clean_groups
from tsunagu.talent.models import PoolState
from tsunagu.talent.normalize import clean_text, email_key, nfkc, phone_e164
from tsunagu.talent.regions import region_code
from tsunagu.talent.search_index import query_alternatives
from tsunagu.talent.stages import Stage
from tsunagu.talent.variants import fold_variants

MAX_QUERY_LENGTH = 200
MAX_QUERY_TAGS = 20
MAX_TAG_LENGTH = 50
MAX_REGION_LENGTH = 100
MAX_TEXT_LENGTH = 300  # evaluation, job category, rejection reason: the longest of their columns
DATE_FIELDS = ("rejected_from", "rejected_to", "applied_from", "applied_to")
_PHONE = re.compile(r"\+?[0-9()\-]{9,}")
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no"}


@dataclass(frozen=True)
class PoolQuery:
    q: str = ""
    tags: tuple[str, ...] = ()
    stage_at_least: int = 0
    evaluation: str = ""
    region: str = ""  # a JIS prefecture code ("13"), or free text matched against region_text
    job_category: str = ""
    rejection_reason: str = ""
    state: str = ""  # a PoolState value
    rejected_from: date | None = None
    rejected_to: date | None = None
    applied_from: date | None = None
    applied_to: date | None = None
    contactable: bool | None = None

    @classmethod
    def from_params(cls, params: Mapping) -> PoolQuery:
        """Read a QueryDict or a dict (a list for repeated `tag`); ValidationError (by field, in Japanese) on a
        bad value. Unknown parameters are ignored (a page's own, such as `page`)."""
        reader = _Reader(params)
        query = cls(
            q=reader.text("q", MAX_QUERY_LENGTH),
            tags=reader.tags(),
            stage_at_least=reader.stage(),
            evaluation=reader.text("evaluation", MAX_TEXT_LENGTH),
            region=reader.region(),
            job_category=reader.text("job_category", MAX_TEXT_LENGTH),
            rejection_reason=reader.text("rejection_reason", MAX_TEXT_LENGTH),
            state=reader.choice("state", PoolState.values),
            contactable=reader.boolean("contactable"),
            **{name: reader.date(name) for name in DATE_FIELDS},
        )
        for start, end in (("rejected_from", "rejected_to"), ("applied_from", "applied_to")):
            first, last = getattr(query, start), getattr(query, end)
            if first and last and first > last:
                reader.errors.setdefault(end, []).append(_("終了日は開始日以降の日付にしてください。"))
        if reader.errors:
            raise ValidationError(reader.errors)
        return query

    def to_params(self) -> dict[str, str | list[str]]:
        """The query parameters that read back as this query (only what differs from the default)."""
        params: dict[str, str | list[str]] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value == field.default:
                continue
            if field.name == "tags":
                params["tag"] = list(value)
            elif isinstance(value, bool):
                params[field.name] = "1" if value else "0"
            elif isinstance(value, date):
                params[field.name] = value.isoformat()
            else:
                params[field.name] = str(value)
        return params

    @property
    def is_empty(self) -> bool:
        return self == PoolQuery()

    def without_text(self) -> PoolQuery:
        return replace(self, q="")


class _Reader:
    """Reads one parameter at a time, collecting the errors by field."""

    def __init__(self, params: Mapping):
        self.params = params
        self.errors: dict[str, list[str]] = {}

    def _values(self, name: str) -> list[str]:
        if hasattr(self.params, "getlist"):
            values = self.params.getlist(name)
        else:
            value = self.params.get(name)
            values = [] if value is None else list(value) if isinstance(value, list | tuple) else [value]
        return [value if isinstance(value, str) else str(value) for value in values]

    def _one(self, name: str) -> str:
        values = self._values(name)
        return values[-1] if values else ""

    def _fail(self, name: str, message: str):
        self.errors.setdefault(name, []).append(message)

    def _storable(self, name: str, value: str) -> bool:
        if "\x00" in value:
            self._fail(name, _("使用できない文字が含まれています。"))
            return False
        return True

    def text(self, name: str, limit: int) -> str:
        value = clean_text(self._one(name))
        if not self._storable(name, value):
            return ""
        if len(value) > limit:
            self._fail(name, _("%(limit)d文字以内で入力してください。") % {"limit": limit})
            return ""
        return value

    def tags(self) -> tuple[str, ...]:
        tags: list[str] = []
        for raw in self._values("tag"):
            tag = clean_text(raw)
            if not tag or not self._storable("tag", tag):
                continue
            if len(tag) > MAX_TAG_LENGTH:
                self._fail("tag", _("タグは%(limit)d文字以内で指定してください。") % {"limit": MAX_TAG_LENGTH})
                return ()
            if tag not in tags:
                tags.append(tag)
        if len(tags) > MAX_QUERY_TAGS:
            self._fail("tag", _("タグは%(limit)d個まで指定できます。") % {"limit": MAX_QUERY_TAGS})
            return ()
        return tuple(tags)

    def stage(self) -> int:
        """A stage's value (40) or name (final_interview)."""
        value = self._one("stage_at_least").strip()
        if not value:
            return 0
        if value.isascii() and value.isdigit() and int(value) in Stage.values:
            return int(value)
        by_name = {stage.name.lower(): stage.value for stage in Stage}
        if value.lower() in by_name:
            return by_name[value.lower()]
        self._fail("stage_at_least", _("選考ステップの指定が正しくありません。"))
        return 0

    def region(self) -> str:
        value = self.text("region", MAX_REGION_LENGTH)
        return region_code(value) or value

    def choice(self, name: str, choices) -> str:
        value = self._one(name).strip()
        if value and value not in choices:
            self._fail(name, _("指定が正しくありません。"))
            return ""
        return value

    def boolean(self, name: str) -> bool | None:
        value = self._one(name).strip().lower()
        if not value:
            return None
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        self._fail(name, _("1 または 0 で指定してください。"))
        return None

    def date(self, name: str) -> date | None:
        value = self._one(name).strip()
        if not value:
            return None
        try:
            if len(value) != 10:
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self._fail(name, _("日付は 2026-04-01 の形式で入力してください。"))
            return None


def query_words(q: str) -> list[tuple[str, object, str]]:
    """Each word of the query box with how it is matched, and the word: ("email", key, word), ("phone", e164,
    word) or ("text", token sets, word) (a word that yields no token is left out)."""
    words = []
    for word in nfkc(q or "").split():
        if "@" in word:
            words.append(("email", email_key(word), word))
            continue
        if _PHONE.fullmatch(word) and sum(char.isdigit() for char in word) >= 10:
            e164 = phone_e164(word)
            if e164:
                words.append(("phone", e164, word))
                continue
        alternatives = clean_groups([query_alternatives(word)])
        if alternatives:
            words.append(("text", alternatives[0], word))
    return words


@lru_cache(maxsize=16384)  # the same few tags (job categories, years, reasons) on many people
def tag_key(label: str) -> str:
    """What makes two tags the same tag (CandidateTag.key): NFKC, case and 異体字 folded, spaces collapsed."""
    return fold_variants(clean_text(label)).casefold()[:MAX_TAG_LENGTH]
