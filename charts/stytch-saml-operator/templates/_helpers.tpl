{{/* Chart name. */}}
{{- define "stytch-saml-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart unless the release name already contains the chart name. */}}
{{- define "stytch-saml-operator.fullname" -}}
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

{{- define "stytch-saml-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "stytch-saml-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stytch-saml-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "stytch-saml-operator.labels" -}}
helm.sh/chart: {{ include "stytch-saml-operator.chart" . }}
{{ include "stytch-saml-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "stytch-saml-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "stytch-saml-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* True (non-empty) when leader election is on: asked for, or more than one replica. */}}
{{- define "stytch-saml-operator.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/* True (non-empty) when a PodDisruptionBudget is rendered. */}}
{{- define "stytch-saml-operator.pdb" -}}
{{- if or .Values.podDisruptionBudget.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/* The rules the operator needs in every namespace it watches; each verb is shown necessary
by tests/least_privilege.rs (it never gets whole SamlConnections, and sets no ownerReferences,
so no `get` and no `samlconnections/finalizers`; it reads a stored status before changing it,
since its cache keeps only a digest of the status: `samlconnections/status` `get`). */}}
{{- define "stytch-saml-operator.watchRules" -}}
- apiGroups: ["sso.stytch-operator.dev"]
  resources: ["samlconnections"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["sso.stytch-operator.dev"]
  resources: ["samlconnections/status"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["secrets", "configmaps"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
