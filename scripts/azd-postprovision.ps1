# azd postprovision hook on Windows: the same steps as azd-postprovision.sh.
# Restart each server once when a static parameter is pending a restart, then record that the
# servers exist, so the next provision sends no createMode Create or Replica.
$ErrorActionPreference = 'Stop'

function Restart-IfPending([string] $server) {
  $pending = az postgres flexible-server parameter list --resource-group $env:AZURE_RESOURCE_GROUP `
    --server-name $server --query "[?isConfigPendingRestart].name" --output tsv
  if ($LASTEXITCODE -ne 0) { throw "az postgres flexible-server parameter list failed for $server" }
  if ($pending) {
    Write-Host "${server}: restarting once for parameters pending a restart: $($pending -join ' ')"
    az postgres flexible-server restart --resource-group $env:AZURE_RESOURCE_GROUP --name $server --output none
    if ($LASTEXITCODE -ne 0) { throw "az postgres flexible-server restart failed for $server" }
  } else {
    Write-Host "${server}: no parameter pending a restart"
  }
}

Restart-IfPending $env:AZURE_POSTGRES_SERVER_NAME
azd env set DBOPS_SERVER_EXISTS true
if ($env:AZURE_POSTGRES_REPLICA_NAME) {
  Restart-IfPending $env:AZURE_POSTGRES_REPLICA_NAME
  azd env set DBOPS_REPLICA_EXISTS true
}
