"""Who handed in what: a class roster, stable ids, and matching LMS downloads to students.

A roster is a CSV file with one row per student: an id, a name and (optionally) an email.
Column names are recognised loosely (``student_id``/``id``/``SIS User ID``, ``name``/``Student``
or ``first_name`` + ``last_name``, ``email``), and a Canvas gradebook export works as a roster
as it is (``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``).

Submissions are matched in the layouts learning-management systems download:

* one folder per student, named by id, email, login or name (``submissions/s1234/ex08.ipynb``);
* Canvas file names, ``lastfirst[_LATE]_<canvas user id>_<attachment id>_<original name>``;
* Moodle folders, ``Full Name_<id>_assignsubmission_file_``;
* Blackboard file names, ``<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<name>``;
* plain files named by id, email, login or name (``s1234.ipynb``, ``Zoë Ångström.ipynb``).

Nothing is renamed silently: a submission that matches no student, or several, is reported as
unmatched; two submissions for one student are reported as duplicates.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from anyascii import anyascii

# --- stable, readable ids ------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def slug(text: str) -> str:
    """A file-name-safe id that a person can read, the same on every run and machine.

    ASCII text keeps its letters (unsafe characters become ``_``). Other scripts are
    transliterated with ``anyascii`` and get a short hash of the original (NFC) text, so that
    "Zoë" and "Zoe" stay different: ``slug("Zoë Ångström") == "Zoe_Angstrom-<6 hex>"``.
    """
    text = unicodedata.normalize("NFC", str(text)).strip()
    ascii_text = anyascii(text)
    base = _UNSAFE.sub("_", ascii_text).strip("_.-") or "submission"  # no leading "-": not an option, not a formula
    if text.isascii():
        return base
    return f"{base}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:6]}"


def name_key(text: str) -> str:
    """Lower-case ASCII letters and digits only: how LMSs squeeze names into file names."""
    return re.sub(r"[^a-z0-9]", "", anyascii(unicodedata.normalize("NFC", str(text))).lower())


# --- the roster ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Student:
    student_id: str
    name: str = ""
    email: str = ""
    canvas_id: str = ""  # Canvas's numeric user id (the "ID" column of a gradebook export)
    login: str = ""  # SIS login id / username
    section: str = ""

    @property
    def slug(self) -> str:
        return slug(self.student_id)

    def name_keys(self) -> set[str]:
        """The ways an LMS writes this name into a file name: "firstlast", "lastfirst"."""
        keys = {name_key(self.name)}
        if "," in self.name:  # "Last, First" (Canvas's sortable name)
            last, first = (s.strip() for s in self.name.split(",", 1))
        else:
            parts = self.name.split()
            first, last = " ".join(parts[:-1]), (parts[-1] if parts else "")
        keys |= {name_key(first + last), name_key(last + first)}
        return {k for k in keys if len(k) >= 2}

    def exact_keys(self) -> set[str]:
        """Strings that name this student exactly: id, email, its local part, login, Canvas id."""
        keys = {self.student_id, self.email, self.email.split("@")[0] if self.email else "", self.login}
        keys.add(self.canvas_id)
        return {k.strip().lower() for k in keys if k and k.strip()}


class RosterError(ValueError):
    pass


_ALIASES = {
    "student_id": ("student_id", "student id", "sis user id", "sis_user_id", "studentid", "student number", "id"),
    "name": ("name", "student", "full name", "full_name", "student name"),
    "first": ("first_name", "first name", "given name", "firstname"),
    "last": ("last_name", "last name", "family name", "surname", "lastname"),
    "email": ("email", "e-mail", "email address", "mail"),
    "canvas_id": ("canvas_id", "canvas user id"),
    "login": ("login", "sis login id", "sis_login_id", "username", "user"),
    "section": ("section",),
}


def _columns(header: list[str]) -> dict[str, str]:
    lower = {h.strip().lower(): h for h in header if h}
    found = {}
    canvas_export = {"student", "id", "sis user id"} <= set(lower)
    for key, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in lower:
                found[key] = lower[alias]
                break
    if canvas_export:  # in a Canvas export, "ID" is Canvas's own user id; the student id is the SIS id
        found["student_id"], found["canvas_id"] = lower["sis user id"], lower["id"]
    return found


def load_roster(path: Path) -> list[Student]:
    """Read a roster CSV; raise :class:`RosterError` naming the line of any bad row."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"cannot read the roster {path}: {exc}") from exc
    reader = csv.DictReader(text.splitlines())
    cols = _columns(reader.fieldnames or [])
    if "student_id" not in cols:
        raise RosterError(
            f"{path}: no student id column; the header must have one of "
            f"{', '.join(_ALIASES['student_id'])} (found {reader.fieldnames})"
        )
    if "name" not in cols and not ("first" in cols and "last" in cols):
        raise RosterError(f"{path}: no name column (name, or first_name and last_name)")
    students, seen, problems = [], {}, []
    for line, row in enumerate(reader, start=2):

        def get(key, row=row):
            return (row.get(cols[key]) or "").strip() if key in cols else ""

        sid = get("student_id")
        name = get("name") or " ".join(x for x in (get("first"), get("last")) if x)
        if name_key(name) in ("pointspossible", "teststudent", "studenttest") or (not sid and not name):
            continue  # Canvas's extra rows, blank lines
        if not sid:
            problems.append(f"line {line}: {name!r} has no student id")
            continue
        if sid in seen:
            problems.append(f"line {line}: student id {sid!r} already used on line {seen[sid]}")
            continue
        seen[sid] = line
        students.append(Student(sid, name, get("email"), get("canvas_id"), get("login"), get("section")))
    slugs = {}
    for s in students:
        if s.slug in slugs:
            problems.append(f"student ids {slugs[s.slug]!r} and {s.student_id!r} give the same file name {s.slug!r}")
        slugs[s.slug] = s.student_id
    if problems:
        raise RosterError(f"{path}: " + "; ".join(problems))
    if not students:
        raise RosterError(f"{path}: the roster lists no students")
    return students


