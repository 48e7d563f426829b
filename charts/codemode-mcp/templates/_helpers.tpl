{{- define "codemode-mcp.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 60 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 60 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "codemode-mcp.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- /* Pods of one version: (dict "root" $ "version" "v1") */ -}}
{{- define "codemode-mcp.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
codemode.io/version: {{ .version }}
{{- end -}}

{{- /* The Host values the MCP server accepts: its Services by every name, with a port and
       without (a client of port 80 sends none), plus the values'. */ -}}
{{- define "codemode-mcp.allowedHosts" -}}
{{- $hosts := list -}}
{{- $ns := .Release.Namespace -}}
{{- $fullname := include "codemode-mcp.fullname" . -}}
{{- range list "v1" "v2" -}}
{{- $svc := printf "%s-%s" $fullname . -}}
{{- range $name := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- $hosts = concat $hosts (list $name (printf "%s:*" $name)) -}}
{{- end -}}
{{- end -}}
{{- concat $hosts .Values.allowedHosts | toJson -}}
{{- end -}}

{{- define "codemode-mcp.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{- /* The Secret holding the session keys, and the job store's URL. */ -}}
{{- define "codemode-mcp.sessionSecret" -}}
{{- .Values.sessions.existingSecret | default (printf "%s-sessions" (include "codemode-mcp.fullname" .)) -}}
{{- end -}}

{{- define "codemode-mcp.jobStoreUrl" -}}
{{- .Values.jobStore.url | default (printf "redis://%s-jobstore:6379/0" (include "codemode-mcp.fullname" .)) -}}
{{- end -}}
