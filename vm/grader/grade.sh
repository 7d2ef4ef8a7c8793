# Runs one command as a check (bash, in the grader): every release binary linked into the checks' PATH
# folder, then grade.pl, which enters a copy of the machine's mount namespace and runs the command there.
d=/run/hardway-grader
for f in "$d"/releases/*/*; do
  [ -f "$f" ] && [ -x "$f" ] && [ ! -e "$d/bin/${f##*/}" ] && ln -s "$f" "$d/bin/" 2>/dev/null
done
exec perl "$d/grade.pl" "$@"
