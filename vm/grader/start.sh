# The grader's entrypoint (sh): its programs, written from the environment it was created with, then the
# listener through which another machine's checks reach this machine's grader instead of its sshd.
set -eu
d=/run/hardway-grader
mkdir -p "$d/bin" "$d/kube-cache" "$d/empty" "$d/stage/grader-usr" "$d/stage/machine-usr"
printf '%s' "$HARDWAY_GRADER_SETUP" > "$d/grade.pl"
printf '%s' "$HARDWAY_GRADER_RUN" > "$d/grade.sh"
printf '%s' "$HARDWAY_GRADER_SERVE" > "$d/serve.sh"
printf '%s' "$HARDWAY_GRADER_SSH" > "$d/bin/ssh"
chmod 755 "$d/bin/ssh"
(umask 077 && printf '%s' "$HARDWAY_GRADER_KEY" > "$d/key")
printf '%s' "$HARDWAY_GRADER_MACHINE" > "$d/machine"
# -t: a check may run for minutes after the request has been read
# (again if it ends: a learner may kill it, or hold the port for a while)
while :; do socat -t 330 TCP-LISTEN:10990,fork,reuseaddr EXEC:"bash $d/serve.sh"; sleep 1; done &
exec sleep infinity
