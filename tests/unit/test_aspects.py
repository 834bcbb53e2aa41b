"""Service aspects of comments: the taxonomy file, the clause splitter, and each rule that decides an aspect
and its sentiment, with the examples the insight issue names."""
from __future__ import annotations

import pytest

from app.services import aspects
from app.services.aspects import analyze_comment, load_taxonomy, split_clauses
from app.services.sentiment import analyze


def said(text: str, area: str | None = None) -> dict[str, str]:
    return {m.aspect: m.label for m in analyze_comment(text, area).aspects}


@pytest.mark.parametrize("text, label", [
    ("Nothing special to report", "neutral"),
    ("Could be better", "negative"),
    ("Why does this take so long?", "negative"),
    ("No issues at all", "positive"),
    ("Better than last quarter", "positive"),
    ("Not great", "negative"),
    ("Is the survey anonymous?", "neutral"),
    ("Good at small fixes, slow on anything bigger. About what I'd expect.", "neutral"),
    ("Response times could be better, to be honest.", "negative"),
])
def test_overall_sentiment_of_plain_service_language(text, label):
    assert analyze(text).label == label


def test_one_comment_praises_one_aspect_and_blames_another():
    assert said("fast response but the fix did not last", "service-desk") == {
        "responsiveness": "positive", "resolution": "negative"}


def test_each_example_is_the_writers_own_clause():
    text = "Quick, friendly and they kept me updated the whole way."
    found = {m.aspect: text[m.start:m.end] for m in analyze_comment(text, "service-desk").aspects}
    assert found == {"responsiveness": "Quick", "attitude": "friendly and they kept me updated the whole way",
                     "communication": "friendly and they kept me updated the whole way"}


def test_a_clause_that_only_judges_speaks_of_the_aspect_named_before_it_in_the_sentence():
    text = "VPN keeps dropping since the network change, terrible."
    (mention,) = analyze_comment(text, "network").aspects
    assert (mention.aspect, mention.label) == ("availability", "negative")
    assert text[mention.start:mention.end] == "VPN keeps dropping since the network change, terrible"
    # ... but not across sentences: the second sentence has no aspect of its own to give.
    assert said("The portal is fine. Terrible.", "service-desk") == {"self_service": "positive"}


def test_a_plain_mention_is_neutral_about_its_aspects():
    assert said("Used the portal twice to reset my password.", "service-desk") == {
        "self_service": "neutral", "access": "neutral"}


def test_a_comment_about_nothing_in_particular_has_no_aspect():
    assert said("All good, thanks!") == {}
    assert analyze_comment("", "network").aspects == ()


def test_weak_cues_count_only_when_nothing_else_names_an_aspect():
    assert said("The VPN is terrible.", "network") == {"availability": "negative"}
    assert said("The VPN setup was explained clearly.", "network") == {"communication": "positive"}


def test_a_topic_word_in_a_plain_statement_names_no_aspect():
    assert said("I use the VPN about twice a week from home.", "network") == {}
    assert said("I use the VPN a lot and it drops all the time.", "network") == {"availability": "negative"}


def test_ignore_phrases_take_their_words_before_any_cue():
    assert "responsiveness" not in said("Oh good, a new release. Can't wait to find out what's broken.", "app-support")
    assert said("The cost centre codes are confusing.", "end-user-computing") == {}
    assert said("The costs are confusing.", "end-user-computing") == {"cost": "negative"}


def test_cues_restricted_to_some_areas_mean_different_aspects_elsewhere():
    assert said("It is so slow.", "network") == {"availability": "negative"}
    assert said("They were so slow to respond.", "service-desk") == {"responsiveness": "negative"}
    assert "devices" not in said("Restart your laptop, they said. Useless.", "network")


def test_longer_cues_take_their_words_first():
    assert said("The knowledge base article was useful.", "service-desk") == {"self_service": "positive"}


def test_escalation_in_any_form_is_a_hand_off():
    assert said("Escalated twice and still waiting.", "service-desk")["handoffs"] == "negative"
    assert "handoffs" in said("The escalation path is unclear.", "service-desk")


@pytest.mark.parametrize("text, clauses", [
    ("Fixed in 4.5 hours, great.", ["Fixed in 4.5 hours", "great"]),
    ("Friendly; helpful. But slow!", ["Friendly", "helpful", "But slow"]),
    ("quick although the fix (a restart) did not last", ["quick", "although the fix", "a restart", "did not last"]),
    ("line one\nline two", ["line one", "line two"]),
])
def test_clauses_split_at_punctuation_and_turning_words_but_not_inside_numbers(text, clauses):
    assert [text[s:e] for s, e, _ in split_clauses(text)] == clauses


