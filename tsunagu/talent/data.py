"""What a source says about a candidate and a job: the plain data every intake path hands to talent."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CandidateData:
    name: str
    email: str
    name_kana: str = ""
    phone: str = ""


@dataclass(frozen=True)
class JobData:
    title: str
    external_id: str = ""
    category: str = ""
