#!/usr/bin/env python3
# =============================================================================
#  EXAMPLE STAND-IN AGENT. It does NOT solve anything. Replace it with a real
#  agent (mini-swe-agent, SWE-agent, OpenHands, ...) in velora.json `command`.
# =============================================================================
"""A fake coding agent for trying out velora without an LLM or Docker.

    python3 examples/example_agent.py --model LLM --instance-file PATH --out DIR

It reads one SWE-bench instance (a JSON object) from PATH and prints agent-like
steps (THOUGHT + bash command + observation) for 0.5-4 s. Then it writes
DIR/<instance_id>.traj.json in mini-swe-agent's trajectory format
("mini-swe-agent-1"), with a fake patch as the submission.

Every choice is deterministic. It comes from a SHA-256 of (model,
instance_id, VELORA_ATTEMPT), so a rerun of the same attempt behaves the same.
The outcome rates depend on a substring of the model name (case-insensitive):

    substring   RuntimeError  LimitsExceeded  hang
    opus             5 %          3 %          -
    gpt             10 %          5 %          -
    kimi            15 %          5 %          -
    qwen            25 %          8 %         5 %
    (other)         10 %          5 %          -

  * Submitted      : exit 0. The trajectory holds a patch.
  * LimitsExceeded : exit 0. The trajectory has an empty submission.
  * RuntimeError   : exit 1. There is a traceback on stderr, and the trajectory
                     is still written (with info.traceback).
  * hang           : sleeps 600 s without writing a trajectory, so velora's
                     timeout has to kill it. No signal handler is installed.

From attempt 2 on, a run never hangs. It fails again only at the model's
RuntimeError rate, drawn anew, so a retry usually succeeds.
Exit code 2 means a usage or input error: bad arguments, or an instance file
that is missing, unreadable or invalid.

Python 3 standard library only.
"""

import argparse
import hashlib
import json
import os
import re
import sys
import time
import traceback

MINI_VERSION = "1.15.0"
TRAJECTORY_FORMAT = "mini-swe-agent-1"

# (substring, fail_rate, limits_rate, hang_rate). The first match wins.
MODEL_PROFILES = [
    ("opus", 0.05, 0.03, 0.00),
    ("gpt", 0.10, 0.05, 0.00),
    ("kimi", 0.15, 0.05, 0.00),
    ("qwen", 0.25, 0.08, 0.05),
]
DEFAULT_PROFILE = ("", 0.10, 0.05, 0.00)

# Per-call fake price (USD) by model substring. This only shapes instance_cost.
PRICE_PER_CALL = {"opus": 0.045, "gpt": 0.020, "kimi": 0.008, "qwen": 0.004}

# SALT was picked so that the example (examples/velora.json with
# examples/swebench-lite-dev.jsonl) shows counts near the rates above. With
# 23 instances, pure chance can otherwise give opus more failures than kimi.
SALT = "velora-example-1142"

MIN_DURATION = 0.5
MAX_DURATION = 4.0
HANG_SECONDS = 600
COST_LIMIT = 3.0
STEP_LIMIT = 250


# ----------------------------------------------------------------------------
# Deterministic randomness
# ----------------------------------------------------------------------------

