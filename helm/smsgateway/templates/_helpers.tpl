{{/*
Expand the name of the chart.
*/}}
{{- define "smsgateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
We truncate at 63 chars because some Kubernetes name fields are limited to this (by the DNS naming spec).
If release name contains chart name it will be used as a full name.
*/}}
{{- define "smsgateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "smsgateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels (without the component: the helm test pod must not match the server's selector).
*/}}
{{- define "smsgateway.commonLabels" -}}
helm.sh/chart: {{ include "smsgateway.chart" . }}
app.kubernetes.io/name: {{ include "smsgateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Labels of the server's objects.
*/}}
{{- define "smsgateway.labels" -}}
{{ include "smsgateway.commonLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{/*
Selector labels of the server pods.
*/}}
{{- define "smsgateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "smsgateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{/*
Create the name of the service account to use
*/}}
{{- define "smsgateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "smsgateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: the digest pins it when given, else the tag (default: appVersion).
*/}}
{{- define "smsgateway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
True (non-empty) when the state is shared through Redis.
*/}}
{{- define "smsgateway.redisEnabled" -}}
{{- if or .Values.redis.url .Values.redis.existingSecret }}true{{ end }}
{{- end }}

{{/*
Name of the Secret the chart creates (credentials and/or the Redis URL).
*/}}
{{- define "smsgateway.secretName" -}}
{{- include "smsgateway.fullname" . }}
{{- end }}

{{/*
Name of the Secret holding the provider credentials and callback token.
*/}}
{{- define "smsgateway.credentialsSecretName" -}}
{{- default (include "smsgateway.secretName" .) .Values.credentials.existingSecret }}
{{- end }}

{{/*
True (non-empty) when the chart's own Secret holds the credentials.
*/}}
{{- define "smsgateway.chartHoldsCredentials" -}}
{{- if and (not .Values.credentials.existingSecret) (or .Values.credentials.appId .Values.credentials.secret .Values.credentials.callbackToken) }}true{{ end }}
{{- end }}

{{/*
True (non-empty) when the chart's own Secret holds the Redis URL.
*/}}
{{- define "smsgateway.chartHoldsRedisUrl" -}}
{{- if and (not .Values.redis.existingSecret) .Values.redis.url }}true{{ end }}
{{- end }}

{{/*
Name of the PersistentVolumeClaim of the data directory.
*/}}
{{- define "smsgateway.claimName" -}}
{{- default (printf "%s-data" (include "smsgateway.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/*
True (non-empty) when the data directory lives on a PersistentVolumeClaim: only without Redis
(with Redis it is per-pod scratch space, and a ReadWriteOnce claim cannot follow replicas).
*/}}
{{- define "smsgateway.usePersistence" -}}
{{- if and .Values.persistence.enabled (not (include "smsgateway.redisEnabled" .)) }}true{{ end }}
{{- end }}

{{/*
True (non-empty) when the pods may number more than one (fixed replicas > 1, or an HPA):
the default pod spreading applies.
*/}}
{{- define "smsgateway.scaledOut" -}}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/*
True (non-empty) when more than one pod always runs: only then a PodDisruptionBudget with
minAvailable 1 leaves room for a node drain.
*/}}
{{- define "smsgateway.severalPods" -}}
{{- if .Values.autoscaling.enabled }}
{{- if gt (int .Values.autoscaling.minReplicas) 1 }}true{{ end }}
{{- else if gt (int .Values.replicaCount) 1 }}true{{ end }}
{{- end }}

{{/*
The Redis key prefix: the configured one, else the release's full name.
*/}}
{{- define "smsgateway.redisKeyPrefix" -}}
{{- default (include "smsgateway.fullname" .) .Values.redis.keyPrefix }}
{{- end }}

{{/*
True (non-empty) when callers are declared (the gRPC API asks for keys).
*/}}
{{- define "smsgateway.callersEnabled" -}}
{{- if or .Values.callers.existingSecret .Values.callers.entries }}true{{ end }}
{{- end }}

{{/*
Name of the Secret holding the callers file; the chart's own is `<fullname>-callers`.
*/}}
{{- define "smsgateway.callersSecretName" -}}
{{- default (printf "%s-callers" (include "smsgateway.fullname" .)) .Values.callers.existingSecret }}
{{- end }}

{{/*
True (non-empty) when the gRPC port serves TLS.
*/}}
{{- define "smsgateway.tlsEnabled" -}}
{{- if .Values.tls.existingSecret }}true{{ end }}
{{- end }}

{{/*
True (non-empty) when the gRPC port asks for client certificates (mutual TLS).
*/}}
{{- define "smsgateway.mtlsEnabled" -}}
{{- if and .Values.tls.existingSecret .Values.tls.clientCA.existingSecret }}true{{ end }}
{{- end }}

{{/*
True (non-empty) when a callback token reaches the process: inline, or from the existing
credentials Secret.
*/}}
{{- define "smsgateway.callbackTokenConfigured" -}}
{{- if or .Values.credentials.callbackToken .Values.credentials.existingSecret }}true{{ end }}
{{- end }}

{{/*
True (non-empty) when the callback token is what protects the push endpoints (behind an
Ingress, or with neither an allowlist nor an explicit opening): the existing Secret's key is
then required, so a missing key stops the pod before it serves unprotected pushes.
*/}}
{{- define "smsgateway.callbackTokenRequired" -}}
{{- if or .Values.ingress.enabled (not (or .Values.config.callbacks.allowedNetworks .Values.auth.allowUnauthenticatedPushes)) }}true{{ end }}
{{- end }}

{{/*
defaultMode of the mounted Secret files: group-readable only when the volume group is set
(fsGroup owns them), else world-readable inside the pod (the platform picks the uid).
*/}}
{{- define "smsgateway.secretFileMode" -}}
{{- if kindIs "invalid" .Values.podSecurityContext.fsGroup }}292{{ else }}288{{ end }}
{{- end }}

{{/*
Checks that values schema cannot express (cross-field rules); fail with an actionable message.
The schema also refuses replicas > 1 without Redis; this repeats it for `helm template
--skip-schema-validation` users.
*/}}
{{- define "smsgateway.validate" -}}
{{- $drain := add (int .Values.config.shutdownGraceSeconds) (int .Values.preStopSleepSeconds) }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int $drain) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds + config.shutdownGraceSeconds (%d), or Kubernetes kills the pod before it has drained" (int .Values.terminationGracePeriodSeconds) (int $drain)) }}
{{- end }}
{{- if and (or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled) (not (include "smsgateway.redisEnabled" .)) }}
{{- fail "replicaCount > 1 and autoscaling need redis.url or redis.existingSecret: the embedded SQLite store cannot be shared between pods" }}
{{- end }}
{{- if and .Values.config.upstreamUrl (not .Values.credentials.existingSecret) (not (and .Values.credentials.appId .Values.credentials.secret)) }}
{{- fail "config.upstreamUrl is set: give credentials.appId and credentials.secret, or credentials.existingSecret" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) }}
{{- fail "autoscaling.maxReplicas must be at least autoscaling.minReplicas" }}
{{- end }}
{{- if and (not (include "smsgateway.callersEnabled" .)) (not .Values.auth.allowUnauthenticated) }}
{{- fail "the pods listen on 0.0.0.0 and no callers are declared: set callers.entries or callers.existingSecret (keys for the gRPC API), or auth.allowUnauthenticated=true to let anyone who reaches the gRPC port send SMS" }}
{{- end }}
{{- if and (include "smsgateway.callersEnabled" .) .Values.auth.allowUnauthenticated }}
{{- fail "auth.allowUnauthenticated is for running without callers: remove it, callers are declared" }}
{{- end }}
{{- $names := dict }}
{{- range .Values.callers.entries }}
{{- if hasKey $names .name }}
{{- fail (printf "callers.entries: the name %q is declared twice" .name) }}
{{- end }}
{{- $_ := set $names .name true }}
{{- end }}
{{- if and .Values.ingress.enabled (not (include "smsgateway.callbackTokenConfigured" .)) }}
{{- fail "ingress.enabled exposes the push endpoints: set credentials.callbackToken, or credentials.existingSecret with the token under credentials.existingSecretKeys.callbackToken" }}
{{- end }}
{{- if not (or (include "smsgateway.callbackTokenConfigured" .) .Values.config.callbacks.allowedNetworks .Values.auth.allowUnauthenticatedPushes) }}
{{- fail "the push endpoints listen on 0.0.0.0 unprotected: set credentials.callbackToken (or credentials.existingSecret holding it), or config.callbacks.allowedNetworks, or auth.allowUnauthenticatedPushes=true to accept pushes from anyone" }}
{{- end }}
{{- if and .Values.tls.clientCA.existingSecret (not .Values.tls.existingSecret) }}
{{- fail "tls.clientCA.existingSecret (mutual TLS) needs tls.existingSecret (the server certificate)" }}
{{- end }}
{{- if and .Values.redis.password.existingSecret (not (include "smsgateway.redisEnabled" .)) }}
{{- fail "redis.password.existingSecret needs redis.url or redis.existingSecret" }}
{{- end }}
{{- if .Values.redis.tlsCA.existingSecret }}
{{- if not (include "smsgateway.redisEnabled" .) }}
{{- fail "redis.tlsCA.existingSecret needs redis.url or redis.existingSecret" }}
{{- else if and .Values.redis.url (not .Values.redis.existingSecret) (not (hasPrefix "rediss://" .Values.redis.url)) }}
{{- fail "redis.tlsCA.existingSecret verifies a TLS server: redis.url must start with rediss://" }}
{{- end }}
{{- end }}
{{- end }}