def test_sentences_are_numbered_so_clauses_know_their_neighbours():
    assert [n for _, _, n in split_clauses("A, b. C, d")] == [0, 0, 1, 1]


VALID = """
aspects:
  speed:
    name: Speed
    description: How fast it goes.
    cues: ["quick|fast", "escalat*"]
"""


def test_a_valid_taxonomy_loads_with_a_version_that_follows_its_content():
    taxonomy = load_taxonomy(VALID)
    assert [c.text for c in taxonomy.cues] == ["quick", "fast", "escalat*"]
    assert load_taxonomy(VALID + "\n").version != taxonomy.version


@pytest.mark.parametrize("text, message", [
    ("aspects: {}", "should be non-empty"),
    ("aspects:\n  Speed:\n    name: S\n    description: Fast.\n    cues: [quick]", "does not match"),
    ("aspects:\n  speed:\n    name: Speed\n    description: Fast.", "'cues' is a required property"),
    ("aspects:\n  speed:\n    name: Speed\n    description: Fast things.\n    cues: [Quick]", "not valid under any"),
    ("aspects:\n  a:\n    name: Aa\n    description: First one.\n    cues: [quick]\n"
     "  b:\n    name: Bb\n    description: Second one.\n    cues: [quick]", "listed twice"),
    ("aspects:\n  a:\n    name: Aa\n    description: First one.\n    areas: [network]\n"
     "    cues: [{cue: quick, areas: [hosting]}]", "names areas the aspect excludes"),
    ("aspects: [", "not valid YAML"),
])
def test_a_broken_taxonomy_is_refused_with_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        load_taxonomy(text)


def test_the_shipped_taxonomy_has_plain_names_for_every_aspect():
    assert set(aspects.TAXONOMY.aspects) >= {"responsiveness", "resolution", "communication", "knowledge",
                                             "availability", "access", "devices", "handoffs", "self_service",
                                             "security_friction", "cost"}
    assert all(a.name[0].isupper() and a.description.endswith(".") for a in aspects.TAXONOMY.aspects.values())


def test_nice_names_courtesy_only_when_it_is_about_manner():
    assert said("The engineer was really nice about it", "end-user-computing") == {"attitude": "positive"}
    assert "attitude" not in said("Nice clear updates during the outage", "network")
    assert "attitude" not in said("Would be nice to have a status page", "hosting")


def test_performance_words_name_availability():
    assert said("Network performance degrades every afternoon", "network") == {"availability": "negative"}
    assert said("The HR portal times out on long claims", "application-support").get("availability") == "negative"


def test_not_understanding_is_about_knowledge():
    assert said("They don't understand our payroll rules", "application-support") == {"knowledge": "negative"}


def test_a_ticket_passed_back_or_transferred_is_a_hand_off():
    assert "handoffs" in said("They just pass it back to the onsite team", "application-support")


def test_session_controls_are_security_friction():
    assert said("Constant re-logins because of the session timeout, annoying", "security") == {"security_friction": "negative"}


def test_a_wait_stated_as_a_duration_is_about_speed_of_response_beside_what_was_waited_for():
    assert said("It took 11 days to give a new joiner access to the shared drive.", "security") == {
        "access": "negative", "responsiveness": "negative"}
    assert said("Four days for a password reset.", "service-desk")["responsiveness"] == "negative"
    assert said("Asked for a test server two months ago, still nothing.", "hosting") == {"responsiveness": "negative"}
    assert said("Monitor swapped within 20 minutes, brilliant", "end-user-computing") == {
        "devices": "positive", "responsiveness": "positive"}
    assert said("Rang at 9, fixed by 9:15.", "service-desk") == {"resolution": "positive", "responsiveness": "positive"}


def test_a_machine_that_takes_minutes_to_start_is_not_a_slow_response():
    assert "responsiveness" not in said("My laptop takes 10 minutes to boot", "end-user-computing")
    assert "responsiveness" not in said("£400 a month for a VM nobody uses", "hosting")
    assert "responsiveness" not in said("Three outages in two weeks on the VPN", "network")


def test_a_pattern_that_is_not_a_regex_is_refused():
    with pytest.raises(ValueError, match="not a valid regex"):
        load_taxonomy("aspects:\n  speed:\n    name: Speed\n    description: How fast.\n    cues: [quick]\n"
                      "    patterns: ['took (']\n")


def test_being_told_and_newsletters_are_communication():
    assert said("We were told the file server moves to the new data centre in May.", "hosting") == {
        "communication": "neutral"}
    assert said("The monthly newsletter is short and useful", "security") == {"communication": "positive"}