def unit(*parts):
    """A float in [0, 1) from the SHA-256 of the parts. Stable across runs and machines."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64


def profile_for(model):
    m = model.lower()
    for prof in MODEL_PROFILES:
        if prof[0] in m:
            return prof
    return DEFAULT_PROFILE


def plan(model, instance_id, attempt):
    """Decide what this attempt does. It is a pure function, also used by the timing simulation.

    Returns a dict with: outcome ("submitted", "limits", "error", "hang"),
    duration (seconds of work before exiting, or before hanging),
    n_steps (API calls made), and fail_at (step index where an error/hang occurs).
    """
    _, fail, limits, hang = profile_for(model)
    seed = (SALT, model, instance_id, attempt)
    u = unit("outcome", *seed)
    if attempt <= 1:
        if u < hang:
            outcome = "hang"
        elif u < hang + fail:
            outcome = "error"
        elif u < hang + fail + limits:
            outcome = "limits"
        else:
            outcome = "submitted"
    else:
        # Retries usually help: never hang again, fail only at the base rate.
        if u < fail:
            outcome = "error"
        elif u < fail + limits:
            outcome = "limits"
        else:
            outcome = "submitted"

    # The duration is skewed towards short runs. Mean is about 2.0 s, range 0.5-4.0 s.
    d = MIN_DURATION + (MAX_DURATION - MIN_DURATION) * unit("duration", *seed) ** 1.4
    n_steps = 6 + int(unit("steps", *seed) * 20)  # 6..25 API calls
    if outcome == "limits":
        d = max(d, 2.5)  # a run that hits its limits runs long
        n_steps += 15
    fail_at = n_steps
    if outcome in ("error", "hang"):
        frac = 0.3 + 0.6 * unit("fail_at", *seed)
        fail_at = max(2, int(n_steps * frac))
        d = d * frac
    d = min(max(d, MIN_DURATION), MAX_DURATION)
    return {"outcome": outcome, "duration": round(d, 3),
            "n_steps": n_steps, "fail_at": fail_at}


# ----------------------------------------------------------------------------
# Output helpers
# ----------------------------------------------------------------------------

def out(msg=""):
    print(msg, flush=True)


def log(level, msg):
    ts = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{ts} - minisweagent - {level} - {msg}", file=sys.stderr, flush=True)


def sleep_in_small_steps(seconds):
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(0.1, left))


def safe_file_stem(instance_id):
    """Make a file name from the instance id that cannot leave DIR."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", instance_id)[:200].lstrip(".")
    if stem == "":
        stem = "instance_" + hashlib.sha256(instance_id.encode("utf-8", "replace")).hexdigest()[:12]
    return stem


# ----------------------------------------------------------------------------
# Fake agent content
# ----------------------------------------------------------------------------

SYSTEM_TEMPLATE = (
    "You are a helpful assistant that can interact multiple times with a computer shell to solve "
    "programming tasks.\nYour response must contain exactly ONE bash code block with ONE command "
    "(or commands connected with && or ||).\n\nInclude a THOUGHT section before your command where "
    "you explain your reasoning process.\nFormat your response as shown in <format_example>.\n\n"
    "<format_example>\nTHOUGHT: Your reasoning and analysis here\n\n```bash\nyour_command_here\n```\n"
    "</format_example>\n\nFailure to follow these rules will cause your response to be rejected.\n"
)

INSTANCE_TEMPLATE = (
    "<pr_description>\nConsider the following PR description:\n{task}\n</pr_description>\n\n"
    "<instructions>\n# Task Instructions\n\nYou're a software engineer interacting continuously with "
    "a computer by submitting commands. Make changes to non-test files in /testbed to fix the issue "
    "described in the PR description.\n\nWhen you've completed your work, issue exactly:\n\n"
    "```bash\necho COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached\n```\n"
    "</instructions>"
)

SUBMIT_COMMAND = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached"

RUNTIME_ERRORS = [
    "Model API request failed after 10 retries: 529 Overloaded",
    "Docker container exited unexpectedly (exit code 137) while executing command",
    "litellm.APIConnectionError: Connection reset by peer",
    "Failed to parse model response: stream ended before the first token",
]


def target_file(instance):
    """A plausible file to 'fix'. It is taken from the instance's gold patch file names if present."""
    for key in ("patch_files",):
        v = instance.get(key)
        if isinstance(v, list) and v and isinstance(v[0], str):
            return v[0]
    patch = instance.get("patch")
    if isinstance(patch, str):
        m = re.search(r"^diff --git a/(\S+)", patch, re.M)
        if m:
            return m.group(1)
    repo = instance.get("repo") if isinstance(instance.get("repo"), str) else ""
    pkg = (repo.split("/")[-1] or "src").replace("-", "_")
    return f"{pkg}/core.py"


def keyword(instance, path):
    ps = instance.get("problem_statement")
    ps = ps if isinstance(ps, str) else ""
    m = re.search(r"`([A-Za-z_][A-Za-z0-9_]{2,40})`", ps)
    if m:
        return m.group(1)
    m = re.search(r"\b([A-Za-z]+_[A-Za-z0-9_]+|[A-Z][a-z]+[A-Z][A-Za-z]+)\b", ps)
    if m:
        return m.group(1)
    return os.path.splitext(os.path.basename(path))[0]


