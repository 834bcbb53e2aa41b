#!/bin/sh
# One image, either role: `web` (the default) brings the schema and survey catalog up to date, then
# serves with gunicorn; `worker` runs the dispatcher, which opens waves and sends the invitations.
# Any other command runs as given (`docker run IMAGE flask users create ...`).
# Only `web` migrates, so a worker started beside it never races it; the dispatcher retries its pass
# until the schema is there.
set -e
role="${1:-web}"
[ "$#" -gt 0 ] && shift
case "$role" in
  web)
    if [ "${VP_MIGRATE_ON_START:-1}" = "1" ]; then
      flask db upgrade
      flask surveys load
    fi
    exec gunicorn -c gunicorn.conf.py "$@" wsgi:app
    ;;
  worker)
    exec flask dispatch serve "$@"
    ;;
  *)
    set -- "$role" "$@"
    exec "$@"
    ;;
esac
