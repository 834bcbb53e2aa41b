"""The respondent's pages: the survey behind a personal link, thank-you, unsubscribe and opt back in.

The link's token is the only credential. Every response from this blueprint is kept out of caches
and referrers, because the URL itself is a secret.
"""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import validate_csrf
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import ValidationError

from app.caching import EMPTY_SURVEYS
from app.errors import InvalidInput
from app.extensions import csrf, limiter
from app.models.base import utcnow
from app.respond import bp
from app.respond.forms import ConfirmForm, survey_form
from app.respond.review import review_sections
from app.services import responses
from app.services.questions import SurveyLayout
from app.services.questions.estimate import estimate_for_layout
from app.services.comment_scores import Thresholds
from app.services.responses import AlreadyAnswered, OptedOut, WaveClosed, WaveNotOpen
from app.templating import format_date

# Counted only on 404 answers, per remote address: a respondent with a working link never gets close,
# someone trying tokens soon does. Shared by every route that takes a token.
DEFAULT_NOT_FOUND_LIMIT = "20 per 10 minutes; 60 per day"


def _not_found_limit() -> str:
    return current_app.config.get("SURVEY_NOT_FOUND_LIMIT") or DEFAULT_NOT_FOUND_LIMIT


token_guessing_limit = limiter.shared_limit(
    _not_found_limit, scope="survey-token-not-found", deduct_when=lambda response: response.status_code == 404,
)


@bp.after_request
def keep_link_private(response):
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _csrf_is_valid() -> bool:
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