# --- matching submissions ------------------------------------------------------------------------

_CANVAS = re.compile(r"^(?P<name>[a-z0-9]+?)(?P<late>_late)?_(?P<uid>\d+)_(?P<att>\d+)_(?P<orig>.+)$", re.I)
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<uid>\d+)_assignsubmission_\w+?_?$", re.I)
_BLACKBOARD = re.compile(
    r"^(?P<assign>.+?)_(?P<user>[^_]+)_attempt_(?P<ts>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?:_(?P<orig>.*))?$", re.I
)


@dataclass
class Match:
    path: Path
    student: Student | None = None
    how: str = ""  # what matched: "folder name = student id", "Canvas file name (user id)", ...
    candidates: list = field(default_factory=list)  # several students: ambiguous
    lms_time: str | None = None  # a submission time found in the name (Blackboard)
    lms_late: bool = False  # Canvas marks late files "_LATE_"

    @property
    def status(self) -> str:
        if self.student is not None:
            return "matched"
        return "ambiguous" if self.candidates else "unmatched"


def _parts(path: Path, root: Path | None) -> list[tuple[str, str]]:
    """(where, text) pairs to match: the student's folder (if any) and the file name."""
    out = []
    if root is not None:
        try:
            rel = path.relative_to(root)
        except ValueError:
            rel = Path(path.name)
        if len(rel.parts) > 1:
            out.append(("folder name", rel.parts[0]))
    out.append(("file name", path.stem))
    return out


def _lookup(text: str, students: list[Student]) -> tuple[list[Student], str]:
    low = text.strip().lower()
    exact = [s for s in students if low in s.exact_keys()]
    if exact:
        return exact, "student id, email or login"
    key = name_key(text)
    named = [s for s in students if key and key in s.name_keys()]
    if named:
        return named, "name"
    tokens = [t for t in re.split(r"[_\-\s.]+", low) if t]
    by_token = {id(s): s for t in tokens for s in students if t in s.exact_keys() and len(t) >= 3}
    return list(by_token.values()), "student id inside the name"


