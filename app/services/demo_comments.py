"""The demo's comments: what people write about each service area, so the demo's stories show up as aspects.

- Network & Connectivity: from the incident wave on, the unhappy write about outages and VPN drops
  (availability) and about hearing nothing while it lasted (communication); "vpn keeps dropping" is new.
- Service Desk: early waves complain about waiting, later ones praise the speed (responsiveness).
- Every other area: a steady mix over its aspects.
- The provider as a whole (the deep dive's "What one thing should the provider change?"): suggestions, warmer
  from those who rate the partnership well.
"""
from __future__ import annotations

import random

GENERAL = {
    "positive": ("Great service this quarter, no complaints at all.", "All good, thank you.",
                 "Really happy with the support this time."),
    "neutral": ("Nothing special to report.", "No contact with this team this quarter.",
                "Only used it once, for a small request."),
    "negative": ("Not great this quarter.", "Could be better, to be honest.", "Disappointing overall."),
}

BY_AREA: dict[str, dict[str, tuple[str, ...]]] = {
    "service-desk": {
        "positive": ("Very knowledgeable team, explained everything clearly.",
                     "Friendly and patient on the phone, sorted it first time.",
                     "The engineer went above and beyond to get me working again.",
                     "Fixed on first contact, brilliant."),
        "neutral": ("Used the portal twice this quarter for password resets.",
                    "Had one ticket about a printer, it was handled.",
                    "Logged a request through the portal, it was done."),
        "negative": ("Ticket was closed without a fix and I had to reopen it twice.",
                     "Bounced between teams for a week and nobody owned the problem.",
                     "Not helpful at all, they just told me to restart.",
                     "They read from a script and did not understand the problem."),
    },
    "network": {
        "positive": ("The network has been rock solid all quarter.", "Wi-Fi in the office is fast and stable.",
                     "VPN connects first time, every time, no complaints.",
                     "Video calls are smooth now, great work."),
        "neutral": ("I use the VPN about twice a week from home.", "Our site moved to the new internet line.",
                    "Planned maintenance was on a Sunday, did not affect me."),
        "negative": ("Wi-Fi in meeting rooms keeps dropping.", "VPN is slow in the afternoons.",
                     "The guest network is unreliable."),
    },
    "hosting": {
        "positive": ("Shared drives have been reliable all quarter.", "Restore from backup was quick and complete.",
                     "No outages on the finance system this quarter, excellent."),
        "neutral": ("We use the file server mainly for archives.", "Our application moved to the new cluster.",
                    "Backups run every night."),
        "negative": ("The file server was down twice during month end.",
                     "Restores take days, far too long.", "Storage quota warnings come far too late."),
    },
    "app-support": {
        "positive": ("App support fixed the invoice bug really fast, thanks!",
                     "The new analyst is great and really understands our finance workflows.",
                     "Release notes are much clearer than last quarter."),
        "neutral": ("We use the HR system mainly for leave requests.",
                    "Raised two change requests; one is done and one is planned.",
                    "The timesheet change went live on Monday."),
        "negative": ("New ERP screens went live with no warning and no training.",
                     "When I report a bug they close it as cannot reproduce.",
                     "Change requests take months, far too long."),
    },
    "end-user-computing": {
        "positive": ("New laptop arrived two days after I asked, already set up. Great.",
                     "Printer fixed the same morning, thank you.", "The replacement monitor was delivered quickly."),
        "neutral": ("Got a new docking station this quarter.", "My laptop was swapped in the refresh programme.",
                    "Requested a headset through the portal."),
        "negative": ("My laptop is slow and freezes every afternoon.", "The printer on the second floor is always jammed.",
                     "Waited three weeks for a replacement charger."),
    },
    "security": {
        "positive": ("The phishing training was short and useful.", "MFA setup was painless, clear instructions.",
                     "Security team answered my firewall request within a day, great."),
        "neutral": ("Completed the annual security training.", "Set up MFA on my new phone this quarter.",
                    "Asked security about an encryption tool, it is under review."),
        "negative": ("MFA prompts every single time I open Outlook.",
                     "The firewall blocks sites I need for my job and the exception takes weeks.",
                     "Security rules are over the top for internal tools."),
    },
}

# Network & Connectivity from the incident wave on: what the unhappy write.
INCIDENT = (
    "VPN keeps dropping since the network change, terrible.",
    "The VPN keeps dropping every afternoon and nobody told us why.",
    "Outage on Tuesday lasted four hours with no status updates.",
    "Wi-Fi in the office has been unusable for weeks.",
    "Great, another outage during month-end close.",
    "No updates during the outage, we were completely in the dark.",
    "vpn keeps dropping when I join calls, really annoying.",
)
# Service Desk: how the speed of response reads as it improves over the waves.
DESK_SLOW = (
    "Waited three days for a response to a priority ticket.",
    "Took ages to get anyone to answer the phone.",
    "Still waiting for a reply to a ticket from last week.",
    "On hold for forty minutes before anyone picked up.",
)
DESK_FAST = (
    "Tickets are answered within the hour now, much better than last year.",
    "Really impressed with how fast my request was handled.",
    "Picked up straight away and fixed in ten minutes.",
    "Quick response and they kept me updated the whole way.",
)

# The one thing to change about the provider, by how the writer rates the relationship.
PROVIDER = {
    "positive": ("Keep the monthly service reviews, they work well.",
                 "Nothing big, just keep sharing the roadmap with us early.",
                 "More of the same: the account team listens and follows up."),
    "neutral": ("Share the service reports with the business units, not only with IT.",
                "Hold a service review with each department once a year.",
                "Tell us earlier about planned changes."),
    "negative": ("Stop closing tickets before the problem is actually solved.",
                 "Give us one named contact instead of a different person every time.",
                 "Come to us with improvements instead of waiting for us to complain."),
}


def provider_comment(rng: random.Random, rating: int) -> str:
    """What one respondent who rates the relationship `rating` (1-5) would change about the provider."""
    return rng.choice(PROVIDER["positive" if rating >= 4 else "neutral" if rating == 3 else "negative"])


def demo_comment(rng: random.Random, area_code: str, wave_index: int, waves: int, satisfaction: int,
                 incident_area: str, incident_wave: int) -> str:
    """One comment for a respondent who rated the area `satisfaction` (1-5) in wave `wave_index` of `waves`."""
    mood = "positive" if satisfaction >= 4 else "neutral" if satisfaction == 3 else "negative"
    if area_code == incident_area and wave_index >= incident_wave and satisfaction <= 3:
        return rng.choice(INCIDENT)
    if area_code == "service-desk" and mood != "neutral" and rng.random() < 0.55:
        # The share of comments praising the speed grows as the desk improves.
        progress = wave_index / max(1, waves - 1)
        return rng.choice(DESK_FAST if rng.random() < 0.15 + 0.7 * progress else DESK_SLOW)
    pool = BY_AREA.get(area_code, {}).get(mood, ())
    if not pool or rng.random() < 0.2:
        pool = GENERAL[mood]
    return rng.choice(pool)