def fake_patch(path, kw, seed):
    line = 40 + int(unit("line", *seed) * 400)
    idx_a = hashlib.sha1(f"a{path}{seed}".encode()).hexdigest()[:10]
    idx_b = hashlib.sha1(f"b{path}{seed}".encode()).hexdigest()[:10]
    return (
        f"diff --git a/{path} b/{path}\n"
        f"index {idx_a}..{idx_b} 100644\n"
        f"--- a/{path}\n"
        f"+++ b/{path}\n"
        f"@@ -{line},6 +{line},7 @@\n"
        f"         if value is None:\n"
        f"             return None\n"
        f"-        result = self._convert(value)\n"
        f"+        # example_agent: fake fix related to {kw}\n"
        f"+        result = self._convert(value) if value is not None else None\n"
        f"         if self.strict:\n"
        f"             self._validate(result)\n"
        f"         return result\n"
    )


def step_script(path, kw):
    """Generic exploration -> reproduce -> edit -> test steps: (thought, command, observation)."""
    d = os.path.dirname(path) or "."
    mod = os.path.splitext(path)[0].replace("/", ".").removeprefix("src.")
    return [
        (f"I need to understand the repository layout before looking for code related to `{kw}`.",
         "ls -la && git log --oneline -3",
         "total 96\ndrwxr-xr-x 1 root root 4096 .\n-rw-r--r-- 1 root root 1520 README.md\n"
         f"drwxr-xr-x 1 root root 4096 {path.split('/')[0]}\ndrwxr-xr-x 1 root root 4096 tests"),
        (f"Let me search for `{kw}` in the source tree to find where it is defined and used.",
         f"grep -rn \"{kw}\" {d} | head -20",
         f"{path}:118:    def {kw.lower()}(self, value):\n{path}:131:        return self._convert(value)"),
        (f"`{path}` looks relevant. I'll read the code around the match.",
         f"nl -ba {path} | sed -n '100,150p'",
         "   100\t    def _convert(self, value):\n   ...\n   131\t        result = self._convert(value)"),
        ("I'll write a small script that reproduces the issue from the PR description.",
         "cat <<'EOF' > reproduce_issue.py\n"
         f"import {mod.split('.')[0]}\nprint('running reproduction for {kw}')\nEOF",
         ""),
        ("Now run the reproduction script to confirm the bug.",
         "python reproduce_issue.py",
         f"Traceback (most recent call last):\n  File \"/testbed/{path}\", line 131, in {kw.lower()}\n"
         "TypeError: 'NoneType' object is not subscriptable"),
        ("The value can be None here. I'll guard the conversion so None is passed through.",
         f"sed -i 's/result = self._convert(value)/result = self._convert(value) if value is not None else None/' {path}",
         ""),
        ("Run the reproduction again to check the fix.",
         "python reproduce_issue.py",
         f"running reproduction for {kw}\nOK"),
        ("Let me run the related tests to make sure nothing else broke.",
         f"python -m pytest -q -x tests -k {kw.lower()[:20]} 2>&1 | tail -5",
         "........                                                                 [100%]\n8 passed in 1.42s"),
        ("Let me double check the diff is minimal and only touches the intended file.",
         "git diff --stat",
         f" {path} | 3 ++-\n 1 file changed, 2 insertions(+), 1 deletion(-)"),
    ]


