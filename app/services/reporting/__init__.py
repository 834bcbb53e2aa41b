"""Reporting: the figures of the dashboard, the scorecard, the PDF pack and the exports, per wave and service
area, with the minimum group size and the disclosure gate applied so a withheld figure never leaves here.

Scores come from `ScoreTally` (a few hundred rows whatever the number of responses); comments, sentiment,
reasons and time lost are grouped in SQL over `answer`. Nothing here knows about HTTP: callers pass plain
arguments and get frozen dataclasses back. One module per concern:

- `scope`: which campaign, waves, areas and department a report covers (`resolve_scope`, `Scope`);
- `scores`: satisfaction and happiness cells per area and wave, and per department;
- `breakdowns`: response rates, comment sentiment, time lost and reasons;
- `aspects`: what the comments talk about (service aspects, emerging terms);
- `departments`: the disclosure gate wired to a scope (the rule is `app.services.disclosure`'s);
- `answers`: which answers a report may read, shared with `app.services.comments`;
- `reports`: the overview, one area's report and the export's summary rows;
- `cache`: the process cache those results are kept in.
"""
from app.services.reporting.cache import clear_cache
from app.services.reporting.scope import resolve_scope

# Kept for callers that name them through the package: tests and benchmarks that clear the cache or
# resolve a scope. New code imports from the module that holds a name.
__all__ = ["clear_cache", "resolve_scope"]
