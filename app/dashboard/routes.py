"""Dashboard views: read the filters, call `app.services.reporting`, render. No statistics here."""
from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.auth.access import manager_required, safe_next, viewer_required
from app.dashboard import bp
from app.dashboard.forms import (PROVIDER_LEVEL, AspectCorrectionForm, CommentFilterForm, FilterForm,
                                 LabelCorrectionForm, ShareableForm)
from app.models.response import SENTIMENT_LABELS
from app.services import chart_specs
from app.services import comments as comment_service
from app.services.comments import CommentFilter
from app.services.aspects import TAXONOMY
from app.services.reporting import aspects as aspect_reports
from app.services.reporting import drivers as driver_reports
from app.services.reporting import relationship as relationship_reports
from app.services.reporting import reports
from app.services.reporting.cache import one_data_version
from app.services.reporting.departments import departments
from app.services.reporting.scope import METRICS, Scope, campaign_options, resolve_scope

COMMENTS_PER_PAGE = 25
# The campaign last chosen in a filter bar, so the next visit opens on it (see `resolve_scope`).
LAST_CAMPAIGN_KEY = "last_campaign_id"
SCORECARD_COMMENTS = 12


@bp.before_request
def _one_data_version():
    # A page's reports and charts read each wave's data version once (`reporting.cache.one_data_version`).
    g.vp_data_version = one_data_version()
    g.vp_data_version.__enter__()


@bp.teardown_request
def _end_data_version(_error=None):
    page = g.pop("vp_data_version", None)
    if page is not None:
        page.__exit__(None, None, None)


def _is_provider() -> bool:
    return current_user.role == "provider"


def _audience() -> tuple:
    """Who a chart was shown to, for `chart_specs.publish`: the staff, or one provider's users."""
    return ("provider", current_user.provider_id) if _is_provider() else ("staff",)


def _scope_from(form: FilterForm) -> Scope | None:
    """The scope the filters ask for; provider users only ever get their own provider, never departments."""
    if _is_provider():
        if form.department.data:
            abort(403)
        provider_id = current_user.provider_id
    else:
        provider_id = form.provider.data
    return resolve_scope(
        provider_id=provider_id,
        campaign_id=form.campaign.data,
        first_wave_id=form.first.data,
        last_wave_id=form.last.data,
        department=None if _is_provider() else (form.department.data or None),
        preferred_campaign_id=_last_campaign_id(),
    )


def _last_campaign_id() -> int | None:
    value = session.get(LAST_CAMPAIGN_KEY)
    return value if isinstance(value, int) else None


def _fill_filters(form: FilterForm, scope: Scope) -> None:
    """Offer the choices that exist and show the scope actually used (not just what was asked).

    A campaign asked for and shown is remembered; the scope only ever holds one the user may see.
    """
    if form.campaign.data == scope.campaign_id and _last_campaign_id() != scope.campaign_id:
        session[LAST_CAMPAIGN_KEY] = scope.campaign_id
    options = campaign_options(current_user.provider_id if _is_provider() else None)
    providers = {o.provider_id: o.provider_name for o in options}
    form.provider.choices = [SelectChoice("", "All providers")] + [
        SelectChoice(value, label) for value, label in sorted(providers.items(), key=lambda item: item[1])]
    form.provider.data = form.provider.data if form.provider.data in providers else None
    form.campaign.choices = [SelectChoice(o.id, o.name) for o in options if o.provider_id == scope.provider_id]
    form.campaign.data = scope.campaign_id
    form.first.choices = [SelectChoice(w.id, w.label) for w in scope.all_waves]
    form.last.choices = list(form.first.choices)
    form.first.data = scope.waves[0].id if scope.waves else None
    form.last.data = scope.waves[-1].id if scope.waves else None
    if not _is_provider():
        form.department.choices = [SelectChoice("", "All departments")] + [
            SelectChoice(d, d) for d in departments(scope)]


def filter_args(scope: Scope) -> dict:
    """Query arguments that reproduce this scope in links and chart URLs."""
    args = {"campaign": scope.campaign_id}
    if scope.waves:
        args.update(first=scope.waves[0].id, last=scope.waves[-1].id)
    if scope.department:
        args["department"] = scope.department
    return args


def _filtered(form_class=FilterForm) -> tuple[FilterForm, Scope | None]:
    """The page's filter form read from the query string and the scope it selects (None: nothing to show),
    with the form's choices filled for that scope."""
    form = form_class(formdata=request.args)
    scope = _scope_from(form)
    if scope is not None:
        _fill_filters(form, scope)
    return form, scope


def _empty():
    return render_template("dashboard/empty.html"), 200


