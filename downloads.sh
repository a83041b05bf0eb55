#!/usr/bin/env bash
# The official files of the paper's Minecraft setting, fetched into downloads/. Crafter needs none
# of them: its pre-trained models ship in downloads/crafter/.
#
#   bash downloads.sh               fetch every file that is missing (or fails its check)
#   bash downloads.sh NAME...       only these files (names from --list)
#   bash downloads.sh --list        what each file is for, where it goes, where it comes from
#   bash downloads.sh --dry-run     say what would be fetched; fetch nothing
#
# Every file is downloaded to <path>.part and moved into place only once it passes its check:
#   md5:<hex>    the published md5 (MineCLIP's attn.pth; upstream PTGM asserts the same md5)
#   model        the .model's net kwargs equal our VPT `2x` preset (python -m steve1.check_download)
#   vpt, steve1  the .weights load strictly, every name and shape, into our VPT 2x / STEVE-1 2x
#   gzip         an intact gzip stream
# Only MineCLIP has a published checksum. So the sha256 of every file is recorded in
# downloads/SHA256SUMS when it first passes its check, and later runs verify files against it.
# A file already present and valid is skipped; a failed download leaves nothing behind.
#
# Environment:
#   PTGM_DOWNLOAD_BASE  fetch every file from <base>/<NAME> instead (a mirror; file:// works)
#   PTGM_DOWNLOAD_ROOT  directory the paths below are relative to (default: this repository)
#   PYTHON              interpreter for the checks (default: python)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${PTGM_DOWNLOAD_ROOT:-$REPO}"
BASE="${PTGM_DOWNLOAD_BASE:-}"
PYTHON="${PYTHON:-python}"
SUMS=downloads/SHA256SUMS

VPT_URL=https://openaipublic.blob.core.windows.net/minecraft-rl/models
DRIVE_URL='https://drive.usercontent.google.com/download?export=download&confirm=t&id='
CLIP_URL=https://raw.githubusercontent.com/openai/CLIP/main/clip

NAMES=() PATHS=() CHECKS=() URLS=() PURPOSES=()
entry() { NAMES+=("$1"); PATHS+=("$2"); CHECKS+=("$3"); URLS+=("$4"); PURPOSES+=("$5"); }

# One line per file: entry NAME PATH CHECK URL "what it is for". VPT/downloads.py reads these lines
# to name the one that fetches a missing file.
entry 2x.model downloads/2x.model model "$VPT_URL/2x.model" "VPT 2x architecture (.model kwargs): the low level, the goal prior and the high-level policy are built from it"
entry rl-from-foundation-2x.weights downloads/rl-from-foundation-2x.weights vpt "$VPT_URL/rl-from-foundation-2x.weights" "VPT 2x weights (RL from the foundation model): the starting point of the low level, of the goal prior's trunk and of the high-level trunk"
entry mineclip_attn.pth downloads/mineclip_attn.pth md5:b5ece9198337cfd117a3bfbd921e56da "${DRIVE_URL}1uaZM1ZLBz2dZWcn85rZmjP7LV6Sg5PZW" "MineCLIP (attn): goal embeddings of the contractor data, and the five tasks' shaping reward"
entry steve1.weights downloads/steve1/steve1.weights steve1 "${DRIVE_URL}1E3fd_-H1rRZqMkUKHfiMhx-ppLLehQPI" "STEVE-1's trained low level: ppo_highlevel.py's default --in_weights, in place of training stage 4"
entry bpe_simple_vocab_16e6.txt.gz downloads/bpe_simple_vocab_16e6.txt.gz gzip "$CLIP_URL/bpe_simple_vocab_16e6.txt.gz" "CLIP's BPE vocabulary: MineCLIP's text side, which scores the shaping reward's prompts"

say() { echo "downloads.sh: $*" >&2; }

url_of() {  # the URL of entry $1, or its mirror under PTGM_DOWNLOAD_BASE
  if [[ -n "$BASE" ]]; then echo "${BASE%/}/${NAMES[$1]}"; else echo "${URLS[$1]}"; fi
}