def _match_text(m: Match, where: str, text: str, students: list[Student]) -> tuple[list[Student], str]:
    """Students named by one folder or file name. In an LMS name only the parts the LMS wrote count:
    the original file name inside it was chosen by the student (a file called ``s002.ipynb`` must not
    make it someone else's)."""
    canvas, moodle, bb = _CANVAS.match(text), _MOODLE.match(text), _BLACKBOARD.match(text)
    if canvas:
        m.lms_late = m.lms_late or bool(canvas["late"])
        hits = [s for s in students if s.canvas_id and s.canvas_id == canvas["uid"]]
        if hits:
            return hits, "Canvas file name (user id)"
        return [s for s in students if canvas["name"].lower() in s.name_keys()], "Canvas file name (name)"
    if moodle:
        hits, how = _lookup(moodle["name"], students)
        return hits, f"Moodle folder ({how})"
    if bb:
        m.lms_time = bb["ts"]
        hits, how = _lookup(bb["user"], students)
        return hits, f"Blackboard file name ({how})"
    hits, how = _lookup(text, students)
    return hits, f"{where} = {how}"


def match_one(path: Path, students: list[Student], root: Path | None = None) -> Match:
    """The student a submission belongs to. A student's folder, when it names someone, decides; the
    file name inside it is looked at only when it does not."""
    m = Match(Path(path))
    for where, text in _parts(m.path, root):
        hits, how = _match_text(m, where, text, students)
        found = {s.student_id: s for s in hits}
        if len(found) == 1:
            m.student, m.how = next(iter(found.values())), how
            return m
        if found:
            m.candidates = sorted(found)
            return m
    return m


@dataclass
class MatchReport:
    matches: list[Match]
    students: list[Student]

    def by_student(self) -> dict[str, list[Match]]:
        out: dict[str, list[Match]] = {}
        for m in self.matches:
            if m.student is not None:
                out.setdefault(m.student.student_id, []).append(m)
        return out

    @property
    def duplicates(self) -> dict[str, list[Match]]:
        return {sid: ms for sid, ms in self.by_student().items() if len(ms) > 1}

    @property
    def unmatched(self) -> list[Match]:
        return [m for m in self.matches if m.student is None]

    @property
    def missing(self) -> list[Student]:
        have = self.by_student()
        return [s for s in self.students if s.student_id not in have]

    def rows(self) -> list[dict]:
        """One row per submission and per student without one, for ``roster_report.csv``."""
        rows = []
        dups = self.duplicates
        for m in sorted(self.matches, key=lambda m: str(m.path)):
            status = m.status
            if m.student is not None and m.student.student_id in dups:
                status = "duplicate"
            rows.append(
                {
                    "status": status,
                    "file": str(m.path),
                    "student_id": m.student.student_id if m.student else "",
                    "name": m.student.name if m.student else "",
                    "how": m.how if m.student else ("could be: " + ", ".join(m.candidates) if m.candidates else ""),
                }
            )
        for s in self.missing:
            rows.append({"status": "no-submission", "file": "", "student_id": s.student_id, "name": s.name, "how": ""})
        return rows

    def summary(self) -> str:
        return (
            f"{sum(m.student is not None for m in self.matches)} submissions matched to "
            f"{len(self.by_student())} of {len(self.students)} students; {len(self.unmatched)} unmatched; "
            f"{len(self.duplicates)} students with more than one submission; {len(self.missing)} without one"
        )


def match_submissions(paths_with_roots, students: list[Student]) -> MatchReport:
    """``paths_with_roots``: (notebook path, the folder it was found under, or None)."""
    return MatchReport([match_one(p, students, root) for p, root in paths_with_roots], students)


def write_report(path: Path, report: MatchReport) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["status", "file", "student_id", "name", "how"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(report.rows())
