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
{{- end }}
