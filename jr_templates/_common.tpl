{{- /*
  Shared definitions of the JR event templates. JR has no include, so every event template
  is rendered as the text of this file followed by the event's own file, as one --embedded
  template (loadgen.jr.driver.template_text does it; by hand, see jr_templates/README.md).
  Nothing here prints unless it is called.

  Messages are JSON text written field by field. A field is printed as
  {{template "key" "name"}}<json value>, and "key" puts the comma before every field but the
  first, so any field can be left out (a missing key) without breaking the JSON.

  Timestamps are printed with format_timestamp, which uses the process's time zone: run JR
  with TZ=UTC.
*/ -}}

{{- /* Call first in every message: resets the field separator and the Kafka key. */ -}}
{{- define "begin" -}}
{{- set_v "sep" "" -}}{{- set_v "KEY" "" -}}
{{- end -}}

{{- /* Prints `"<dot>":`, preceded by a comma unless it is the message's first field. */ -}}
{{- define "key" -}}
{{- if get_v "sep"}},{{end}}{{set_v "sep" "1"}}{{printf "%q" .}}:
{{- end -}}

{{- /* The field named <dot> with a null-like value: every spelling contract §4 treats as
  null, JSON null, or (the empty choice) no key at all. */ -}}
{{- define "null_like" -}}
{{- $v := randoms `""|"null"|"NULL"|" None "|"nil"|"undefined"|"N/A"|"   "|null|` -}}
{{- if $v}}{{template "key" .}}{{$v}}{{end -}}
{{- end -}}

{{- /* A valid timestamp for the epoch millis <dot>, as JSON: every accepted form. */ -}}
{{- define "ts" -}}
{{- $r := integer 0 100 -}}
{{- if lt $r 40}}"{{format_timestamp . "2006-01-02T15:04:05.000Z"}}"
{{- else if lt $r 50}}"{{format_timestamp . "2006-01-02T15:04:05Z"}}"
{{- else if lt $r 65}}"{{format_timestamp . "2006-01-02 15:04:05"}}"
{{- else if lt $r 73}}"{{format_timestamp . "2006-01-02 15:04:05.000"}}"
{{- else if lt $r 80}}"{{format_timestamp (add64 . 19800000) "2006-01-02T15:04:05"}}+05:30"
{{- else if lt $r 82}}"{{format_timestamp (sub64 . 14400000) "2006-01-02T15:04:05.000"}}-04:00"
{{- else if lt $r 91}}{{div64 . 1000}}
{{- else}}{{.}}
{{- end -}}
{{- end -}}

{{- /* A timestamp nobody can parse. */ -}}
{{- define "bad_ts" -}}
{{- randoms `"yesterday"|"2026-13-45 99:99:99"|"22/11/2026 10:15"|"not a date"|"2026-02-30T25:61:00Z"|"1700000000000ms"` -}}
{{- end -}}

{{- /* Prints a major-unit decimal for "<minor>:<exponent>", e.g. "1250:2" -> 12.50. */ -}}
{{- define "major" -}}
{{- $p := split . ":" -}}{{- $minor := atoi (index $p 0) -}}{{- $exp := atoi (index $p 1) -}}
{{- if eq $exp 0}}{{$minor}}
{{- else if eq $exp 2}}{{div $minor 100}}.{{printf "%02d" (mod $minor 100)}}
{{- else}}{{div $minor 1000}}.{{printf "%03d" (mod $minor 1000)}}
{{- end -}}
{{- end -}}

