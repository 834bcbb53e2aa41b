#!/bin/sh
# Bring the schema and survey catalog up to date, then hand the process over to the command.
set -e
if [ "${VP_MIGRATE_ON_START:-1}" = "1" ]; then
  flask db upgrade
  flask surveys load
fi
exec "$@"
