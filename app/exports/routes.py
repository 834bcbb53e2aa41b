from __future__ import annotations

from flask import Response, abort, current_app, render_template, request, stream_with_context, url_for
from flask_login import current_user
from werkzeug.utils import secure_filename

from app.auth.access import manager_required
from app.errors import InvalidInput
from app.exports import bp
from app.models.base import utcnow
from app.services import pack_jobs
from app.services.csv_stream import CsvDialect, stream_csv
from app.services.exports import KINDS, build_table, range_label
from app.services.reporting.scope import Scope, resolve_scope


def dialect_from_request() -> CsvDialect:
    excel = request.args.get("excel") in ("1", "true", "yes")
    delimiter = ";" if request.args.get("sep") in (";", "semicolon") else ","
    return CsvDialect(excel=excel, delimiter=delimiter)


def scope_from_request(*, with_department: bool = True) -> Scope:
    """The dashboard's filters: provider, campaign, first/last wave and department."""
    if "\x00" in (request.args.get("department") or "") + (request.args.get("area") or ""):
        # checked here because the CSV is streamed: a database error would come after the 200
        raise InvalidInput("The filters contain a NUL character.")
    scope = resolve_scope(
        provider_id=request.args.get("provider", type=int),
        campaign_id=request.args.get("campaign", type=int),
        first_wave_id=request.args.get("first", type=int),
        last_wave_id=request.args.get("last", type=int),
        department=(request.args.get("department") or None) if with_department else None,
    )
    if scope is None:
        raise InvalidInput("There is no campaign to export yet.")
    return scope


@bp.get("/<kind>.csv")
@manager_required
def download(kind: str):
    """A CSV export of the page's scope, optionally narrowed to one service area (`area` code)."""
    if kind not in KINDS:
        abort(404)
    scope = scope_from_request()
    table = build_table(kind, scope, request.args.get("area") or None)
    dialect = dialect_from_request()
    body = stream_csv(table.columns, table.rows, dialect)
    return Response(
        stream_with_context(body),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{dialect.filename(table.filename)}"',
                 "Cache-Control": "no-store"},
    )


@bp.get("/review-pack.pdf")
@manager_required
def review_pack():
    """The PDF pack for the review meeting with the provider (never broken down by department). The worker
    prepares it (`app.services.pack_jobs`); until it is ready this answers at once with a page that asks
    again by itself, then with the file."""
    scope = scope_from_request(with_department=False)
    job = pack_jobs.request_pack(scope, current_user.name or current_user.email, utcnow(),
                                 retry=request.args.get("retry") == "1")
    if not job.ready and current_app.config.get("REVIEW_PACK_IN_REQUEST"):
        pack_jobs.build_in_this_process(job.id)
    status = pack_jobs.pack_status(job, utcnow())
    filename = f"vendorpulse-review-{scope.provider_name}-{range_label(scope)}.pdf".replace(" ", "-")
    if status.ready:
        return Response(pack_jobs.pack_file(job.id), mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{secure_filename(filename)}"',
            "Cache-Control": "no-store"})
    args = {k: v for k, v in request.args.items() if k != "retry"}
    refresh_url = url_for("exports.review_pack", **args)
    html = render_template(
        "exports/preparing.html", status=status, title=f"{scope.provider_name}, {range_label(scope)}",
        refresh_url=refresh_url, retry_url=url_for("exports.review_pack", **args, retry="1"),
        refresh_seconds=None if status.state == "failed"
        else pack_jobs.REFRESH_SECONDS if status.worker_running else 10)
    return html, 202, {"Cache-Control": "no-store"}
