#!/usr/bin/env bash
# Starts the local PostgreSQL server (installed by install-deps.sh) and makes
# a throwaway test database for the current user, reached over the Unix
# socket with peer authentication: no password anywhere.
# Prints the connection string for AIRBRIDGE_TEST_PG on its last line.
set -euo pipefail

say() { printf '[postgres] %s\n' "$*" >&2; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
[ -n "$version" ] || { say "PostgreSQL is not installed (run scripts/install-deps.sh)"; exit 1; }
if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -q "^$version main$"; then
  say "creating cluster $version/main"
  if [ "$(id -u)" -eq 0 ]; then pg_createcluster "$version" main >&2; else sudo pg_createcluster "$version" main >&2; fi
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
  say "starting cluster $version/main"
  if [ "$(id -u)" -eq 0 ]; then pg_ctlcluster "$version" main start; else sudo pg_ctlcluster "$version" main start; fi
fi
user=$(id -un)
db=airbridge_test
if [ "$(as_postgres psql -Atc "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != 1 ]; then
  say "creating role $user"
  as_postgres createuser --superuser "$user"
fi
if [ "$(as_postgres psql -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
  say "creating database $db"
  as_postgres createdb --owner "$user" "$db"
fi
say "ready: database $db for $user over /var/run/postgresql"
echo "host=/var/run/postgresql user=$user dbname=$db"
