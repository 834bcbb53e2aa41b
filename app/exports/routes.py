from __future__ import annotations

from flask import Response, abort, request, stream_with_context

from app.auth.access import manager_required
from app.errors import InvalidInput
from app.exports import bp
from app.services import reporting
from app.services.csv_stream import CsvDialect, stream_csv
from app.services.exports import KINDS, build_table


def dialect_from_request() -> CsvDialect:
    excel = request.args.get("excel") in ("1", "true", "yes")
    delimiter = ";" if request.args.get("sep") in (";", "semicolon") else ","
    return CsvDialect(excel=excel, delimiter=delimiter)


@bp.get("/<kind>.csv")
@manager_required
def download(kind: str):
    """The dashboard's filters (provider, campaign, first/last wave, department) plus an area code."""
    if kind not in KINDS:
        abort(404)
    scope = reporting.resolve_scope(
        provider_id=request.args.get("provider", type=int),
        campaign_id=request.args.get("campaign", type=int),
        first_wave_id=request.args.get("first", type=int),
        last_wave_id=request.args.get("last", type=int),
        department=request.args.get("department") or None,
    )
    if scope is None:
        raise InvalidInput("There is no campaign to export yet.")
    table = build_table(kind, scope, request.args.get("area") or None)
    body = stream_csv(table.columns, table.rows, dialect_from_request())
    return Response(
        stream_with_context(body),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{table.filename}"', "Cache-Control": "no-store"},
    )
