"""Reports of a comparison: comparison.json/.md/.csv, a self-contained report.html with charts,
a chart PNG export and the terminal scoreboard. matplotlib is imported only to draw charts."""

from harness.report.terminal import scoreboard_table
from harness.report.writers import render_report, write_chart_png, write_reports

__all__ = ["render_report", "scoreboard_table", "write_chart_png", "write_reports"]
