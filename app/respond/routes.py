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
from app.services import responses
from app.services.questions import SurveyLayout
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


def _render_survey(context, formdata=None, *, status: int = 200, errors=None, notice: str | None = None,
                   draft=None, draft_elsewhere: bool = False):
    errors = errors or {}
    return render_template(
        "respond/survey.html", context=context, errors=errors, notice=notice, draft=draft,
        draft_elsewhere=draft_elsewhere,
        summary=error_summary(context.layout, errors), sections_html=_sections_html(context.layout, formdata, errors),
    ), status


@bp.route("/s/<token>", methods=["GET", "POST"])
@token_guessing_limit
@csrf.exempt  # checked below instead, so an expired token re-shows the answers rather than losing them
# (and because CSRFProtect's HTTPS Referer check would refuse it: these pages send no referrer)
def survey(token: str):
    now = utcnow()
    context = responses.load_survey_context(token, now=now)
    if request.method == "GET":
        draft = responses.load_draft(context.invitation, token)
        formdata = MultiDict([(k, v) for k, values in draft.data.items() for v in values]) if draft else None
        page = _render_survey(context, formdata, draft=draft,
                              draft_elsewhere=context.invitation.has_draft and draft is None)
        responses.mark_opened(context, now)
        return page

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
