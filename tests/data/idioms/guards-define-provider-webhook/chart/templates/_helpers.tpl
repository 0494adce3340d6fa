{{/*
The provider's name: `provider` may be a string (the old form) or a mapping with `name`.
Shape from kubernetes-sigs/external-dns charts/external-dns/templates/_helpers.tpl.
*/}}
{{- define "provider-webhook.providerName" -}}
{{- if eq (typeOf .Values.provider) "string" }}
{{- .Values.provider }}
{{- else }}
{{- .Values.provider.name }}
{{- end }}
{{- end }}
