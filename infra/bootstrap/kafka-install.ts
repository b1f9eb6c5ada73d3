/**
 * Installing a Kafka release on a broker host, shared by the bootstrap (first boot) and
 * `tickstream broker reconfigure --kafka-version` (a running stack). Each version unpacks into its own folder,
 * /opt/kafka-<version>, verified against Apache's SHA-512 before anything uses it; /opt/kafka is a symlink to
 * the active one, replaced atomically (a new link renamed over the old). A running broker keeps the files it
 * opened, so fetching and activating change nothing until the broker restarts, one at a time.
 */
import { shellQuote } from "../../apps/shared/shell-quote.ts";

export const DEFAULT_KAFKA_MIRROR = "https://archive.apache.org/dist/kafka";
export const DEFAULT_SCALA_VERSION = "2.13";

/** Bash functions; they need ROOT, SCALA_VERSION, KAFKA_MIRROR, LOCAL_KAFKA_LIBS and log(). */
export const KAFKA_INSTALL_FUNCTIONS = String.raw`
# The version /opt/kafka points at ("" before the first install).
kafka_active_version() {
  cat "$ROOT/opt/kafka/.tickstream-version" 2> /dev/null || true
}

# Unpacks Kafka $1 into $ROOT/opt/kafka-$1, verified; nothing is done when it is there already.
fetch_kafka() {
  local version="$1" target staging
  target="$ROOT/opt/kafka-$version"
  if [ -f "$target/.tickstream-version" ]; then
    return 0
  fi
  mkdir -p "$ROOT/opt"
  staging="$(mktemp -d "$ROOT/opt/.kafka-$version.XXXXXX")"
  mkdir -p "$staging/libs"
  if [ -n "$LOCAL_KAFKA_LIBS" ]; then
    log "using the Kafka jars in $LOCAL_KAFKA_LIBS"
    cp "$LOCAL_KAFKA_LIBS"/*.jar "$staging/libs/"
  else
    local archive="kafka_$SCALA_VERSION-$version.tgz" url expected actual
    url="$KAFKA_MIRROR/$version/$archive"
    log "downloading $url"
    if ! curl -fsSL --retry 5 -o "$staging/$archive" "$url" ||
      ! curl -fsSL --retry 5 -o "$staging/$archive.sha512" "$url.sha512"; then
      rm -rf "$staging"
      log "cannot download Kafka $version from $KAFKA_MIRROR"
      return 1
    fi
    # Apache publishes "name: HEX HEX ..." over several lines; compare the digits alone.
    expected="$(cut -d: -f2- "$staging/$archive.sha512" | tr -d ' \n' | tr '[:upper:]' '[:lower:]')"
    actual="$(sha512sum "$staging/$archive" | cut -d' ' -f1)"
    if [ "$expected" != "$actual" ]; then
      rm -rf "$staging"
      log "checksum mismatch for $archive: expected $expected, got $actual"
      return 1
    fi
    tar -xzf "$staging/$archive" -C "$staging" --strip-components=1
    rm -f "$staging/$archive" "$staging/$archive.sha512"
  fi
  echo "$version" > "$staging/.tickstream-version"
  chmod 755 "$staging"
  rm -rf "$target"
  mv "$staging" "$target"
  log "Kafka $version unpacked in $target"
}

# Points $ROOT/opt/kafka at version $1, which fetch_kafka has unpacked.
activate_kafka() {
  local version="$1" link="$ROOT/opt/kafka"
  if [ ! -f "$ROOT/opt/kafka-$version/.tickstream-version" ]; then
    log "Kafka $version is not unpacked in $ROOT/opt/kafka-$version"
    return 1
  fi
  ln -sfn "kafka-$version" "$link.new"
  mv -T "$link.new" "$link"
  log "$link now points at Kafka $version"
}
`;

export interface KafkaInstallScriptOptions {
  /** The host's root ("" on a cloud host; a sandbox folder in tests). */
  readonly root: string;
  readonly mirror?: string;
  readonly scalaVersion?: string;
}

/** A script for ops: `bash kafka-install.sh fetch|activate VERSION` or `bash kafka-install.sh active`. */
export function renderKafkaInstallScript(options: KafkaInstallScriptOptions): string {
  const mirror = options.mirror ?? DEFAULT_KAFKA_MIRROR;
  if (!/^https?:\/\/[^\s'"]+$/.test(mirror))
    throw new Error(`kafka mirror "${mirror}" is not an http(s) URL`);
  return `#!/bin/bash
# Installs a Kafka release beside the active one; rendered by infra/bootstrap/kafka-install.ts.
set -euo pipefail
readonly ROOT=${shellQuote(options.root)}
readonly SCALA_VERSION=${shellQuote(options.scalaVersion ?? DEFAULT_SCALA_VERSION)}
readonly KAFKA_MIRROR=${shellQuote(mirror.replace(/\/+$/, ""))}
readonly LOCAL_KAFKA_LIBS=""
log() { printf '%s tickstream-kafka-install: %s\\n' "$(date -u +%FT%TZ)" "$*" >&2; }
${KAFKA_INSTALL_FUNCTIONS}
case "\${1:-}" in
  fetch) fetch_kafka "$2" ;;
  activate) activate_kafka "$2" ;;
  active) kafka_active_version ;;
  *)
    echo "usage: $0 fetch|activate VERSION | active" >&2
    exit 2
    ;;
esac
`;
}
