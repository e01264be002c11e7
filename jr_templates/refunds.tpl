{{- /* One refund (contract §4: refunds), rendered after _common.tpl. It refunds a charge of
  the shared id space (see "pick_charge"), to the same customer, in the charge's currency,
  for all or part of its amount. The Kafka key is the refund id (context KEY). */ -}}
{{- template "begin" -}}
{{- $now := now -}}
{{- set_v "id_field" "refund_id" -}}
{{- $id := printf "re_%s" (regex "[A-Za-z0-9]{24}") -}}
{{- if lt (integer 0 1000) 5 -}}
{{- template "malformed" $id -}}
{{- else -}}
{{- set_v "charges_per_event" "4"}}{{template "pick_charge" -}}
{{- /* Most refunds are full; a partial one is 10-95% of the charge. */ -}}
{{- $minor := atoi (get_v "cp_amount_minor") -}}
{{- if lt (integer 0 100) 35 -}}
{{- $minor = maxint 1 (div (mul $minor (integer 10 96)) 100) -}}
{{- if eq (get_v "cp_exp") "0"}}{{$minor = mul (maxint 1 (div $minor 10)) 10}}{{end -}}
{{- end -}}
{
{{- if lt (integer 0 1000) 12}}{{template "null_like" "refund_id"}}
{{- else}}{{template "key" "refund_id"}}{{printf "%q" $id}}{{set_v "KEY" $id}}{{end -}}
{{- if lt (integer 0 1000) 14}}{{template "null_like" "charge_id"}}
{{- else}}{{template "key" "charge_id"}}{{printf "%q" (get_v "cp_charge_id")}}{{end -}}
{{- set_v "val" (get_v "cp_customer_id")}}{{template "text" "customer_id" -}}
{{- set_v "am_minor" (print $minor)}}{{set_v "am_exp" (get_v "cp_exp")}}{{set_v "am_zero_ok" "" -}}
{{- template "amount" -}}
{{- set_v "am_currency" (get_v "cp_currency")}}{{template "currency" -}}
{{- /* Stripe leaves the reason null when the merchant gives none. */ -}}
{{- template "key" "reason" -}}
{{- $reason := randoms "requested_by_customer|requested_by_customer|requested_by_customer|requested_by_customer|requested_by_customer|requested_by_customer|duplicate|duplicate|fraudulent|expired_uncaptured_charge" -}}
{{- $r := integer 0 100 -}}
{{- if lt $r 12}}null{{else if lt $r 14}}{{printf "%q" (upper $reason)}}{{else}}{{printf "%q" $reason}}{{end -}}
{{- $status := "succeeded" -}}
{{- $r = integer 0 100 -}}
{{- if ge $r 97}}{{$status = "requires_action"}}{{else if ge $r 95}}{{$status = "canceled"}}{{else if ge $r 92}}{{$status = "failed"}}{{else if ge $r 84}}{{$status = "pending"}}{{end -}}
{{- template "status" $status -}}
{{- template "provider" (get_v "cp_provider") -}}
{{- /* Refunds asked for through support carry the ticket. */ -}}
{{- if lt (integer 0 100) 40 -}}
{{- set_v "val" (printf "TCK-%06d" (integer 100000 1000000))}}{{template "text" "support_ticket_id" -}}
{{- else if lt (integer 0 100) 5}}{{template "null_like" "support_ticket_id" -}}
{{- else}}{{template "key" "support_ticket_id"}}null
{{- end -}}
{{- template "created_at" $now -}}
}
{{- end -}}
