{{- /* Shape from prometheus-community/helm-charts prometheus-blackbox-exporter: one pod
spec define for deployment.yaml and daemonset.yaml, ci/daemonset-values.yml picks the
DaemonSet. */}}
{{- define "app.podSpec" -}}
containers:
  - name: app
    image: {{ .Values.image }}
    livenessProbe:
      {{- toYaml .Values.livenessProbe | nindent 6 }}
{{- end }}
