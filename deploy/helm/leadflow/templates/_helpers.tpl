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
{{- $ref := printf "%s:%s" $repo $tag -}}
{{- if and $cfg.image $cfg.image.digest -}}{{- $ref = printf "%s@%s" $repo $cfg.image.digest -}}{{- end -}}
{{- if $img.registry -}}
{{- printf "%s/%s" $img.registry $ref -}}
{{- else -}}
{{- $ref -}}
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

{{/* Merged settings of one service: (list $ $svc). */}}
{{- define "leadflow.settings" -}}
{{- $root := index . 0 -}}
{{- $cfg := index $root.Values.services (index . 1) -}}
{{- toYaml (merge (deepCopy (default dict $cfg.settings)) (deepCopy (default dict $root.Values.settings))) -}}
{{- end -}}

{{/* LEADFLOW_DATABASE_POOLER of one service: (list $ $svc); its own value, else the chart's. */}}
{{- define "leadflow.databasePooler" -}}
{{- $root := index . 0 -}}
{{- $cfg := index $root.Values.services (index . 1) -}}
{{- default (default "none" $root.Values.databasePooler) $cfg.databasePooler -}}
{{- end -}}

{{/* Every required value that is missing, named in one message (called by each template
     that could fail first). */}}
{{- define "leadflow.checkRequired" -}}
{{- $missing := list }}
{{- if not .Values.kafka.bootstrap }}{{- $missing = append $missing "kafka.bootstrap" }}{{- end }}
{{- if not .Values.secrets.existingSecret }}
{{- if not .Values.secrets.adminToken }}{{- $missing = append $missing "secrets.adminToken" }}{{- end }}
{{- if not .Values.secrets.tokenSecret }}{{- $missing = append $missing "secrets.tokenSecret" }}{{- end }}
{{- if not .Values.secrets.secretsKey }}{{- $missing = append $missing "secrets.secretsKey" }}{{- end }}
{{- range $svc, $cfg := .Values.services }}
{{- if and $cfg.enabled (not (get $.Values.databaseUrls $svc)) }}
{{- $missing = append $missing (printf "databaseUrls.%s" $svc) }}
{{- end }}
{{- if and $cfg.enabled (ne (include "leadflow.databasePooler" (list $ $svc)) "none") (not (get $.Values.relayDatabaseUrls $svc)) }}
{{- $missing = append $missing (printf "relayDatabaseUrls.%s" $svc) }}
{{- end }}
{{- end }}
{{- end }}
{{- if $missing }}
{{- fail (printf "missing required values: %s (the secrets and URLs may come from secrets.existingSecret instead)" (join ", " $missing)) }}
{{- end }}
{{- end -}}