def model_response(model, content, seed, step, prompt_tokens, completion_tokens, cost):
    """A chat.completion-shaped response, like the `extra.response` that mini-swe-agent stores."""
    gen = hashlib.sha256(f"{seed}{step}".encode()).hexdigest()[:20]
    return {
        "id": f"gen-{int(time.time())}-{gen}",
        "model": model,
        "object": "chat.completion",
        "created": int(time.time()),
        "choices": [{
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": content},
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "cost": cost,
        },
    }


def observation(returncode, output):
    return f"<returncode>{returncode}</returncode>\n<output>\n{output}\n</output>" if output else \
        f"<returncode>{returncode}</returncode>\n<output>\n</output>"


class FakeAgent:
    def __init__(self, model, instance, attempt, traj_path):
        self.model = model
        self.instance = instance
        self.instance_id = instance["instance_id"]
        self.attempt = attempt
        self.traj_path = traj_path
        self.seed = (SALT, model, self.instance_id, attempt)
        self.plan = plan(model, self.instance_id, attempt)
        self.messages = []
        self.cost = 0.0
        self.n_calls = 0
        self.path = target_file(instance)
        self.kw = keyword(instance, self.path)
        price = next((p for k, p in PRICE_PER_CALL.items() if k in model.lower()), 0.01)
        self.price = price

    # Step durations: the planned duration is split over the steps with deterministic jitter.
    def step_sleeps(self, n):
        w = [0.4 + unit("w", *self.seed, i) for i in range(n)]
        s = sum(w)
        return [self.plan["duration"] * x / s for x in w]

    def query(self, content, step):
        self.n_calls += 1
        prompt_tokens = 1800 + 900 * step + int(400 * unit("pt", *self.seed, step))
        completion_tokens = 60 + int(300 * unit("ct", *self.seed, step))
        cost = round(self.price * (0.5 + step / 8.0) * (0.7 + 0.6 * unit("c", *self.seed, step)), 6)
        self.cost += cost
        self.messages.append({
            "role": "assistant",
            "content": content,
            "extra": {"response": model_response(self.model, content, self.seed, step,
                                                 prompt_tokens, completion_tokens, cost)},
        })

    def call_model_api(self, step):
        """The step where a RuntimeError happens. It raises from a nested call so the traceback looks real."""
        msg = RUNTIME_ERRORS[int(unit("err", *self.seed) * len(RUNTIME_ERRORS))]
        self.messages.append({"role": "user", "content": msg})  # mini-swe-agent adds str(e) too
        raise RuntimeError(msg)

    def run(self):
        p = self.plan
        task = self.instance.get("problem_statement")
        task = task if isinstance(task, str) else ""
        self.messages.append({"role": "system", "content": SYSTEM_TEMPLATE})
        self.messages.append({"role": "user", "content": INSTANCE_TEMPLATE.format(task=task)})

        script = step_script(self.path, self.kw)
        n = p["n_steps"]
        stops_early = p["outcome"] in ("error", "hang")
        # The planned duration is spread over the steps actually taken.
        sleeps = self.step_sleeps(p["fail_at"] if stops_early else n)
        for i in range(n):
            step = i + 1
            header = f"\n─────────────── Step {step} (${self.cost:.2f}) ───────────────"
            if stops_early and step == p["fail_at"]:
                out(header)
                log("INFO", f"Querying model {self.model} (step {step}) ...")
                sleep_in_small_steps(sleeps[i])
                if p["outcome"] == "hang":
                    out("Waiting for model response ...")
                    time.sleep(HANG_SECONDS)  # a stuck API call; velora's timeout kills us
                    log("ERROR", "model query did not return")
                    sys.exit(1)
                self.call_model_api(step)  # raises RuntimeError

            last = step == n
            if last and p["outcome"] == "submitted":
                thought = "The fix is in place and the tests pass. I'm now ready to submit."
                command, obs = SUBMIT_COMMAND, ""
            elif i < len(script):
                thought, command, obs = script[i]
            else:
                thought, command, obs = script[i % 3]
                thought = "Let me look at another part of the code to be thorough. " + thought
            content = f"THOUGHT: {thought}\n\n```bash\n{command}\n```"
            out(header)
            out(content)
            if unit("ratelimit", *self.seed, step) < 0.04:
                log("WARNING", "Retrying model query after RateLimitError (1/10), waiting 0.1s")
            sleep_in_small_steps(sleeps[i])
            self.query(content, step)

            if last and p["outcome"] == "limits":
                # The next query would exceed cost_limit, as in mini-swe-agent's DefaultAgent.query().
                self.cost = max(self.cost, COST_LIMIT + 0.01 + unit("lc", *self.seed) * 0.2)
                self.messages.append({"role": "user", "content": ""})
                out(f"\nLimitsExceeded: cost ${self.cost:.2f} >= cost_limit ${COST_LIMIT:.2f}")
                return "LimitsExceeded", ""
            if last:
                submission = fake_patch(self.path, self.kw, self.seed)
                self.messages.append({"role": "user", "content": submission})
                out(observation(0, "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n" + submission.rstrip("\n")))
                return "Submitted", submission
            ob = observation(1 if "Traceback" in obs else 0, obs)
            self.messages.append({"role": "user", "content": ob})
            out(ob)
        raise AssertionError("unreachable")

    def save(self, exit_status, result, extra_info=None):
        data = {
            "info": {
                "exit_status": exit_status,
                "submission": result,
                "model_stats": {"instance_cost": round(self.cost, 8), "api_calls": self.n_calls},
                "mini_version": MINI_VERSION,
                "config": {
                    "agent": {
                        "system_template": SYSTEM_TEMPLATE,
                        "instance_template": INSTANCE_TEMPLATE.replace("{task}", "{{task}}"),
                        "step_limit": STEP_LIMIT,
                        "cost_limit": COST_LIMIT,
                    },
                    "model": {"model_name": self.model, "model_kwargs": {"temperature": 0.0}},
                    "environment": {
                        "image": "docker.io/swebench/sweb.eval.x86_64."
                                 + self.instance_id.replace("__", "_1776_").lower() + ":latest",
                        "cwd": "/testbed",
                        "timeout": 60,
                    },
                    "agent_type": "example_agent.FakeAgent",
                    "model_type": "example_agent.FakeModel",
                    "environment_type": "example_agent.NoEnvironment",
                },
            },
            "messages": self.messages,
            "trajectory_format": TRAJECTORY_FORMAT,
            "instance_id": self.instance_id,
        }
        if extra_info:
            data["info"].update(extra_info)
        tmp = self.traj_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, self.traj_path)
        out(f"Saved trajectory to '{self.traj_path}'")


