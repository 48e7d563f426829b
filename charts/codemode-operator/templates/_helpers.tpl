{{- define "codemode-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "codemode-operator.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "codemode-operator.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "codemode-operator.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "codemode-operator.fullname" .) -}}
{{- end -}}

{{- /*
The rules the operator needs in every namespace it serves, derived from its code
(operator/codemode_operator/). Verbs, and why:
  codemode.io codemoderollouts         list, watch   kopf's watch that runs the reconcile timer (handlers.py)
  codemode.io codemoderollouts         patch         kopf's finalizer and progress annotations; removing the
                                                     codemode.io/request annotation (reconciling.py, ClearRequest)
  codemode.io codemoderollouts/status  patch         each tick's commit point (reconciling._commit)
  apps deployments                     list, watch   the kopf index `deployments`: v1/v2 readiness and revision
  apps deployments/scale               patch         the replicas router and the v1 scale-down (Kube.scale)
  gateway.networking.k8s.io httproutes list, watch   the kopf index `httproutes`
  gateway.networking.k8s.io httproutes patch         setting weights and pins: a patch guarded by the watched
                                                     copy's resourceVersion (GatewayAPIRouter._patch_observed)
  gateway.networking.k8s.io httproutes get, update   ... and when that copy is stale: read, then replace with the
                                                     resourceVersion (GatewayAPIRouter._update)
  batch jobs                           create, list  step gates (Kube.create_job, Kube.jobs)
  "" events                            create        the status' Events outbox (adapters/events.py), kopf.event()
                                                     for failed actions, and kopf's own handler events
  "" secrets (notifications.secretNames) get         the apprise URLs of spec.notifications.secretRef
                                                     (adapters/notifications.py), those names only
Never granted: delete, pods, configmaps, any other Secret; Deployments only through their scale
subresource.
API discovery (/apis, at start) is open to every authenticated user (system:discovery).
*/ -}}
{{- define "codemode-operator.rules" -}}
- apiGroups: [codemode.io]
  resources: [codemoderollouts]
  verbs: [list, watch, patch]
- apiGroups: [codemode.io]
  resources: [codemoderollouts/status]
  verbs: [patch]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [list, watch]
- apiGroups: [apps]
  resources: [deployments/scale]
  verbs: [patch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [list, watch, get, update, patch]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [create, list]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- with .Values.notifications.secretNames }}
- apiGroups: [""]
  resources: [secrets]
  resourceNames: {{ toJson . }}
  verbs: [get]
{{- end }}
{{- end -}}
