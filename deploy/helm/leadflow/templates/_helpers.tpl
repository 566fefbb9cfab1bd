{{/* Names, labels and the small pieces every template shares. */}}

{{- define "leadflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "leadflow.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "leadflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource name of one service's objects: <fullname>-<service>. Call with (list $ $svc). */}}
{{- define "leadflow.svcname" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "leadflow.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "leadflow.labels" -}}
helm.sh/chart: {{ include "leadflow.chart" . }}
app.kubernetes.io/name: {{ include "leadflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: leadflow
{{- end -}}

{{/* Labels of one service: (list $ $svc). */}}
{{- define "leadflow.svcLabels" -}}
{{- $root := index . 0 -}}
{{ include "leadflow.labels" $root }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "leadflow.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "leadflow.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "leadflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "leadflow.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image of one service: (list $ $svc $cfg). */}}
{{- define "leadflow.image" -}}
{{- $root := index . 0 -}}
{{- $svc := index . 1 -}}
{{- $cfg := index . 2 -}}
{{- $img := $root.Values.image -}}
{{- $repo := printf "%s%s" $img.repositoryPrefix $svc -}}
{{- if and $cfg.image $cfg.image.repository -}}{{- $repo = $cfg.image.repository -}}{{- end -}}
{{- $tag := default $root.Chart.AppVersion $img.tag -}}
{{- if and $cfg.image $cfg.image.tag -}}{{- $tag = $cfg.image.tag -}}{{- end -}}
{{- if $img.registry -}}
{{- printf "%s/%s:%s" $img.registry $repo $tag -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{- define "leadflow.secretName" -}}
{{- default (include "leadflow.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The Secret the migration hooks read (pre-install hooks run before ordinary resources). */}}
{{- define "leadflow.migrationSecretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- printf "%s-migrations" (include "leadflow.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "leadflow.strimziNamespace" -}}
{{- default .Release.Namespace .Values.kafka.strimzi.namespace -}}
{{- end -}}

{{/* Consumer group of a service: its LEADFLOW_CONSUMER_GROUP setting or the service name. */}}
{{- define "leadflow.consumerGroup" -}}
{{- $root := index . 0 -}}
{{- $svc := index . 1 -}}
{{- $cfg := index $root.Values.services $svc -}}
{{- $settings := merge (deepCopy (default dict $cfg.settings)) (deepCopy (default dict $root.Values.settings)) -}}
{{- default $svc (get $settings "consumer_group") -}}
{{- end -}}

{{/* The environment of one service's containers: (list $ $svc $cfg). */}}
{{- define "leadflow.env" -}}
{{- $root := index . 0 -}}
{{- $svc := index . 1 -}}
{{- $cfg := index . 2 -}}
- name: LEADFLOW_ENV
  value: {{ $root.Values.env | quote }}
- name: LEADFLOW_LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: LEADFLOW_KAFKA_BOOTSTRAP
  value: {{ required "kafka.bootstrap is required" $root.Values.kafka.bootstrap | quote }}
{{- include "leadflow.kafkaAuthEnv" (list $root $svc) }}
- name: LEADFLOW_HTTP_HOST
  value: "0.0.0.0"
- name: LEADFLOW_HTTP_PORT
  value: {{ $cfg.port | quote }}
- name: LEADFLOW_DATA_DIR
  value: /app/var
- name: LEADFLOW_MIGRATE_ON_START
  value: {{ ternary "false" "true" $root.Values.migrations.enabled | quote }}
- name: LEADFLOW_ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "leadflow.secretName" $root }}
      key: {{ $root.Values.secrets.adminTokenKey }}
- name: LEADFLOW_TOKEN_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "leadflow.secretName" $root }}
      key: {{ $root.Values.secrets.tokenSecretKey }}
- name: LEADFLOW_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "leadflow.secretName" $root }}
      key: {{ printf "%s%s" $root.Values.secrets.databaseUrlKeyPrefix $svc }}
{{- $settings := merge (deepCopy (default dict $cfg.settings)) (deepCopy (default dict $root.Values.settings)) }}
{{- range $key := keys $settings | sortAlpha }}
{{- $name := printf "LEADFLOW_%s" (upper $key) }}
{{- if has $name (list "LEADFLOW_ENV" "LEADFLOW_LOG_LEVEL" "LEADFLOW_KAFKA_BOOTSTRAP" "LEADFLOW_KAFKA_SASL_PASSWORD" "LEADFLOW_HTTP_HOST" "LEADFLOW_HTTP_PORT" "LEADFLOW_DATA_DIR" "LEADFLOW_MIGRATE_ON_START" "LEADFLOW_ADMIN_TOKEN" "LEADFLOW_TOKEN_SECRET" "LEADFLOW_DATABASE_URL") }}
{{- fail (printf "settings.%s is set by the chart itself; use its own value instead" $key) }}
{{- end }}
{{- $value := get $settings $key }}
{{- if and (kindIs "float64" $value) (eq $value (floor $value)) }}
{{- $value = int64 $value }}
{{- end }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Kafka credentials of the service's Strimzi KafkaUser (SCRAM-SHA-512): the User Operator
     writes the password into a Secret named after the user, key "password". */}}
{{- define "leadflow.kafkaAuthEnv" -}}
{{- $root := index . 0 -}}
{{- $svc := index . 1 -}}
{{- $users := $root.Values.kafka.strimzi.users -}}
{{- if $users.enabled }}
{{- if ne $users.authentication "scram-sha-512" }}
{{- fail "kafka.strimzi.users.authentication: the services authenticate with scram-sha-512 only" }}
{{- end }}
- name: LEADFLOW_KAFKA_SECURITY_PROTOCOL
  value: {{ $root.Values.kafka.securityProtocol | default "SASL_PLAINTEXT" | quote }}
- name: LEADFLOW_KAFKA_SASL_MECHANISM
  value: "SCRAM-SHA-512"
- name: LEADFLOW_KAFKA_SASL_USERNAME
  value: {{ include "leadflow.svcname" (list $root $svc) | quote }}
- name: LEADFLOW_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "leadflow.svcname" (list $root $svc) }}
      key: password
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by Deployments and Jobs. */}}
{{- define "leadflow.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "leadflow.volumes" -}}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
  - name: var
    emptyDir:
      sizeLimit: 256Mi
{{- end -}}

{{- define "leadflow.volumeMounts" -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  - name: var
    mountPath: /app/var
{{- end -}}

{{/* Secret data: one database URL per enabled service, checked against LEADFLOW_ENV=prod. */}}
{{- define "leadflow.databaseUrlData" -}}
{{- range $svc, $cfg := .Values.services }}
{{- if $cfg.enabled }}
{{- $url := required (printf "databaseUrls.%s is required (or set secrets.existingSecret)" $svc) (get $.Values.databaseUrls $svc) }}
{{- if and (eq $.Values.env "prod") (hasPrefix "sqlite" $url) }}
{{- fail (printf "databaseUrls.%s: prod refuses SQLite; use PostgreSQL" $svc) }}
{{- end }}
{{ printf "%s%s" $.Values.secrets.databaseUrlKeyPrefix $svc }}: {{ $url | b64enc | quote }}
{{- end }}
{{- end }}
{{- end -}}
