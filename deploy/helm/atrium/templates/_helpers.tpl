{{/*
The chart's name, cut to 63 characters (the limit of a label value).
*/}}
{{- define "atrium.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: the release name, with the chart's name unless it already holds it.
*/}}
{{- define "atrium.fullname" -}}
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

{{- define "atrium.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The labels that select the release's pods: the Deployment's, the Service's and the PodDisruptionBudget's selector.
*/}}
{{- define "atrium.selectorLabels" -}}
app.kubernetes.io/name: {{ include "atrium.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "atrium.labels" -}}
helm.sh/chart: {{ include "atrium.chart" . }}
{{ include "atrium.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: atrium
{{- end }}

{{- define "atrium.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "atrium.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Secret the pods read ATRIUM_ADMIN_KEY, ATRIUM_SECRETS_KEY, ATRIUM_STORE_PASSWORD and the AWS keys from.
*/}}
{{- define "atrium.secretName" -}}
{{- default (include "atrium.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "atrium.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Several replicas must share their state: one PostgreSQL store (limits and budgets are exact across replicas only
there) and one S3 artifact store (an upload lands once and every replica can load it).
*/}}
{{- define "atrium.checkSharedState" -}}
{{- $several := "when there may be more than one replica (replicaCount > 1 or autoscaling.enabled)" }}
{{- if or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}
{{- if not (hasPrefix "postgresql://" .Values.store.url) }}
{{- fail (printf "store.url must be postgresql://... %s: each pod would count limits and budgets alone" $several) }}
{{- end }}
{{- if not (hasPrefix "s3://" .Values.artifacts.store) }}
{{- fail (printf "artifacts.store must be s3://BUCKET/PREFIX %s: an upload would land in one pod" $several) }}
{{- end }}
{{- end }}
{{- $autoscaling := .Values.autoscaling }}
{{- if and $autoscaling.enabled (gt (int $autoscaling.minReplicas) (int $autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- end }}
