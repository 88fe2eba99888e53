"""The pytest plugin: the checkers as fixtures, scaled by command-line options."""

from __future__ import annotations

TEST_FILE = """
def test_admit_all(check_policy):
    report = check_policy("admission/admit-all-v0", run=False)
    assert report.decision_times.calls <= {most_calls}

def test_not_worse(assert_not_worse):
    report = assert_not_worse("admission/admit-all-v0", "admission/admit-all-v0",
                              ["station/mmc-v0"], "wait_mean_s", better="lower")
    assert len(report.comparisons[0].baseline) == 2
"""


def test_the_fixtures_take_their_sizes_from_the_command_line(pytester):
    # 3 examples of at most 12 observations each, plus shrinking: well under 100 calls.
    pytester.makepyfile(TEST_FILE.format(most_calls=100))
    result = pytester.runpytest_inprocess("--twin-max-examples", "3", "--twin-replications", "2")
    result.assert_outcomes(passed=2)


def test_the_options_are_listed_in_pytest_help(pytester):
    result = pytester.runpytest_inprocess("--help")
    result.stdout.fnmatch_lines(["*twin policy and scenario checks*", "*--twin-max-examples*"])
