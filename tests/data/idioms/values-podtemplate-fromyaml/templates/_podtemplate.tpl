{{/*
The pod template as a define of its own, printed through `fromYaml | toYaml` (which
normalises it) at `template:` (issue 22's `template: {{ include "x.podTemplate" . | fromYaml
| toYaml | nindent 4 }}`).
*/}}
{{- define "pt.podTemplate" -}}
metadata:
  labels:
    app: pt
spec:
  containers:
    - name: app
      image: busybox:1.36
      livenessProbe:
        {{- toYaml .Values.app.livenessProbe | nindent 8 }}
      readinessProbe:
        {{- toYaml .Values.app.readinessProbe | nindent 8 }}
{{- end }}
