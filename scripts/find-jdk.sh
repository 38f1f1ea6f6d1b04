# Sourced by ./atrium and bench/run.sh: sets JAVA_HOME to a JDK 25 or newer, or exits with a clear message.
# Looks at JAVA_HOME, the java on the PATH, then the usual install directories.

atrium_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n 1
}

atrium_find_jdk() {
  local candidate major
  for candidate in "${JAVA_HOME:-}" \
      "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")" \
      /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* \
      /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    major="$(atrium_java_major "$candidate")"
    if [ -n "$major" ] && [ "${major%%.*}" -ge 25 ] 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if ! JAVA_HOME="$(atrium_find_jdk)"; then
  echo "atrium: a JDK 25 or newer is needed; install one (e.g. Temurin 25) or set JAVA_HOME to it" >&2
  exit 1
fi
export JAVA_HOME
