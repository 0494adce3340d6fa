{{/*
"true" when KEDA scales the nodes, else "". Shape from SeleniumHQ/docker-selenium
charts/selenium-grid/templates/_helpers.tpl ("seleniumGrid.useKEDA").
*/}}
{{- define "ternary-keda.useKEDA" -}}
{{- or .Values.autoscaling.enabled .Values.autoscaling.enableWithExistingKEDA | ternary "true" "" -}}
{{- end -}}