# ----------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------

def usage_error(msg):
    print(f"example_agent: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def load_instance(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        usage_error(f"cannot read instance file {path!r}: {e.strerror or e}")
    try:
        instance = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        usage_error(f"instance file {path!r} is not valid UTF-8: {e}")
    except json.JSONDecodeError as e:
        usage_error(f"instance file {path!r} is not valid JSON: {e}")
    if not isinstance(instance, dict):
        usage_error(f"instance file {path!r} must hold one JSON object, got {type(instance).__name__}")
    iid = instance.get("instance_id")
    if not isinstance(iid, str) or not iid:
        usage_error(f"instance file {path!r} has no non-empty string 'instance_id'")
    return instance


def main(argv=None):
    ap = argparse.ArgumentParser(description="Example stand-in coding agent for velora (fake; replace me).")
    ap.add_argument("--model", required=True, help="LLM name, e.g. anthropic/claude-opus-4-6")
    ap.add_argument("--instance-file", required=True, help="JSON file holding one SWE-bench instance")
    ap.add_argument("--out", required=True, help="output folder for <instance_id>.traj.json")
    args = ap.parse_args(argv)  # bad usage -> exit 2

    if not args.model.strip():
        usage_error("--model must not be empty")
    instance = load_instance(args.instance_file)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        usage_error(f"cannot create output folder {args.out!r}: {e.strerror or e}")

    try:
        attempt = int(os.environ.get("VELORA_ATTEMPT", "1"))
    except ValueError:
        attempt = 1
    attempt = max(1, attempt)

    iid = instance["instance_id"]
    traj_path = os.path.join(args.out, safe_file_stem(iid) + ".traj.json")
    agent = FakeAgent(args.model, instance, attempt, traj_path)

    out(f"example_agent (mini-swe-agent {MINI_VERSION} look-alike; FAKE, replace with a real agent)")
    out(f"instance: {iid}  repo: {instance.get('repo', '?')}  model: {args.model}  attempt: {attempt}")
    log("INFO", f"Starting instance {iid} with model {args.model} (attempt {attempt})")

    exit_status, result, extra_info = None, None, None
    code = 0
    try:
        exit_status, result = agent.run()
    except Exception as e:  # like mini-swe-agent's run/extra/swebench.py
        exit_status, result = type(e).__name__, str(e)
        extra_info = {"traceback": traceback.format_exc()}
        log("ERROR", f"Error processing instance {iid}: {e}")
        traceback.print_exc()
        code = 1
    finally:
        if exit_status is not None:
            agent.save(exit_status, result, extra_info)
    out(f"exit_status: {exit_status}  api_calls: {agent.n_calls}  cost: ${agent.cost:.4f}")
    return code


if __name__ == "__main__":
    sys.exit(main())
