{{/*
One container define shared by the chart's components, given the root context and the
component's values in a dict (the multi-component shape of grafana's tempo/loki charts:
`include "x.container" (dict "root" $ "component" .Values.web)`).
*/}}
{{- define "x.container" -}}
- name: {{ .name }}
  image: "{{ .root.Values.image.repository }}:{{ .root.Values.image.tag }}"
  {{- with .component.livenessProbe }}
  livenessProbe:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  readinessProbe: {{- toYaml .component.readinessProbe | nindent 4 }}
{{- end }}
