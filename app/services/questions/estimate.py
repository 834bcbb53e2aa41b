"""How long one person's survey takes, from the inputs they will actually see.

The email, the first screen and the campaign page all quote this one rule (README, "The time estimate").
Seconds per kind of input, and where the figures come from:

- a single rating, 0-10 scale or choice: 10 s. Pew Research Center budgets "an ordinary stand-alone
  question" at about 10 seconds, from the response times of its online panel ("How we keep our online
  surveys from running too long", 2022: 85 points for 15 minutes, one point per stand-alone question).
- a number typed in (hours lost): 10 s, the same stand-alone question.
- a list of reasons to tick: 15 s, a stand-alone question and a half for reading up to eight short labels.
- a comment: 35 s, counted as written even though it is optional: about 20 words at 36 words per minute,
  the average typing speed on phones measured by Palin et al., "How do people type on mobile devices?"
  (MobileHCI 2019, 37,000 volunteers).
- the "I did not use this service" box: 2 s to read it.
- reading who asks and how answers are kept, on the first screen: 20 s; each step's heading and its
  Next button: 5 s; checking the answers on the review screen: 15 s.

The total is rounded to the nearest whole minute (at least one) and said as "about N minutes".
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SECONDS_PER_INPUT = {"rating": 10, "nps": 10, "choice": 10, "hours": 10, "reasons": 15, "comment": 35}
SECONDS_SKIP_BOX = 2
SECONDS_INTRO = 20
SECONDS_PER_STEP = 5
SECONDS_REVIEW = 15


@dataclass(frozen=True)
class TimeEstimate:
    """What one person's survey asks of them: inputs, steps (screens before the review) and seconds."""

    inputs: int
    steps: int
    seconds: int

    @property
    def minutes(self) -> int:
        return max(1, (self.seconds + 30) // 60)

    @property
    def wording(self) -> str:
        return "about 1 minute" if self.minutes == 1 else f"about {self.minutes} minutes"


def estimate(area_kinds: Iterable[str], relationship_kinds: Iterable[str], area_count: int) -> TimeEstimate:
    """The estimate for someone asked about `area_count` areas, with the kinds of the area questions (asked
    once per area, each area on its own step with its "did not use" box) and of the questions asked once
    (one more step)."""
    area_kinds, relationship_kinds = list(area_kinds), list(relationship_kinds)
    area_steps = area_count if area_kinds else 0
    steps = area_steps + (1 if relationship_kinds else 0)
    inputs = area_steps * (len(area_kinds) + 1) + len(relationship_kinds)
    seconds = (SECONDS_INTRO + SECONDS_REVIEW + steps * SECONDS_PER_STEP
               + area_steps * (SECONDS_SKIP_BOX + sum(SECONDS_PER_INPUT.get(kind, 10) for kind in area_kinds))
               + sum(SECONDS_PER_INPUT.get(kind, 10) for kind in relationship_kinds))
    return TimeEstimate(inputs, steps, seconds)


def estimate_for_questions(questions: Iterable, area_count: int) -> TimeEstimate:
    """The estimate for a definition's questions (models or specs with `kind` and `scope`)."""
    questions = list(questions)
    return estimate([q.kind for q in questions if q.scope == "area"],
                    [q.kind for q in questions if q.scope == "relationship"], area_count)


def estimate_for_layout(layout) -> TimeEstimate:
    """The estimate for the survey one person sees (a `SurveyLayout`)."""
    area_sections = [s for s in layout.sections if s.area is not None]
    relationship = [item.kind for s in layout.sections if s.area is None for item in s.items]
    area_kinds = [item.kind for item in area_sections[0].items] if area_sections else []
    return estimate(area_kinds, relationship, len(area_sections))
