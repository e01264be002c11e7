{{- /* One charge (contract §4: charges), rendered after _common.tpl. The Kafka key is the
  charge id (context KEY); a message without a usable id has no key. */ -}}
{{- template "begin" -}}
{{- $now := now -}}
{{- set_v "id_field" "charge_id" -}}
{{- if lt (integer 0 1000) 5 -}}
{{- template "malformed" (printf "ch_%s" (regex "[0-9]{15}")) -}}
{{- else -}}
{{- /* The next slot of the current 10-second bucket: see "charge_profile". */ -}}
{{- $bucket := print (div64 $now 10000) -}}
{{- if eq (get_v "charge_bucket") $bucket -}}
{{- set_v "charge_slot" (print (add (atoi (get_v "charge_slot")) 1)) -}}
{{- else -}}
{{- set_v "charge_bucket" $bucket}}{{set_v "charge_slot" "0" -}}
{{- end -}}
{{- set_v "cp_bucket" $bucket}}{{set_v "cp_slot" (get_v "charge_slot") -}}
{{- template "charge_profile" -}}
{{- $id := get_v "cp_charge_id" -}}
{{- $status := get_v "cp_status" -}}
{
{{- if lt (integer 0 1000) 12}}{{template "null_like" "charge_id"}}
{{- else}}{{template "key" "charge_id"}}{{printf "%q" $id}}{{set_v "KEY" $id}}{{end -}}
{{- if lt (integer 0 1000) 12}}{{template "null_like" "customer_id"}}
{{- else}}{{template "key" "customer_id"}}{{printf "%q" (get_v "cp_customer_id")}}{{end -}}
{{- set_v "val" (get_v "cp_merchant_id")}}{{template "text" "merchant_id" -}}
{{- set_v "am_minor" (get_v "cp_amount_minor")}}{{set_v "am_exp" (get_v "cp_exp")}}{{set_v "am_zero_ok" "" -}}
{{- template "amount" -}}
{{- set_v "am_currency" (get_v "cp_currency")}}{{template "currency" -}}
{{- template "status" $status -}}
{{- template "provider" (get_v "cp_provider") -}}
{{- /* How the customer paid; wallets are cards underneath. */ -}}
{{- $pm := randoms "card|card|card|card|card|card|card|card|card|card|card|card|card|card|apple_pay|apple_pay|google_pay|sepa_debit|ach_debit|ideal|klarna" -}}
{{- set_v "val" $pm}}{{template "text" "payment_method" -}}
{{- if or (eq $pm "card") (eq $pm "apple_pay") (eq $pm "google_pay") -}}
{{- $brand := randoms "visa|visa|visa|visa|visa|mastercard|mastercard|mastercard|amex|discover|jcb|unionpay" -}}
{{- if lt (integer 0 100) 3}}{{$brand = randoms "Visa|VISA|MasterCard| amex"}}{{end -}}
{{- set_v "val" $brand}}{{template "text" "card_brand" -}}
{{- set_v "val" (printf "%04d" (integer 0 10000))}}{{template "text" "card_last4" -}}
{{- else -}}
{{- template "key" "card_brand"}}null{{template "key" "card_last4"}}null
{{- end -}}
{{- set_v "val" (get_v "cp_country")}}{{template "text" "country" -}}
{{- if eq $status "failed" -}}
{{- $failure := randoms "card_declined:Your card was declined.|insufficient_funds:Your card has insufficient funds.|expired_card:Your card has expired.|incorrect_cvc:Your card's security code is incorrect.|processing_error:An error occurred while processing your card. Try again in a little bit.|do_not_honor:The card issuer declined the payment (do not honor).|fraudulent:The payment was declined as suspected fraud." -}}
{{- $parts := split $failure ":" -}}
{{- template "key" "failure_code"}}{{printf "%q" (index $parts 0) -}}
{{- template "key" "failure_message"}}{{printf "%q" (index $parts 1) -}}
{{- else if lt (integer 0 100) 3 -}}
{{- template "null_like" "failure_code"}}{{template "null_like" "failure_message" -}}
{{- else -}}
{{- template "key" "failure_code"}}null{{template "key" "failure_message"}}null
{{- end -}}
{{- /* Most charges look safe; the score is missing where the provider gives none. */ -}}
{{- template "key" "risk_score" -}}
{{- $risk := integer 0 100 -}}
{{- if eq $status "failed"}}{{$risk = integer 30 100}}{{else if lt (integer 0 100) 85}}{{$risk = integer 0 40}}{{end -}}
{{- if lt (integer 0 100) 4}}null{{else}}{{$risk}}{{end -}}
{{- template "created_at" $now -}}
}
{{- end -}}