{{/* The Kafka security protocol: kafka.securityProtocol, or derived from TLS and SASL. */}}
{{- define "leadflow.kafkaProtocol" -}}
{{- $k := .Values.kafka -}}
{{- if $k.securityProtocol -}}
{{- $k.securityProtocol -}}
{{- else -}}
{{- $sasl := or (and $k.strimzi.users.enabled (eq $k.strimzi.users.authentication "scram-sha-512")) (and (not $k.strimzi.users.enabled) $k.sasl.username) -}}
{{- if $sasl -}}{{- ternary "SASL_SSL" "SASL_PLAINTEXT" (and $k.tls.enabled true) -}}
{{- else -}}{{- ternary "SSL" "PLAINTEXT" (and $k.tls.enabled true) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Refuse Kafka settings that cannot work (called once, from deployment.yaml). */}}
{{- define "leadflow.checkKafka" -}}
{{- $k := .Values.kafka -}}
{{- $proto := include "leadflow.kafkaProtocol" . -}}
{{- if not (has $proto (list "PLAINTEXT" "SSL" "SASL_PLAINTEXT" "SASL_SSL")) }}
{{- fail (printf "kafka.securityProtocol %q: one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL" $proto) }}
{{- end }}
{{- if $k.strimzi.users.enabled }}
{{- if not (has $k.strimzi.users.authentication (list "scram-sha-512" "tls")) }}
{{- fail (printf "kafka.strimzi.users.authentication %q: scram-sha-512 or tls" $k.strimzi.users.authentication) }}
{{- end }}
{{- if and (eq $k.strimzi.users.authentication "tls") (ne $proto "SSL") }}
{{- fail "kafka.strimzi.users.authentication=tls needs kafka.tls.enabled (security protocol SSL)" }}
{{- end }}
{{- if and (eq $k.strimzi.users.authentication "scram-sha-512") (not (hasPrefix "SASL_" $proto)) }}
{{- fail "kafka.strimzi.users.authentication=scram-sha-512 needs a SASL_* kafka.securityProtocol" }}
{{- end }}
{{- if $k.sasl.username }}
{{- fail "kafka.sasl.username: with kafka.strimzi.users each service logs in as its own KafkaUser; leave kafka.sasl empty" }}
{{- end }}
{{- if and (ne (include "leadflow.strimziNamespace" .) .Release.Namespace) (not $k.strimzi.users.secretsCopiedToReleaseNamespace) }}
{{- fail (printf "kafka.strimzi.users: the User Operator writes the KafkaUser Secrets in %s, but the pods read Secrets of %s only. Copy them (e.g. kubernetes-reflector with kafka.strimzi.users.secretTemplate annotations) and set kafka.strimzi.users.secretsCopiedToReleaseNamespace=true, or run the KafkaUsers in the release namespace (kafka.strimzi.namespace empty) with a User Operator watching it" (include "leadflow.strimziNamespace" .) .Release.Namespace) }}
{{- end }}
{{- else if hasPrefix "SASL_" $proto }}
{{- if not (and $k.sasl.username $k.sasl.existingSecret) }}
{{- fail (printf "kafka.securityProtocol %s needs kafka.sasl.username and kafka.sasl.existingSecret (or kafka.strimzi.users.enabled)" $proto) }}
{{- end }}
{{- end }}
{{- if and (hasSuffix "SSL" $proto) (not $k.tls.enabled) }}
{{- fail (printf "kafka.securityProtocol %s needs kafka.tls.enabled (and kafka.tls.caSecret unless the system CAs trust the brokers)" $proto) }}
{{- end }}
{{- if and (eq .Values.env "prod") (not .Values.allowPlaintext) }}
{{- if ne $proto "SASL_SSL" }}
{{- if not (and (eq $proto "SSL") (include "leadflow.mtlsSecret" (list . "any"))) }}
{{- fail (printf "kafka: prod refuses %s; use TLS with SASL (kafka.tls.enabled + Strimzi scram users or kafka.sasl) or mTLS (Strimzi users with authentication=tls, or kafka.tls.clientSecret), or set allowPlaintext=true behind a service mesh" $proto) }}
{{- end }}
{{- end }}
{{- end }}
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
{{- include "leadflow.kafkaEnv" (list $root $svc) }}
- name: LEADFLOW_HTTP_HOST
  value: "0.0.0.0"
- name: LEADFLOW_HTTP_PORT
  value: {{ $cfg.port | quote }}
- name: LEADFLOW_DATA_DIR
  value: /app/var
- name: LEADFLOW_MIGRATE_ON_START
  value: {{ ternary "false" "true" $root.Values.migrations.enabled | quote }}
{{- if $root.Values.allowPlaintext }}
- name: LEADFLOW_ALLOW_PLAINTEXT
  value: "true"
{{- end }}
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
- name: LEADFLOW_SECRETS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "leadflow.secretName" $root }}
      key: {{ $root.Values.secrets.secretsKeyKey }}