def test_security_as_a_topic_is_not_security_friction():
    assert "security_friction" not in said("The phishing simulations this quarter were well made", "security")
    assert said("Security awareness course was short and to the point", "security") == {}
    assert said("The new MFA prompts interrupt every meeting", "security").keys() == {"security_friction"}


def test_nice_alone_is_not_courtesy():
    assert "attitude" not in said("Nice to see the new dashboards live", "application-support")


def test_the_writer_knowing_what_goes_on_is_communication_not_staff_knowledge():
    assert said("We knew well ahead what would change on cutover weekend", "hosting").keys() == {"communication"}
    found = said("I didn't know my request had been closed", "service-desk")
    assert found["communication"] == "negative" and "knowledge" not in found
    assert said("We have no idea when the scanner will be back", "end-user-computing").get("communication")


def test_staff_who_know_or_work_out_the_problem_is_knowledge():
    assert said("The new analyst really knows the payroll module", "application-support").keys() == {"knowledge"}
    assert said("Their engineer worked out why the sync kept failing", "hosting")["knowledge"]
    assert said("Nobody knows where my old laptop went", "end-user-computing").get("knowledge") is None
    assert "knowledge" not in said("We know rural sites are hard to reach", "network")


def test_being_told_to_restart_is_the_scripted_answer_not_a_fix():
    found = said("They asked me to restart before even listening", "service-desk")
    assert "knowledge" in found and "resolution" not in found
    assert "resolution" in said("They restart the service every night and call it fixed", "hosting")


def test_a_first_time_that_is_a_milestone_is_not_a_fix_first_time():
    assert "resolution" not in said("Payroll ran cleanly for the first time in months", "hosting")
    assert said("Sorted first time, thanks", "service-desk") == {"resolution": "positive"}


def test_days_as_frequency_and_ages_as_a_span_are_not_waits():
    assert "responsiveness" not in said("The VPN is fine most days", "network")
    assert "responsiveness" not in said("No dropouts for ages now", "network")
    assert "responsiveness" not in said("Patients were left waiting while the system was down", "hosting")


def test_a_new_starter_named_with_kit_is_about_the_kit():
    assert said("New starter's laptop was ready on her first day", "end-user-computing").keys() == {"devices"}
    assert said("New starters still get no login on day one", "service-desk").get("access")


def test_what_i_was_told_is_the_answer_not_an_update():
    assert said("I was told to raise another ticket", "service-desk") == {}


def test_a_thing_that_is_fast_is_performing_people_quick_to_act_are_responsive():
    assert said("The new tablet is much faster than the old one", "end-user-computing").keys() == {"devices"}
    assert said("The HR system is really quick since the upgrade", "application-support").keys() == {"availability"}
    assert said("The app team are quick to reply", "application-support").keys() == {"responsiveness"}
    assert "responsiveness" not in said("The new sign-in is quicker than the old codes", "security")


def test_how_long_a_problem_has_lasted_is_not_a_wait():
    assert "responsiveness" not in said("Teams calls have been choppy for weeks", "network")
    assert "responsiveness" in said("My software request has sat for weeks", "end-user-computing")


def test_plain_statements_about_maintenance_and_notices_are_communication():
    assert said("Server patching maintenance is booked for the first Saturday of the month", "hosting") == {
        "communication": "neutral"}
    assert said("We got an email saying the payroll release moves to Friday", "application-support") == {
        "communication": "neutral"}
    assert said("Nobody said the printers would be swapped", "end-user-computing").get("communication") == "negative"
    assert "communication" not in said("Outlook email keeps crashing on my phone", "end-user-computing")


@pytest.mark.parametrize("text, area", [
    ("Ten days for a keyboard, really?", "end-user-computing"),
    ("The docking station came three days after I asked", "end-user-computing"),
    ("Locked out at 7, back in by 7:20, superb", "service-desk"),
    ("Requested a test database in March and still nothing", "hosting"),
    ("Ordered a headset Tuesday, arrived Wednesday", "end-user-computing"),
    ("The disk alert was cleared before we even noticed", "hosting"),
    ("My change request has been 'in progress' for five weeks", "application-support"),
    ("Adding a user to a group takes weeks", "security"),
    ("The engineer booked for my desk never turned up", "end-user-computing"),
    ("Prompt as usual", "service-desk"),
])
def test_a_wait_told_by_its_dates_or_its_length_is_about_speed_of_response(text, area):
    assert "responsiveness" in said(text, area)


def test_a_prompt_is_a_security_control_in_security_and_a_length_of_time_is_not_a_wait():
    assert "responsiveness" not in said("The MFA prompt comes up twice a day", "security")
    assert "responsiveness" not in said("The VPN was down for the whole of Monday", "network")


