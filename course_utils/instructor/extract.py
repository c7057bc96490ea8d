"""The grader reads submissions with the student-facing :mod:`course_utils.grading.extract`.

One implementation, so that ``validate()`` in a student's notebook shows exactly what the grader
will extract. This module only keeps the old import path for the instructor's tools.
"""

from course_utils.grading.extract import (  # noqa: F401
    ANSWER_MARK,
    ANSWER_PROMPT,
    BLANK_ANSWERS,
    Answer,
    Definition,
    Submission,
    assemble,
    defined_functions,
    extract_answer,
    missing_reason,
    read_submission,
)
