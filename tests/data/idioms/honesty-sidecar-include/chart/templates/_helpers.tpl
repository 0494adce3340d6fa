{{- define "honesty.sidecars" -}}
- name: proxy
  image: envoyproxy/envoy:v1.30.0
  livenessProbe:
    httpGet:
      path: /ready
      port: 9901
    initialDelaySeconds: 5
{{- end }}
