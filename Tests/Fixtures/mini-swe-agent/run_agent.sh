#!/usr/bin/env bash
# run_agent.sh CONFIG_YAML REPO_DIR
#
# Runs mini-swe-agent (mini-extra swebench-single) on ONE instance, the way
# velora calls an agent: once per (model, instance, attempt), with
#   VELORA_INSTANCE_ID    the instance id
#   VELORA_INSTANCE_FILE  a file holding the instance's JSON object
#   VELORA_OUTPUT_DIR     this attempt's own (existing) output folder
#
# What it does, in $VELORA_OUTPUT_DIR:
#   repo/                          a fresh copy of REPO_DIR; the agent works here
#   mini-swe-agent/subset/test.jsonl   the instance as a one-row data set
#   mini-swe-agent/{config,hf}/    mini-swe-agent's and Hugging Face's state dirs
#   $VELORA_INSTANCE_ID.traj.json  the trajectory (mini-swe-agent's own format)
#   patch.diff                     info.submission, only if it is non-empty
# Exit code: mini-extra's (0 submitted or limits exceeded, 1 the agent raised,
# 143 killed by SIGTERM).
#
# mini-extra comes from the venv made by scripts/mini-swe-agent/install:
# ${VELORA_MSWEA_VENV:-$HOME/.cache/velora/mini-swe-agent-venv}.
set -uo pipefail

die() { echo "run_agent.sh: $*" >&2; exit 2; }

[ $# -eq 2 ] || die "usage: run_agent.sh CONFIG_YAML REPO_DIR"
for v in VELORA_INSTANCE_ID VELORA_INSTANCE_FILE VELORA_OUTPUT_DIR; do
    [ -n "${!v:-}" ] || die "$v is not set (velora sets it)"
done

venv=${VELORA_MSWEA_VENV:-$HOME/.cache/velora/mini-swe-agent-venv}
mini=$venv/bin/mini-extra
py=$venv/bin/python
[ -x "$mini" ] || die "$mini not found: run scripts/mini-swe-agent/install"

[ -f "$1" ] || die "no config file $1"
[ -d "$2" ] || die "no repo folder $2"
config=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
# mini-swe-agent reads any -c argument containing '=' as a key=value override.
case $config in *=*) die "config path must not contain '=': $config" ;; esac

out=$VELORA_OUTPUT_DIR
work=$out/repo
state=$out/mini-swe-agent
traj=$out/$VELORA_INSTANCE_ID.traj.json

# (a) This attempt's own copy of the repo: attempts never see each other's edits.
rm -rf "$work"
cp -a "$2" "$work" || die "cannot copy $2 to $work"

# (b) A one-row data set: mini-extra wants a FOLDER holding <split>.jsonl.
mkdir -p "$state/subset" "$state/config" "$state/hf"
"$py" - "$VELORA_INSTANCE_FILE" > "$state/subset/test.jsonl" <<'PY' || die "cannot read $VELORA_INSTANCE_FILE"
import json, sys
with open(sys.argv[1]) as f:
    print(json.dumps(json.load(f)))
PY

# (c) Offline and quiet: no setup prompt, no user config, no hub, no telemetry.
export MSWEA_GLOBAL_CONFIG_DIR=$state/config MSWEA_SILENT_STARTUP=1 MSWEA_CONFIGURED=true
export HF_HOME=$state/hf HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
export LITELLM_LOCAL_MODEL_COST_MAP=True

# Run the agent in the background and wait, so that a SIGTERM/SIGINT/SIGHUP
# sent to this script alone is passed on to the agent (a signal sent to the
# whole process group reaches both anyway). Background jobs of a script
# ignore SIGINT, so SIGINT is passed on as SIGTERM.
# -i 0: the only row (an id that looks like a number would be read as an index).
# -c CONFIG -c environment.cwd=...: the configs are merged, the last one wins.
child=
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT
trap '[ -n "$child" ] && kill -HUP "$child" 2>/dev/null' HUP
"$mini" swebench-single \
    --subset "$state/subset" --split test -i 0 \
    -c "$config" -c "environment.cwd=$work" \
    --yolo --exit-immediately \
    -o "$traj" < /dev/null &
child=$!
wait "$child"; rc=$?
# A trapped signal ends `wait` early: wait again until the agent has exited.
while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done

# (d) patch.diff from the trajectory's info.submission, if non-empty.
if [ -f "$traj" ]; then
    "$py" - "$traj" "$out/patch.diff" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    submission = (json.load(f).get("info") or {}).get("submission") or ""
if submission:
    with open(sys.argv[2], "w") as f:
        f.write(submission)
PY
fi

# (e) mini-extra's exit code.
exit "$rc"
