{{/*
The deployment mode, lower-cased: not one values path (`lower`), so a guard on it is not
provable. Shape after rqlite/helm-charts (`$name := tpl (include "rqlite.fullname" $) $`).
*/}}
{{- define "unprovable-sidecar.mode" -}}
{{- .Values.mode | lower -}}
{{- end -}}