{{- /* The "amount" field for the context values am_minor (minor units, > 0), am_exp (the
  currency's minor units) and am_zero_ok ("1" when 0 is a valid amount). Mostly a JSON
  number, sometimes a numeric string; now and then missing or wrong in every way contract
  §4 rejects: not a number, negative, zero, over 1,000,000, more decimals than the currency
  has. */ -}}
{{- define "amount" -}}
{{- $minor := atoi (get_v "am_minor") -}}{{- $exp := atoi (get_v "am_exp") -}}
{{- $good := printf "%d:%d" $minor $exp -}}
{{- $r := integer 0 1000 -}}
{{- if lt $r 8}}{{template "null_like" "amount"}}
{{- else}}{{template "key" "amount"}}
{{- if lt $r 15}}{{randoms `"12,50"|"$12.00"|"twelve"|"1.2.3"|"12 USD"|true|"--5"|"abc"`}}
{{- else if lt $r 21}}-{{template "major" $good}}
{{- else if lt $r 26}}{{if eq (get_v "am_zero_ok") "1"}}{{template "major" $good}}{{else}}{{randoms `0|0.00|"0"|"0.00"`}}{{end}}
{{- else if lt $r 31}}{{integer 1000001 90000000}}{{if gt $exp 0}}.{{printf "%0*d" $exp 0}}{{end}}
{{- else if lt $r 41}}{{if eq $exp 0}}{{$minor}}.{{integer 0 10}}{{integer 1 10}}{{else}}{{template "major" $good}}{{integer 0 10}}{{integer 1 10}}{{end}}
{{- else if lt $r 133}}"{{template "major" $good}}"
{{- else if and (eq $exp 0) (lt $r 153)}}{{$minor}}.00
{{- else}}{{template "major" $good}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* The "currency" field for the context value am_currency: mostly as is, sometimes
  lower-case or padded (valid once normalised), now and then missing or not a usable
  ISO 4217 code (no such code, a fund/metal/test code, a withdrawn one, a country). */ -}}
{{- define "currency" -}}
{{- $c := get_v "am_currency" -}}
{{- $r := integer 0 1000 -}}
{{- if lt $r 8}}{{template "null_like" "currency"}}
{{- else}}{{template "key" "currency"}}
{{- if lt $r 22}}{{randoms `"XXX"|"XTS"|"XAU"|"XDR"|"ABC"|"US"|"EURO"|"DEM"|"$"|"U$D"`}}
{{- else if lt $r 37}}{{printf "%q" (lower $c)}}
{{- else if lt $r 47}}{{printf "%q" (printf " %s " $c)}}
{{- else if lt $r 52}}{{printf "%q" (printf "%s%s" (substr 0 1 $c) (lower (substr 1 3 $c)))}}
{{- else}}{{printf "%q" $c}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* The "status" field for the valid status <dot>: sometimes upper-case or padded (valid
  once normalised), now and then missing or not a status of the event type. */ -}}
{{- define "status" -}}
{{- $r := integer 0 1000 -}}
{{- if lt $r 5}}{{template "null_like" "status"}}
{{- else}}{{template "key" "status"}}
{{- if lt $r 15}}{{randoms `"refunded?"|"success"|"complete"|"unknown"|"in_progress"|"ok"`}}
{{- else if lt $r 30}}{{printf "%q" (upper .)}}
{{- else if lt $r 42}}{{printf "%q" (printf "  %s " .)}}
{{- else}}{{printf "%q" .}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* The "created_at" field for the epoch millis <dot>. */ -}}
{{- define "created_at" -}}
{{- $r := integer 0 1000 -}}
{{- if lt $r 6}}{{template "null_like" "created_at"}}
{{- else}}{{template "key" "created_at"}}{{if lt $r 15}}{{template "bad_ts"}}{{else}}{{template "ts" .}}{{end}}
{{- end -}}
{{- end -}}

{{- /* The "provider" field for the provider <dot>: now and then capitalised or padded. */ -}}
{{- define "provider" -}}
{{- $r := integer 0 1000 -}}
{{- if lt $r 3}}{{template "null_like" "provider"}}
{{- else}}{{template "key" "provider"}}
{{- if lt $r 20}}{{printf "%q" (printf " %s" (title .))}}
{{- else}}{{printf "%q" .}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* The text field named <dot> with the value of context "val"; null-like 0.5% of the time. */ -}}
{{- define "text" -}}
{{- if lt (integer 0 1000) 5}}{{template "null_like" .}}
{{- else}}{{template "key" .}}{{printf "%q" (get_v "val")}}
{{- end -}}
{{- end -}}