def error_summary(layout: SurveyLayout, errors: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(link target, message) per problem, in page order, for the summary at the top of the form."""
    summary = [("#survey-form", message) for message in errors.get("_form", [])]
    for section in layout.sections:
        if section.skip_name in errors:
            summary += [(f"#{section.skip_name}", f"{section.heading}: {m}") for m in errors[section.skip_name]]
        for item in section.items:
            first_control = f"{item.name}-0" if item.kind in ("rating", "nps", "choice", "reasons") else item.name
            summary += [(f"#{first_control}", f"{section.heading}, “{item.text}”: {message}")
                        for message in errors.get(item.name, [])]
    return summary


def _sections_html(layout: SurveyLayout, formdata, errors: dict) -> Markup:
    """The questions, filled from `formdata` (a submission or a draft) when given, with any errors.

    The questions of an empty form are the same for everyone with the same layout: rendered once per
    process (`app.caching.EMPTY_SURVEYS`), they are most of a page's rendering time.
    """
    if formdata is not None or errors:
        form = survey_form(layout, formdata)
        return Markup(render_template("respond/_sections.html", layout=layout, form=form, errors=errors))
    return EMPTY_SURVEYS.get_or_compute(layout.cache_key, lambda: Markup(render_template(
        "respond/_sections.html", layout=layout, form=survey_form(layout, MultiDict()), errors={})))


REVIEW = "review"


def _step_arg(raw: str | None, steps: int) -> int | str:
    """The step a request is about: 1..steps, or "review". Anything else (typed into the address bar,
    say) is the first step, or the review when the survey has no questions for this person."""
    if raw == REVIEW or steps == 0:
        return REVIEW
    if raw and raw.isascii() and raw.isdigit() and 1 <= int(raw) <= steps:
        return int(raw)
    return 1


def _step_url(token: str, step: int | str):
    return url_for("respond.survey", token=token, step=step)


def _render_survey(context, formdata=None, *, status: int = 200, errors=None, notice: str | None = None,
                   draft=None, draft_elsewhere: bool = False, step: int | str | None = None, review=None):
    """One step of the survey (or the review, or every step at once when `step` is None: a whole-form
    submission from an older page or a client that posts everything)."""
    errors = errors or {}
    layout = context.layout if step in (None, REVIEW) else context.layout.step(step)
    sections_html = Markup("") if step == REVIEW else _sections_html(layout, formdata, errors)
    summary = error_summary(layout, errors)
    if step == REVIEW and errors:
        summary = [(f"{_step_url(request.view_args['token'], number)}#{href.lstrip('#')}", message)
                   for number in range(1, context.layout.step_count + 1)
                   for href, message in error_summary(context.layout.step(number), errors)]
        summary = [("#survey-form", m) for m in errors.get("_form", [])] + summary
    return render_template(
        "respond/survey.html", context=context, errors=errors, notice=notice, draft=draft,
        draft_elsewhere=draft_elsewhere, step=step, steps=context.layout.step_count, review=review,
        estimate=estimate_for_layout(context.layout), summary=summary, sections_html=sections_html,
    ), status


def _render_review(context, data, *, status: int = 200, errors=None, notice=None, draft=None):
    return _render_survey(context, status=status, errors=errors, notice=notice, draft=draft, step=REVIEW,
                          review=review_sections(context.layout, data))


@bp.route("/s/<token>", methods=["GET", "POST"])
@token_guessing_limit
@csrf.exempt  # checked below instead, so an expired token re-shows the answers rather than losing them
# (and because CSRFProtect's HTTPS Referer check would refuse it: these pages send no referrer)
def survey(token: str):
    """One area per screen: each step posts its answers, which join the sealed draft, then the next step
    (or the previous one) is shown; the review reads the draft back and submits it."""
    now = utcnow()
    context = responses.load_survey_context(token, now=now)
    steps = context.layout.step_count
    if request.method == "GET":
        draft = responses.load_draft(context.invitation, token)
        step = _step_arg(request.args.get("step"), steps)
        data = responses.draft_form_data(draft)
        if step == REVIEW:
            page = _render_review(context, data, draft=draft)
        else:
            page = _render_survey(context, data if draft else None, draft=draft, step=step,
                                  draft_elsewhere=context.invitation.has_draft and draft is None)
        responses.mark_opened(context, now)
        return page

    if "step" not in request.form:
        return _whole_form(context, token, now)
    step = _step_arg(request.form.get("step"), steps)
    action = request.form.get("action")
    draft = responses.load_draft(context.invitation, token)
    if not _csrf_is_valid():
        notice = ("This page was open for a long time, so for your security we could not accept it yet. "
                  "Your answers are still filled in below: press the button again.")
        if step == REVIEW:
            return _render_review(context, responses.draft_form_data(draft), status=400, notice=notice)
        return _render_survey(context, request.form, status=400, notice=notice, step=step)

    if step == REVIEW:
        if action == "back":
            return redirect(_step_url(token, steps) if steps else _step_url(token, REVIEW), code=303)
        data = responses.draft_form_data(draft)
        if action == "save":
            return _saved(context, token, REVIEW)
        try:
            responses.submit_response(context, data, now=now, thresholds=Thresholds.from_config(current_app.config),
                                      secret_key=current_app.config["SECRET_KEY"])
        except InvalidInput as invalid:
            return _render_review(context, data, status=422, errors=invalid.errors, draft=draft)
        return redirect(url_for("respond.thanks", token=token), code=303)

    responses.save_step(context, request.form, step=step, token=token, now=now, draft=draft)
    if action == "back":
        return redirect(_step_url(token, max(1, step - 1)), code=303)
    if action == "save":
        return _saved(context, token, step)
    try:
        responses.check_step(context, request.form, step=step)
    except InvalidInput as invalid:
        return _render_survey(context, request.form, status=422, errors=invalid.errors, step=step)
    return redirect(_step_url(token, step + 1 if step < steps else REVIEW), code=303)


def _saved(context, token: str, step: int | str):
    flash(f"Your answers are saved. Open the same link again to finish before "
          f"{format_date(context.wave.closes_at)}.", "success")
    return redirect(_step_url(token, step), code=303)


def _whole_form(context, token: str, now):
    """Every step's answers in one post (no `step` field): checked and stored, or saved, as one form."""
    if not _csrf_is_valid():
        return _render_survey(context, request.form, status=400, notice=(
            "This page was open for a long time, so for your security we could not accept it yet. "
            "Your answers are still filled in below: check them and press “Submit my answers” again."))
    if request.form.get("action") == "save":
        responses.save_draft(context, request.form, token=token, now=now)
        flash(f"Your answers are saved. Open the same link again to finish before "
              f"{format_date(context.wave.closes_at)}.", "success")
        return redirect(url_for("respond.survey", token=token), code=303)
    try:
        responses.submit_response(context, request.form, now=now,
                                  thresholds=Thresholds.from_config(current_app.config),
                                  secret_key=current_app.config["SECRET_KEY"])
    except InvalidInput as invalid:
        return _render_survey(context, request.form, status=422, errors=invalid.errors)
    return redirect(url_for("respond.thanks", token=token), code=303)


@bp.get("/s/<token>/thanks")
@token_guessing_limit
def thanks(token: str):
    invitation = responses.invitation_for_token(token)
    if invitation.responded_at is None:
        return redirect(url_for("respond.survey", token=token))
    return render_template("respond/thanks.html", invitation=invitation, wave=invitation.wave,
                           campaign=invitation.wave.campaign)


@bp.route("/s/<token>/unsubscribe", methods=["GET", "POST"])
@token_guessing_limit
@csrf.exempt  # RFC 8058 one-click requests come from the mail provider without a CSRF token
def unsubscribe(token: str):
    """GET only asks (mail scanners follow links); POST opts out of every future survey.

    A POST whose body is exactly the RFC 8058 `List-Unsubscribe=One-Click` is accepted without a CSRF
    token: the 192-bit token in the URL is the credential and the action can be undone. Any other POST
    must carry the form's CSRF token.
    """
    invitation = responses.invitation_for_token(token)
    if request.method == "POST":
        one_click = request.form.get("List-Unsubscribe") == "One-Click"
        if not one_click and not _csrf_is_valid():
            return render_template("respond/unsubscribe.html", invitation=invitation, form=ConfirmForm(),
                                   notice="The page was open too long. Please press the button again."), 400
        stakeholder = responses.opt_out(invitation)
        if one_click:
            return "You are unsubscribed from these surveys.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
        return render_template("respond/opted_out.html", invitation=invitation,
                               opted_out_at=stakeholder.opted_out_at, form=ConfirmForm(), just_now=True)
    if invitation.stakeholder.opted_out:
        return render_template("respond/opted_out.html", invitation=invitation,
                               opted_out_at=invitation.stakeholder.opted_out_at, form=ConfirmForm())
    return render_template("respond/unsubscribe.html", invitation=invitation, form=ConfirmForm())


@bp.post("/s/<token>/opt-in")
@token_guessing_limit
@csrf.exempt  # checked below: CSRFProtect's HTTPS Referer check would fail, these pages send no referrer
def opt_in(token: str):
    invitation = responses.invitation_for_token(token)
    if not _csrf_is_valid():
        return render_template("respond/opted_out.html", invitation=invitation, form=ConfirmForm(),
                               opted_out_at=invitation.stakeholder.opted_out_at,
                               notice="The page was open too long. Please press the button again."), 400
    responses.opt_in(invitation)
    flash("You will receive these surveys again. Thank you!", "success")
    return redirect(url_for("respond.survey", token=token), code=303)


# --- why a link cannot be answered: pages that explain it, in this blueprint's layout -----------


@bp.errorhandler(AlreadyAnswered)
def already_answered(error: AlreadyAnswered):
    # A GET is someone opening their link again: that is not an error (200). A POST was refused
    # because the survey was answered meanwhile (another tab, a double click): 409 Conflict.
    status = 409 if request.method == "POST" else 200
    return render_template("respond/already_answered.html", responded_at=error.responded_at), status


@bp.errorhandler(WaveNotOpen)
def wave_not_open(error: WaveNotOpen):
    return render_template("respond/unavailable.html", title=error.title, opens_at=error.opens_at), 410


@bp.errorhandler(WaveClosed)
def wave_closed(error: WaveClosed):
    return render_template("respond/unavailable.html", title=error.title, closed_at=error.closed_at), 410


@bp.errorhandler(OptedOut)
def opted_out(error: OptedOut):
    token = request.view_args.get("token") if request.view_args else None
    invitation = responses.invitation_for_token(token)
    status = 409 if request.method == "POST" else 200
    return render_template("respond/opted_out.html", invitation=invitation, opted_out_at=error.opted_out_at,
                           form=ConfirmForm()), status


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge):
    return render_template("respond/too_large.html"), 413
