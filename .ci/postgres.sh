#!/usr/bin/env bash
# Start a PostgreSQL server for the service tests and print the URL of a role that may create test databases.
# Idempotent: installs Debian's postgresql with apt-get when it is missing (as root), creates and starts the
# cluster when it is down, creates the role when it is absent.  Prints nothing and fails when it cannot.
set -euo pipefail
ROLE=stratotrack_test
PASS=stratotrack_test
if ! command -v pg_lsclusters >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo ".ci/postgres.sh: installing postgresql with apt-get" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
    else
        echo ".ci/postgres.sh: PostgreSQL is not installed and cannot be installed here (needs root and apt-get)" >&2
        exit 1
    fi
fi
line=$(pg_lsclusters -h | head -n 1 || true)
if [ -z "$line" ]; then
    ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    pg_createcluster "$ver" main >&2
    line=$(pg_lsclusters -h | head -n 1)
fi
read -r ver name port status _ <<<"$line"
if [ "$status" != "online" ]; then
    pg_ctlcluster "$ver" "$name" start >&2
fi
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else bash -c "$1"; fi; }
for _ in $(seq 1 30); do
    as_postgres "psql -p $port -tAc 'select 1'" >/dev/null 2>&1 && break
    sleep 0.5
done
exists=$(as_postgres "psql -p $port -tAc \"select 1 from pg_roles where rolname='$ROLE'\"")
if [ "$exists" != "1" ]; then
    as_postgres "psql -p $port -q -c \"create role $ROLE login createdb password '$PASS'\"" >&2
fi
echo "postgresql://$ROLE:$PASS@127.0.0.1:$port/postgres"
