#!/usr/bin/env bash
# Re-pins the base images of deploy/Dockerfile to the current digest of
# their tags: for each `FROM <image>:<tag>@sha256:<digest>` line, asks the
# registry for the tag's multi-platform index digest, checks that the index
# carries both linux/amd64 and linux/arm64 (the two CpuArchitecture values
# of runner.yaml), and rewrites the line. Review and commit the diff like
# any dependency update; the build then fetches exactly those bytes.
#
#   scripts/pin-base-images.sh          # rewrite deploy/Dockerfile
#   scripts/pin-base-images.sh --check  # exit 1 if a pin is not current
#
# Needs `docker buildx` (Docker Desktop, or Docker Engine with the buildx
# plugin) and network access to Docker Hub and gcr.io.
set -euo pipefail
cd "$(dirname "$0")/.."

dockerfile=deploy/Dockerfile
check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

if ! docker buildx version >/dev/null 2>&1; then
  echo "docker buildx is needed to ask the registries for digests" >&2
  exit 1
fi

stale=0
while read -r image; do
  name=${image%%@*}            # rust:1.95-bookworm
  pinned=${image#*@}           # sha256:...
  [ "$pinned" = "$image" ] && pinned=""
  raw=$(docker buildx imagetools inspect "$name")
  current=$(docker buildx imagetools inspect "$name" --format '{{.Manifest.Digest}}')
  for platform in linux/amd64 linux/arm64; do
    # arm64 images are listed as linux/arm64/v8.
    if ! grep -Eq "Platform: +$platform(/v8)?\$" <<<"$raw"; then
      echo "$name has no $platform image: the Dockerfile would not build for CpuArchitecture=$([ $platform = linux/amd64 ] && echo X86_64 || echo ARM64)" >&2
      exit 1
    fi
  done
  if [ "$pinned" = "$current" ]; then
    echo "$name: $current (current)"
    continue
  fi
  stale=1
  echo "$name: ${pinned:-unpinned} -> $current"
  if ! $check; then
    # The image reference is the only thing on its FROM line that changes.
    sed -i.bak "s|^FROM ${image//./\\.}\\b|FROM $name@$current|" "$dockerfile"
    rm -f "$dockerfile.bak"
  fi
done < <(sed -n 's/^FROM \([^ ]*\).*/\1/p' "$dockerfile")

if $check && [ "$stale" = 1 ]; then
  echo "run scripts/pin-base-images.sh to re-pin" >&2
  exit 1
fi
