#!/usr/bin/env bash
# Run the built image with buildah (no Docker engine needed): check it has no torch and runs as a non-root user,
# ask one question over loopback, run its HEALTHCHECK, print the size.
set -euo pipefail
image=${IMAGE:-ofsted-qa:dev}
port=${PORT:-8765}
c=$(buildah from "$image")
buildah run --isolation chroot "$c" python -c 'import importlib.util as u, os; assert u.find_spec("torch") is None, "torch in the image"; assert os.getuid() != 0, "runs as root"; print("no torch; uid", os.getuid())'
buildah run --isolation chroot --env PORT="$port" "$c" /app/.venv/bin/ofsted-qa serve --host 127.0.0.1 --port "$port" &
pid=$!
# the server runs as a child of `buildah run`: stop that process tree by id, deepest first
descendants() { local child; for child in $(pgrep -P "$1"); do descendants "$child"; echo "$child"; done; }
cleanup() { kill $(descendants "$pid") "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; buildah rm "$c" >/dev/null; }
trap cleanup EXIT
for _ in $(seq 1 180); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 1
done
answer=$(curl -sf -X POST "http://127.0.0.1:$port/ask" -H 'content-type: application/json' \
  -d '{"question": "How were the experiences and progress of care leavers judged?"}')
echo "$answer" | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["answer"]); c=b["citations"][0]; print("cited:", c["document_id"], c["paragraph"]); assert c["paragraph"]=="judgements"'
health=$(buildah inspect --format '{{index .Docker.Config.Healthcheck.Test 1}}' "$image")
buildah run --isolation chroot --env PORT="$port" "$c" sh -c "$health" && echo "HEALTHCHECK (in the container): healthy"
buildah images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$image"
echo "image-test: OK"
