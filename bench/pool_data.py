"""A generated talent pool for the pool benchmark (bench.pool_search), loaded in bulk.

`python -m bench.pool_data load --company SLUG --candidates N [--second-company SLUG --second-candidates M]`
runs inside the benchmark's environment (Django, same data dir or database) and prints one JSON line.

The people (generate_people) are made from bench.pool_vocabulary with a seeded random generator, so a run is
repeatable: common surnames weighted as in Japan with their 異体字 (髙橋, 山﨑, 𠮷田, 齋藤, 渡邊 …), given names,
readings in katakana and some in hiragana (a few long vowels written ー), e-mail addresses and mobile numbers,
2–8 skills mostly of the category they apply to, a prefecture (JIS code) or a free-text region, a desired job,
a note in half of the records (one of some 300 sentences), and 2 or 3 applications over the last three years
to ~190 jobs of 16 categories: stage reached, evaluation, rejection reason, channel and dates.

Every stored field is computed as the application computes it (the normalize functions, the pool's derived
fields and automatic tags, talent.search_index.candidate_document), then written with executemany on SQLite
(the full-text triggers keep the FTS5 index) and COPY on PostgreSQL, a chunk at a time, so memory stays
bounded. Column lists come from the models' _meta, so a new column with a default needs no change here;
tsunagu/talent/tests/test_pool_bench_data.py checks that what this writes is what the application's own
refresh would write, and that it is found by talent.search.search_pool.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bench import pool_vocabulary as words

CHUNK = 5_000  # people per generated and written chunk
YEARS = 3
OPEN_JOBS = 12  # of the ~190 generated jobs, these are open (with a description and requirements)


# --- the people (pure Python, no Django) -------------------------------------------------------------

@dataclass
class GeneratedApplication:
    job: int  # index into jobs()
    status: str  # ApplicationStatus value
    stage_raw: str
    stage: int
    rejection_reason: str
    channel: str
    evaluation: str
    source: str
    applied_at: datetime  # aware, UTC
    changed_at: datetime  # aware, UTC: status_changed_at, and rejected_at when rejected


@dataclass
class GeneratedPerson:
    number: int
    name: str
    name_kana: str
    email: str
    phone: str
    region_code: str
    region_text: str
    desired_job: str
    note: str
    contact_allowed: bool
    skills: list[str]
    applications: list[GeneratedApplication] = field(default_factory=list)


@dataclass(frozen=True)
class GeneratedJob:
    external_id: str
    title: str
    category: str
    status: str
    location: str
    description: str
    requirements: str


def jobs() -> list[GeneratedJob]:
    """The company's ~190 jobs: every title of every family; a dozen open with a description to match against."""
    rng = random.Random(7)
    made = []
    for category, titles in words.JOB_FAMILIES:
        for title in titles:
            skills = rng.sample(words.CATEGORY_SKILLS[category], 3)
            made.append(GeneratedJob(
                external_id=f"JOB-{len(made) + 1:04d}", title=title, category=category, status="closed",
                location=rng.choice(words.LOCATIONS),
                description=words.JOB_DESCRIPTION.format(title=title, skills="・".join(skills[:2])),
                requirements=words.JOB_REQUIREMENTS.format(skills="、".join(skills[:2]), extra=skills[2]),
            ))
    for index in range(0, len(made), len(made) // OPEN_JOBS)[:OPEN_JOBS]:
        made[index] = GeneratedJob(**{**made[index].__dict__, "status": "open"})
    return made


def _to_hiragana(katakana: str) -> str:
    return "".join(chr(ord(char) - 0x60) if "ァ" <= char <= "ヶ" else char for char in katakana)


class PersonGenerator:
    """People numbered from 0, drawn in order from one random generator seeded with `seed`."""

    def __init__(self, *, seed: int, now: datetime, email_tag: str):
        self.rng = random.Random(seed)  # one stream: the same seed and count give the same people
        self.now = now.astimezone(UTC)
        self.email_tag = email_tag
        self.jobs = jobs()
        self.jobs_by_category: dict[str, list[int]] = {}
        for index, job in enumerate(self.jobs):
            self.jobs_by_category.setdefault(job.category, []).append(index)
        self.categories = list(self.jobs_by_category)
        self.surname_weights = _cumulative(weight for *_rest, weight in words.SURNAMES)
        self.region_codes = [code for code, _weight in words.REGION_WEIGHTS]
        self.region_weights = _cumulative(weight for _code, weight in words.REGION_WEIGHTS)
        self.notes = words.note_sentences()
        self.span_days = YEARS * 365

    def person(self, number: int) -> GeneratedPerson:
        rng = self.rng
        surname, surname_kana, romaji, _weight = rng.choices(words.SURNAMES, cum_weights=self.surname_weights)[0]
        for variant, share in words.SURNAME_VARIANTS.get(surname, ()):
            if rng.random() < share:
                surname = variant
                break
        given, given_kana = rng.choice(words.GIVEN_NAMES)
        separator = rng.choices((" ", "\u3000", ""), weights=(50, 40, 10))[0]
        if surname_kana.endswith("ウ") and rng.random() < 0.05:
            surname_kana = surname_kana[:-1] + "ー"  # サトー for サトウ, as some forms are filled in
        kana = f"{surname_kana}{separator or ' '}{given_kana}"
        script = rng.random()
        if script < 0.15:
            kana = _to_hiragana(kana)
        elif script < 0.20:
            kana = ""  # no reading given
        category = rng.choice(self.categories)
        skill_count = rng.randint(2, 8)
        own = words.CATEGORY_SKILLS[category]
        skills = list(dict.fromkeys(
            rng.choice(own) if rng.random() < 0.65 else rng.choice(words.SKILLS) for _ in range(skill_count)
        ))
        has_region = rng.random()
        region_code = rng.choices(self.region_codes, cum_weights=self.region_weights)[0] if has_region < 0.88 else ""
        region_text = rng.choice(words.REGION_TEXTS) if has_region > 0.8 else ""
        person = GeneratedPerson(
            number=number,
            name=f"{surname}{separator}{given}",
            name_kana=kana,
            email=f"{romaji}.{number}.{self.email_tag}@{rng.choice(EMAIL_DOMAINS)}",
            phone=f"0{rng.choice((90, 80, 70))}-{number // 10000 % 10000:04d}-{number % 10000:04d}"
            if rng.random() < 0.7 else "",
            region_code=region_code,
            region_text=region_text,
            desired_job=self.jobs[rng.choice(self.jobs_by_category[category])].title if rng.random() < 0.5 else "",
            note=rng.choice(self.notes) if rng.random() < 0.5 else "",
            contact_allowed=rng.random() >= 0.03,
            skills=skills,
        )
        self._applications(rng, person, category)
        return person

    def _applications(self, rng: random.Random, person: GeneratedPerson, category: str) -> None:
        count = rng.choice((2, 3))
        days = sorted(rng.randrange(self.span_days) for _ in range(count))
        for position, days_ago in enumerate(reversed(days)):  # oldest first
            latest = position == count - 1
            applied_at = self.now - timedelta(days=days_ago, seconds=rng.randrange(86_400))
            job_category = category if rng.random() < 0.6 else rng.choice(self.categories)
            stage_raw, stage = rng.choice(words.STAGE_LABELS)
            roll = rng.random()
            if latest and days_ago < 45 and roll < 0.5:
                status = "active"
            elif latest and stage == 50 and roll < 0.5:
                status = "hired"
            elif roll < 0.88:
                status = "rejected"
            else:
                status = "withdrawn"
            changed_at = min(applied_at + timedelta(days=rng.randint(3, 60), seconds=rng.randrange(3600)), self.now)
            person.applications.append(GeneratedApplication(
                job=rng.choice(self.jobs_by_category[job_category]), status=status, stage_raw=stage_raw,
                stage=stage, rejection_reason=rng.choice(words.REJECTION_REASONS) if status == "rejected" else "",
                channel=rng.choice(words.CHANNELS), evaluation=rng.choice(words.EVALUATIONS),
                source=rng.choice(("api", "csv", "greenhouse", "herp")), applied_at=applied_at,
                changed_at=changed_at,
            ))


EMAIL_DOMAINS = ("example.jp", "example.com", "mail.example.jp", "example.ne.jp", "example.co.jp")


def _cumulative(weights) -> list[int]:
    total, out = 0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def generate_people(count: int, *, seed: int = 12, now: datetime | None = None,
                    email_tag: str = "a") -> Iterator[GeneratedPerson]:
    generator = PersonGenerator(seed=seed, now=now or datetime.now(UTC), email_tag=email_tag)
    for number in range(count):
        yield generator.person(number)


# --- loading (inside the benchmark's environment, with Django) ---------------------------------------------

def load(company_slug: str, count: int, *, seed: int = 12, email_tag: str = "a", chunk: int = CHUNK,
         quiet: bool = False) -> dict:
    """Create the company's jobs and `count` generated people with their applications and tags; ANALYZE."""
    from bench.pool_writer import PoolWriter  # Django models: imported once Django is set up

    # Dropping and rebuilding secondary indexes (PostgreSQL) pays off for a large load only.
    writer = PoolWriter(company_slug, email_tag=email_tag, drop_indexes=count >= 50_000)
    started = time.monotonic()
    writer.write_jobs(jobs())
    people = generate_people(count, seed=seed, now=writer.now, email_tag=email_tag)
    written = 0
    while written < count:
        batch = [next(people) for _ in range(min(chunk, count - written))]
        writer.write_people(batch)
        written += len(batch)
        if not quiet and (written % (chunk * 20) == 0 or written == count):
            elapsed = time.monotonic() - started
            print(f"  {written:,} people in {elapsed:.0f} s ({written / elapsed:,.0f}/s)", file=sys.stderr, flush=True)
    loaded = time.monotonic() - started
    writer.finish()
    return {**writer.summary(), "load_seconds": round(loaded, 1),
            "total_seconds": round(time.monotonic() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="load a generated talent pool (run inside the bench environment)")
    parser.add_argument("command", choices=["load"])
    parser.add_argument("--company", required=True)
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--second-company", default="")
    parser.add_argument("--second-candidates", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args(argv)
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tsunagu.settings")
    import django

    django.setup()
    result = {"company": load(args.company, args.candidates, seed=args.seed)}
    if args.second_company:
        result["second_company"] = load(args.second_company, args.second_candidates, seed=args.seed + 1,
                                        email_tag="b", quiet=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