- name: LEADFLOW_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "leadflow.secretName" $root }}
      key: {{ printf "%s%s" $root.Values.secrets.databaseUrlKeyPrefix $svc }}
{{- $pooler := include "leadflow.databasePooler" (list $root $svc) }}
{{- if ne $pooler "none" }}
- name: LEADFLOW_DATABASE_POOLER
  value: {{ $pooler | quote }}
{{- end }}
{{- if or (ne $pooler "none") (get $root.Values.relayDatabaseUrls $svc) }}
- name: LEADFLOW_RELAY_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "leadflow.secretName" $root }}
      key: {{ printf "%s%s" $root.Values.secrets.relayDatabaseUrlKeyPrefix $svc }}
{{- end }}
{{- $settings := include "leadflow.settings" (list $root $svc) | fromYaml }}
{{- range $key := keys $settings | sortAlpha }}
{{- $name := printf "LEADFLOW_%s" (upper $key) }}
{{- if or (has $name (list "LEADFLOW_ENV" "LEADFLOW_LOG_LEVEL" "LEADFLOW_HTTP_HOST" "LEADFLOW_HTTP_PORT" "LEADFLOW_DATA_DIR" "LEADFLOW_MIGRATE_ON_START" "LEADFLOW_ADMIN_TOKEN" "LEADFLOW_TOKEN_SECRET" "LEADFLOW_SECRETS_KEY" "LEADFLOW_DATABASE_URL" "LEADFLOW_DATABASE_POOLER" "LEADFLOW_RELAY_DATABASE_URL" "LEADFLOW_ALLOW_PLAINTEXT")) (hasPrefix "LEADFLOW_KAFKA_" $name) }}
{{- fail (printf "settings.%s is set by the chart itself (kafka.*, secrets.*, allowPlaintext, databasePooler, relayDatabaseUrls…), or not supported by it (kafka_topic_prefix: the KafkaTopics and ACLs name the contract's topics)" $key) }}
{{- end }}
{{- $value := get $settings $key }}
{{- if and (kindIs "float64" $value) (eq $value (floor $value)) }}
{{- $value = int64 $value }}
{{- end }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- $ing := index (default dict $root.Values.ingress.services) $svc }}
{{- if and (eq $svc "marketing-intake") $root.Values.ingress.enabled $ing $ing.host (not (hasKey $settings "public_url")) }}
{{- /* Form URLs and the embed snippet name the address browsers use, never the Host header. */}}
- name: LEADFLOW_PUBLIC_URL
  value: {{ printf "%s://%s" (ternary "https" "http" (not (empty $ing.tlsSecret))) $ing.host | quote }}
{{- end }}
{{- with $root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with $cfg.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Where the Kafka CA bundle and a user's certificate are mounted. */}}
{{- define "leadflow.kafkaCaDir" -}}/etc/leadflow/kafka-ca{{- end -}}
{{- define "leadflow.kafkaUserDir" -}}/etc/leadflow/kafka-user{{- end -}}

{{/* Kafka connection and credentials of a workload: (list $ $user). $user is the Strimzi
     KafkaUser whose Secret holds the login (User Operator: key "password" for SCRAM,
     "user.crt"/"user.key" for tls); without Strimzi users, kafka.sasl. */}}
{{- define "leadflow.kafkaEnv" -}}
{{- $root := index . 0 -}}
{{- $user := include "leadflow.svcname" (list $root (index . 1)) -}}
{{- $k := $root.Values.kafka -}}
{{- $proto := include "leadflow.kafkaProtocol" $root }}
- name: LEADFLOW_KAFKA_BOOTSTRAP
  value: {{ $k.bootstrap | quote }}
- name: LEADFLOW_KAFKA_SECURITY_PROTOCOL
  value: {{ $proto | quote }}
{{- if and $k.tls.enabled $k.tls.caSecret }}
- name: LEADFLOW_KAFKA_SSL_CAFILE
  value: {{ printf "%s/%s" (include "leadflow.kafkaCaDir" $root) $k.tls.caKey | quote }}
{{- end }}
{{- if include "leadflow.mtlsSecret" (list $root (index . 1)) }}
- name: LEADFLOW_KAFKA_SSL_CERTFILE
  value: {{ printf "%s/user.crt" (include "leadflow.kafkaUserDir" $root) | quote }}
- name: LEADFLOW_KAFKA_SSL_KEYFILE
  value: {{ printf "%s/user.key" (include "leadflow.kafkaUserDir" $root) | quote }}
{{- end }}
{{- if $k.strimzi.users.enabled }}
{{- if ne $k.strimzi.users.authentication "tls" }}
- name: LEADFLOW_KAFKA_SASL_MECHANISM
  value: "SCRAM-SHA-512"
- name: LEADFLOW_KAFKA_SASL_USERNAME
  value: {{ $user | quote }}
- name: LEADFLOW_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $user }}
      key: password
{{- end }}
{{- else if hasPrefix "SASL_" $proto }}
- name: LEADFLOW_KAFKA_SASL_MECHANISM
  value: {{ $k.sasl.mechanism | quote }}
