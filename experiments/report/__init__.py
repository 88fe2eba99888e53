"""Static report of a batch experiment: a self-contained HTML file and its markdown twin.

The report is assembled once as a list of neutral blocks (headings, paragraphs, tables,
images, code) and rendered twice, so the HTML and the markdown always say the same thing.

Where to look:

- ``numbers``: how a number, a change in % and a p-value are written.
- ``model``: the summary table indexed by scenario, point, arm and KPI, in display order.
- ``cells``: the cell texts (mean ± CI, change [CI] *) every output shares.
- ``text``: the plain-text headline table for the terminal.
- ``blocks``, ``sections``: the report as blocks, section by section.
- ``render``: those blocks as HTML and as markdown.
- ``sensitivity``: the section of a sensitivity design (indices, their CIs, what they rest on).
- ``figures``: the matplotlib figures, one module per kind.
- ``write``: ``write_report``, which puts it all together on disk.

Only the names below are the package's interface; the modules are its internals.
"""

from experiments.report.numbers import format_change, format_number, format_p
from experiments.report.sensitivity import format_sensitivity
from experiments.report.text import format_headline
from experiments.report.write import ReportFiles, write_report

__all__ = [
    "ReportFiles",
    "format_change",
    "format_headline",
    "format_number",
    "format_p",
    "format_sensitivity",
    "write_report",
]
