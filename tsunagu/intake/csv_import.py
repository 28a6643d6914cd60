"""Reading and validating a CSV export (Excel, HRMOS, ジョブカン, ...) into application events.

Nothing here writes: `open_csv` decodes the file and finds the columns (a problem with the file as a
whole raises CsvFileError), and `CsvFile.rows()` yields, per record, either the normalised event or the
Japanese reason the row cannot be imported, with the physical line number the record starts on.
`tsunagu.intake.actions.imports.import_csv` is the write path that consumes it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from json.encoder import encode_basestring as _json_string
from pathlib import Path
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from email_validator import EmailNotValidError, validate_email

from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.talent.data import CandidateData, JobData
from tsunagu.talent.models import ApplicationStatus
from tsunagu.talent.normalize import split_tags

SOURCE = "csv"

# field -> (label shown to the user, header names recognised after `header_key` folding).
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": (gettext_lazy("氏名"), ("氏名", "名前", "name", "fullname", "応募者名", "候補者名")),
    "kana": (gettext_lazy("フリガナ"), ("フリガナ", "ふりがな", "kana", "カナ", "氏名(フリガナ)", "氏名カナ")),
    "email": (gettext_lazy("メールアドレス"), ("メールアドレス", "メール", "email", "e-mail", "mail", "emailaddress")),
    "phone": (gettext_lazy("電話番号"), ("電話番号", "電話", "phone", "tel", "携帯電話番号", "phonenumber")),
    "job": (gettext_lazy("応募職種"), ("応募職種", "職種", "job", "jobtitle", "求人", "求人名", "position")),
    "category": (gettext_lazy("職種カテゴリ"), ("職種カテゴリ", "職種カテゴリー", "category", "jobcategory")),
    "stage": (gettext_lazy("選考ステップ"), ("選考ステップ", "選考段階", "選考フェーズ", "stage")),
    "status": (gettext_lazy("選考結果"), ("選考結果", "ステータス", "status", "選考ステータス")),
    "reason": (gettext_lazy("不採用理由"), ("不採用理由", "見送り理由", "reason", "rejectionreason")),
    "rejected_at": (gettext_lazy("不採用日"), ("不採用日", "見送り日", "rejected_at", "rejectedat")),
    "applied_at": (gettext_lazy("応募日"), ("応募日", "applied_at", "appliedat")),
    "source": (gettext_lazy("応募経路"), ("応募経路", "source")),
    "evaluation": (gettext_lazy("評価"), ("評価", "evaluation")),
    "tags": (gettext_lazy("タグ"), ("タグ", "tags", "tag")),
    "external_id": (gettext_lazy("応募ID"), ("応募id", "external_id", "externalid", "id", "applicationid")),
}
REQUIRED = ("name", "email", "job", "status")
# In a user-supplied mapping, this field name means "ignore the column".
IGNORE = "-"

STATUS_VALUES = {
    ApplicationStatus.REJECTED: ("不採用", "rejected", "見送り", "お見送り", "不合格", "reject", "選考終了"),
    ApplicationStatus.ACTIVE: ("選考中", "active", "応募", "応募済み", "面接中"),
    ApplicationStatus.HIRED: ("内定", "採用", "hired", "内定承諾", "入社", "offer"),
    ApplicationStatus.WITHDRAWN: ("辞退", "withdrawn", "内定辞退", "選考辞退"),
}
_STATUS_BY_KEY = {value: status for status, values in STATUS_VALUES.items() for value in values}

MAX_LENGTHS = {"name": 200, "kana": 200, "email": 254, "phone": 50, "job": 300, "category": 200, "stage": 200,
               "reason": 300, "external_id": 200, "source": 200, "evaluation": 100, "tags": 1000}

_SPACES = re.compile(r"[\s\u3000]+")
_HEADER_NOISE = re.compile(r"[\s*※]|[(\[]?必須[)\]]?")
# After NFKC: 2026/11/21, 2026-11-21, 2026.11.21, 2026年11月21日, each with an optional time.
_DATE = re.compile(
    r"^(\d{4})\s*[/\-.年]\s*(\d{1,2})\s*[/\-.月]\s*(\d{1,2})\s*日?"
    r"(?:\s*(?:[T ]|\(.\))?\s*(\d{1,2})\s*[:時]\s*(\d{1,2})\s*(?:分)?(?:\s*[:]?\s*(\d{1,2})\s*秒?)?)?$"
)


class CsvFileError(Exception):
    """The file as a whole cannot be imported (unreadable, no header, a required column missing)."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.message = message
        self.line = line


def nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value or "")


def header_key(header: str) -> str:
    """A header as matched: NFKC, lower case, without spaces, asterisks and a (必須) marker."""
    return _HEADER_NOISE.sub("", nfkc(header).strip().lower().replace("\ufeff", ""))


_FIELD_BY_HEADER = {header_key(alias): name for name, (_label, aliases) in FIELDS.items() for alias in aliases}


def field_label(name: str) -> str:
    return str(FIELDS[name][0])


# --- decoding --------------------------------------------------------------------------------------

def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding name of a CSV file's bytes.

    A strict try-decode order, not a statistical guess: UTF-8 (with or without BOM) first, then CP932
    (what Excel writes as "CSV" on Japanese Windows; a superset of Shift_JIS with 髙, 﨑, ①). Japanese
    text in CP932 is practically never valid UTF-8, so the order is unambiguous, and unlike a detector it
    is right even for a two-line file. charset-normalizer is asked only when both fail (EUC-JP, UTF-16).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise CsvFileError(_("UTF-8 のファイルとして読めません(%(position)s バイト目)。")
                               % {"position": exc.start + 3}) from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise CsvFileError(_("UTF-16 のファイルとして読めません。")) from exc
    for encoding in ("utf-8", "cp932"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise CsvFileError(_("文字コードを判別できません。CSV(UTF-8 または Shift_JIS)で保存し直してください。"))
    return str(best), best.encoding


# --- the file --------------------------------------------------------------------------------------

@dataclass
class RowResult:
    line: int
    event: IncomingApplicationEvent | None = None
    error: str = ""
    extra_fields: dict | None = None


class CsvFile:
    """A decoded CSV file with its columns identified; iterate `rows()` for events and row errors."""

    def __init__(self, text: str, encoding: str, *, time_zone: str = "Asia/Tokyo", mapping: dict | None = None,
                 notify: bool = False):
        self.text = text
        self.encoding = encoding
        self.zone = ZoneInfo(time_zone)
        self.notify = notify
        self.header_line, headers = self._header()
        self.columns = self._columns(headers, mapping or {})
        self._limits = [(name, limit) for name, limit in MAX_LENGTHS.items() if name in self.columns]
        self._date_fields = [name for name in ("rejected_at", "applied_at") if name in self.columns]

    # The csv module over the whole text: quoted newlines stay inside their field, and newline="" keeps
    # \r\n, \n and \r as Excel and others write them. reader.line_num counts physical lines read so far.
    def _reader(self):
        return csv.reader(io.StringIO(self.text, newline=""))

    def _header(self) -> tuple[int, list[str]]:
        reader = self._reader()
        try:
            for record in reader:
                if any(cell.strip() for cell in record):
                    return reader.line_num, record
        except csv.Error as exc:
            raise CsvFileError(_("CSV として読めません: %(error)s") % {"error": exc}, reader.line_num) from exc
        raise CsvFileError(_("ファイルが空です(見出し行がありません)。"))

    def _columns(self, headers: list[str], mapping: dict) -> dict[str, int]:
        overrides = {}
        for header, field in mapping.items():
            field = (field or "").strip()
            if field != IGNORE and field not in FIELDS:
                raise CsvFileError(_("列の対応付けの項目「%(field)s」は不明です(使える項目: %(fields)s)。")
                                   % {"field": field, "fields": ", ".join(FIELDS)})
            overrides[header_key(header)] = field
        unknown = set(overrides) - {header_key(h) for h in headers}
        if unknown:
            names = [h for h in mapping if header_key(h) in unknown]
            raise CsvFileError(_("対応付けた列「%(headers)s」がファイルの見出しにありません。")
                               % {"headers": "」「".join(names)}, self.header_line)
        columns: dict[str, int] = {}
        for index, header in enumerate(headers):
            key = header_key(header)
            field = overrides.get(key, _FIELD_BY_HEADER.get(key))
            if field and field != IGNORE and field not in columns:
                columns[field] = index
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            raise CsvFileError(
                _("必須の列がありません: %(columns)s。見出し行(%(line)s 行目)を確認するか、列の対応付けを指定してください。")
                % {"columns": "、".join(f"{field_label(name)}({name})" for name in missing), "line": self.header_line},
                self.header_line,
            )
        return columns

    def count_rows(self) -> int:
        """Data records after the header, blank ones not counted (a fast pass, for progress displays)."""
        count = 0
        reader = self._reader()
        try:
            for record in reader:
                if reader.line_num > self.header_line and any(cell.strip() for cell in record):
                    count += 1
        except csv.Error:
            pass  # rows() reports it with its line number
        return count

    def rows(self) -> Iterator[RowResult]:
        reader = self._reader()
        previous_end = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RowResult(previous_end + 1, error=_("CSV として読めません: %(error)s") % {"error": exc})
                return
            line = previous_end + 1  # where this record starts; a quoted newline makes it span more lines
            previous_end = reader.line_num
            if line <= self.header_line or not any(cell.strip() for cell in record):
                continue
            yield self.parse(line, record)

    # --- one row -----------------------------------------------------------------------------------

    def parse(self, line: int, record: list[str]) -> RowResult:
        size = len(record)
        values = {field: (record[index].strip() if index < size else "") for field, index in self.columns.items()}
        errors: list[str] = []
        for field in REQUIRED:
            if not values[field]:
                errors.append(_("%(column)sが空です") % {"column": field_label(field)})
        for field, limit in self._limits:
            if len(values[field]) > limit:
                errors.append(_("%(column)sが長すぎます(%(limit)s 文字まで)") % {"column": field_label(field), "limit": limit})

        email = values["email"]
        if email:
            email = normalized_email(nfkc(email).strip())
            if not email:
                errors.append(_("メールアドレス「%(value)s」の形式が正しくありません") % {"value": values["email"]})

        status = ""
        if values["status"]:
            status = status_of(values["status"])
            if not status:
                errors.append(_("選考結果「%(value)s」を解釈できません(不採用・選考中・内定・辞退 のいずれか)")
                              % {"value": values["status"]})

        # (datetime, ISO text) of the dates given.
        dates: dict[str, tuple[datetime, str]] = {}
        for field in self._date_fields:
            raw = values[field]
            if raw:
                parsed = _parse_date(raw, self.zone)
                if parsed is None:
                    errors.append(_("%(column)s「%(value)s」は日付として読めません(例: 2026/11/21、2026年11月21日)")
                                  % {"column": field_label(field), "value": raw})
                else:
                    dates[field] = parsed

        if errors:
            return RowResult(line, error="、".join(errors))

        get = values.get
        job_title = values["job"]
        external_id = nfkc(get("external_id", "")).strip() or derived_external_id(email, job_title)
        phone = nfkc(get("phone", "")).strip()
        kana, category, stage, reason = get("kana", ""), get("category", ""), get("stage", ""), get("reason", "")
        rejected_at, rejected_iso = dates.get("rejected_at", (None, ""))
        applied_at, applied_iso = dates.get("applied_at", (None, ""))
        # The decision time: the rejection date for a rejection, else the application date. Without a date the
        # event happens now (which is not part of the event id, so the same file is still the same events).
        occurred = (rejected_at if status == ApplicationStatus.REJECTED else None) or applied_at or rejected_at
        content = [external_id, values["name"], kana, email, phone, job_title, category, stage, status, reason,
                   rejected_iso, applied_iso]
        channel, evaluation, tags = get("source", ""), get("evaluation", ""), get("tags", "")
        if channel or evaluation or tags:
            # Only files with these columns filled have them in the id: the ids of other files stay as they were.
            content += [channel, evaluation, tags]
        event = IncomingApplicationEvent(
            external_id=external_id,
            candidate=CandidateData(name=values["name"], email=email, name_kana=kana, phone=phone),
            job=JobData(title=job_title, category=category),
            status=status,
            occurred_at=occurred or _now(),
            stage=stage,
            rejection_reason=reason,
            source=SOURCE,
            event_id=content_event_id(content),
            notify=self.notify,
            applied_at=applied_at,
            channel=channel,
            evaluation=evaluation,
            tags=tuple(split_tags(tags)) if tags else None,
        )
        return RowResult(line, event=event)

    def parse_date(self, raw: str) -> datetime | None:
        parsed = _parse_date(raw, self.zone)
        return parsed[0] if parsed else None


@lru_cache(maxsize=256)
def status_of(raw: str) -> str:
    """The ApplicationStatus a 選考結果 cell means, or ""."""
    return _STATUS_BY_KEY.get(_SPACES.sub("", nfkc(raw)).lower(), "")


# An export has a few hundred distinct dates at most, each on many rows.
@lru_cache(maxsize=8192)
def _parse_date(raw: str, zone: ZoneInfo) -> tuple[datetime, str] | None:
    """A date cell as an aware datetime in `zone` and its ISO text, or None when it is not a date."""
    match = _DATE.match(nfkc(raw).strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        value = datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None
    return value, value.isoformat()


# A plain ASCII dot-atom local part: email-validator would accept it unchanged, so only its domain needs the
# (slow, per-call) full check, once per domain. Anything else goes through validate_email as a whole.
_PLAIN_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


@lru_cache(maxsize=4096)
def _normalized_domain(domain: str) -> str:
    try:
        return validate_email("x@" + domain, check_deliverability=False).domain
    except EmailNotValidError:
        return ""


def normalized_email(address: str) -> str:
    """The address as email-validator normalises it (check_deliverability=False), or "" when invalid."""
    local, at, domain = address.rpartition("@")
    if at and len(local) <= 64 and len(address) <= 254 and _PLAIN_LOCAL.match(local):
        domain = _normalized_domain(domain)
        return f"{local}@{domain}" if domain else ""
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        return ""


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def derived_external_id(email: str, job_title: str) -> str:
    """A stable application id for files without 応募ID: one application per person (e-mail) and job title."""
    key = f"{email.strip().lower()}\n{_SPACES.sub('', nfkc(job_title)).casefold()}"
    return "csv:" + hashlib.sha256(key.encode()).hexdigest()[:20]


def content_event_id(content: list[str]) -> str:
    """The event id of a row: a hash of what it says, so the same row imported again is a duplicate.

    The hashed text is json.dumps(content, ensure_ascii=False), built here from the encoder's own string
    function (a third of the time of json.dumps on a short list).
    """
    text = "[" + ", ".join(map(_json_string, content)) + "]"
    return "row:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def open_csv(path: str | Path, *, time_zone: str = "Asia/Tokyo", mapping: dict | None = None,
             notify: bool = False) -> CsvFile:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CsvFileError(_("ファイルを読めません: %(error)s") % {"error": exc.strerror or exc}) from exc
    text, encoding = decode(data)
    return CsvFile(text, encoding, time_zone=time_zone, mapping=mapping, notify=notify)


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`HEADER=field` pairs (the command line's --map) as a mapping; ValueError names a malformed pair."""
    mapping = {}
    for pair in pairs:
        header, sep, field = pair.rpartition("=")
        if not sep or not header.strip():
            raise ValueError(pair)
        mapping[header.strip()] = field.strip()
    return mapping