- name: LEADFLOW_KAFKA_SASL_USERNAME
  value: {{ $k.sasl.username | quote }}
- name: LEADFLOW_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $k.sasl.existingSecret }}
      key: {{ $k.sasl.passwordKey }}
{{- end }}
{{- end -}}

{{/* The hook Jobs' deadlines fit in helm's --timeout: (list $ $what $seconds). */}}
{{- define "leadflow.checkDeadline" -}}
{{- $root := index . 0 -}}
{{- if ge (int (index . 2)) (int $root.Values.helm.timeoutSeconds) }}
{{- fail (printf "%s.activeDeadlineSeconds (%d) must be below helm.timeoutSeconds (%d, helm's --timeout): helm would give up on the hook and fail the release while the Job still runs" (index . 1) (int (index . 2)) (int $root.Values.helm.timeoutSeconds)) }}
{{- end }}
{{- end -}}

{{/* Kafka TLS volumes of a workload: (list $ $svc). */}}
{{- define "leadflow.kafkaVolumes" -}}
{{- $root := index . 0 -}}
{{- $k := $root.Values.kafka -}}
{{- if and $k.tls.enabled $k.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ $k.tls.caSecret }}
    items: [{key: {{ $k.tls.caKey }}, path: {{ $k.tls.caKey }}}]
{{- end }}
{{- with include "leadflow.mtlsSecret" . }}
{{- $strimzi := $k.strimzi.users.enabled }}
- name: kafka-user
  secret:
    secretName: {{ . }}
    items:
      - {key: {{ ternary "user.crt" "tls.crt" $strimzi }}, path: user.crt}
      - {key: {{ ternary "user.key" "tls.key" $strimzi }}, path: user.key}
{{- end }}
{{- end -}}

{{/* The Secret with a workload's client certificate for mTLS, or "": its Strimzi KafkaUser's
     (user.crt/user.key) or kafka.tls.clientSecret (a kubernetes.io/tls Secret: tls.crt,
     tls.key). (list $ $svc) */}}
{{- define "leadflow.mtlsSecret" -}}
{{- $root := index . 0 -}}
{{- $k := $root.Values.kafka -}}
{{- if $k.strimzi.users.enabled -}}
{{- if eq $k.strimzi.users.authentication "tls" -}}{{- include "leadflow.svcname" (list $root (index . 1)) -}}{{- end -}}
{{- else if and $k.tls.enabled $k.tls.clientSecret -}}
{{- $k.tls.clientSecret -}}
{{- end -}}
{{- end -}}

