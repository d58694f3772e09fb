#!/bin/sh
# One-shot (compose service temporal-namespace, image temporalio/admin-tools): once the
# Temporal server answers, creates taxflow's namespace (if missing) and registers taxflow's
# search attributes on it (all Keyword; the list is workflows.SearchAttributeNames, which
# internal/deploy's test compares with this file). Idempotent: an existing namespace is
# kept as it is (its retention too: change it with `temporal operator namespace update`),
# and attributes already registered with the same type are accepted.
set -eu
: "${TEMPORAL_ADDRESS:?set TEMPORAL_ADDRESS}" "${TEMPORAL_NAMESPACE:?set TEMPORAL_NAMESPACE}"
retention=${NAMESPACE_RETENTION:-720h}
attempts=${WAIT_ATTEMPTS:-90}
temporal=${TEMPORAL_CLI:-temporal}
search_attributes="InvoiceId CustomerId StripeAccount InvoiceStatus TaxStatus ExternalStatus ErrorCode"

# retry N DESCRIPTION COMMAND...: runs COMMAND until it succeeds, every 2 s, N times at most.
retry() {
  n=$1 what=$2
  shift 2
  i=1
  until "$@" >/dev/null 2>&1; do
    if [ "$i" -ge "$n" ]; then
      echo "temporal-namespace: gave up waiting for $what" >&2
      "$@" # once more, showing the error
      exit 1
    fi
    i=$((i + 1))
    sleep 2
  done
}

retry "$attempts" "the Temporal server at $TEMPORAL_ADDRESS" \
  "$temporal" operator cluster health --address "$TEMPORAL_ADDRESS"

if "$temporal" operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "temporal-namespace: namespace $TEMPORAL_NAMESPACE exists"
else
  "$temporal" operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" \
    --retention "$retention" --description "taxflow invoices"
  echo "temporal-namespace: namespace $TEMPORAL_NAMESPACE created (retention $retention)"
fi

# A new namespace reaches the frontend's cache within seconds.
retry 30 "namespace $TEMPORAL_NAMESPACE to be served" \
  "$temporal" operator search-attribute list --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE"

set --
for name in $search_attributes; do
  set -- "$@" --name "$name" --type Keyword
done
retry 15 "the search attributes" \
  "$temporal" operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" "$@"

# Check: every attribute is listed.
listed=$("$temporal" operator search-attribute list --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE")
for name in $search_attributes; do
  if ! printf '%s\n' "$listed" | grep -qw "$name"; then
    echo "temporal-namespace: search attribute $name is not registered" >&2
    exit 1
  fi
done
echo "temporal-namespace: search attributes registered: $search_attributes"