list() {
  echo "Official Minecraft files (bash downloads.sh [--dry-run] [NAME...]; paths under ${ROOT}):"
  local i
  for i in "${!NAMES[@]}"; do
    printf '  %-30s -> %s  [check: %s]\n      %s\n      from %s\n' \
      "${NAMES[$i]}" "${PATHS[$i]}" "${CHECKS[$i]}" "${PURPOSES[$i]}" "$(url_of "$i")"
  done
  echo "sha256 of each file is recorded in ${SUMS} on its first download and verified afterwards."
}

hash_of() {  # hash_of md5|sha256 FILE
  "$1sum" "$2" | cut -d' ' -f1
}

recorded_sha256() {  # the sha256 recorded for path $1 ("" if none)
  [[ -f "$SUMS" ]] || return 0
  awk -v p="$1" '$2 == p { print $1 }' "$SUMS" | tail -n 1
}

record_sha256() {  # record_sha256 PATH HASH: replace PATH's line of SHA256SUMS, atomically
  local tmp="$SUMS.tmp"
  { if [[ -f "$SUMS" ]]; then awk -v p="$1" '$2 != p' "$SUMS"; fi; echo "$2  $1"; } >"$tmp"
  mv "$tmp" "$SUMS"
}

drive_hint() {  # for a Google Drive file: how to fetch it by hand when Drive refuses
  [[ "${URLS[$1]}" == *drive* ]] || return 0
  echo " (Google Drive's quota or confirmation page: fetch it with" \
    "\`pip install gdown && gdown ${URLS[$1]##*id=} -O ${PATHS[$1]}\` and re-run)"
}

content_check() {  # content_check INDEX FILE: prints what passed, or why it failed (status 1)
  local check="${CHECKS[$1]}" file="$2" out
  if LC_ALL=C grep -qiaE '<!doctype html|<html' < <(head -c 512 "$file"); then
    echo "the server sent a web page, not the file$(drive_hint "$1")"
    return 1
  fi
  case "$check" in
    md5:*)
      out="$(hash_of md5 "$file")"
      [[ "$out" == "${check#md5:}" ]] || { echo "md5 $out, expected ${check#md5:}"; return 1; }
      echo "md5 ok" ;;
    gzip)
      gzip -t "$file" 2>/dev/null || { echo "not an intact gzip file"; return 1; }
      echo "gzip ok" ;;
    model | vpt | steve1)
      out="$(PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m steve1.check_download \
        "$check" "$file" 2>&1)" || { echo "$out"; return 1; }
      out="${out#ok: }"
      echo "${out#"$file": }" ;;
    *) echo "unknown check $check"; return 1 ;;
  esac
}

verify_present() {  # verify_present INDEX: is the file in place valid? prints how it was checked
  local path="${PATHS[$1]}" recorded actual
  recorded="$(recorded_sha256 "$path")"
  if [[ -n "$recorded" && "${CHECKS[$1]}" != md5:* ]]; then
    actual="$(hash_of sha256 "$path")"
    [[ "$actual" == "$recorded" ]] || { echo "its sha256 differs from the one in $SUMS"; return 1; }
    echo "sha256 matches $SUMS"
    return 0
  fi
  content_check "$1" "$path" || return 1
  record_sha256 "$path" "$(hash_of sha256 "$path")"
}

curl_hint() {  # a reading of curl's exit status
  case "$1" in
    6) echo "could not resolve the host: no network or no DNS (downloads.sh needs internet access)" ;;
    7) echo "could not connect: no network, or a firewall (downloads.sh needs internet access)" ;;
    28) echo "timed out: a slow or missing network connection" ;;
    22) echo "the server refused the request (HTTP error): the file may have moved" ;;
    37) echo "the local file could not be read" ;;
    *) echo "curl exit status $1" ;;
  esac
}

