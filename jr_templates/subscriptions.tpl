{{- /* One subscription (contract §4: subscriptions), rendered after _common.tpl: a customer
  of the shared customer space on a plan, priced in the customer's currency. Free trials
  cost 0, which is valid for subscriptions. The Kafka key is the subscription id (context
  KEY). */ -}}
{{- template "begin" -}}
{{- $now := now -}}
{{- set_v "id_field" "subscription_id" -}}
{{- $id := printf "sub_%s" (regex "[A-Za-z0-9]{24}") -}}
{{- if lt (integer 0 1000) 5 -}}
{{- template "malformed" $id -}}
{{- else -}}
{{- /* plan:billing interval:list price in US cents */ -}}
{{- $plan := split (randoms "plan_starter_monthly:month:900|plan_starter_monthly:month:900|plan_starter_monthly:month:900|plan_starter_yearly:year:9000|plan_pro_monthly:month:2900|plan_pro_monthly:month:2900|plan_pro_yearly:year:29000|plan_team_monthly:month:9900|plan_enterprise_yearly:year:499900|plan_meal_box_weekly:week:5900|plan_api_daily:day:300") ":" -}}
{{- set_v "mo_pick" (print (integer 0 1000))}}{{set_v "mo_pick2" (print (integer 0 1000))}}{{set_v "mo_usd" (index $plan 2)}}{{template "money" -}}
{{- $status := randoms "active|active|active|active|active|active|active|active|active|active|active|trialing|trialing|trialing|past_due|canceled|canceled|incomplete|incomplete_expired|unpaid|paused" -}}
{{- $minor := atoi (get_v "mo_minor") -}}
{{- /* Local list prices end in 99 (or 990, or 80 for currencies without decimals). */ -}}
{{- if ne (get_v "mo_currency") "USD" -}}
{{- $exp := get_v "mo_exp" -}}
{{- if eq $exp "2"}}{{$minor = sub (mul (add (div $minor 100) 1) 100) 1}}
{{- else if eq $exp "3"}}{{$minor = sub (mul (add (div $minor 1000) 1) 1000) 10}}
{{- else}}{{$minor = sub (mul (add (div $minor 100) 1) 100) 20}}{{end -}}
{{- end -}}
{{- $free := and (eq $status "trialing") (lt (integer 0 100) 60) -}}
{
{{- if lt (integer 0 1000) 12}}{{template "null_like" "subscription_id"}}
{{- else}}{{template "key" "subscription_id"}}{{printf "%q" $id}}{{set_v "KEY" $id}}{{end -}}
{{- if lt (integer 0 1000) 12}}{{template "null_like" "customer_id"}}
{{- else}}{{template "key" "customer_id"}}{{printf "%q" (printf "cus_%07d" (integer 0 5000))}}{{end -}}
{{- set_v "val" (index $plan 0)}}{{template "text" "plan_id" -}}
{{- template "status" $status -}}
{{- if $free}}{{template "key" "amount"}}{{randoms "0|0|0.00|\"0\""}}
{{- else}}{{set_v "am_minor" (print $minor)}}{{set_v "am_exp" (get_v "mo_exp")}}{{set_v "am_zero_ok" "1"}}{{template "amount"}}
{{- end -}}
{{- set_v "am_currency" (get_v "mo_currency")}}{{template "currency" -}}
{{- $interval := index $plan 1 -}}
{{- if lt (integer 0 100) 3}}{{$interval = randoms (printf "%s|%s|%sly" (title $interval) (upper $interval) $interval)}}{{end -}}
{{- set_v "val" $interval}}{{template "text" "billing_interval" -}}
{{- /* A 14-day trial: running now for trials, long over for a quarter of the others. */ -}}
{{- $day := mul64 86400000 1 -}}
{{- $start := sub64 $now (integer64 3600000 (mul64 13 $day)) -}}
{{- if ne $status "trialing"}}{{$start = sub64 $now (mul64 (integer64 15 400) $day)}}{{end -}}
{{- if or (eq $status "trialing") (lt (integer 0 100) 25) -}}
{{- template "key" "trial_start"}}{{template "ts" $start -}}
{{- template "key" "trial_end"}}{{template "ts" (add64 $start (mul64 14 $day)) -}}
{{- else if lt (integer 0 100) 3 -}}
{{- template "null_like" "trial_start"}}{{template "null_like" "trial_end" -}}
{{- else -}}
{{- template "key" "trial_start"}}null{{template "key" "trial_end"}}null
{{- end -}}
{{- /* promo code:discount percent */ -}}
{{- if lt (integer 0 100) 15 -}}
{{- $promo := split (randoms "WELCOME10:10|SPRING25:25|FRIENDS50:50|BLACKFRIDAY:30|LAUNCH2026:15|STUDENT:20") ":" -}}
{{- set_v "val" (index $promo 0)}}{{template "text" "promo_code" -}}
{{- template "key" "discount_pct"}}{{if lt (integer 0 100) 5}}"{{index $promo 1}}%"{{else}}{{index $promo 1}}{{end -}}
{{- else -}}
{{- template "key" "promo_code"}}null{{template "key" "discount_pct"}}{{randoms "null|null|null|0"}}
{{- end -}}
{{- template "provider" (randoms "stripe|stripe|stripe|stripe|stripe|stripe|stripe|stripe|stripe|stripe|braintree|braintree|braintree|braintree|adyen|adyen|adyen|paypal|paypal|square") -}}
{{- template "created_at" $now -}}
}
{{- end -}}
