{{/* The app's pod spec, shared by its Deployment and (when kind is DaemonSet) DaemonSet. */}}
{{- define "inc.podSpec" -}}
containers:
{{- if .Values.sidecar.enabled }}
- name: sidecar
  image: busybox
  livenessProbe:
    exec:
      command: ["true"]
{{- end }}
- name: app
  image: {{ .Values.app.image }}
  livenessProbe:
    {{- toYaml .Values.app.livenessProbe | nindent 4 }}
  readinessProbe:
    httpGet:
      path: /ready
      port: 8080
{{- end }}

{{/* The worker's pod spec: its Deployment and its migration Job both include it. */}}
{{- define "inc.workerSpec" -}}
containers:
- name: worker
  image: busybox
  livenessProbe:
    {{- toYaml .Values.worker.livenessProbe | nindent 4 }}
{{- end }}

{{/* One line chooses the probe key: masked as one key patcher does not know. */}}
{{- define "inc.legacySpec" -}}
containers:
- name: legacy
  image: busybox
  {{ if .Values.legacy.probed -}} livenessProbe: {{- else -}} readinessProbe: {{- end }}
    {{- toYaml .Values.legacy.livenessProbe | nindent 4 }}
{{- end }}