CURRENT_PART=""
trap 'if [[ -n "$CURRENT_PART" ]]; then rm -f "$CURRENT_PART"; fi' EXIT  # no .part left behind

fetch() {  # fetch INDEX: download to .part, check, record, move into place
  local path="${PATHS[$1]}" url status=0 why recorded actual
  url="$(url_of "$1")"
  mkdir -p "$(dirname "$path")"
  CURRENT_PART="$path.part"
  rm -f "$CURRENT_PART"
  say "fetching ${NAMES[$1]} from $url"
  local opts=(--fail --location --retry 2 --connect-timeout 30 --output "$CURRENT_PART" "$url")
  if [[ -t 2 ]]; then  # a progress bar on a terminal (curl prints its own errors there)
    curl --progress-bar "${opts[@]}" || status=$?
    why=""
  else
    why="$(curl --silent --show-error "${opts[@]}" 2>&1)" || status=$?
    why="${why##*$'\n'}"  # curl repeats its error once per retry
  fi
  if ((status != 0)); then
    rm -f "$CURRENT_PART"
    say "FAILED to fetch $url: $(curl_hint "$status")"
    [[ -z "$why" ]] || say "  $why"
    say "  nothing was written to $path"
    return 1
  fi
  if ! why="$(content_check "$1" "$CURRENT_PART")"; then
    rm -f "$CURRENT_PART"
    say "FAILED ${NAMES[$1]} from $url: $why; nothing was written to $path"
    return 1
  fi
  actual="$(hash_of sha256 "$CURRENT_PART")"
  recorded="$(recorded_sha256 "$path")"
  if [[ -n "$recorded" && "$recorded" != "$actual" && "${CHECKS[$1]}" != md5:* ]]; then
    rm -f "$CURRENT_PART"
    say "FAILED ${NAMES[$1]}: sha256 $actual differs from $recorded recorded in $SUMS when it was" \
      "first fetched (changed upstream?); delete its line from $SUMS to accept the new file"
    return 1
  fi
  mv "$CURRENT_PART" "$path"
  CURRENT_PART=""
  record_sha256 "$path" "$actual"
  say "ok       $path ($why; sha256 $actual)"
}

fetch_if_needed() {  # fetch_if_needed INDEX DRY_RUN
  local path="${PATHS[$1]}" why
  if [[ -f "$path" ]]; then
    if why="$(verify_present "$1")"; then
      say "present  $path ($why)"
      return 0
    fi
    say "invalid  $path: $why; fetching it again"
  fi
  if (($2)); then
    say "would fetch $(url_of "$1") -> $path"
    return 0
  fi
  fetch "$1"
}

index_of() {  # the index of entry NAME, or nothing
  local i
  for i in "${!NAMES[@]}"; do [[ "${NAMES[$i]}" == "$1" ]] && echo "$i"; done
  return 0
}

main() {
  local dry=0 selected=() arg i
  for arg in "$@"; do
    case "$arg" in
      -h | --help | --list) list; return 0 ;;
      --dry-run) dry=1 ;;
      -*) say "unknown option $arg (see bash downloads.sh --help)"; return 2 ;;
      *)
        i="$(index_of "$arg")"
        [[ -n "$i" ]] || { say "unknown file $arg; the files are: ${NAMES[*]}"; return 2; }
        selected+=("$i") ;;
    esac
  done
  ((${#selected[@]})) || selected=("${!NAMES[@]}")
  command -v curl >/dev/null || { say "needs curl (apt-get install curl)"; return 1; }
  cd "$ROOT"
  mkdir -p downloads
  local failed=()
  for i in "${selected[@]}"; do
    fetch_if_needed "$i" "$dry" || failed+=("${NAMES[$i]}")
  done
  if ((${#failed[@]})); then
    say "${#failed[@]} file(s) not fetched: ${failed[*]}. Re-run \`bash downloads.sh\` once" \
      "the cause above is fixed; files already in place are kept."
    return 1
  fi
}

main "$@"
