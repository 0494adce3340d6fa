{{/*
prometheus-blackbox-exporter's podSpec (templates/_helpers.tpl): one pod spec that
deployment.yaml and daemonset.yaml both include, the workload chosen by .Values.kind
(k8s-at-home's library chart does the same with common.controller.pod).
*/}}
{{- define "shared.podSpec" -}}
containers:
  - name: exporter
    image: {{ .Values.image }}
    livenessProbe:
    {{- toYaml .Values.livenessProbe | trim | nindent 6 }}
{{- end }}
