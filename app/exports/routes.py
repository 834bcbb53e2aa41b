from __future__ import annotations

from flask import Response, abort, request, stream_with_context

from app.auth.access import manager_required
from app.exports import bp
from app.services.csv_stream import CsvDialect, stream_csv
from app.services.exports import build_table, resolve_scope


def dialect_from_request() -> CsvDialect:
    excel = request.args.get("excel") in ("1", "true", "yes")
    delimiter = ";" if request.args.get("sep") in (";", "semicolon") else ","
    return CsvDialect(excel=excel, delimiter=delimiter)


@bp.get("/<kind>.csv")
@manager_required
def download(kind: str):
    if kind not in ("answers", "responses", "comments", "summary"):
        abort(404)
    provider = request.args.get("provider", type=int)
    scope = resolve_scope(request.args.get("waves") or None, provider_id=provider,
                          area_code=request.args.get("area") or None,
                          department=request.args.get("department") or None)
    table = build_table(kind, scope)
    body = stream_csv(table.columns, table.rows, dialect_from_request())
    return Response(
        stream_with_context(body),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{table.filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
