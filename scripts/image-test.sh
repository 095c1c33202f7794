#!/usr/bin/env bash
# Run the built image with buildah (no Docker engine needed), ask one question over loopback, print the size.
set -euo pipefail
image=${IMAGE:-ofsted-qa:dev}
port=${PORT:-8765}
c=$(buildah from "$image")
buildah run --isolation chroot --env PORT="$port" "$c" /app/.venv/bin/ofsted-qa serve --host 127.0.0.1 --port "$port" &
pid=$!
cleanup() { pkill -f "ofsted-qa serve --host 127.0.0.1 --port $port" || true; kill "$pid" 2>/dev/null || true; buildah rm "$c" >/dev/null; }
trap cleanup EXIT
for _ in $(seq 1 180); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 1
done
answer=$(curl -sf -X POST "http://127.0.0.1:$port/ask" -H 'content-type: application/json' \
  -d '{"question": "How were the experiences and progress of care leavers judged?"}')
echo "$answer" | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["answer"]); c=b["citations"][0]; print("cited:", c["document_id"], c["paragraph"]); assert c["paragraph"]=="judgements"'
buildah images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$image"
echo "image-test: OK"
