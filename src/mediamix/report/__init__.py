"""The HTML report: :class:`ReportData` (plain values) -> charts -> one self-contained ``report.html``.

- :mod:`~mediamix.report.data`: :class:`ReportData` and the helpers that fill it;
- :mod:`~mediamix.report.figures`: one function per chart (matplotlib, PNG bytes);
- :mod:`~mediamix.report.charts`: the charts by name, as the template names them, drawn here or
  in part by a helper process (:mod:`~mediamix.report.chart_process`, :func:`charts_in_parallel`);
- :mod:`~mediamix.report.render`: the jinja2 template (autoescaped) -> HTML, written atomically;
- ``templates/``: ``report.html.j2`` and its inline stylesheet ``report.css``.

Layer rule: imports :mod:`mediamix.output`, :mod:`mediamix.inference` (thresholds),
:mod:`mediamix.priors` and below; never :mod:`mediamix.mmm`, PyMC or PyTensor.
:meth:`mediamix.MMM.report_data` assembles the inputs. matplotlib and jinja2 are
imported only when a report is rendered, so importing this package stays light.
"""

from mediamix.report.chart_process import charts_in_parallel
from mediamix.report.charts import CHARTS, PendingCharts, draw_charts, start_charts
from mediamix.report.data import ParameterDraws, ReportData, fit_metrics, fit_table, parameter_draws
from mediamix.report.render import REPORT_FILE, render_report, write_report

__all__ = [
    "CHARTS",
    "REPORT_FILE",
    "ParameterDraws",
    "PendingCharts",
    "ReportData",
    "charts_in_parallel",
    "draw_charts",
    "fit_metrics",
    "fit_table",
    "parameter_draws",
    "render_report",
    "start_charts",
    "write_report",
]