{{- /* Money: a currency chosen by context mo_pick (0-999, by the currencies' shares of
  volume) and a country of it by mo_pick2, and the price mo_usd (US cents) in that
  currency's minor units, kept under 1,000,000 major units. Returns context mo_currency,
  mo_exp (its minor units), mo_minor and mo_country.
  Table rows: currency:minor units:countries:how many:units per 1000 USD:cumulative share. */ -}}
{{- define "money" -}}
{{- $pick := atoi (get_v "mo_pick") -}}
{{- $ccy := "USD" -}}{{- $exp := 2 -}}{{- $countries := "US" -}}{{- $ncountries := 1 -}}{{- $rate := 1000 -}}
{{- range (split "USD:2:US:1:1000:380|EUR:2:DE,FR,NL,IE,ES,IT,AT,BE:8:920:550|GBP:2:GB:1:790:625|CAD:2:CA:1:1360:670|AUD:2:AU:1:1530:705|JPY:0:JP:1:150000:765|KRW:0:KR:1:1350000:795|INR:2:IN:1:83000:825|BRL:2:BR:1:5000:850|MXN:2:MX:1:17000:870|SGD:2:SG:1:1340:890|CHF:2:CH:1:880:910|SEK:2:SE:1:10500:925|PLN:2:PL:1:4000:940|BHD:3:BH:1:377:955|KWD:3:KW:1:307:970|OMR:3:OM:1:385:978|NAD:2:NA:1:18500:990|ZAR:2:ZA,NA:2:18500:1000" "|") -}}
{{- $f := split . ":" -}}
{{- if lt $pick (atoi (index $f 5)) -}}
{{- $ccy = index $f 0}}{{$exp = atoi (index $f 1)}}{{$countries = index $f 2}}{{$ncountries = atoi (index $f 3)}}{{$rate = atoi (index $f 4)}}{{break -}}
{{- end -}}
{{- end -}}
{{- $pow := atoi (index (split "1|10|100|1000" "|") $exp) -}}
{{- $minor := div (mul (mul (atoi (get_v "mo_usd")) $rate) $pow) 100000 -}}
{{- if eq $exp 0}}{{$minor = mul (div $minor 10) 10}}{{end -}}
{{- $cap := mul 1000000 $pow -}}
{{- if ge $minor $cap}}{{$minor = add (mod $minor (div $cap 2)) (div $cap 4)}}{{end -}}
{{- if lt $minor 1}}{{$minor = 10}}{{end -}}
{{- set_v "mo_currency" $ccy}}{{set_v "mo_exp" (print $exp)}}{{set_v "mo_minor" (print $minor) -}}
{{- set_v "mo_country" (index (split $countries ",") (mod (atoi (get_v "mo_pick2")) $ncountries)) -}}
{{- end -}}

{{- /*
  The charge id space, shared by charges, refunds and disputes. A charge id is
  ch_<bucket><slot>: <bucket> (9 digits) is the charge's creation time in 10-second buckets
  (epoch millis / 10000), <slot> (6 digits) its rank among the charges the generator made in
  that bucket (0, 1, 2, ...). So the ids are unique (one charges generator at a time, under
  1,000,000 charges per bucket), and a refund or dispute made later can name a charge that
  exists without seeing the charges: any bucket the charges generator ran through has its
  low slots. Everything else about a charge that refunds and disputes repeat (customer,
  merchant, currency, amount, status, provider, country) is a function of the id, computed
  here from context cp_bucket and cp_slot, and returned in context cp_*.
*/ -}}
{{- define "charge_profile" -}}
{{- $b := atoi (get_v "cp_bucket") -}}{{- $s := atoi (get_v "cp_slot") -}}
{{- /* A few pseudo-random numbers from the id: x -> (x * x + c) mod (2^31 - 1), which
  stays within int64 and, unlike a linear step, does not keep neighbouring ids in step. */ -}}
{{- $h0 := add (mod (add (mul (mod $b 1000003) 7919) (mul $s 104729)) 2147483646) 1 -}}
{{- $h1 := mod (add (mul $h0 $h0) 1013904223) 2147483647 -}}
{{- $h2 := mod (add (mul $h1 $h1) 1013904223) 2147483647 -}}
{{- $h3 := mod (add (mul $h2 $h2) 1013904223) 2147483647 -}}
{{- $h4 := mod (add (mul $h3 $h3) 1013904223) 2147483647 -}}
{{- $h5 := mod (add (mul $h4 $h4) 1013904223) 2147483647 -}}
{{- $h6 := mod (add (mul $h5 $h5) 1013904223) 2147483647 -}}
{{- $h7 := mod (add (mul $h6 $h6) 1013904223) 2147483647 -}}
{{- $h8 := mod (add (mul $h7 $h7) 1013904223) 2147483647 -}}
{{- set_v "cp_charge_id" (printf "ch_%09d%06d" $b $s) -}}
{{- set_v "cp_customer_id" (printf "cus_%07d" (mod $h1 5000)) -}}
{{- /* A few big merchants take most of the volume. */ -}}
{{- $m := mod $h2 1000 -}}
{{- if lt $m 450}}{{set_v "cp_merchant_id" (printf "acct_%06d" (mod $h3 5))}}
{{- else if lt $m 750}}{{set_v "cp_merchant_id" (printf "acct_%06d" (mod $h3 40))}}
{{- else}}{{set_v "cp_merchant_id" (printf "acct_%06d" (mod $h3 400))}}{{end -}}
{{- set_v "mo_pick" (print (mod $h4 1000))}}{{set_v "mo_pick2" (print $h5) -}}
{{- /* The price in US cents, long-tailed. */ -}}
{{- $t := mod $h6 1000 -}}
{{- $usd := add 50 (mod $h7 4950) -}}
{{- if ge $t 975}}{{$usd = add 200000 (mod $h7 1800000)}}
{{- else if ge $t 850}}{{$usd = add 30000 (mod $h7 170000)}}
{{- else if ge $t 450}}{{$usd = add 5000 (mod $h7 25000)}}{{end -}}
{{- set_v "mo_usd" (print $usd)}}{{template "money" -}}
{{- set_v "cp_currency" (get_v "mo_currency")}}{{set_v "cp_exp" (get_v "mo_exp") -}}
{{- set_v "cp_amount_minor" (get_v "mo_minor")}}{{set_v "cp_country" (get_v "mo_country") -}}
{{- $st := mod $h8 1000 -}}
{{- if lt $st 880}}{{set_v "cp_status" "succeeded"}}{{else if lt $st 930}}{{set_v "cp_status" "pending"}}{{else}}{{set_v "cp_status" "failed"}}{{end -}}
{{- $pv := mod (div $h8 1000) 1000 -}}
{{- range (split "stripe:450|adyen:650|braintree:770|square:870|checkout:950|paypal:1000" "|") -}}
{{- $f := split . ":" -}}
{{- if lt $pv (atoi (index $f 1))}}{{set_v "cp_provider" (index $f 0)}}{{break}}{{end -}}
{{- end -}}
{{- end -}}

