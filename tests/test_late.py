"""Late policy: parsing with clear errors, and the arithmetic of days late and penalties."""

import os
from datetime import datetime, timedelta, timezone

import pytest

from course_utils.instructor import late

POLICY = """
deadline = 2025-03-14T23:59:00+01:00
grace_minutes = 15
penalty_per_day = 10
max_days = 3
[extensions]
s2 = 2
s3 = "2025-03-20T12:00:00+01:00"
"""
CET = timezone(timedelta(hours=1))
DEADLINE = datetime(2025, 3, 14, 23, 59, tzinfo=CET)


@pytest.fixture
def policy(tmp_path):
    path = tmp_path / "late.toml"
    path.write_text(POLICY)
    return late.load_policy(path)


def test_no_policy_means_nothing_is_late():
    assert late.load_policy(None) is None


@pytest.mark.parametrize(
    "delay, days, fraction",
    [
        (timedelta(minutes=-5), 0, 0.0),  # early
        (timedelta(minutes=15), 0, 0.0),  # the last minute of the grace period
        (timedelta(minutes=16), 1, 0.1),  # one started day
        (timedelta(days=1, minutes=15), 1, 0.1),  # exactly one day after deadline + grace
        (timedelta(days=1, minutes=16), 2, 0.2),
        (timedelta(days=3, minutes=15), 3, 0.3),  # max_days: still accepted
        (timedelta(days=3, minutes=16), 4, 1.0),  # more than max_days: no credit
    ],
)
def test_days_and_fraction(policy, delay, days, fraction):
    got = policy.assess(DEADLINE + delay, "s1")
    assert got["days_late"] == days
    assert got["fraction"] == pytest.approx(fraction, abs=1e-12)
    assert got["extension"] is False


def test_the_instant_counts_not_the_time_zone(policy):
    # 23:00 UTC on the 14th is 00:00 CET on the 15th: 1 minute after the deadline, inside the grace period
    assert policy.assess(datetime(2025, 3, 14, 23, 0, tzinfo=timezone.utc))["days_late"] == 0
    assert policy.assess(datetime(2025, 3, 14, 23, 15, tzinfo=timezone.utc))["days_late"] == 1
    # a time without an offset (from an LMS file name) is read in the deadline's zone
    assert policy.assess(datetime(2025, 3, 15, 0, 10))["days_late"] == 0


def test_extensions(policy):
    two_days = policy.assess(DEADLINE + timedelta(days=2), "s2")
    assert two_days["days_late"] == 0 and two_days["extension"] is True
    assert policy.assess(DEADLINE + timedelta(days=2, hours=1), "s2")["days_late"] == 1
    assert policy.assess(datetime(2025, 3, 20, 12, 0, tzinfo=CET), "s3")["days_late"] == 0
    assert policy.assess(DEADLINE + timedelta(days=2), "someone else")["days_late"] == 2


def test_penalty_is_capped_at_everything():
    steep = late.parse_policy({"deadline": DEADLINE, "penalty_per_day": 60})
    assert steep.assess(DEADLINE + timedelta(days=1, seconds=1))["fraction"] == 1.0


@pytest.mark.parametrize(
    "text, message",
    [
        ("grace_minutes = 5", "`deadline` is required"),
        ('deadline = "next friday"', "date-time like"),
        ("deadline = 2025-03-14T23:59:00", "needs a UTC offset"),
        ("deadline = 2025-03-14", "needs a time of day"),
        ("deadline = 2025-03-14T23:59:00Z\npenalty_per_day = -1", "penalty_per_day must be a number >= 0"),
        ("deadline = 2025-03-14T23:59:00Z\npenalty_per_day = 150", "percentage"),
        ("deadline = 2025-03-14T23:59:00Z\nmax_days = 1.5", "max_days must be a whole number"),
        ("deadline = 2025-03-14T23:59:00Z\npenalty = 10", "unknown setting"),
        ("deadline = 2025-03-14T23:59:00Z\n[extensions]\ns1 = -2", "must be >= 0 days"),
        ("deadline = 2025-03-14T23:59:00Z\n[extensions]\ns1 = 2025-03-14T23:59:00", "extension for 's1'"),
        ("deadline = [", "not valid TOML"),
    ],
)
def test_bad_policies_name_the_problem(tmp_path, text, message):
    path = tmp_path / "late.toml"
    path.write_text(text)
    with pytest.raises(late.PolicyError, match=message):
        late.load_policy(path)


def test_submission_time_sources(tmp_path):
    nb = tmp_path / "a.ipynb"
    nb.write_text("{}")
    os.utime(nb, (1_700_000_000, 1_700_000_000))
    times_csv = tmp_path / "times.csv"
    times_csv.write_text("student_id,submitted_at\ns1,2025-03-15T10:00:00+01:00\n")
    times = late.load_times(times_csv)
    assert late.submission_time(nb, ["s1"], times) == (datetime(2025, 3, 15, 10, tzinfo=CET), "the submissions CSV")
    when, source = late.submission_time(nb, ["s2"], times, "2025-03-14-23-59-01")
    assert (when, source) == (datetime(2025, 3, 14, 23, 59, 1), "the LMS file name")
    when, source = late.submission_time(nb, ["s2"], times)
    assert when == datetime.fromtimestamp(1_700_000_000, tz=timezone.utc)
    assert source == "the file's modification time"


def test_bad_times_file(tmp_path):
    path = tmp_path / "times.csv"
    path.write_text("student_id,submitted_at\ns1,yesterday\ns2,2025-03-15T10:00:00Z\ns2,2025-03-15T11:00:00Z\n")
    with pytest.raises(
        late.PolicyError, match=r"line 2: 'yesterday' is not an ISO 8601 time; line 4: 's2' appears twice"
    ):
        late.load_times(path)
