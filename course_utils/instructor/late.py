"""Late work: a deadline and a penalty policy from a small TOML file, and when each submission came in.

A policy file (``--late-policy late.toml``)::

    deadline = 2025-03-14T23:59:00+01:00   # a TOML date-time with its UTC offset
    grace_minutes = 15                      # submissions this late count as on time
    penalty_per_day = 10                    # percent of the score, per started day late
    max_days = 5                            # later than this: no credit
    [extensions]                            # per student id: a new deadline, or extra days
    s1234 = 2025-03-16T23:59:00+01:00
    s5678 = 2

Without a policy file nothing is late. The submission time comes, in this order, from a
submissions CSV (``--submission-times``: a ``student_id`` or ``file`` column and a
``submitted_at`` column in ISO 8601), from the LMS file name (Blackboard's ``_attempt_`` time
stamp), and last from the file's modification time; feedback says which was used, because an
unzipped download may have reset modification times.
"""

from __future__ import annotations

import csv
import math
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DAY = timedelta(days=1)
KEYS = {"deadline", "grace_minutes", "penalty_per_day", "max_days", "extensions"}


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class LatePolicy:
    deadline: datetime
    grace: timedelta = timedelta(0)
    penalty_per_day: float = 0.0  # percent
    max_days: int | None = None
    extensions: dict = field(default_factory=dict)  # student id -> datetime (a new deadline)

    def deadline_for(self, student_id: str | None) -> datetime:
        return self.extensions.get(student_id, self.deadline) if student_id else self.deadline

    def assess(self, submitted: datetime, student_id: str | None = None) -> dict:
        """Days late (started days after deadline + grace) and the fraction of the score taken away."""
        deadline = self.deadline_for(student_id)
        if submitted.tzinfo is None:  # a time without an offset is read in the deadline's zone
            submitted = submitted.replace(tzinfo=deadline.tzinfo)
        late_by = submitted - (deadline + self.grace)
        days = 0 if late_by <= timedelta(0) else math.ceil(late_by / DAY)
        if days == 0:
            fraction, why = 0.0, "on time"
        elif self.max_days is not None and days > self.max_days:
            fraction, why = 1.0, f"{days} days late, more than the {self.max_days} accepted: no credit"
        else:
            fraction = min(1.0, days * self.penalty_per_day / 100.0)
            why = f"{days} day{'s' if days > 1 else ''} late: -{fraction * 100:g}%"
        return {
            "deadline": deadline.isoformat(),
            "extension": student_id in self.extensions,
            "days_late": days,
            "fraction": fraction,
            "reason": why,
        }

    def as_dict(self) -> dict:
        return {
            "deadline": self.deadline.isoformat(),
            "grace_minutes": self.grace / timedelta(minutes=1),
            "penalty_per_day": self.penalty_per_day,
            "max_days": self.max_days,
            "extensions": {k: v.isoformat() for k, v in sorted(self.extensions.items())},
        }


def _datetime(value, what: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise PolicyError(f"{what} must be a date-time like 2025-03-14T23:59:00+01:00, got {value!r}") from exc
    elif isinstance(value, date) and not isinstance(value, datetime):
        raise PolicyError(f"{what} needs a time of day and UTC offset, e.g. {value}T23:59:00+01:00, got {value}")
    if not isinstance(value, datetime):
        raise PolicyError(f"{what} must be a date-time, got {value!r}")
    if value.tzinfo is None:
        raise PolicyError(f"{what} needs a UTC offset (e.g. +01:00 or Z) so that it means one instant, got {value}")
    return value


def _number(data, key, default, minimum=0.0):
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < minimum:
        raise PolicyError(f"{key} must be a number >= {minimum:g}, got {value!r}")
    return value


def parse_policy(data: dict, where: str = "late policy") -> LatePolicy:
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise PolicyError(f"{where}: unknown setting(s) {unknown}; known: {sorted(KEYS)}")
    if "deadline" not in data:
        raise PolicyError(f"{where}: `deadline` is required")
    try:
        deadline = _datetime(data["deadline"], "deadline")
        grace = timedelta(minutes=_number(data, "grace_minutes", 0))
        per_day = _number(data, "penalty_per_day", 0)
        if per_day > 100:
            raise PolicyError(f"penalty_per_day is a percentage (0 to 100), got {per_day}")
        max_days = data.get("max_days")
        if max_days is not None and (isinstance(max_days, bool) or not isinstance(max_days, int) or max_days < 0):
            raise PolicyError(f"max_days must be a whole number of days >= 0, got {max_days!r}")
        extensions = {}
        raw = data.get("extensions", {})
        if not isinstance(raw, dict):
            raise PolicyError("[extensions] must be a table: student id = new deadline, or = extra days")
        for sid, value in raw.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if not math.isfinite(value) or value < 0:
                    raise PolicyError(f"extension for {sid!r} must be >= 0 days, got {value!r}")
                extensions[str(sid)] = deadline + value * DAY
            else:
                extensions[str(sid)] = _datetime(value, f"the extension for {sid!r}")
    except PolicyError as exc:
        raise PolicyError(f"{where}: {exc}") from None
    return LatePolicy(deadline, grace, float(per_day), max_days, extensions)


def load_policy(path: Path | None) -> LatePolicy | None:
    if path is None:
        return None
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the late policy {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path} is not valid TOML: {exc}") from exc
    return parse_policy(data, str(path))


# --- when was it submitted? ----------------------------------------------------------------------


def load_times(path: Path | None) -> dict[str, datetime]:
    """``student_id``/``submission``/``file`` -> time, from a submissions CSV (an LMS export)."""
    if path is None:
        return {}
    rows = list(csv.DictReader(Path(path).read_text(encoding="utf-8-sig").splitlines()))
    times, problems = {}, []
    for line, row in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        key = row.get("student_id") or row.get("submission") or row.get("file")
        value = row.get("submitted_at") or row.get("submitted") or row.get("timestamp")
        if not key or not value:
            problems.append(f"line {line}: needs student_id (or file) and submitted_at")
            continue
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"line {line}: {value!r} is not an ISO 8601 time")
            continue
        if key in times:
            problems.append(f"line {line}: {key!r} appears twice")
        times[key] = when
    if problems:
        raise PolicyError(f"{path}: " + "; ".join(problems))
    return times


def submission_time(path: Path, keys, times: dict, lms_time: str | None = None) -> tuple[datetime, str]:
    """(time, source) for one submission; ``keys`` are the names it may have in the times CSV."""
    for key in keys:
        if key and key in times:
            return times[key], "the submissions CSV"
    if lms_time:
        return datetime.strptime(lms_time, "%Y-%m-%d-%H-%M-%S"), "the LMS file name"
    mtime = Path(path).stat().st_mtime
    return datetime.fromtimestamp(mtime, tz=timezone.utc), "the file's modification time"
