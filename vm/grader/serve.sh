# Answers one request from a check on another of the lab's machines (bash, in this machine's grader, on
# the connection socat accepted): the request must carry the lab's mark and name this machine; the
# command then runs as a check here (grade.sh) and the answer goes back marked, so the asker knows it
# came from this grader and not from a listener of the learner's. The mark is SHA-256 over the lab's key,
# the message and the key again; the key never crosses the wire.
d=/run/hardway-grader
mark() { { cat "$d/key"; printf ':%s:' "$1"; cat "$d/key"; } | sha256sum | cut -d' ' -f1; }
read -r -t 10 nonce && read -r -t 10 machine && read -r -t 10 command && read -r -t 10 signed || exit 0
[ "$signed" = "$(mark "request:$nonce:$machine:$command")" ] && [ "$machine" = "$(cat "$d/machine")" ] || exit 0
tmp=$(mktemp -d) || exit 0
printf '%s' "$command" | base64 -d > "$tmp/command"
timeout --kill-after=5 300 bash "$d/grade.sh" bash -c "$(cat "$tmp/command")" > "$tmp/out" 2> "$tmp/err" < /dev/null
code=$?
out=$(base64 -w0 < "$tmp/out")
err=$(base64 -w0 < "$tmp/err")
rm -rf "$tmp"
printf '%s\n%s\n%s\n%s\n' "$out" "$err" "$code" "$(mark "answer:$nonce:$machine:$out:$err:$code")"
