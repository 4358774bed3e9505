#!/bin/sh
# azd postprovision hook. Static server parameters (shared_buffers, wal_buffers, max_connections,
# shared_preload_libraries) stay pending until a restart: restart each server once when any
# parameter is pending, so provisioning ends with the plan's values running. Then record that the
# servers exist, so the next provision sends no createMode Create or Replica (main.bicep
# serverExists, replicaExists): a later provision updates them.
# azd passes the template's outputs (AZURE_RESOURCE_GROUP, AZURE_POSTGRES_*) as environment values.
set -eu

restart_if_pending() {
  server="$1"
  pending="$(az postgres flexible-server parameter list --resource-group "$AZURE_RESOURCE_GROUP" \
    --server-name "$server" --query "[?isConfigPendingRestart].name" --output tsv)"
  if [ -n "$pending" ]; then
    echo "$server: restarting once for parameters pending a restart: $(echo "$pending" | tr '\n' ' ')"
    az postgres flexible-server restart --resource-group "$AZURE_RESOURCE_GROUP" --name "$server" --output none
  else
    echo "$server: no parameter pending a restart"
  fi
}

restart_if_pending "$AZURE_POSTGRES_SERVER_NAME"
azd env set DBOPS_SERVER_EXISTS true
if [ -n "${AZURE_POSTGRES_REPLICA_NAME:-}" ]; then
  restart_if_pending "$AZURE_POSTGRES_REPLICA_NAME"
  azd env set DBOPS_REPLICA_EXISTS true
fi
