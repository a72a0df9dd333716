{{/* Chart name. */}}
{{- define "kube-mcp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fullname of the operator's objects: kube-mcp-operator for a release named
kube-mcp (or containing it), <release>-kube-mcp-operator otherwise.
*/}}
{{- define "kube-mcp.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s-operator" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kube-mcp.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels (stable: never add keys here). */}}
{{- define "kube-mcp.selectorLabels" -}}
app.kubernetes.io/name: kube-mcp-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kube-mcp.labels" -}}
helm.sh/chart: {{ include "kube-mcp.chart" . }}
{{ include "kube-mcp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kube-mcp
app.kubernetes.io/component: operator
{{- end }}

{{- define "kube-mcp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kube-mcp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.create=false needs serviceAccount.name: the operator's ClusterRole is bound to that ServiceAccount, and binding it to the namespace's `default` would hand it to every pod there" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kube-mcp.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "kube-mcp.serverImage" -}}
{{- default (printf "ghcr.io/kube-mcp/kube-mcp-server:%s" .Chart.AppVersion) .Values.policy.serverImage }}
{{- end }}

{{/* Comma list of the images endpoints may run: the server image first, then policy.allowedImages. */}}
{{- define "kube-mcp.allowedImages" -}}
{{- prepend .Values.policy.allowedImages (include "kube-mcp.serverImage" .) | uniq | join "," }}
{{- end }}

{{/* Refuses value combinations the operator or its RBAC cannot honour. */}}
{{- define "kube-mcp.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicas > 1 needs leaderElection.enabled=true: two operators without a Lease would fight over the same objects" }}
{{- end }}
{{- if and .Values.rbac.create (ne .Values.policy.maxAccess "ReadOnly") (not .Values.rbac.allowFullAccess) }}
{{- fail (printf "policy.maxAccess=%s needs rbac.allowFullAccess=true: the operator can only grant write verbs it holds, or with escalate/bind on roles" .Values.policy.maxAccess) }}
{{- end }}
{{- end }}
