"""The blocks rendered twice: a self-contained HTML page and its GitHub-markdown twin."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Sequence

from experiments.report.blocks import Block, Cell, Code, Heading, Image, Paragraph, Table

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1250px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .2em; }
h2 { border-bottom: 1px solid #eee; margin-top: 2em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .5em 0 1.5em; font-size: .88em; max-width: 100%; }
th, td { border: 1px solid #d0d0d0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
tbody tr:nth-child(even) td { background: #fafafa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr td.sig { font-weight: 600; }
tbody tr td.better { color: #0072B2; background: #e3f0f8; }
tbody tr td.worse { color: #D55E00; background: #fbe9dd; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #555; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: .85em; }
"""


# --- HTML ------------------------------------------------------------------------------------


def render_html(blocks: Sequence[Block], title: str) -> str:
    """One self-contained page: inline CSS, figures as data URIs, every text escaped."""
    body = "\n".join(_html_block(block) for block in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def _html_block(block: Block) -> str:
    escape = html.escape
    match block:
        case Heading(level, text):
            return f"<h{level}>{escape(text)}</h{level}>"
        case Paragraph(text):
            return f"<p>{escape(text)}</p>"
        case Table(columns, rows):
            head = "".join(f"<th>{escape(c)}</th>" for c in columns)
            body = "\n".join("<tr>" + "".join(map(_html_cell, row)) + "</tr>" for row in rows)
            return (
                f'<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n'
                f"<tbody>\n{body}\n</tbody>\n</table></div>"
            )
        case Image(_, caption, png):
            data = base64.b64encode(png).decode("ascii")
            return (
                f'<figure><img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
                f"<figcaption>{escape(caption)}</figcaption></figure>"
            )
        case Code(text, language):
            return f'<pre><code class="language-{escape(language)}">{escape(text)}</code></pre>'
    raise TypeError(f"not a report block: {block!r}")


def _html_cell(cell: Cell) -> str:
    # Okabe-Ito blue and vermilion (as in viz) tell better from worse to every eye, and
    # the cell's own word says it again for a printout in grey.
    flags = (
        ("num", cell.numeric),
        ("sig", cell.significant),
        ("better", cell.verdict == "better"),
        ("worse", cell.verdict == "worse"),
    )
    classes = " ".join(name for name, on in flags if on)
    attribute = f' class="{classes}"' if classes else ""
    return f"<td{attribute}>{html.escape(cell.text)}</td>"


# --- markdown --------------------------------------------------------------------------------


def render_markdown(blocks: Sequence[Block], title: str) -> str:
    """GitHub-flavoured markdown; figures are links to ``figures/<name>.png``."""
    parts = [f"# {_md(title)}"] + [_markdown_block(block) for block in blocks]
    return "\n\n".join(parts) + "\n"


def _markdown_block(block: Block) -> str:
    match block:
        case Heading(level, text):
            return f"{'#' * level} {_md(text)}"
        case Paragraph(text):
            return _md(text)
        case Table(columns, rows):
            # A column is right-aligned when all its cells are numbers.
            align = [
                "---:" if rows and all(row[i].numeric for row in rows) else "---"
                for i in range(len(columns))
            ]
            lines = [_md_row(columns), _md_row(align, escape=False)]
            lines += [_md_row([cell.text for cell in row]) for row in rows]
            return "\n".join(lines)
        case Image(name, caption, _):
            return f"![{_md(caption)}](figures/{name})\n\n*{_md(caption)}*"
        case Code(text, language):
            # The fence must be longer than any run of backticks inside the text.
            longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
            fence = "`" * max(3, longest + 1)
            return f"{fence}{language}\n{text}\n{fence}"
    raise TypeError(f"not a report block: {block!r}")


def _md_row(cells: Iterable[str], *, escape: bool = True) -> str:
    texts = [_md(cell) if escape else cell for cell in cells]
    return "| " + " | ".join(texts) + " |"


def _md(text: str) -> str:
    """``text`` shown literally in markdown: no raw HTML, emphasis or table breaks."""
    return re.sub(r"([\\`*|<>])", r"\\\1", text.replace("\n", " "))
