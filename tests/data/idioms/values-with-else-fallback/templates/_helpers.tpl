{{/*
The `with A … else with B` fallback of grafana/helm-charts loki-distributed
(templates/_helpers.tpl, define "loki.ingester.readinessProbe"): the component's own probe
when it is set, else the chart-wide one. Inside each `with`, `.` is its values path.
*/}}
{{- define "fallback.ingester.readinessProbe" -}}
{{- with .Values.ingester.readinessProbe }}
readinessProbe:
  {{- toYaml . | nindent 2 }}
{{- else }}
{{- with .Values.app.readinessProbe }}
readinessProbe:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end -}}
