{{- /* One dispute (contract §4: disputes), rendered after _common.tpl. It disputes a charge
  of the shared id space (see "pick_charge"), by the same customer, in the charge's
  currency, nearly always for its whole amount. The Kafka key is the dispute id (context
  KEY). */ -}}
{{- template "begin" -}}
{{- $now := now -}}
{{- set_v "id_field" "dispute_id" -}}
{{- $id := printf "dp_%s" (regex "[A-Za-z0-9]{24}") -}}
{{- if lt (integer 0 1000) 5 -}}
{{- template "malformed" $id -}}
{{- else -}}
{{- set_v "charges_per_event" "10"}}{{template "pick_charge" -}}
{{- $minor := atoi (get_v "cp_amount_minor") -}}
{{- if lt (integer 0 100) 5}}{{$minor = maxint 1 (div (mul $minor (integer 20 90)) 100)}}{{end -}}
{
{{- if lt (integer 0 1000) 12}}{{template "null_like" "dispute_id"}}
{{- else}}{{template "key" "dispute_id"}}{{printf "%q" $id}}{{set_v "KEY" $id}}{{end -}}
{{- if lt (integer 0 1000) 14}}{{template "null_like" "charge_id"}}
{{- else}}{{template "key" "charge_id"}}{{printf "%q" (get_v "cp_charge_id")}}{{end -}}
{{- set_v "val" (get_v "cp_customer_id")}}{{template "text" "customer_id" -}}
{{- set_v "am_minor" (print $minor)}}{{set_v "am_exp" (get_v "cp_exp")}}{{set_v "am_zero_ok" "" -}}
{{- template "amount" -}}
{{- set_v "am_currency" (get_v "cp_currency")}}{{template "currency" -}}
{{- $reason := randoms "fraudulent|fraudulent|fraudulent|fraudulent|fraudulent|fraudulent|fraudulent|fraudulent|fraudulent|product_not_received|product_not_received|product_not_received|unrecognized|unrecognized|duplicate|subscription_canceled|product_unacceptable|credit_not_processed|general|general" -}}
{{- if lt (integer 0 100) 2}}{{$reason = title (replaceall $reason "_" " ")}}{{end -}}
{{- set_v "val" $reason}}{{template "text" "reason" -}}
{{- $status := randoms "needs_response|needs_response|needs_response|needs_response|needs_response|needs_response|needs_response|warning_needs_response|warning_needs_response|under_review|under_review|under_review|under_review|warning_under_review|won|won|won|lost|lost|lost|warning_closed" -}}
{{- template "status" $status -}}
{{- /* Evidence is due 7-21 days after the dispute opens; closed disputes have none. */ -}}
{{- if or (eq $status "won") (eq $status "lost") (eq $status "warning_closed") -}}
{{- template "key" "evidence_due_by"}}null
{{- else if lt (integer 0 1000) 5}}{{template "null_like" "evidence_due_by"}}
{{- else if lt (integer 0 1000) 5}}{{template "key" "evidence_due_by"}}{{template "bad_ts"}}
{{- else}}{{template "key" "evidence_due_by"}}{{template "ts" (add64 $now (mul64 86400000 (integer64 7 22)))}}
{{- end -}}
{{- template "provider" (get_v "cp_provider") -}}
{{- template "created_at" $now -}}
}
{{- end -}}
