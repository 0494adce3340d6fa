{{/*
prometheus-community/helm-charts, prometheus-pushgateway's _helpers.tpl (shortened): the pod
spec is one define that deployment.yaml and statefulset.yaml include under guards that
exclude each other; the probe prints `omit .Values.liveness.probe "httpGet"` through a
variable after literal lines, in both branches of an `if` that tests what another define
prints (the name of an existing Secret, or nothing).
*/}}
{{- define "pg.existingSecretName" -}}
{{- $webConfiguration := .Values.webConfiguration | default dict -}}
{{- $existingSecret := get $webConfiguration "existingSecret" | default dict -}}
{{- get $existingSecret "name" | default "" -}}
{{- end -}}

{{- define "pg.podSpec" -}}
containers:
  - name: pushgateway
    image: {{ .Values.image }}
    {{- if .Values.liveness.enabled }}
    {{- $livenessCommon := omit .Values.liveness.probe "httpGet" }}
    livenessProbe:
    {{- if (include "pg.existingSecretName" $) }}
      tcpSocket:
        port: {{ .Values.liveness.probe.httpGet.port }}
      {{- toYaml $livenessCommon | nindent 6 }}
    {{- else }}
    {{- with .Values.liveness.probe }}
      httpGet:
        path: {{ .httpGet.path }}
        port: {{ .httpGet.port }}
        scheme: {{ .httpGet.scheme }}
        {{- toYaml $livenessCommon | nindent 6 }}
      {{- end }}
    {{- end }}
    {{- end }}
{{- end -}}