@bp.get("/")
@viewer_required
def overview():
    if _is_provider():
        return redirect(url_for("dashboard.scorecard", **request.args))
    form, scope = _filtered()
    if scope is None:
        return _empty()
    report = reports.overview(scope)
    args = filter_args(scope)
    heatmaps = {metric: chart_specs.heatmap_spec(report, metric) for metric in METRICS} if report.rows else {}
    sparklines = {row.area.id: chart_specs.sparkline_spec(row.series, row.area, scope) for row in report.rows}
    movers = aspect_reports.aspect_movers(scope) if not scope.department else ()
    chart_specs.publish([*heatmaps.values(), *sparklines.values()], _audience())
    return render_template("dashboard/overview.html", form=form, scope=scope, report=report, args=args,
                           heatmaps=heatmaps, sparklines=sparklines, movers=movers)


@bp.get("/areas/<int:area_id>")
@manager_required
def area(area_id: int):
    form, scope = _filtered()
    if scope is None:
        abort(404)
    report = reports.area_report(scope, area_id)
    specs = {
        "trend": chart_specs.trend_spec(report, "satisfaction"),
        "trend_happiness": chart_specs.trend_spec(report, "happiness"),
        "distribution": chart_specs.distribution_spec(report, "satisfaction"),
        "distribution_happiness": chart_specs.distribution_spec(report, "happiness"),
        "sentiment": chart_specs.sentiment_spec(report),
        "timelost": chart_specs.time_lost_spec(report),
        "reasons": chart_specs.reasons_spec(report),
    }
    chart_specs.publish(specs.values(), _audience())
    comments = comment_service.list_comments(scope, CommentFilter(area_id=area_id, wave_id=scope.current_wave.id
                                                                  if scope.current_wave else None), per_page=8,
                                             count=False)
    return render_template("dashboard/area.html", form=form, scope=scope, report=report, specs=specs,
                           args=filter_args(scope), comments=comments, label_form=LabelCorrectionForm(),
                           share_form=ShareableForm(), talk=aspect_reports.area_aspects(scope, area_id),
                           taxonomy=TAXONOMY, drivers=driver_reports.key_drivers(scope, area_id))


@bp.get("/comments")
@manager_required
def comments():
    form, scope = _filtered(CommentFilterForm)
    if scope is None:
        return _empty()
    form.wave.choices = [SelectChoice("", "All waves in range")] + [
        SelectChoice(w.id, w.label) for w in reversed(scope.waves)]
    form.area.choices = [SelectChoice("", "All service areas")] + [SelectChoice(a.id, a.name) for a in scope.areas]
    provider_level = relationship_reports.has_provider_questions(scope)
    if provider_level:
        form.area.choices.append(SelectChoice(PROVIDER_LEVEL, "Provider as a whole"))
    filters = CommentFilter(
        level="provider" if provider_level and form.area.data == PROVIDER_LEVEL else "area",
        wave_id=form.wave.data if form.wave.data in scope.wave_ids else None,
        area_id=form.area.data if form.area.data in {a.id for a in scope.areas} else None,
        label=form.label.data if form.label.data in SENTIMENT_LABELS else None,
        search=(form.q.data or "").strip()[:200] or None,
        shareable_only=bool(form.shared.data),
        aspect=form.aspect.data if form.aspect.data in TAXONOMY.aspects else None,
        aspect_label=form.aspect_label.data if form.aspect_label.data in SENTIMENT_LABELS else None,
        rating=form.rating.data if form.rating.data in comment_service.RATINGS else None,
    )
    page = comment_service.list_comments(scope, filters, page=request.args.get("page", 1, type=int),
                                         per_page=COMMENTS_PER_PAGE)
    talk = aspect_reports.area_aspects(scope, filters.area_id) if filters.area_id else None
    page_args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("dashboard/comments.html", form=form, scope=scope, page=page, filters=filters,
                           talk=talk, page_args=page_args, args=filter_args(scope),
                           label_form=LabelCorrectionForm(), share_form=ShareableForm(), taxonomy=TAXONOMY)


@bp.post("/comments/<int:answer_id>/label")
@manager_required
def correct_label(answer_id: int):
    form = LabelCorrectionForm()
    if not form.validate_on_submit():
        abort(422)
    target = safe_next(form.next.data, url_for("dashboard.comments"))
    answer = comment_service.correct_label(answer_id, form.label.data or None, current_user)
    flash("Label saved: " + (f"corrected to {answer.label_override}." if answer.label_override
                             else "back to the computed label."), "success")
    return redirect(target)


