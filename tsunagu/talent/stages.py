"""Tsunagu's selection stages and the mapping from the free text ATSs use."""

from __future__ import annotations

from functools import lru_cache

from django.db import models
from django.utils.translation import gettext_lazy as _

from tsunagu.talent.normalize import nfkc


class Stage(models.IntegerChoices):
    # Ordered: a larger value is a later stage, so "stage reached" is a max().
    UNKNOWN = 0, _("不明")
    APPLIED = 5, _("応募")
    DOCUMENT_SCREENING = 10, _("書類選考")
    TEST = 15, _("適性検査")
    FIRST_INTERVIEW = 20, _("一次面接")
    SECOND_INTERVIEW = 30, _("二次面接")
    FINAL_INTERVIEW = 40, _("最終面接")
    OFFER = 50, _("内定")


# Checked in order; the first rule whose keyword occurs in the NFKC, lower-cased text wins.
_RULES: list[tuple[tuple[str, ...], Stage]] = [
    (("内定", "offer"), Stage.OFFER),
    (("最終", "final", "executive", "役員"), Stage.FINAL_INTERVIEW),
    (("二次", "2次", "second", "onsite", "on-site"), Stage.SECOND_INTERVIEW),
    (("一次", "1次", "first", "phone screen", "phone interview", "面接", "interview", "面談"), Stage.FIRST_INTERVIEW),
    (("適性", "spi", "assessment", "test", "課題", "take home", "take-home"), Stage.TEST),
    (("書類", "document", "resume", "cv", "application review", "screen"), Stage.DOCUMENT_SCREENING),
    (("応募", "applied", "new lead", "new applicant"), Stage.APPLIED),
]


@lru_cache(maxsize=1024)  # an import maps the same few stage names again and again
def map_stage(text: str | None) -> Stage:
    folded = nfkc(text or "").lower()
    if not folded.strip():
        return Stage.UNKNOWN
    for keywords, stage in _RULES:
        if any(keyword in folded for keyword in keywords):
            return stage
    return Stage.UNKNOWN