@pytest.mark.parametrize("text, area, aspect", [
    ("The contractor didn't seem to know the warehouse scanners at all", "end-user-computing", "knowledge"),
    ("She did not really understand what the month-end journal was for", "application-support", "knowledge"),
    ("The payroll screen is honestly so quick since the upgrade", "application-support", "availability"),
])
def test_hedges_and_intensifiers_between_a_cues_words_do_not_hide_it(text, area, aspect):
    assert aspect in said(text, area)


def test_fillers_are_skipped_only_between_a_cues_words():
    cue = aspects.Cue(("didn't", "know"), "knowledge", None, False)
    assert cue.matches_at(["he", "didn't", "seem", "to", "know"], 1) == 4
    assert cue.matches_at(["he", "didn't", "really", "know"], 1) == 3
    assert cue.matches_at(["really", "didn't", "know"], 0) == 0
    assert cue.matches_at(["didn't", "really", "really", "really", "know"], 0) == 0  # at most two


@pytest.mark.parametrize("text, area", [
    ("Felt completely brushed off when I rang about the scanner", "service-desk"),
    ("I was told 'that's a you problem' and the chat closed", "service-desk"),
    ("The engineer sighed at every question I asked", "end-user-computing"),
    ("The infosec team were so understanding when I admitted clicking the link", "security"),
    ("Two hours late and no apology", "end-user-computing"),
])
def test_manner_in_the_writers_own_words_is_courtesy_and_attitude(text, area):
    assert "attitude" in said(text, area)


def test_a_lecture_theatre_or_a_sarcastic_welcome_is_not_manner():
    assert "attitude" not in said("The projector in lecture theatre 3 is fine now", "end-user-computing")


@pytest.mark.parametrize("text, area", [
    ("The shared drive keeps falling over at month end", "hosting"),
    ("There is a dead spot right by the loading bay", "network"),
    ("Sales calls keep cutting out in the afternoon", "network"),
    ("The order system held up fine through Black Friday", "hosting"),
    ("Calls from the Madrid office are much clearer now", "network"),
    ("We had two blips on the booking site but nothing serious", "hosting"),
    ("The reporting server was unreachable from Lisbon all morning", "hosting"),
])
def test_down_and_up_in_other_words_are_availability(text, area):
    assert "availability" in said(text, area)


def test_failing_names_availability_only_where_systems_run():
    assert "availability" in said("The overnight export failed again", "hosting")
    assert "availability" not in said("Three failed attempts at setting up my phone", "end-user-computing")


@pytest.mark.parametrize("text, area", [
    ("The label printer fault is still there after the visit", "end-user-computing"),
    ("The duplicate invoice bug is gone since the hotfix", "application-support"),
    ("The crashes seem to have stopped since Tuesday", "application-support"),
])
def test_a_problem_still_there_or_gone_is_about_fixing_it(text, area):
    assert "resolution" in said(text, area)


@pytest.mark.parametrize("text, area", [
    ("We only find out about changes when the screens look different", "application-support"),
    ("They told me when the engineer would arrive, which helped", "network"),
    ("Ticket closed without anyone contacting me first", "service-desk"),
    ("Could we get release dates a few weeks ahead?", "application-support"),
])
def test_finding_out_and_being_told_when_are_communication(text, area):
    assert "communication" in said(text, area)


@pytest.mark.parametrize("text, area", [
    ("They tried to fix the sync problem by resetting my whole profile", "end-user-computing"),
    ("The new analyst had never seen the rostering module before", "application-support"),
    ("I had to spell out what a VLAN is to the engineer", "network"),
])
def test_wrong_fixes_and_teaching_the_staff_are_knowledge(text, area):
    assert "knowledge" in said(text, area)


def test_the_writer_not_knowing_is_not_staff_knowledge():
    assert "knowledge" not in said("I don't know if this is the right place to ask", "service-desk")


@pytest.mark.parametrize("text", [
    "Can't attach spreadsheets to external emails any more",
    "Since SSO came in I log in once a day",
    "The password expiry rule is every 45 days",
    "The browser proxy stops our developers pulling packages",
    "Honestly I hardly notice the security controls",
])
def test_what_security_controls_stop_or_spare_is_friction(text):
    assert "security_friction" in said(text, "security")


def test_an_access_request_approval_is_not_security_friction():
    assert "security_friction" not in said("The manager's approval is needed before HR access is given", "security")


def test_a_cue_that_starts_with_a_filler_word_is_still_found_whole():
    # "is so much faster" is listed whole; "so" is also a filler, and skipping it must not lose the cue.
    assert "availability" in said("The expenses app is so much faster this month", "application-support")