@bp.post("/comments/<int:answer_id>/aspects")
@manager_required
def correct_aspects(answer_id: int):
    form = AspectCorrectionForm()
    if not form.validate_on_submit():
        abort(422)
    target = safe_next(form.next.data, url_for("dashboard.comments"))
    answer = comment_service.correct_aspects(answer_id, form.chosen(), current_user)
    flash("Aspects saved: " + ("corrected." if answer.aspects_override is not None
                               else "back to the computed aspects."), "success")
    return redirect(target)


@bp.post("/comments/<int:answer_id>/shareable")
@manager_required
def set_shareable(answer_id: int):
    form = ShareableForm()
    if not form.validate_on_submit() or form.shareable.data not in ("0", "1"):
        abort(422)
    shared = form.shareable.data == "1"
    target = safe_next(form.next.data, url_for("dashboard.comments"))
    comment_service.set_shareable(answer_id, shared)
    flash("The provider can now see this comment." if shared else "The comment is no longer shared.", "success")
    return redirect(target)


@bp.get("/scorecard")
@viewer_required
def scorecard():
    form, scope = _filtered()
    if scope is None:
        return _empty()
    report = reports.overview(scope)
    area_reports = [reports.area_report(scope, a.id, for_provider=True) for a in scope.areas]
    talk = {a.id: aspect_reports.area_aspects(scope, a.id, for_provider=True) for a in scope.areas}
    trends = {r.area.id: chart_specs.trend_spec(r, "satisfaction") for r in area_reports}
    chart_specs.publish(trends.values(), _audience())
    shared = comment_service.list_comments(scope, CommentFilter(shareable_only=True),
                                           per_page=SCORECARD_COMMENTS, count=False, for_provider=True)
    return render_template("dashboard/scorecard.html", form=form, scope=scope, report=report, trends=trends,
                           args=filter_args(scope), shared=shared, talk=talk)


@bp.get("/charts/<kind>.svg")
@viewer_required
def chart(kind: str):
    if kind not in chart_specs.CHART_KINDS:
        abort(404)
    metric = request.args.get("metric", "satisfaction")
    if metric not in METRICS:
        abort(404)
    version = request.args.get("v", "")
    shown = chart_specs.published(version, _audience()) if version else None
    if shown is not None:
        # The picture a page showed, by its ETag: drawn once, never built from the report again. The
        # address names its content, so the browser keeps it without asking again.
        headers = {"Cache-Control": "private, max-age=86400, immutable", "ETag": f'"{version}"', "Vary": "Cookie"}
        if request.if_none_match.contains(version):
            return Response(status=304, headers=headers)
        return Response(chart_specs.rendered(shown), mimetype="image/svg+xml", headers=headers)
    scope = _scope_from(FilterForm(formdata=request.args))
    if scope is None:
        abort(404)
    area_id = request.args.get("area", type=int)
    if kind in ("heatmap", "sparkline"):
        report = reports.overview(scope)
        if kind == "heatmap":
            spec = chart_specs.heatmap_spec(report, metric)
        else:
            row = next((r for r in report.rows if r.area.id == area_id), None)
            if row is None:
                abort(404)
            spec = chart_specs.sparkline_spec(row.series, row.area, scope, metric)
    else:
        if area_id is None:
            abort(404)
        report = reports.area_report(scope, area_id, for_provider=_is_provider())
        spec = chart_specs.area_spec(kind, report, metric)
    headers = {"Cache-Control": "private, no-cache", "ETag": f'"{spec.etag}"', "Vary": "Cookie"}
    if request.if_none_match.contains(spec.etag):
        return Response(status=304, headers=headers)
    return Response(chart_specs.rendered(spec), mimetype="image/svg+xml", headers=headers)


@bp.context_processor
def _provider_questions():
    """Lets dashboard pages link the provider relationship page only for surveys that ask about the provider."""
    return {"has_provider_questions": relationship_reports.has_provider_questions}


@bp.get("/relationship")
@manager_required
def relationship():
    """The questions about the provider as a whole, per wave, and the comments about it."""
    form, scope = _filtered()
    if scope is None:
        return _empty()
    report = relationship_reports.relationship_report(scope)
    wave_id = request.args.get("wave", type=int)
    label = request.args.get("label")
    filters = CommentFilter(
        level="provider",
        wave_id=wave_id if wave_id in scope.wave_ids else None,
        label=label if label in SENTIMENT_LABELS else None,
        search=(request.args.get("q") or "").strip()[:200] or None,
        shareable_only=request.args.get("shared") == "y",
    )
    page = comment_service.list_comments(scope, filters, page=request.args.get("page", 1, type=int),
                                         per_page=COMMENTS_PER_PAGE)
    page_args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("dashboard/relationship.html", form=form, scope=scope, report=report, page=page,
                           filters=filters, page_args=page_args, args=filter_args(scope),
                           label_form=LabelCorrectionForm(), share_form=ShareableForm(), taxonomy=TAXONOMY)