{{- /*
  Picks a charge for a refund or dispute and computes its profile (context cp_*): a
  succeeded charge that the charges generator made, when it runs beside this generator
  (loadgen.jr starts them together). A refund or dispute comes 10 s to 5 min after its
  charge: a bucket among the last 30, but none before the bucket this generator started
  in (context "t0"), whose charges may have been made before the charges generator ran.
  In the current bucket only slot 0 is taken; in a past one only the slots the charges
  generator surely reached: this generator's own count in such a bucket (the first, or
  the last full one) times context "charges_per_event" (the ratio of the default rates: 4
  for refunds, 10 for disputes), halved for safety.
*/ -}}
{{- define "pick_charge" -}}
{{- $cur := atoi (print (div64 now 10000)) -}}
{{- if not (get_v "t0")}}{{set_v "t0" (print $cur)}}{{set_v "count_bucket" (print $cur)}}{{end -}}
{{- $t0 := atoi (get_v "t0") -}}
{{- if ne (get_v "count_bucket") (print $cur) -}}
{{- if eq (get_v "count_bucket") (print $t0)}}{{set_v "first_count" (get_v "count")}}
{{- else}}{{set_v "full_count" (get_v "count")}}{{end -}}
{{- set_v "count_bucket" (print $cur)}}{{set_v "count" "0" -}}
{{- end -}}
{{- set_v "count" (print (add (atoi (get_v "count")) 1)) -}}
{{- $ref := $cur -}}{{- $count := 0 -}}
{{- if gt $cur $t0 -}}
{{- $ref = integer (maxint $t0 (sub $cur 30)) $cur -}}
{{- if eq $ref $t0}}{{$count = atoi (get_v "first_count")}}{{else}}{{$count = atoi (get_v "full_count")}}{{end -}}
{{- end -}}
{{- $slots := maxint 1 (div (mul $count (atoi (get_v "charges_per_event"))) 2) -}}
{{- $first := integer 0 $slots -}}
{{- set_v "cp_bucket" (print $ref) -}}
{{- range $i, $_ := array (minint $slots 5) -}}
{{- set_v "cp_slot" (print (mod (add $first $i) $slots)) -}}
{{- template "charge_profile" -}}
{{- if eq (get_v "cp_status") "succeeded"}}{{break}}{{end -}}
{{- end -}}
{{- end -}}

{{- /* Not JSON, or not a JSON object: cut-off JSON, plain text, an array, a Python dict.
  <dot> is the event's id and context "id_field" its name, so they look like what they
  replace. */ -}}
{{- define "malformed" -}}
{{- $k := printf "%q" (get_v "id_field") -}}
{{- $r := integer 0 6 -}}
{{- if eq $r 0}}{ {{- $k}}:{{printf "%q" .}},"amount":12.5,"curr
{{- else if eq $r 1}}{ {{- $k}}:{{printf "%q" .}},"created_at":"2026-
{{- else if eq $r 2}}upstream timeout after 30000ms ({{.}})
{{- else if eq $r 3}}<html><body><h1>502 Bad Gateway</h1></body></html>
{{- else if eq $r 4}}[{ {{- $k}}:{{printf "%q" .}}}]
{{- else}}{'{{get_v "id_field"}}': '{{.}}', 'amount': 12.5, 'currency': None}
{{- end -}}
{{- end -}}