{{- define "leadflow.kafkaVolumeMounts" -}}
{{- $root := . -}}
{{- $k := $root.Values.kafka -}}
{{- if and $k.tls.enabled $k.tls.caSecret }}
- name: kafka-ca
  mountPath: {{ include "leadflow.kafkaCaDir" $root }}
  readOnly: true
{{- end }}
{{- if include "leadflow.mtlsSecret" (list $root "any") }}
- name: kafka-user
  mountPath: {{ include "leadflow.kafkaUserDir" $root }}
  readOnly: true
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
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* Scheduling of the hook Jobs and the test Pod: the global tolerations. */}}
{{- define "leadflow.jobScheduling" -}}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* volumes: the writable emptyDirs, Kafka TLS material of the workload's Kafka login
     ($svc; "" for a workload that does not talk to Kafka), extras. (list $ $svc $extra) */}}
{{- define "leadflow.volumes" -}}
{{- $root := index . 0 -}}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
  - name: var
    emptyDir:
      sizeLimit: 256Mi
  {{- if index . 1 }}
  {{- include "leadflow.kafkaVolumes" (list $root (index . 1)) | nindent 2 }}
  {{- end }}
  {{- with index . 2 }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* volumeMounts: (list $ $extra $kafka); $kafka false for a workload without Kafka. */}}
{{- define "leadflow.volumeMounts" -}}
{{- $root := index . 0 -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  - name: var
    mountPath: /app/var
  {{- if index . 2 }}
  {{- include "leadflow.kafkaVolumeMounts" $root | nindent 2 }}
  {{- end }}
  {{- with index . 1 }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* One database URL, checked as prod would: (list $ $svc $url). */}}
{{- define "leadflow.checkDatabaseUrl" -}}
{{- $root := index . 0 -}}
{{- $svc := index . 1 -}}
{{- $url := index . 2 -}}
{{- $label := printf "databaseUrls.%s" $svc -}}
{{- if gt (len .) 3 }}{{- $label = index . 3 -}}{{- end }}
{{- if eq $root.Values.env "prod" }}
{{- if hasPrefix "sqlite" $url }}
{{- fail (printf "%s: prod refuses SQLite; use PostgreSQL" $label) }}
{{- end }}
{{- $u := urlParse $url }}
{{- if not (contains ":" (default "" $u.userinfo)) }}
{{- fail (printf "%s has no password (postgresql+asyncpg://USER:PASSWORD@HOST/DB)" $label) }}
{{- end }}
{{- if not $root.Values.allowPlaintext }}
{{- $settings := include "leadflow.settings" (list $root $svc) | fromYaml }}
{{- $mode := "" }}
{{- range $pair := splitList "&" (default "" $u.query) }}
{{- $kv := splitList "=" $pair }}
{{- if and (eq (len $kv) 2) (has (first $kv) (list "ssl" "sslmode")) }}{{- $mode = last $kv }}{{- end }}
{{- end }}
{{- $mode = default $mode (get $settings "database_sslmode") }}
{{- if not (has $mode (list "require" "verify-ca" "verify-full")) }}
{{- fail (printf "%s: prod refuses PostgreSQL without TLS; add ?ssl=verify-full (or require, verify-ca), set settings.database_sslmode, or allowPlaintext=true behind a service mesh" $label) }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Secret data: one database URL per enabled service, checked against LEADFLOW_ENV=prod. */}}
{{- define "leadflow.databaseUrlData" -}}
{{- include "leadflow.checkRequired" . }}
{{- range $svc, $cfg := .Values.services }}
{{- if $cfg.enabled }}
{{- $url := get $.Values.databaseUrls $svc }}
{{- include "leadflow.checkDatabaseUrl" (list $ $svc $url) }}
{{ printf "%s%s" $.Values.secrets.databaseUrlKeyPrefix $svc }}: {{ $url | b64enc | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The chart's Secret's relay URLs (LEADFLOW_RELAY_DATABASE_URL), checked like databaseUrls. */}}
{{- define "leadflow.relayDatabaseUrlData" -}}
{{- range $svc, $cfg := .Values.services }}
{{- $url := get $.Values.relayDatabaseUrls $svc }}
{{- if and $cfg.enabled $url }}
{{- include "leadflow.checkDatabaseUrl" (list $ $svc $url (printf "relayDatabaseUrls.%s" $svc)) }}
{{ printf "%s%s" $.Values.secrets.relayDatabaseUrlKeyPrefix $svc }}: {{ $url | b64enc | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* spec.template of a KafkaUser: labels and annotations of the Secret Strimzi writes. */}}
{{- define "leadflow.kafkaUserSecretTemplate" -}}
{{- $t := .Values.kafka.strimzi.users.secretTemplate -}}
{{- if or $t.labels $t.annotations }}
template:
  secret:
    metadata:
      {{- with $t.labels }}
      labels:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $t.annotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
{{- end -}}

{{/* Egress every workload needs: DNS, then networkPolicy.egress.rules (Kafka, PostgreSQL). */}}
{{- define "leadflow.egressBase" -}}
- ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
{{- with .Values.networkPolicy.egress.rules }}
{{ toYaml . }}
{{- end }}
{{- end -}}
